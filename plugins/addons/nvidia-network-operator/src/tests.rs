//! Table-driven tests of the Network Operator add-on through the exported entry points.

use addon_kit::entry::{describe, plan_upgrade, render};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    cluster_without_infiniband, sample_cluster, the_helm_release, write_rendered, yaml_documents,
};
use addon_kit::{Installer, Ownership};
use serde_json::json;

use crate::NetworkOperator;

#[test]
fn describe_is_sane() {
    check_describe::<NetworkOperator>().unwrap();
    let info = describe::<NetworkOperator>();
    assert_eq!(info.name, "nvidia-network-operator");
    assert!(
        info.required_with_infiniband,
        "the only add-on required with InfiniBand"
    );
    assert_eq!(info.installer, Installer::Provider);
    assert!(
        info.customer_knobs
            .iter()
            .any(|k| k == "ofedDriver.version")
    );
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        (r#"{"ofedDriver": {"version": "25.04-0.6.1.0-2"}}"#, &[]),
        (
            r#"{"ofedDriver": {"version": "25.4"}}"#,
            &["ofedDriver.version"],
        ),
        (
            r#"{"ofedDriver": {"upgradePolicy": {"maxParallelUpgrades": -1}}}"#,
            &["ofedDriver.upgradePolicy.maxParallelUpgrades"],
        ),
        (
            r#"{"rdmaSharedDevicePlugin": {"rdmaHcaMax": 0}}"#,
            &["rdmaSharedDevicePlugin.rdmaHcaMax"],
        ),
        (
            r#"{"rdmaSharedDevicePlugin": {"resourceName": "rdma/a b"}}"#,
            &["rdmaSharedDevicePlugin.resourceName"],
        ),
        (r#"{"sriov": {"enabled": true}}"#, &["sriov"]),
        (
            r#"{"ofedDriver": {"enabled": false, "version": "25.04-0.6.1.0-2"}}"#,
            &["ofedDriver.version"],
        ),
    ];
    check_validation_cases::<NetworkOperator>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        ("{}", Ownership::ProviderManaged, "matches"),
        (
            r#"{"ofedDriver": {"version": "24.10-0.7.0.0-0"}}"#,
            Ownership::Shared,
            "ofedDriver.version",
        ),
        (
            r#"{"rdmaSharedDevicePlugin": {"rdmaHcaMax": 127}}"#,
            Ownership::Shared,
            "rdmaHcaMax",
        ),
        (
            r#"{"ofedDriver": {"upgradePolicy": {"drainTimeoutSeconds": 900}}}"#,
            Ownership::Shared,
            "drainTimeoutSeconds",
        ),
        (
            r#"{"ofedDriver": {"enabled": false}}"#,
            Ownership::CustomerOwned,
            "ofedDriver.enabled",
        ),
        (
            r#"{"rdmaSharedDevicePlugin": {"enabled": false}}"#,
            Ownership::CustomerOwned,
            "rdmaSharedDevicePlugin.enabled",
        ),
        (
            r#"{"operator": {"repository": "registry.example.com/net"}}"#,
            Ownership::CustomerOwned,
            "becomes the customer's",
        ),
        (
            r#"{"ofedDriver": {"upgradePolicy": {"autoUpgrade": false}}}"#,
            Ownership::CustomerOwned,
            "autoUpgrade",
        ),
        (
            r#"{"tolerations": []}"#,
            Ownership::CustomerOwned,
            "tolerations",
        ),
    ];
    check_classification_cases::<NetworkOperator>(cases).unwrap();
}

fn position(steps: &[String], needle: &str) -> usize {
    steps
        .iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("no step with {needle:?} in {steps:#?}"))
}

#[test]
fn plan_upgrade_orders_steps_and_refuses_what_it_must() {
    let cases = [
        ("24.10.1", "25.4.0", "{}", true),
        ("25.4.0", "25.7.0", "{}", true),
        (
            "25.4.0",
            "25.7.0",
            r#"{"ofedDriver": {"version": "25.04-0.6.1.0-2"}}"#,
            false,
        ),
        (
            "25.4.0",
            "25.7.0",
            r#"{"ofedDriver": {"enabled": false}}"#,
            false,
        ),
    ];
    for (current, target, config, disruptive) in cases {
        let plan = plan_upgrade::<NetworkOperator>(current, target, config).unwrap();
        assert_eq!(
            plan.disruptive, disruptive,
            "{current}→{target} {config}: {:#?}",
            plan.steps
        );
        let crds = position(&plan.steps, "CRDs");
        let helm = position(&plan.steps, "helm upgrade");
        let policy = position(&plan.steps, "update NicClusterPolicy");
        let verify = position(&plan.steps, "verify");
        assert!(crds < helm && helm < policy && policy < verify);
        if disruptive {
            let drain = position(&plan.steps, "drain RDMA workloads");
            let reload = position(&plan.steps, "reload the DOCA-OFED driver");
            assert!(policy < drain && drain < reload && reload < verify);
        }
    }
    for (current, target, needle) in [
        ("25.7.0", "25.4.0", "downgrade"),
        ("25.4.0", "26.1.0", "unknown version"),
    ] {
        let err = plan_upgrade::<NetworkOperator>(current, target, "{}").unwrap_err();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn render_targets_infiniband_pools() {
    let cluster = sample_cluster();
    let rendered = render::<NetworkOperator>(&cluster, "25.4.0", "{}").unwrap();
    assert_eq!(
        rendered,
        render::<NetworkOperator>(&cluster, "25.4.0", "{}").unwrap()
    );
    assert_eq!(check_manifests(&rendered.manifests).unwrap(), 4);
    write_rendered("nvidia-network-operator", &rendered.manifests).unwrap();

    let release = the_helm_release(&rendered.manifests).unwrap();
    assert_eq!(release["metadata"]["namespace"], "nvidia-network-operator");
    assert_eq!(
        release["spec"]["chart"]["spec"]["chart"],
        "network-operator"
    );
    assert_eq!(release["spec"]["chart"]["spec"]["version"], "25.4.0");
    let values = &release["spec"]["values"];
    // The pinned charts deploy no NicClusterPolicy: `deployCR` is dead and not rendered.
    assert!(values.get("deployCR").is_none());
    assert_eq!(values["operator"]["tag"], "v25.4.0");
    assert_eq!(values["nfd"]["enabled"], false);

    let policy = rendered
        .manifests
        .iter()
        .find(|m| m.name == "20-nic-cluster-policy.yaml")
        .unwrap();
    let policy = &yaml_documents(&policy.content).unwrap()[0];
    assert_eq!(policy["kind"], "NicClusterPolicy");
    assert_eq!(policy["spec"]["ofedDriver"]["version"], "25.04-0.6.1.0-2");
    assert_eq!(
        policy["spec"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"][0]["values"],
        json!(["h100-ib"])
    );
    let plugin_config: serde_json::Value = serde_json::from_str(
        policy["spec"]["rdmaSharedDevicePlugin"]["config"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        plugin_config["configList"][0]["resourceName"],
        "rdma_shared_device_a"
    );

    // Without InfiniBand pools the policy is left out, and the host hears why.
    let idle = render::<NetworkOperator>(&cluster_without_infiniband(), "25.4.0", "{}").unwrap();
    assert_eq!(idle.manifests.len(), 2);
    assert!(idle.notes.iter().any(|n| n.contains("no InfiniBand pools")));

    // Disabling the driver drops it from the policy.
    let no_driver =
        render::<NetworkOperator>(&cluster, "25.4.0", r#"{"ofedDriver": {"enabled": false}}"#)
            .unwrap();
    let policy = &yaml_documents(&no_driver.manifests[2].content).unwrap()[0];
    assert!(policy["spec"].get("ofedDriver").is_none());

    assert!(
        render::<NetworkOperator>(&cluster, "23.1.0", "{}")
            .unwrap_err()
            .contains("unknown version")
    );
}
