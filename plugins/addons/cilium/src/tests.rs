//! Table-driven tests of the Cilium add-on through the exported entry points.

use addon_kit::entry::{describe, plan_upgrade, render};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    release_values, sample_cluster, the_helm_release, write_rendered, yaml_documents,
};
use addon_kit::{Format, Installer, Ownership};
use serde_json::json;

use crate::Cilium;
use crate::render::parse_cidr;

#[test]
fn describe_is_sane() {
    check_describe::<Cilium>().unwrap();
    let info = describe::<Cilium>();
    assert_eq!(info.name, "cilium");
    assert_eq!(info.installer, Installer::Provider);
    assert!(!info.required_with_infiniband);
    assert_eq!(
        info.customer_knobs,
        [
            "hubble",
            "bandwidthManager.enabled",
            "ipam.nodeCidrMaskSize"
        ]
    );
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        (r#"{"hubble": {"ui": true}}"#, &[]),
        (
            r#"{"routingMode": "native", "loadBalancer": {"mode": "dsr"}}"#,
            &[],
        ),
        (
            r#"{"loadBalancer": {"mode": "dsr"}}"#,
            &["loadBalancer.mode"],
        ),
        (r#"{"routingMode": "bgp"}"#, &["routingMode"]),
        (
            r#"{"ipam": {"nodeCidrMaskSize": 30}}"#,
            &["ipam.nodeCidrMaskSize"],
        ),
        (
            r#"{"hubble": {"metrics": ["dns", "kafka"]}}"#,
            &["hubble.metrics[1]"],
        ),
        (r#"{"hubble": {"enabled": false}}"#, &["hubble.enabled"]),
        (
            r#"{"hubble": {"relay": false, "ui": true}}"#,
            &["hubble.ui"],
        ),
        (r#"{"operator": {"replicas": 0}}"#, &["operator.replicas"]),
        (
            r#"{"kubeProxyReplacement": "true"}"#,
            &["kubeProxyReplacement"],
        ),
        (r#"{"encryption": {"enabled": true}}"#, &["encryption"]),
    ];
    check_validation_cases::<Cilium>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        ("{}", Ownership::ProviderManaged, "matches"),
        (
            r#"{"hubble": {"ui": true}}"#,
            Ownership::Shared,
            "hubble.ui",
        ),
        (
            r#"{"hubble": {"metrics": ["dns"]}}"#,
            Ownership::Shared,
            "hubble.metrics",
        ),
        (
            r#"{"bandwidthManager": {"enabled": true}}"#,
            Ownership::Shared,
            "bandwidthManager.enabled",
        ),
        (
            r#"{"ipam": {"nodeCidrMaskSize": 25}}"#,
            Ownership::Shared,
            "ipam.nodeCidrMaskSize",
        ),
        (
            r#"{"kubeProxyReplacement": false}"#,
            Ownership::CustomerOwned,
            "kubeProxyReplacement (not a customer knob)",
        ),
        (
            r#"{"routingMode": "native"}"#,
            Ownership::CustomerOwned,
            "routingMode",
        ),
        (
            r#"{"image": {"repository": "mirror.example.com/cilium"}}"#,
            Ownership::CustomerOwned,
            "image.repository",
        ),
        (
            r#"{"bpf": {"masquerade": false}}"#,
            Ownership::CustomerOwned,
            "becomes the customer's",
        ),
    ];
    check_classification_cases::<Cilium>(cases).unwrap();
}

#[test]
fn plan_upgrade_goes_one_minor_at_a_time() {
    for (current, target) in [("1.16.6", "1.17.6"), ("1.17.6", "1.18.2")] {
        let plan = plan_upgrade::<Cilium>(current, target, "{}").unwrap();
        assert!(!plan.disruptive);
        let steps = &plan.steps;
        let at = |needle: &str| steps.iter().position(|s| s.contains(needle)).unwrap();
        assert!(at("preflight") < at("helm upgrade"));
        assert!(at("helm upgrade") < at("agents restart"));
        assert!(at("agents restart") < at("verify"));
        assert!(steps[at("helm upgrade")].contains("upgradeCompatibility="));
    }
    let cases = [
        (
            "1.16.6",
            "1.18.2",
            "one minor at a time: go from 1.16.6 to 1.17.6",
        ),
        ("1.18.2", "1.17.6", "downgrade"),
        ("1.18.2", "1.19.0", "unknown version"),
    ];
    for (current, target, needle) in cases {
        let err = plan_upgrade::<Cilium>(current, target, "{}").unwrap_err();
        assert!(err.contains(needle), "{current}→{target}: {err}");
    }
}

#[test]
fn render_uses_the_pod_cidr_and_api_endpoint() {
    let cluster = sample_cluster();
    let rendered = render::<Cilium>(&cluster, "1.18.2", "{}").unwrap();
    assert_eq!(
        rendered,
        render::<Cilium>(&cluster, "1.18.2", "{}").unwrap()
    );
    assert_eq!(check_manifests(&rendered.manifests).unwrap(), 2);
    write_rendered("cilium", &rendered.manifests).unwrap();
    assert_eq!(rendered.manifests[0].format, Format::Kubernetes);
    let release = the_helm_release(&rendered.manifests).unwrap();
    assert_eq!(release["metadata"]["namespace"], "kube-system");
    assert_eq!(release["spec"]["chart"]["spec"]["chart"], "cilium");
    assert_eq!(release["spec"]["chart"]["spec"]["version"], "1.18.2");
    let repository = &yaml_documents(&rendered.manifests[0].content).unwrap()[0];
    assert_eq!(repository["kind"], "HelmRepository");
    assert_eq!(repository["spec"]["url"], "https://helm.cilium.io");
    let values = &release_values(&rendered.manifests).unwrap();
    assert_eq!(values["ipam"]["mode"], "cluster-pool");
    assert_eq!(
        values["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"],
        json!(["10.244.0.0/16"])
    );
    assert_eq!(values["ipam"]["operator"]["clusterPoolIPv4MaskSize"], 24);
    assert_eq!(values["kubeProxyReplacement"], true);
    assert_eq!(
        values["k8sServiceHost"],
        "train-u4i6o8.us-east1.k8s.accord.internal"
    );
    assert_eq!(values["k8sServicePort"], 6443);
    assert_eq!(values["tunnelProtocol"], "vxlan");
    assert_eq!(values["image"]["tag"], "v1.18.2");

    let native = render::<Cilium>(&cluster, "1.18.2", r#"{"routingMode": "native"}"#).unwrap();
    let values = &release_values(&native.manifests).unwrap();
    assert_eq!(values["ipv4NativeRoutingCIDR"], "10.244.0.0/16");
    assert!(values.get("tunnelProtocol").is_none());
}

#[test]
fn render_refuses_what_cannot_work() {
    let mut old_kube = sample_cluster();
    old_kube.kubernetes_version = "1.33".into();
    let mut small = sample_cluster();
    small.pod_cidr = "10.244.0.0/22".into();
    let cases = [
        (sample_cluster(), "1.15.0", "{}", "unknown version"),
        (old_kube, "1.16.6", "{}", "not run on Kubernetes 1.33"),
        (
            small.clone(),
            "1.18.2",
            "{}",
            "fits 4 nodes; the pools may grow to 10",
        ),
        (
            small,
            "1.18.2",
            r#"{"ipam": {"nodeCidrMaskSize": 20}}"#,
            "must be longer",
        ),
    ];
    for (cluster, version, config, needle) in cases {
        let err = render::<Cilium>(&cluster, version, config).unwrap_err();
        assert!(err.contains(needle), "{version} {config}: {err}");
    }
}

#[test]
fn cidrs_parse_strictly() {
    assert_eq!(parse_cidr("10.244.0.0/16").unwrap().prefix, 16);
    assert!(
        parse_cidr("10.244.0.1/16")
            .unwrap_err()
            .contains("host bits")
    );
    assert!(parse_cidr("10.244.0.0").is_err());
    assert!(parse_cidr("10.244.0.0/33").is_err());
    assert!(parse_cidr("0.0.0.0/0").is_ok());
}
