//! Rendering: Namespace, chart `nvidia/network-operator` (operator only) as a Flux
//! `HelmRepository` + `HelmRelease` (addon-kit's `flux`) and, with InfiniBand pools, the
//! `NicClusterPolicy`.
//!
//! The policy is rendered here, from the cluster: its node affinity lists exactly the InfiniBand
//! pools, so the driver never lands on CPU or non-IB GPU nodes. The pinned charts (24.10.1 and
//! later) deploy no NicClusterPolicy of their own — upstream removed it and its `deployCR` key in
//! 24.10.0 ("Remove Helm deployment of NICClusterPolicy") — so no key is needed to turn one off.
//! NFD is off here (the GPU Operator deploys it, and the policy does not need its PCI labels);
//! SR-IOV is off (InfiniBand pools use the shared RDMA device plugin).
//!
//! Ordering: the `NicClusterPolicy` kind is defined by a CRD the chart installs, so
//! `20-nic-cluster-policy.yaml` cannot be applied (or server-side dry-run) before the
//! `HelmRelease` is Ready. `kubectl apply` refuses that one document until then; a deployer that
//! dry-runs a whole set before applying any of it (a Flux `Kustomization`, an Argo CD sync)
//! would never apply the `HelmRelease` either, so that file goes in a second, dependent unit
//! (Flux: a `Kustomization` with `dependsOn`; Argo CD: a later sync wave with
//! `SkipDryRunOnMissingResource=true`). A render note says so.

use addon_kit::flux::{self, HelmChart};
use addon_kit::k8s::{self, Labels};
use addon_kit::yaml;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::{Map, Value, json};

use crate::releases::{self, Release};

/// Namespace of the operator and its operands.
pub const NAMESPACE: &str = "nvidia-network-operator";

/// Helm repository of the chart.
pub const CHART_REPOSITORY: &str = "https://helm.ngc.nvidia.com/nvidia";

/// Name of the (singleton) NicClusterPolicy.
pub const POLICY_NAME: &str = "nic-cluster-policy";

/// The OFED driver a configuration installs with `release` (pinned or the release default).
pub fn effective_ofed<'a>(config: &'a Config, release: &'a Release) -> Result<&'a str, String> {
    let pinned = config.str("ofedDriver.version")?;
    Ok(if pinned.is_empty() {
        release.default_ofed
    } else {
        pinned
    })
}

/// Renders `version` for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let release = releases::find(version)?;
    let labels = Labels {
        addon: crate::NAME,
        version: release.version,
    };
    let ib_pools: Vec<&str> = cluster
        .infiniband_pools()
        .map(|p| p.name.as_str())
        .collect();
    let mut notes = Vec::new();
    let chart = HelmChart {
        repository: CHART_REPOSITORY,
        chart: "network-operator",
        version: release.version,
        release: "network-operator",
        namespace: NAMESPACE,
    };
    let mut manifests = vec![
        yaml::kubernetes(
            "00-namespace.yaml",
            &[k8s::namespace(NAMESPACE, &labels.of("namespace"), true)],
        )?,
        flux::helm_release_manifest(
            "10-network-operator-helm-release.yaml",
            &chart,
            &labels.of("helm-release"),
            &values(release, config)?,
        )?,
    ];
    if ib_pools.is_empty() {
        notes.push(
            "no InfiniBand pools: NicClusterPolicy not rendered (the operator idles until one is added)"
                .to_owned(),
        );
    } else {
        let policy =
            nic_cluster_policy(&ib_pools, release, config, &labels.of("nic-cluster-policy"))?;
        manifests.push(yaml::kubernetes("20-nic-cluster-policy.yaml", &[policy])?);
        notes.push(format!(
            "NicClusterPolicy targets InfiniBand pools {}",
            ib_pools.join(", ")
        ));
        notes.push(format!(
            "20-nic-cluster-policy.yaml needs the NicClusterPolicy CRD the chart installs: apply it \
             once HelmRelease {NAMESPACE}/network-operator is Ready (Flux: a second Kustomization \
             that dependsOn the first; Argo CD: a later sync wave with \
             SkipDryRunOnMissingResource=true)"
        ));
    }
    Ok(Rendered { manifests, notes })
}

fn values(release: &Release, config: &Config) -> Result<Value, String> {
    Ok(json!({
        "nfd": {"enabled": false},
        "sriovNetworkOperator": {"enabled": false},
        "upgradeCRDs": true,
        "operator": {
            "repository": config.str("operator.repository")?,
            "image": "network-operator",
            "tag": format!("v{}", release.version),
            "tolerations": config.get("tolerations")?.clone(),
        },
    }))
}

fn nic_cluster_policy(
    ib_pools: &[&str],
    release: &Release,
    config: &Config,
    labels: &Value,
) -> Result<Value, String> {
    let mut spec = Map::new();
    let affinity = k8s::required_pools(ib_pools);
    spec.insert("nodeAffinity".into(), affinity["nodeAffinity"].clone());
    spec.insert("tolerations".into(), config.get("tolerations")?.clone());
    if config.bool("ofedDriver.enabled")? {
        spec.insert(
            "ofedDriver".into(),
            json!({
                "image": "doca-driver",
                "repository": config.str("ofedDriver.repository")?,
                "version": effective_ofed(config, release)?,
                "upgradePolicy": {
                    "autoUpgrade": config.bool("ofedDriver.upgradePolicy.autoUpgrade")?,
                    "maxParallelUpgrades": config.u64("ofedDriver.upgradePolicy.maxParallelUpgrades")?,
                    "safeLoad": false,
                    "drain": {
                        "enable": true,
                        "force": true,
                        "podSelector": "",
                        "timeoutSeconds": config.u64("ofedDriver.upgradePolicy.drainTimeoutSeconds")?,
                        "deleteEmptyDir": true
                    }
                },
                "startupProbe": {"initialDelaySeconds": 10, "periodSeconds": 20},
                "livenessProbe": {"initialDelaySeconds": 30, "periodSeconds": 30},
                "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 30},
            }),
        );
    }
    if config.bool("rdmaSharedDevicePlugin.enabled")? {
        let plugin_config = json!({
            "configList": [{
                "resourceName": config.str("rdmaSharedDevicePlugin.resourceName")?,
                "rdmaHcaMax": config.u64("rdmaSharedDevicePlugin.rdmaHcaMax")?,
                "selectors": {"vendors": ["15b3"], "linkTypes": ["infiniband"]}
            }]
        });
        let plugin_config = serde_json::to_string_pretty(&plugin_config)
            .map_err(|e| format!("cannot write the RDMA plugin config: {e}"))?;
        spec.insert(
            "rdmaSharedDevicePlugin".into(),
            json!({
                "image": "k8s-rdma-shared-dev-plugin",
                "repository": release.rdma_plugin_repository,
                "version": release.rdma_plugin_version,
                "config": plugin_config,
            }),
        );
    }
    let mut policy = k8s::object(
        "mellanox.com/v1alpha1",
        "NicClusterPolicy",
        POLICY_NAME,
        None,
        labels,
    );
    policy.insert("spec".into(), Value::Object(spec));
    Ok(Value::Object(policy))
}
