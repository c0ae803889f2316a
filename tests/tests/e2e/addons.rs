//! The shipped add-on plugins render manifests that the Kubernetes API would accept: every
//! built-in object passes `kubernetes-validate --strict` for each supported Kubernetes version,
//! and every Flux `HelmRepository` and `HelmRelease` (the charts: Cilium, GPU Operator, Network
//! Operator, CSI driver) and the Network Operator's `NicClusterPolicy` passes its vendored
//! CRD's schema with unknown fields refused ([`crate::crd_schema`]). Rendering goes through the real components and the plugin host, as
//! the addon-manager will, with the host facts it passes (`platform.apiEndpoint`).

use std::path::PathBuf;

use crate::crd_schema::{CrdSchemas, vendored_crds};
use accord_plugin_host::{
    HostConfig, PluginHost,
    types::{ClusterInfo, PoolInfo},
};

const ADDONS: [&str; 7] = [
    "cilium",
    "nvidia_gpu_operator",
    "nvidia_network_operator",
    "csi_driver",
    "cluster_autoscaler",
    "registry_token_rotator",
    "watch_agent",
];

/// Kubernetes API groups whose schemas ship with Kubernetes (`kubernetes-validate` knows them;
/// any other group must have its CRD vendored in `deploy/crds/`).
const BUILTIN_GROUPS: [&str; 9] = [
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "policy",
    "networking.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "coordination.k8s.io",
];

fn validator() -> PathBuf {
    std::env::var_os("ACCORD_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .expect("ACCORD_KUBERNETES_VALIDATE is not set: run the tests with `cargo xtask test`")
}

fn sample_cluster(version: &str) -> ClusterInfo {
    ClusterInfo {
        id: "cl-01jbenchmarkcluster0000000".into(),
        name: "train".into(),
        project: "prj-01jbenchmarkproject000000".into(),
        kubernetes_version: version.into(),
        region: "eu-iceland1".into(),
        pod_cidr: "10.244.0.0/16".into(),
        service_cidr: "10.96.0.0/12".into(),
        api_endpoint: "https://train-abc123.eu-iceland1.k8s.accord.internal:6443".into(),
        pools: vec![
            PoolInfo {
                name: "h100".into(),
                instance_type: "h100-80gb-sxm-ib.8x".into(),
                gpu_count: 8,
                gpu_model: "H100".into(),
                infiniband: true,
                count: 4,
                min_count: Some(2),
                max_count: Some(8),
            },
            PoolInfo {
                name: "cpu".into(),
                instance_type: "c1a.16x".into(),
                gpu_count: 0,
                gpu_model: String::new(),
                infiniband: false,
                count: 2,
                min_count: None,
                max_count: None,
            },
        ],
    }
}

/// What the addon-manager hands each add-on: no customer overrides, plus the host facts the
/// add-on declares (the Accord API endpoint for the autoscaler's cloud provider).
fn hosted_config(addon: &str) -> &'static str {
    match addon {
        "cluster_autoscaler" => r#"{"platform": {"apiEndpoint": "https://api.e2e.accord.test"}}"#,
        _ => "{}",
    }
}

/// The charts, by the add-on that renders them, and the chart each installs.
const CHARTS: [(&str, &str); 4] = [
    ("cilium", "cilium"),
    ("nvidia_gpu_operator", "gpu-operator"),
    ("nvidia_network_operator", "network-operator"),
    ("csi_driver", "csi-driver"),
];

fn is_builtin(api_version: &str) -> bool {
    match api_version.split_once('/') {
        None => true, // core group: "v1"
        Some((group, _)) => BUILTIN_GROUPS.contains(&group),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rendered_addon_manifests_pass_strict_kubernetes_validation() {
    let dir = tempfile::tempdir().unwrap();
    let host = PluginHost::new(HostConfig::default()).unwrap();
    let crds = CrdSchemas::load(&vendored_crds());
    let mut files = Vec::new();
    let mut custom = Vec::new();
    let mut charts = Vec::new();
    for addon in ADDONS {
        let wasm = std::fs::read(accord_e2e::plugin_dir().join(format!("{addon}.wasm")))
            .unwrap_or_else(|e| panic!("{addon}.wasm: {e}; run `cargo xtask plugins` first"));
        let plugin = host.load_addon(&wasm).unwrap();
        let info = plugin.info().clone();
        for (n, manifest) in plugin
            .render(
                &sample_cluster("1.32"),
                &info.default_version,
                hosted_config(addon),
            )
            .await
            .unwrap_or_else(|e| panic!("{addon} failed to render: {e}"))
            .into_iter()
            .enumerate()
        {
            assert_eq!(
                manifest.format, "kubernetes",
                "{addon}/{}: every add-on renders Kubernetes objects",
                manifest.name
            );
            for (d, doc) in serde_norway::Deserializer::from_str(&manifest.content).enumerate() {
                let value = serde_norway::Value::deserialize(doc).unwrap();
                if value.is_null() {
                    continue;
                }
                let api_version = value["apiVersion"].as_str().unwrap_or_default().to_owned();
                let kind = value["kind"].as_str().unwrap_or_default().to_owned();
                assert!(
                    !kind.is_empty() && !api_version.is_empty(),
                    "{addon}/{}: document {d} has no kind",
                    manifest.name
                );
                if crds.knows(&api_version, &kind) {
                    if let Err(errors) = crds.check(&serde_json::to_value(&value).unwrap()) {
                        panic!(
                            "{addon}/{} {kind} does not match its CRD:\n{}",
                            manifest.name,
                            errors.join("\n")
                        );
                    }
                    if kind == "HelmRelease" {
                        let chart = value["spec"]["chart"]["spec"]["chart"].as_str().unwrap();
                        charts.push((addon, chart.to_owned()));
                    }
                    custom.push(format!("{addon}/{kind}"));
                    continue;
                }
                assert!(
                    is_builtin(&api_version),
                    "{addon}/{} {kind} ({api_version}): a custom resource without a vendored CRD \
                     in deploy/crds/",
                    manifest.name
                );
                let path = dir.path().join(format!("{addon}-{n}-{d}-{kind}.yaml"));
                std::fs::write(&path, serde_norway::to_string(&value).unwrap()).unwrap();
                files.push(path);
            }
        }
    }
    let mut expected: Vec<_> = CHARTS.iter().map(|(a, c)| (*a, (*c).to_owned())).collect();
    expected.sort();
    charts.sort();
    assert_eq!(charts, expected, "one HelmRelease per chart-based add-on");
    // A HelmRepository and a HelmRelease per chart, and the InfiniBand pool's NicClusterPolicy.
    assert_eq!(custom.len(), 2 * CHARTS.len() + 1, "{custom:?}");
    assert!(custom.contains(&"nvidia_network_operator/NicClusterPolicy".to_owned()));
    assert!(
        files.len() >= 20,
        "expected the add-ons to render at least 20 built-in objects, got {}",
        files.len()
    );
    for version in ["1.30.0", "1.31.0", "1.32.0"] {
        let out = std::process::Command::new(validator())
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .expect("running kubernetes-validate");
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k {version} rejected rendered manifests:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!(
        "validated {} built-in objects with kubernetes-validate and {} custom resources against their CRDs: {custom:?}",
        files.len(),
        custom.len()
    );
}

/// The cluster-autoscaler installed through the addon-manager calls the Accord API the platform
/// names (`platform.apiEndpoint`, here the provisioner's address), for its own cluster; the
/// customer cannot point it elsewhere through `platform`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autoscaler_calls_the_api_endpoint_the_platform_names() {
    use accord_proto::addons::v1 as apb;

    let mut env = accord_e2e::Env::start().await.unwrap();
    env.start_addon_manager().await.unwrap();
    let admin = env.admin().unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    let cluster = admin
        .clusters
        .clone()
        .create_cluster(accord_e2e::cluster_request("scaled", ""))
        .await
        .unwrap()
        .into_inner();
    let install = || async {
        addons
            .clone()
            .install_addon(apb::InstallAddonRequest {
                cluster: "scaled".into(),
                name: "cluster-autoscaler".into(),
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
    };
    let installed = accord_e2e::wait_for("cluster-autoscaler installed", install)
        .await
        .unwrap();
    let cloud = installed
        .manifests
        .iter()
        .find(|m| m.name == "20-cloud-config.yaml")
        .unwrap();
    let expected = format!("api: https://{}\n", env.grpc_addr);
    assert!(cloud.content.contains(&expected), "{}", cloud.content);
    let id = cluster.metadata.map(|m| m.id).unwrap_or_default();
    assert!(!id.is_empty() && cloud.content.contains(&format!("cluster: {id}")));
    assert!(
        !cloud.content.contains("api.accord.dev"),
        "{}",
        cloud.content
    );

    // The endpoint is the platform's: a customer's `platform` is refused.
    let refused = addons
        .clone()
        .update_addon_config(apb::UpdateAddonConfigRequest {
            cluster: "scaled".into(),
            name: "cluster-autoscaler".into(),
            config: r#"{"platform":{"apiEndpoint":"https://evil.example"}}"#.into(),
            generation: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
}

use serde::Deserialize as _;
