//! The shipped add-on plugins render manifests that the Kubernetes API would accept: every
//! built-in object passes `kubernetes-validate --strict` for each supported Kubernetes version.
//! Rendering goes through the real components and the plugin host, as the addon-manager will.

use std::path::PathBuf;

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

/// Kubernetes API groups whose schemas ship with Kubernetes (custom resources such as a
/// NicClusterPolicy need their CRD's schema and are left out).
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
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for addon in ADDONS {
        let wasm = std::fs::read(accord_e2e::plugin_dir().join(format!("{addon}.wasm")))
            .unwrap_or_else(|e| panic!("{addon}.wasm: {e}; run `cargo xtask plugins` first"));
        let plugin = host.load_addon(&wasm).unwrap();
        let info = plugin.info().clone();
        for (n, manifest) in plugin
            .render(&sample_cluster("1.32"), &info.default_version, "{}")
            .await
            .unwrap_or_else(|e| panic!("{addon} failed to render: {e}"))
            .into_iter()
            .enumerate()
        {
            if manifest.format != "kubernetes" {
                skipped.push(format!("{addon}/{} ({})", manifest.name, manifest.format));
                continue;
            }
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
                if !is_builtin(&api_version) {
                    skipped.push(format!(
                        "{addon}/{} {kind} ({api_version}: custom resource)",
                        manifest.name
                    ));
                    continue;
                }
                let path = dir.path().join(format!("{addon}-{n}-{d}-{kind}.yaml"));
                std::fs::write(&path, serde_norway::to_string(&value).unwrap()).unwrap();
                files.push(path);
            }
        }
    }
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
        "validated {} objects; not Kubernetes objects or custom resources: {skipped:?}",
        files.len()
    );
}

use serde::Deserialize as _;
