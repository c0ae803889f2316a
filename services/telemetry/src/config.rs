//! Configuration of the standalone `accord-telemetry` binary (`accord up` builds its own):
//! `--config FILE` (TOML) and `ACCORD_TELEMETRY__…` variables; unknown keys are errors.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use accord_health::HealthConfig;
use accord_runtime::config::RuntimeConfig;
use anyhow::Context as _;
use serde::Deserialize;

/// The telemetry service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// A `health-checks.yaml` replacing the shipped check settings (a bad file stops the start).
    pub health_checks: Option<PathBuf>,
    /// Where the customer metrics endpoint (`GET /v1/clusters/{cluster}/metrics`) listens.
    pub cluster_metrics_addr: SocketAddr,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            health_checks: None,
            cluster_metrics_addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_CLUSTER_METRICS_PORT)),
        }
    }
}

/// The customer metrics endpoint's default port (`accord up` uses the same).
pub const DEFAULT_CLUSTER_METRICS_PORT: u16 = 9465;

impl TelemetryConfig {
    /// The health checks' settings: the file's, else the shipped defaults.
    pub fn health(&self) -> anyhow::Result<HealthConfig> {
        self.health_checks
            .as_deref()
            .map_or_else(|| Ok(HealthConfig::default()), load_health)
    }
}

fn load_health(path: &Path) -> anyhow::Result<HealthConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the health check settings {}", path.display()))?;
    HealthConfig::from_yaml(&text)
        .with_context(|| format!("loading the health check settings {}", path.display()))
}
