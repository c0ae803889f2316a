//! Configuration of the standalone provisioner binary (`accord up` builds its own).

use std::time::Duration;

use accord_runtime::config::RuntimeConfig;
use serde::Deserialize;

/// `ACCORD_PROVISIONER__…` / TOML configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisionerConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// Simulated-fleet clock factor (1.0 = real time).
    pub sim_clock_factor: f64,
    /// Reconcile every cluster this often.
    #[serde(with = "humantime_serde")]
    pub resync_interval: Duration,
    /// Telemetry interval of the simulated node agents.
    #[serde(with = "humantime_serde")]
    pub telemetry_interval: Duration,
    /// Directory holding the shipped remediation policy (`gpu_remediation.wasm`, built by
    /// `cargo xtask plugins`). Unset: AutoClusters does not run in this process.
    pub plugin_dir: Option<std::path::PathBuf>,
    /// The provider's image-signing public key (SPKI PEM, the image-builder's
    /// `signing_key_file`'s public half). Unset: no published image is trusted, so pools get
    /// no nodes; the binary warns at start.
    pub image_public_key_file: Option<std::path::PathBuf>,
}

impl Default for ProvisionerConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            sim_clock_factor: 0.02,
            resync_interval: Duration::from_secs(5),
            telemetry_interval: Duration::from_secs(10),
            plugin_dir: None,
            image_public_key_file: None,
        }
    }
}
