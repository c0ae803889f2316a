//! Configuration of the standalone `accord-addon-manager` binary (`accord up` builds its own):
//! `--config FILE` (TOML) and `ACCORD_ADDON_MANAGER__…` variables; unknown keys are errors.

use std::{path::PathBuf, time::Duration};

use accord_plugin_host::HostConfig;
use accord_runtime::config::RuntimeConfig;
use serde::Deserialize;

/// The addon-manager's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AddonManagerConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// Directory of the shipped add-on plugins (`*.wasm`); pushes to the plugin bucket
    /// replace them at run time.
    pub plugin_dir: PathBuf,
    /// Add-ons loaded from `plugin_dir` (the directory may hold others, e.g. test components).
    pub shipped_addons: Vec<String>,
    /// Sandbox limits of plugin calls.
    pub plugins: PluginLimits,
}

/// Sandbox limits (see `accord_plugin_host::HostConfig`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Wasm run time per call before the plugin is interrupted.
    #[serde(with = "humantime_serde")]
    pub epoch_deadline: Duration,
    /// Linear memory per call, bytes.
    pub memory_limit: usize,
    /// Whole-call bound as callers see it.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Consecutive failures before quarantine.
    pub quarantine_after: u32,
}

impl Default for PluginLimits {
    fn default() -> Self {
        let d = HostConfig::default();
        Self {
            epoch_deadline: d.epoch_deadline,
            memory_limit: d.memory_limit,
            call_timeout: d.call_timeout,
            quarantine_after: d.quarantine_after,
        }
    }
}

impl PluginLimits {
    /// The plugin host's configuration.
    pub fn host_config(&self) -> HostConfig {
        HostConfig::default()
            .with_epoch_deadline(self.epoch_deadline)
            .with_memory_limit(self.memory_limit)
            .with_call_timeout(self.call_timeout)
            .with_quarantine_after(self.quarantine_after)
    }
}

impl Default for AddonManagerConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            plugin_dir: PathBuf::from("plugins/target/wasm32-wasip2/release"),
            shipped_addons: accord_core::cluster::CORE_ADDONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            plugins: PluginLimits::default(),
        }
    }
}
