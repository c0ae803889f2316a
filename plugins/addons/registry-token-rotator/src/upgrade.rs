//! Upgrade planning between rotator releases.
//!
//! Only the CronJob's image changes; the pull Secrets keep working meanwhile (tokens outlive a
//! schedule period), so the upgrade is not disruptive. A one-off run right after the change
//! proves the new image before the next scheduled rotation depends on it.

use addon_kit::{Config, UpgradePlan};

use crate::releases;
use crate::render::{APP, NAMESPACE};

/// Plans `current` → `target` (both known, `current` older).
pub fn plan(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
    let from = releases::find(current)?;
    let to = releases::find(target)?;
    let namespaces = config.strings("targetNamespaces")?.join(", ");
    Ok(UpgradePlan {
        steps: vec![
            format!(
                "customer: apply the RBAC of {to} (unchanged scope: Secret {} only)",
                config.str("secretName")?
            ),
            format!("customer: update CronJob {NAMESPACE}/{APP} from image v{from} to v{to}"),
            format!(
                "run it once now: kubectl -n {NAMESPACE} create job {APP}-upgrade-check --from=cronjob/{APP}"
            ),
            format!("verify the pull Secret was refreshed in {namespaces}"),
        ],
        disruptive: false,
    })
}
