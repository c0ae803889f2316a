//! Upgrade planning between watch agent releases.
//!
//! The DaemonSet rolls `maxUnavailable` nodes at a time; the journal cursor lives on the host,
//! so the new pod resumes where the old one stopped — a short delay in shipping, no lost lines
//! and no workload impact: not disruptive.

use addon_kit::{Config, UpgradePlan};

use crate::releases;
use crate::render::{APP, NAMESPACE};

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let pace = config.get("maxUnavailable")?;
    let pace = match pace.as_str() {
        Some(percent) if percent.ends_with('%') => format!("{percent} of nodes"),
        Some(count) => format!("{count} node(s)"),
        None => format!("{pace} node(s)"),
    };
    Ok(UpgradePlan {
        steps: vec![
            format!("customer: apply the RBAC and ConfigMap of {to}"),
            format!(
                "customer: roll DaemonSet {NAMESPACE}/{APP} from v{from} to v{to}, {pace} at a time"
            ),
            "each new agent resumes from the journal cursor on its node: no lines lost or repeated"
                .to_owned(),
            "verify every node's agent is ready and shipping (readiness probe, intake lag)"
                .to_owned(),
        ],
        disruptive: false,
    })
}
