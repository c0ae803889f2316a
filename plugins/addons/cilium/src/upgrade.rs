//! Upgrade planning between Cilium releases, following Cilium's upgrade procedure: pre-pull
//! the new images with the pre-flight DaemonSet, then `helm upgrade` with
//! `upgradeCompatibility` set to the minor being left, so defaults that changed between minors
//! keep their old values. Agents restart node by node and keep the datapath (BPF programs and
//! maps survive the restart), so an upgrade is not disruptive.
//!
//! Invariant: one minor at a time (1.16 → 1.18 must go through 1.17), as Cilium supports.

use addon_kit::versions::major_minor;
use addon_kit::{Config, UpgradePlan};

use crate::releases;
use crate::render::NAMESPACE;

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let (Some((from_major, from_minor)), Some((to_major, to_minor))) =
        (major_minor(from.version), major_minor(to.version))
    else {
        return Err(format!("cannot read {} or {}", from.version, to.version));
    };
    if from_major != to_major || to_minor > from_minor + 1 {
        let next: Vec<&str> = releases::RELEASES
            .iter()
            .filter(|r| major_minor(r.version) == Some((from_major, from_minor + 1)))
            .map(|r| r.version)
            .collect();
        return Err(format!(
            "Cilium upgrades one minor at a time: go from {} to {} first",
            from.version,
            if next.is_empty() {
                format!("{from_major}.{}.x", from_minor + 1)
            } else {
                next.join(" or ")
            }
        ));
    }
    let minor_change = to_minor != from_minor;
    let mut steps = vec![
        format!(
            "pre-pull Cilium {} on every node: install the cilium-preflight DaemonSet (preflight.enabled=true, agent=false, operator.enabled=false)",
            to.version
        ),
        "wait until cilium-preflight is ready on every node, then delete it".to_owned(),
    ];
    let compatibility = if minor_change {
        format!(" with upgradeCompatibility={from_major}.{from_minor}")
    } else {
        String::new()
    };
    steps.push(format!(
        "apply the re-rendered HelmRelease {NAMESPACE}/cilium: the helm-controller runs helm upgrade release cilium in namespace {NAMESPACE} from {} to {}{compatibility}",
        from.version, to.version
    ));
    steps.push(format!(
        "cilium-operator rolls ({} replicas, leader election keeps one active)",
        config.u64("operator.replicas")?
    ));
    steps.push(
        "cilium agents restart node by node (DaemonSet rolling update); the BPF datapath and established connections are kept"
            .to_owned(),
    );
    if config.bool("hubble.relay")? {
        steps.push("hubble-relay rolls".to_owned());
    }
    steps.push(
        "verify: cilium status is OK on every node and the connectivity check passes".to_owned(),
    );
    Ok(UpgradePlan {
        steps,
        disruptive: false,
    })
}
