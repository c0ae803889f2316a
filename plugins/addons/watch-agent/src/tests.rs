//! Table-driven tests of the watch agent add-on through the exported entry points.

use addon_kit::entry::{describe, plan_upgrade, render};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    sample_cluster, write_rendered, yaml_documents,
};
use addon_kit::{Installer, Ownership};
use serde_json::json;

use crate::WatchAgent;

#[test]
fn describe_is_sane() {
    check_describe::<WatchAgent>().unwrap();
    let info = describe::<WatchAgent>();
    assert_eq!(info.name, "watch-agent");
    assert_eq!(
        info.installer,
        Installer::Customer,
        "the source model: 'if you install' it"
    );
    assert!(
        info.customer_knobs
            .iter()
            .any(|k| k == "sources.journald.units[+]")
    );
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        (
            r#"{"sources": {"journald": {"units": ["kubelet.service", "containerd.service", "nvidia-fabricmanager.service"]}}}"#,
            &[],
        ),
        (
            r#"{"sources": {"journald": {"units": ["kubelet"]}}}"#,
            &["sources.journald.units[0]"],
        ),
        (
            r#"{"resources": {"limits": {"memory": "lots"}}}"#,
            &["resources.limits.memory"],
        ),
        (r#"{"logLevel": "verbose"}"#, &["logLevel"]),
        (r#"{"maxUnavailable": "200%"}"#, &["maxUnavailable"]),
        (
            r#"{"sources": {"containers": true}}"#,
            &["sources.containers"],
        ),
    ];
    check_validation_cases::<WatchAgent>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        ("{}", Ownership::ProviderManaged, "matches"),
        (
            r#"{"sources": {"journald": {"units": ["kubelet.service", "containerd.service", "nvidia-fabricmanager.service"]}}}"#,
            Ownership::Shared,
            "sources.journald.units",
        ),
        (
            r#"{"logLevel": "debug", "resources": {"limits": {"memory": "512Mi"}}}"#,
            Ownership::Shared,
            "logLevel, resources.limits.memory",
        ),
        (
            r#"{"sources": {"journald": {"units": ["kubelet.service"]}}}"#,
            Ownership::CustomerOwned,
            "reference entries removed",
        ),
        (
            r#"{"sources": {"kernel": false}}"#,
            Ownership::CustomerOwned,
            "sources.kernel (not a customer knob)",
        ),
        (
            r#"{"image": {"repository": "docker.io/fluent"}}"#,
            Ownership::CustomerOwned,
            "image.repository",
        ),
    ];
    check_classification_cases::<WatchAgent>(cases).unwrap();
}

#[test]
fn plan_upgrade_rolls_without_disruption() {
    let plan = plan_upgrade::<WatchAgent>("1.3.0", "1.4.0", r#"{"maxUnavailable": 2}"#).unwrap();
    assert!(!plan.disruptive);
    let at = |needle: &str| plan.steps.iter().position(|s| s.contains(needle)).unwrap();
    assert!(at("ConfigMap") < at("roll DaemonSet") && at("roll DaemonSet") < at("verify"));
    assert!(plan.steps[at("roll DaemonSet")].contains("2 node(s) at a time"));
    for (current, target, needle) in [
        ("1.4.0", "1.2.3", "downgrade"),
        ("1.4.0", "2.0.0", "unknown version"),
    ] {
        let err = plan_upgrade::<WatchAgent>(current, target, "{}").unwrap_err();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn render_runs_everywhere_and_reads_the_journal() {
    let cluster = sample_cluster();
    let rendered = render::<WatchAgent>(&cluster, "1.4.0", "{}").unwrap();
    assert_eq!(
        rendered,
        render::<WatchAgent>(&cluster, "1.4.0", "{}").unwrap()
    );
    assert_eq!(check_manifests(&rendered.manifests).unwrap(), 6);
    write_rendered("watch-agent", &rendered.manifests).unwrap();

    let ds = &yaml_documents(&rendered.manifests[3].content).unwrap()[0];
    assert_eq!(ds["kind"], "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"] == "/var/log/journal" && m["readOnly"] == true)
    );

    let cm = &yaml_documents(&rendered.manifests[2].content).unwrap()[0];
    let agent = &yaml_documents(cm["data"]["agent.yaml"].as_str().unwrap()).unwrap()[0];
    assert_eq!(
        agent["sink"]["endpoint"],
        "https://logs.us-east1.accord.internal:4318/v1/logs"
    );
    assert_eq!(agent["sources"]["kernel"], true);
    assert!(
        render::<WatchAgent>(&cluster, "0.9.0", "{}")
            .unwrap_err()
            .contains("unknown version")
    );
}
