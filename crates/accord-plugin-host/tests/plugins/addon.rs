//! The add-on calls through the smallest add-on.

use accord_plugin_host::{ClusterInfo, Ownership, PluginError, PoolInfo};

use crate::support::{NOOP_ADDON, host, wasm};

fn cluster() -> ClusterInfo {
    ClusterInfo {
        id: "cl-01".into(),
        name: "train".into(),
        project: "pr-01".into(),
        kubernetes_version: "1.32".into(),
        region: "eu-west-1".into(),
        pod_cidr: "10.0.0.0/16".into(),
        service_cidr: "10.1.0.0/16".into(),
        api_endpoint: "https://10.2.0.1:6443".into(),
        pools: vec![PoolInfo {
            name: "h100".into(),
            instance_type: "gpu-h100-8".into(),
            gpu_count: 8,
            gpu_model: "H100".into(),
            infiniband: true,
            count: 4,
            min_count: None,
            max_count: None,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_addon_call_round_trips() {
    let addon = host().load_addon(&wasm(NOOP_ADDON)).unwrap();

    assert!(addon.validate_config("{}").await.unwrap().is_empty());
    let violations = addon.validate_config("[]").await.unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, ".");

    let manifests = addon.render(&cluster(), "1.0.0", "{}").await.unwrap();
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0].name, "10-configmap.yaml");
    assert_eq!(manifests[0].format, "kubernetes");
    assert!(
        manifests[0].content.contains("cluster: train"),
        "{}",
        manifests[0].content
    );

    let verdict = addon.classify_change("{}", "{}").await.unwrap();
    assert_eq!(verdict.ownership, Ownership::ProviderManaged);
    let verdict = addon
        .classify_change("{}", r#"{"replicas":2}"#)
        .await
        .unwrap();
    assert_eq!(verdict.ownership, Ownership::Shared);

    let plan = addon.plan_upgrade("1.0.0", "1.0.0", "{}").await.unwrap();
    assert_eq!(plan.steps, ["re-apply 1.0.0"]);
    assert!(!plan.disruptive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_addons_own_errors_are_returned_and_do_not_count_as_failures() {
    let addon = host().load_addon(&wasm(NOOP_ADDON)).unwrap();
    let err = addon.render(&cluster(), "9.9.9", "{}").await.unwrap_err();
    assert_eq!(err, PluginError::Returned("unknown version 9.9.9".into()));
    let err = addon
        .plan_upgrade("1.0.0", "2.0.0", "{}")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::Returned("cannot upgrade from 1.0.0 to 2.0.0".into())
    );
    assert_eq!(addon.failures(), 0);
}
