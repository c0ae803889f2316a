//! Upgrade planning between two GPU Operator releases.
//!
//! The operator and most operands roll without touching workloads. The driver is different:
//! replacing it unloads the kernel modules, so every GPU node is cordoned and drained first.
//! Whenever the effective driver changes (a new release default, or a branch change such as
//! 570 → 580) the plan is disruptive; a pinned `driver.version` that both releases qualify keeps
//! the upgrade non-disruptive. A pinned driver the target release does not qualify is refused.

use addon_kit::{Config, UpgradePlan};

use crate::releases::{self, driver_branch};
use crate::render::{NAMESPACE, check_driver, effective_driver};

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let driver_enabled = config.bool("driver.enabled")?;
    let old_driver = effective_driver(config, from)?;
    let new_driver = effective_driver(config, to)?;
    if driver_enabled {
        check_driver(new_driver, to).map_err(|e| {
            format!("{e}; set driver.version to a qualified branch before upgrading")
        })?;
    }

    let mut steps = vec![
        format!(
            "upgrade the ClusterPolicy and NVIDIADriver CRDs to {} (chart pre-upgrade hook, operator.upgradeCRD=true)",
            to.version
        ),
        format!(
            "apply the re-rendered HelmRelease {NAMESPACE}/gpu-operator: the helm-controller runs helm upgrade release gpu-operator in namespace {NAMESPACE} from {} to {}",
            from.version, to.version
        ),
        "wait for the operator Deployment to roll out and reconcile the ClusterPolicy".to_owned(),
    ];
    let driver_changes = driver_enabled && old_driver != new_driver;
    if driver_changes {
        let branch_note = match (driver_branch(old_driver), driver_branch(new_driver)) {
            (Some(a), Some(b)) if a != b => format!(" (driver branch change {a} → {b})"),
            _ => String::new(),
        };
        let parallel = config.u64("driver.upgradePolicy.maxParallelUpgrades")?;
        let unavailable = config.get("driver.upgradePolicy.maxUnavailable")?;
        let unavailable = unavailable
            .as_str()
            .map_or_else(|| unavailable.to_string(), str::to_owned);
        let drain_timeout = config.u64("driver.upgradePolicy.drainTimeoutSeconds")?;
        let manual = !config.bool("driver.upgradePolicy.autoUpgrade")?;
        steps.push(format!(
            "GPU driver {old_driver} → {new_driver}{branch_note}: GPU nodes must be drained"
        ));
        if manual {
            steps.push(
                "driver.upgradePolicy.autoUpgrade=false: cordon, drain and delete the driver pod of each GPU node yourself".to_owned(),
            );
        } else {
            steps.push(format!(
                "the driver upgrade controller cordons GPU nodes {} at a time (at most {unavailable} unavailable)",
                if parallel == 0 { "all".to_owned() } else { parallel.to_string() }
            ));
            steps.push(format!(
                "drain GPU workloads from each cordoned node (timeout {drain_timeout}s)"
            ));
            steps.push(format!(
                "replace the driver pod (unload {old_driver}, load {new_driver}) and wait for the operator validator"
            ));
            steps.push("uncordon each node once its validator passes".to_owned());
        }
    } else if driver_enabled {
        steps.push(format!(
            "GPU driver stays at {new_driver}: no node is drained"
        ));
    } else {
        steps.push(
            "driver not managed by the operator (driver.enabled=false): no driver change"
                .to_owned(),
        );
    }
    steps.push(
        "roll the other operands node by node: container toolkit, device plugin, DCGM exporter, GFD, MIG manager"
            .to_owned(),
    );
    steps.push(
        "verify every GPU node advertises nvidia.com/gpu and its validator succeeded".to_owned(),
    );
    Ok(UpgradePlan {
        steps,
        disruptive: driver_changes,
    })
}
