//! Rendering: the `gpu-operator` Namespace and chart `nvidia/gpu-operator` as a Flux
//! `HelmRepository` + `HelmRelease` (addon-kit's `flux`) carrying the values below.
//!
//! Cluster-dependent parts: GPUDirect RDMA (`driver.rdma`) is on when the cluster has
//! InfiniBand pools (the Network Operator's DOCA driver provides the RDMA stack, so
//! `useHostMofed` is false); the operator Deployment prefers CPU pools so GPU nodes stay free
//! for work. Operands find GPU nodes themselves (NFD's PCI vendor label), so no pool list is
//! needed for them — only tolerations for the GPU taint. The container runtime is not set: the
//! operator reads it from each node's `status.nodeInfo.containerRuntimeVersion` (the chart's
//! `operator.defaultRuntime` is gone from v25.3 on and only a fallback before, so it is not
//! rendered).

use addon_kit::flux::{self, HelmChart};
use addon_kit::k8s::{self, Labels};
use addon_kit::yaml;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::{Map, Value, json};

use crate::releases::{self, Release, driver_branch};

/// Namespace the operator and its operands run in.
pub const NAMESPACE: &str = "gpu-operator";

/// Helm repository of the chart.
pub const CHART_REPOSITORY: &str = "https://helm.ngc.nvidia.com/nvidia";

/// The driver version a configuration installs with `release` (pinned or the release default).
pub fn effective_driver<'a>(config: &'a Config, release: &'a Release) -> Result<&'a str, String> {
    let pinned = config.str("driver.version")?;
    Ok(if pinned.is_empty() {
        release.default_driver
    } else {
        pinned
    })
}

/// Refuses a driver whose branch Accord does not qualify with `release`.
pub fn check_driver(driver: &str, release: &Release) -> Result<(), String> {
    let branch =
        driver_branch(driver).ok_or_else(|| format!("unreadable driver version {driver:?}"))?;
    if release.driver_branches.contains(&branch) {
        Ok(())
    } else {
        Err(format!(
            "driver {driver} (branch {branch}) is not qualified with GPU Operator {} (branches: {})",
            release.version,
            release
                .driver_branches
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Renders `version` (a catalogue spelling) for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let release = releases::find(version)?;
    let driver_enabled = config.bool("driver.enabled")?;
    let driver = effective_driver(config, release)?;
    if driver_enabled {
        check_driver(driver, release)?;
    }
    let labels = Labels {
        addon: crate::NAME,
        version: release.version,
    };
    let mut notes = Vec::new();
    let ib_pools: Vec<&str> = cluster
        .infiniband_pools()
        .map(|p| p.name.as_str())
        .collect();
    if cluster.gpu_pools().next().is_none() {
        notes.push("no GPU pools yet: operands start when GPU nodes join".to_owned());
    }
    if !ib_pools.is_empty() {
        notes.push(format!(
            "GPUDirect RDMA enabled for InfiniBand pools {}",
            ib_pools.join(", ")
        ));
    }

    let namespace = k8s::namespace(NAMESPACE, &labels.of("namespace"), true);
    let values = values(cluster, release, driver, config)?;
    let chart = HelmChart {
        repository: CHART_REPOSITORY,
        chart: "gpu-operator",
        version: release.version,
        release: "gpu-operator",
        namespace: NAMESPACE,
    };
    Ok(Rendered {
        manifests: vec![
            yaml::kubernetes("00-namespace.yaml", &[namespace])?,
            flux::helm_release_manifest(
                "10-gpu-operator-helm-release.yaml",
                &chart,
                &labels.of("helm-release"),
                &values,
            )?,
        ],
        notes,
    })
}

fn enabled(config: &Config, path: &str) -> Result<Value, String> {
    Ok(json!({"enabled": config.bool(path)?}))
}

/// The chart values.
fn values(
    cluster: &Cluster,
    release: &Release,
    driver: &str,
    config: &Config,
) -> Result<Value, String> {
    let tolerations = config.get("tolerations")?.clone();
    let cpu_pools: Vec<&str> = cluster.cpu_pools().map(|p| p.name.as_str()).collect();
    let has_infiniband = cluster.infiniband_pools().next().is_some();

    let mut operator = Map::new();
    operator.insert(
        "repository".into(),
        json!(config.str("operator.repository")?),
    );
    operator.insert("image".into(), json!("gpu-operator"));
    operator.insert("version".into(), json!(release.version));
    operator.insert("upgradeCRD".into(), json!(true));
    operator.insert("cleanupCRD".into(), json!(false));
    if let Some(affinity) = k8s::preferred_pools(&cpu_pools) {
        operator.insert("affinity".into(), affinity);
    }

    let module_type = config.str("driver.kernelModuleType")?;
    let mut driver_values = json!({
        "enabled": config.bool("driver.enabled")?,
        "repository": config.str("driver.repository")?,
        "image": "driver",
        "version": driver,
        "rdma": {"enabled": has_infiniband, "useHostMofed": false},
        "upgradePolicy": {
            "autoUpgrade": config.bool("driver.upgradePolicy.autoUpgrade")?,
            "maxParallelUpgrades": config.u64("driver.upgradePolicy.maxParallelUpgrades")?,
            "maxUnavailable": config.get("driver.upgradePolicy.maxUnavailable")?.clone(),
            "waitForCompletion": {"timeoutSeconds": 0},
            "gpuPodDeletion": {"force": false, "timeoutSeconds": 300, "deleteEmptyDir": false},
            "drain": {
                "enable": true,
                "force": false,
                "timeoutSeconds": config.u64("driver.upgradePolicy.drainTimeoutSeconds")?,
                "deleteEmptyDir": false
            }
        }
    });
    if let Some(map) = driver_values.as_object_mut() {
        if release.kernel_module_type {
            map.insert("kernelModuleType".into(), json!(module_type));
        } else {
            // Before v25.3 the chart only knew "open or not"; "auto" kept the proprietary modules.
            map.insert("useOpenKernelModules".into(), json!(module_type == "open"));
        }
    }

    Ok(json!({
        "operator": operator,
        "driver": driver_values,
        "toolkit": enabled(config, "toolkit.enabled")?,
        "devicePlugin": enabled(config, "devicePlugin.enabled")?,
        // The exporter embeds DCGM; a standalone host engine is not needed.
        "dcgm": {"enabled": false},
        "dcgmExporter": {
            "enabled": config.bool("dcgmExporter.enabled")?,
            "serviceMonitor": {"enabled": config.bool("dcgmExporter.serviceMonitor")?}
        },
        "gfd": enabled(config, "gfd.enabled")?,
        "migManager": enabled(config, "migManager.enabled")?,
        "mig": {"strategy": config.str("mig.strategy")?},
        "nfd": enabled(config, "nfd.enabled")?,
        "daemonsets": {
            "priorityClassName": "system-node-critical",
            "tolerations": tolerations.clone()
        },
        "node-feature-discovery": {"worker": {"tolerations": tolerations}},
    }))
}
