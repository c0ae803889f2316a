//! Table-driven tests of the GPU Operator add-on through the same entry points the component
//! exports.

use addon_kit::entry::{describe, plan_upgrade, render};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    cluster_without_infiniband, release_values, sample_cluster, the_helm_release, write_rendered,
};
use addon_kit::{Format, Installer, Ownership};
use serde_json::json;

use crate::GpuOperator;

#[test]
fn describe_is_sane() {
    check_describe::<GpuOperator>().unwrap();
    let info = describe::<GpuOperator>();
    assert_eq!(info.name, "nvidia-gpu-operator");
    assert_eq!(info.installer, Installer::Provider);
    assert!(!info.required_with_infiniband);
    assert_eq!(info.default_version, "v25.3.4");
    for knob in ["driver.version", "mig.strategy", "tolerations[+]"] {
        assert!(info.customer_knobs.iter().any(|k| k == knob), "{knob}");
    }
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        (r#"{"driver": {"version": "570.195.03"}}"#, &[]),
        (r#"{"driver": {"version": "570"}}"#, &["driver.version"]),
        (r#"{"driver": {"version": 570}}"#, &["driver.version"]),
        (
            r#"{"driver": {"upgradePolicy": {"maxParallelUpgrades": 100}}}"#,
            &["driver.upgradePolicy.maxParallelUpgrades"],
        ),
        (
            r#"{"driver": {"upgradePolicy": {"maxUnavailable": "150%"}}}"#,
            &["driver.upgradePolicy.maxUnavailable"],
        ),
        (r#"{"mig": {"strategy": "both"}}"#, &["mig.strategy"]),
        (
            r#"{"dcgmExporter": {"enabled": "yes"}}"#,
            &["dcgmExporter.enabled"],
        ),
        (
            r#"{"driver": {"verison": "570.195.03"}}"#,
            &["driver.verison"],
        ),
        (
            r#"{"operator": {"repository": "nvcr.io/nvidia:latest"}}"#,
            &["operator.repository"],
        ),
        (
            r#"{"tolerations": [{"key": "gpu", "operator": "Sometimes"}]}"#,
            &["tolerations[0].operator"],
        ),
        // Cross-field rules.
        (
            r#"{"driver": {"enabled": false, "version": "570.195.03"}}"#,
            &["driver.version"],
        ),
        (
            r#"{"mig": {"strategy": "mixed"}, "migManager": {"enabled": false}}"#,
            &["mig.strategy"],
        ),
        ("[]", &["."]),
        ("not json", &["."]),
    ];
    check_validation_cases::<GpuOperator>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        (
            "{}",
            Ownership::ProviderManaged,
            "matches the provider's reference",
        ),
        (
            r#"{"driver": {"version": "550.163.01"}}"#,
            Ownership::Shared,
            "driver.version",
        ),
        (
            r#"{"mig": {"strategy": "mixed"}}"#,
            Ownership::Shared,
            "mig.strategy",
        ),
        (
            r#"{"driver": {"upgradePolicy": {"maxParallelUpgrades": 2}}}"#,
            Ownership::Shared,
            "maxParallelUpgrades",
        ),
        (
            r#"{"dcgmExporter": {"serviceMonitor": true}}"#,
            Ownership::Shared,
            "dcgmExporter.serviceMonitor",
        ),
        (
            r#"{"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]}"#,
            Ownership::Shared,
            "tolerations",
        ),
        (
            r#"{"tolerations": []}"#,
            Ownership::CustomerOwned,
            "reference entries removed",
        ),
        (
            r#"{"driver": {"enabled": false}}"#,
            Ownership::CustomerOwned,
            "driver.enabled (not a customer knob)",
        ),
        (
            r#"{"dcgmExporter": {"enabled": false}}"#,
            Ownership::CustomerOwned,
            "dcgmExporter.enabled",
        ),
        (
            r#"{"devicePlugin": {"enabled": false}}"#,
            Ownership::CustomerOwned,
            "devicePlugin.enabled",
        ),
        (
            r#"{"operator": {"repository": "registry.example.com/mirror"}}"#,
            Ownership::CustomerOwned,
            "operator.repository",
        ),
        (
            r#"{"driver": {"repository": "registry.example.com/drivers"}}"#,
            Ownership::CustomerOwned,
            "driver.repository",
        ),
        (
            r#"{"driver": {"upgradePolicy": {"autoUpgrade": false}}}"#,
            Ownership::CustomerOwned,
            "autoUpgrade",
        ),
        (
            r#"{"driver": {"version": "570.195.03", "enabled": true}, "toolkit": {"enabled": false}}"#,
            Ownership::CustomerOwned,
            "becomes the customer's",
        ),
        (
            r#"{"driver": {"versoin": "1"}}"#,
            Ownership::CustomerOwned,
            "does not validate",
        ),
    ];
    check_classification_cases::<GpuOperator>(cases).unwrap();
}

fn position(steps: &[String], needle: &str) -> usize {
    steps
        .iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("no step with {needle:?} in {steps:#?}"))
}

#[test]
fn plan_upgrade_drains_only_when_the_driver_changes() {
    // (current, target, config, disruptive)
    let cases = [
        ("v25.3.2", "v25.3.4", "{}", true),
        ("v25.3.4", "v25.10.0", "{}", true),
        (
            "v25.3.2",
            "v25.3.4",
            r#"{"driver": {"version": "570.172.08"}}"#,
            false,
        ),
        (
            "v24.9.2",
            "v25.3.4",
            r#"{"driver": {"version": "550.144.03"}}"#,
            false,
        ),
        (
            "v25.3.2",
            "v25.3.4",
            r#"{"driver": {"enabled": false}}"#,
            false,
        ),
    ];
    for (current, target, config, disruptive) in cases {
        let plan = plan_upgrade::<GpuOperator>(current, target, config).unwrap();
        assert_eq!(
            plan.disruptive, disruptive,
            "{current}→{target} {config}: {:#?}",
            plan.steps
        );
        let crds = position(&plan.steps, "CRDs");
        let helm = position(&plan.steps, "helm upgrade");
        let verify = position(&plan.steps, "verify");
        assert!(crds < helm && helm < verify, "{:#?}", plan.steps);
        if disruptive {
            let drain = position(&plan.steps, "drain GPU workloads");
            let reload = position(&plan.steps, "replace the driver pod");
            let uncordon = position(&plan.steps, "uncordon");
            assert!(helm < drain && drain < reload && reload < uncordon && uncordon < verify);
        }
    }
    let branch = plan_upgrade::<GpuOperator>("v25.3.4", "v25.10.0", "{}").unwrap();
    assert!(
        branch
            .steps
            .iter()
            .any(|s| s.contains("branch change 570 → 580")),
        "{:#?}",
        branch.steps
    );
}

#[test]
fn plan_upgrade_refuses_downgrades_unknown_versions_and_unqualified_drivers() {
    let cases = [
        ("v25.3.4", "v25.3.2", "{}", "downgrade"),
        ("v25.3.4", "v26.1.0", "{}", "unknown version"),
        ("v23.9.0", "v25.3.4", "{}", "unknown version"),
        (
            "v25.3.4",
            "v25.10.0",
            r#"{"driver": {"version": "550.163.01"}}"#,
            "not qualified",
        ),
        (
            "v25.3.2",
            "v25.3.4",
            r#"{"mig": {"strategy": 1}}"#,
            "invalid configuration",
        ),
    ];
    for (current, target, config, needle) in cases {
        let err = plan_upgrade::<GpuOperator>(current, target, config).unwrap_err();
        assert!(err.contains(needle), "{current}→{target}: {err}");
    }
    assert!(
        plan_upgrade::<GpuOperator>("v25.3.4", "25.3.4", "{}")
            .unwrap()
            .steps
            .is_empty()
    );
}

#[test]
fn render_is_valid_deterministic_and_written() {
    let cluster = sample_cluster();
    let first = render::<GpuOperator>(&cluster, "v25.3.4", "{}").unwrap();
    let second = render::<GpuOperator>(&cluster, "v25.3.4", "{}").unwrap();
    assert_eq!(first, second);
    assert_eq!(check_manifests(&first.manifests).unwrap(), 3);
    write_rendered("nvidia-gpu-operator", &first.manifests).unwrap();
    assert!(
        first
            .manifests
            .iter()
            .all(|m| m.format == Format::Kubernetes)
    );

    let release = the_helm_release(&first.manifests).unwrap();
    assert_eq!(release["metadata"]["namespace"], "gpu-operator");
    assert_eq!(release["spec"]["chart"]["spec"]["chart"], "gpu-operator");
    assert_eq!(release["spec"]["chart"]["spec"]["version"], "v25.3.4");
    let values = &release_values(&first.manifests).unwrap();
    // The runtime comes from the nodes; the key is dead in the pinned charts.
    assert!(values["operator"].get("defaultRuntime").is_none());
    assert_eq!(values["operator"]["version"], "v25.3.4");
    assert_eq!(values["driver"]["version"], "570.195.03");
    assert_eq!(values["driver"]["kernelModuleType"], "auto");
    assert_eq!(values["driver"]["rdma"]["enabled"], true);
    assert_eq!(values["toolkit"]["enabled"], true);
    assert_eq!(values["devicePlugin"]["enabled"], true);
    assert_eq!(values["dcgmExporter"]["enabled"], true);
    assert_eq!(
        values["daemonsets"]["tolerations"][0]["key"],
        "nvidia.com/gpu"
    );
    assert_eq!(
        values["operator"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            [0]["preference"]["matchExpressions"][0]["values"],
        json!(["cpu"])
    );
}

#[test]
fn render_follows_cluster_version_and_config() {
    let no_ib = render::<GpuOperator>(
        &cluster_without_infiniband(),
        "v24.9.2",
        r#"{"driver": {"kernelModuleType": "open"}}"#,
    )
    .unwrap();
    let values = &release_values(&no_ib.manifests).unwrap();
    assert_eq!(values["driver"]["rdma"]["enabled"], false);
    assert_eq!(values["driver"]["useOpenKernelModules"], true);
    assert!(values["driver"].get("kernelModuleType").is_none());
    assert_eq!(values["driver"]["version"], "550.144.03");

    let cases = [
        ("v9.9.9", "{}", "unknown version"),
        (
            "v25.10.0",
            r#"{"driver": {"version": "550.163.01"}}"#,
            "not qualified",
        ),
        ("v25.3.4", r#"{"mig": {"strategy": "x"}}"#, "mig.strategy"),
    ];
    for (version, config, needle) in cases {
        let err = render::<GpuOperator>(&sample_cluster(), version, config).unwrap_err();
        assert!(err.contains(needle), "{version} {config}: {err}");
    }
}
