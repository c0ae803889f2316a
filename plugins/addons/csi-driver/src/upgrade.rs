//! Upgrade planning between CSI driver chart releases.
//!
//! The customer runs the upgrade (they installed the chart). The controller rolls first
//! (leader election keeps one provisioner/attacher active); the node plugin then rolls node by
//! node. Mounted volumes stay mounted while a node plugin restarts — only new mounts on that
//! node wait a few seconds — so the upgrade is not disruptive.

use addon_kit::{Config, UpgradePlan};

use crate::releases;
use crate::render::{DISK_DRIVER, NAMESPACE, NFS_DRIVER};

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let mut steps = vec![
        format!(
            "customer: apply the re-rendered HelmRelease {NAMESPACE}/accord-csi-driver: the helm-controller runs helm upgrade release accord-csi-driver in namespace {NAMESPACE} from {from} to {to} with the rendered values"
        ),
        format!(
            "controller rolls ({} replicas, leader election keeps one provisioner and attacher active)",
            config.u64("controller.replicas")?
        ),
        "node plugin rolls node by node: mounted volumes stay mounted; new mounts on a node wait for its plugin".to_owned(),
    ];
    let drivers = if config.bool("storageClasses.sharedNfs.enabled")? {
        format!("{DISK_DRIVER} and {NFS_DRIVER}")
    } else {
        DISK_DRIVER.to_owned()
    };
    steps.push(format!(
        "verify every CSINode lists {drivers} and a test PVC binds and mounts"
    ));
    Ok(UpgradePlan {
        steps,
        disruptive: false,
    })
}
