//! Table-driven tests of the registry token rotator add-on through the exported entry points.

use addon_kit::entry::{describe, plan_upgrade, render};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    sample_cluster, write_rendered, yaml_documents,
};
use addon_kit::{Installer, Ownership};
use serde_json::json;

use crate::RegistryTokenRotator;

#[test]
fn describe_is_sane() {
    check_describe::<RegistryTokenRotator>().unwrap();
    let info = describe::<RegistryTokenRotator>();
    assert_eq!(info.name, "registry-token-rotator");
    assert_eq!(info.installer, Installer::Customer);
    for knob in ["schedule", "registry", "targetNamespaces"] {
        assert!(info.customer_knobs.iter().any(|k| k == knob), "{knob}");
    }
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        (
            r#"{"schedule": "30 */4 * * *", "registry": "mirror.example.com:5000"}"#,
            &[],
        ),
        (r#"{"schedule": "every 6 hours"}"#, &["schedule"]),
        (r#"{"schedule": "0 */6 * * * *"}"#, &["schedule"]),
        (
            r#"{"registry": "https://registry.example.com"}"#,
            &["registry"],
        ),
        (
            r#"{"targetNamespaces": ["ml", "Team-A"]}"#,
            &["targetNamespaces[1]"],
        ),
        (r#"{"targetNamespaces": []}"#, &["targetNamespaces"]),
        (
            r#"{"targetNamespaces": ["ml", "ml"]}"#,
            &["targetNamespaces[1]"],
        ),
        (r#"{"suspend": "no"}"#, &["suspend"]),
        (r#"{"ttl": "12h"}"#, &["ttl"]),
    ];
    check_validation_cases::<RegistryTokenRotator>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        ("{}", Ownership::ProviderManaged, "matches"),
        (
            r#"{"schedule": "0 */3 * * *"}"#,
            Ownership::Shared,
            "schedule",
        ),
        (
            r#"{"registry": "registry.eu-iceland1.accord.dev", "targetNamespaces": ["ml", "default"]}"#,
            Ownership::Shared,
            "registry, targetNamespaces",
        ),
        (
            r#"{"image": {"repository": "ghcr.io/someone/rotator"}}"#,
            Ownership::CustomerOwned,
            "image.repository",
        ),
    ];
    check_classification_cases::<RegistryTokenRotator>(cases).unwrap();
}

#[test]
fn plan_upgrade_checks_with_a_one_off_run() {
    let plan = plan_upgrade::<RegistryTokenRotator>("0.5.0", "0.6.1", "{}").unwrap();
    assert!(!plan.disruptive);
    let at = |needle: &str| plan.steps.iter().position(|s| s.contains(needle)).unwrap();
    assert!(
        at("RBAC") < at("update CronJob")
            && at("update CronJob") < at("create job")
            && at("create job") < at("verify")
    );
    for (current, target, needle) in [
        ("0.6.1", "0.4.2", "downgrade"),
        ("0.6.1", "1.0.0", "unknown version"),
    ] {
        let err = plan_upgrade::<RegistryTokenRotator>(current, target, "{}").unwrap_err();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn render_scopes_rbac_to_target_namespaces() {
    let cluster = sample_cluster();
    let config = r#"{"targetNamespaces": ["default", "ml"]}"#;
    let rendered = render::<RegistryTokenRotator>(&cluster, "0.6.1", config).unwrap();
    assert_eq!(
        rendered,
        render::<RegistryTokenRotator>(&cluster, "0.6.1", config).unwrap()
    );
    // Namespace, SA, credentials Role + binding, 2 × (Role + binding), CronJob.
    assert_eq!(check_manifests(&rendered.manifests).unwrap(), 9);
    write_rendered("registry-token-rotator", &rendered.manifests).unwrap();

    let rbac = yaml_documents(&rendered.manifests[1].content).unwrap();
    let roles: Vec<&serde_json::Value> = rbac.iter().filter(|d| d["kind"] == "Role").collect();
    assert_eq!(roles[1]["metadata"]["namespace"], "default");
    assert_eq!(roles[2]["metadata"]["namespace"], "ml");
    assert_eq!(
        roles[2]["rules"][1]["resourceNames"],
        json!(["accord-registry"])
    );

    let cron = &yaml_documents(&rendered.manifests[2].content).unwrap()[0];
    assert_eq!(cron["apiVersion"], "batch/v1");
    assert_eq!(cron["spec"]["schedule"], "0 */6 * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let args = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args[0], "--registry=registry.us-east1.accord.dev");
    assert_eq!(args[2], "--namespaces=default,ml");
    assert!(
        render::<RegistryTokenRotator>(&cluster, "0.1.0", "{}")
            .unwrap_err()
            .contains("unknown version")
    );
}
