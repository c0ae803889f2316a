//! Upgrade planning between autoscaler releases.
//!
//! The autoscaler follows the control plane: its minor moves with the cluster's Kubernetes
//! minor, one minor at a time, after the control plane upgrade. The Deployment is replaced
//! (one replica): scaling pauses for the minute the new pod needs to start and sync, and no
//! workload is touched, so the upgrade is not disruptive.

use addon_kit::versions::major_minor;
use addon_kit::{Config, UpgradePlan};

use crate::releases;
use crate::render::{APP, NAMESPACE};

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let (Some(from_minor), Some(to_minor)) = (major_minor(from), major_minor(to)) else {
        return Err(format!("cannot read {from} or {to}"));
    };
    if to_minor.0 != from_minor.0 || to_minor.1 > from_minor.1 + 1 {
        return Err(format!(
            "cluster-autoscaler follows the control plane one minor at a time: {from} → {to} skips a minor"
        ));
    }
    let mut steps = Vec::new();
    if to_minor != from_minor {
        steps.push(format!(
            "only after the control plane runs Kubernetes {}.{}: the autoscaler must match it",
            to_minor.0, to_minor.1
        ));
    }
    steps.push(format!(
        "customer: apply the RBAC of {to} (new API objects it simulates)"
    ));
    steps.push(format!(
        "customer: roll Deployment {NAMESPACE}/{APP} to image v{to} ({} replica(s)); scaling pauses until the new pod is ready",
        config.u64("replicas")?
    ));
    steps.push(format!(
        "verify the {} ConfigMap cluster-autoscaler-status reports every node group healthy",
        NAMESPACE
    ));
    Ok(UpgradePlan {
        steps,
        disruptive: false,
    })
}
