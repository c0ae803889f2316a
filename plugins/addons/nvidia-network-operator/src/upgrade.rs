//! Upgrade planning between two Network Operator releases.
//!
//! The operator and the device plugin roll without touching workloads. A new DOCA-OFED driver
//! reloads the mlx5 kernel modules: InfiniBand links on the node go down and RDMA workloads
//! (and the GPU Operator's GPUDirect RDMA module) must restart, so every InfiniBand node is
//! drained in turn — the plan is disruptive whenever the effective OFED driver changes.

use addon_kit::{Config, UpgradePlan};

use crate::releases;
use crate::render::{NAMESPACE, POLICY_NAME, effective_ofed};
use crate::settings::ofed_release;

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let driver_enabled = config.bool("ofedDriver.enabled")?;
    let old = effective_ofed(config, from)?;
    let new = effective_ofed(config, to)?;

    let mut steps = vec![
        format!(
            "apply the NicClusterPolicy and related CRDs of {} (chart pre-upgrade hook, upgradeCRDs=true)",
            to.version
        ),
        format!(
            "apply the re-rendered HelmRelease {NAMESPACE}/network-operator: the helm-controller runs helm upgrade release network-operator in namespace {NAMESPACE} from {} to {}",
            from.version, to.version
        ),
        format!(
            "update NicClusterPolicy {POLICY_NAME}: RDMA shared device plugin {} → {}{}",
            from.rdma_plugin_version,
            to.rdma_plugin_version,
            if driver_enabled {
                format!(", DOCA-OFED driver {old} → {new}")
            } else {
                String::new()
            }
        ),
    ];
    let driver_changes = driver_enabled && old != new;
    if driver_changes {
        let release_note = if ofed_release(old) == ofed_release(new) {
            String::new()
        } else {
            format!(
                " (OFED release {} → {})",
                ofed_release(old),
                ofed_release(new)
            )
        };
        let parallel = config.u64("ofedDriver.upgradePolicy.maxParallelUpgrades")?;
        let timeout = config.u64("ofedDriver.upgradePolicy.drainTimeoutSeconds")?;
        steps.push(format!(
            "DOCA-OFED driver {old} → {new}{release_note}: InfiniBand nodes must be drained"
        ));
        if config.bool("ofedDriver.upgradePolicy.autoUpgrade")? {
            steps.push(format!(
                "the driver upgrade controller cordons InfiniBand nodes {} at a time",
                if parallel == 0 {
                    "all".to_owned()
                } else {
                    parallel.to_string()
                }
            ));
            steps.push(format!(
                "drain RDMA workloads from each cordoned node (timeout {timeout}s)"
            ));
            steps.push(
                "reload the DOCA-OFED driver: InfiniBand links flap; the GPU Operator's driver pod re-attaches GPUDirect RDMA"
                    .to_owned(),
            );
            steps.push("uncordon each node once its driver pod is ready".to_owned());
        } else {
            steps.push(
                "ofedDriver.upgradePolicy.autoUpgrade=false: cordon, drain and restart the driver pod of each InfiniBand node yourself"
                    .to_owned(),
            );
        }
    } else if driver_enabled {
        steps.push(format!(
            "DOCA-OFED driver stays at {new}: no node is drained"
        ));
    } else {
        steps.push("OFED driver not managed by the operator (ofedDriver.enabled=false)".to_owned());
    }
    steps.push(
        "verify every InfiniBand node advertises the RDMA resource and its ports are Active"
            .to_owned(),
    );
    Ok(UpgradePlan {
        steps,
        disruptive: driver_changes,
    })
}
