//! Table-driven tests of the Cluster Autoscaler add-on through the exported entry points.

use addon_kit::entry::{describe, plan_upgrade, render};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    sample_cluster, write_rendered, yaml_documents,
};
use addon_kit::{Installer, Ownership};

use crate::ClusterAutoscaler;

/// What the addon-manager hands the plugin: the customer's overrides plus the host's facts.
const HOSTED: &str = r#"{"platform": {"apiEndpoint": "https://api.eu1.cloud.example:8443"}}"#;

#[test]
fn describe_is_sane() {
    check_describe::<ClusterAutoscaler>().unwrap();
    let info = describe::<ClusterAutoscaler>();
    assert_eq!(info.name, "cluster-autoscaler");
    assert_eq!(info.installer, Installer::Customer);
    assert_eq!(info.versions, ["1.30.4", "1.31.2", "1.32.1", "1.33.0"]);
    assert!(info.customer_knobs.iter().any(|k| k == "scaleDown"));
    assert!(
        !info.default_config.contains("min"),
        "bounds come from the node pools"
    );
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        (
            r#"{"scaleDown": {"unneededTime": "30m", "utilizationThreshold": 0.3}}"#,
            &[],
        ),
        (
            r#"{"scaleDown": {"unneededTime": "30"}}"#,
            &["scaleDown.unneededTime"],
        ),
        (
            r#"{"scaleDown": {"utilizationThreshold": 1.5}}"#,
            &["scaleDown.utilizationThreshold"],
        ),
        (r#"{"expander": "cheapest"}"#, &["expander"]),
        (
            r#"{"maxNodeProvisionTime": "forever"}"#,
            &["maxNodeProvisionTime"],
        ),
        (r#"{"minNodes": 1}"#, &["minNodes"]),
        (r#"{"replicas": 5}"#, &["replicas"]),
        (
            r#"{"credentialsSecret": "Bad_Name"}"#,
            &["credentialsSecret"],
        ),
        (HOSTED, &[]),
        (
            r#"{"platform": {"apiEndpoint": "http://api.example.com"}}"#,
            &["platform.apiEndpoint"],
        ),
        (r#"{"platform": {"apiUrl": "x"}}"#, &["platform.apiUrl"]),
    ];
    check_validation_cases::<ClusterAutoscaler>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        ("{}", Ownership::ProviderManaged, "matches"),
        // The host's facts are not a configuration choice.
        (HOSTED, Ownership::ProviderManaged, "matches"),
        (
            r#"{"scaleDown": {"enabled": false}}"#,
            Ownership::Shared,
            "scaleDown.enabled",
        ),
        (
            r#"{"scaleDown": {"unneededTime": "30m"}, "expander": "most-pods"}"#,
            Ownership::Shared,
            "expander, scaleDown.unneededTime",
        ),
        (
            r#"{"balanceSimilarNodeGroups": true}"#,
            Ownership::Shared,
            "balanceSimilarNodeGroups",
        ),
        (
            r#"{"image": {"repository": "registry.k8s.io/autoscaling"}}"#,
            Ownership::CustomerOwned,
            "image.repository",
        ),
        (
            r#"{"replicas": 2}"#,
            Ownership::CustomerOwned,
            "replicas (not a customer knob)",
        ),
    ];
    check_classification_cases::<ClusterAutoscaler>(cases).unwrap();
}

#[test]
fn plan_upgrade_follows_the_control_plane() {
    let plan = plan_upgrade::<ClusterAutoscaler>("1.31.2", "1.32.1", "{}").unwrap();
    assert!(!plan.disruptive);
    assert!(
        plan.steps[0].contains("control plane runs Kubernetes 1.32"),
        "{:#?}",
        plan.steps
    );
    let at = |needle: &str| plan.steps.iter().position(|s| s.contains(needle)).unwrap();
    assert!(at("RBAC") < at("roll Deployment") && at("roll Deployment") < at("verify"));
    let cases = [
        ("1.30.4", "1.32.1", "skips a minor"),
        ("1.32.1", "1.31.2", "downgrade"),
        ("1.32.1", "1.34.0", "unknown version"),
    ];
    for (current, target, needle) in cases {
        let err = plan_upgrade::<ClusterAutoscaler>(current, target, "{}").unwrap_err();
        assert!(err.contains(needle), "{current}→{target}: {err}");
    }
}

#[test]
fn render_takes_bounds_from_the_pools() {
    let cluster = sample_cluster();
    let rendered = render::<ClusterAutoscaler>(&cluster, "1.32.1", HOSTED).unwrap();
    assert_eq!(
        rendered,
        render::<ClusterAutoscaler>(&cluster, "1.32.1", HOSTED).unwrap()
    );
    assert_eq!(check_manifests(&rendered.manifests).unwrap(), 7);
    write_rendered("cluster-autoscaler", &rendered.manifests).unwrap();

    let deployment = &yaml_documents(&rendered.manifests[2].content).unwrap()[0];
    let args: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--nodes=1:4:h100-ib"), "{args:?}");
    assert!(args.contains(&"--nodes=2:6:cpu"), "{args:?}");
    assert!(args.contains(&"--scale-down-unneeded-time=10m"), "{args:?}");
    assert!(
        args.contains(&"--scale-down-utilization-threshold=0.5"),
        "{args:?}"
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.accord.dev/addons/cluster-autoscaler:v1.32.1"
    );

    // The cloud provider calls the API the host named, for this cluster.
    let cloud = &yaml_documents(&rendered.manifests[1].content).unwrap()[0];
    let cloud = cloud["data"]["cloud-config.yaml"].as_str().unwrap();
    assert_eq!(
        cloud,
        format!(
            "api: https://api.eu1.cloud.example:8443\nproject: {}\ncluster: {}\nregion: us-east1\n",
            cluster.project, cluster.id
        )
    );

    // A pool without bounds is not a node group.
    let mut manual = sample_cluster();
    manual.pools[1].min_count = None;
    manual.pools[1].max_count = None;
    let rendered = render::<ClusterAutoscaler>(&manual, "1.32.1", HOSTED).unwrap();
    assert!(!rendered.manifests[2].content.contains(":cpu"));

    let err = render::<ClusterAutoscaler>(&cluster, "1.33.0", HOSTED).unwrap_err();
    assert!(err.contains("use 1.32.1"), "{err}");
}

#[test]
fn render_refuses_without_the_hosts_api_endpoint() {
    let err = render::<ClusterAutoscaler>(&sample_cluster(), "1.32.1", "{}").unwrap_err();
    assert!(err.contains("platform.apiEndpoint is not set"), "{err}");
}
