//! Configuration of the standalone `accord-network-firewall` binary (`accord up` builds its
//! own): `--config FILE` (TOML) and `ACCORD_NETWORK_FIREWALL__…` variables; unknown keys are
//! errors.

use std::time::Duration;

use accord_runtime::config::RuntimeConfig;
use serde::Deserialize;

/// network-firewall's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkFirewallConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// How often every cluster's VPC firewall is compared with its rule set (e.g. `5s`).
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
}

impl Default for NetworkFirewallConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            reconcile_interval: crate::DEFAULT_RECONCILE_INTERVAL,
        }
    }
}
