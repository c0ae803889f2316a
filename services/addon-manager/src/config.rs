//! Configuration of the standalone `accord-addon-manager` binary (`accord up` builds its own):
//! `--config FILE` (TOML) and `ACCORD_ADDON_MANAGER__…` variables; unknown keys are errors.

use std::{path::PathBuf, time::Duration};

use accord_core::error::echo;
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
    /// Where the provider serves the Accord API to clusters (`https://host[:port]`): the
    /// cluster-autoscaler's cloud provider calls it to resize pools (`platform.apiEndpoint`).
    /// Empty: the autoscaler add-on refuses to render.
    pub api_endpoint: String,
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
            api_endpoint: String::new(),
        }
    }
}

/// Longest `api_endpoint` accepted (the autoscaler plugin's own bound).
pub const MAX_API_ENDPOINT_BYTES: usize = 2048;

/// Checks the `api_endpoint` setting with the rules the autoscaler plugin applies to
/// `platform.apiEndpoint` (`https://host[:port][/path]`, DNS-name host, no query, fragment or
/// whitespace, at most [`MAX_API_ENDPOINT_BYTES`]), or empty. A setting the plugin would refuse
/// must stop the start: at run time it would surface as the customer's configuration error.
/// The error quotes the setting only as [`echo`] does (bounded, control characters escaped).
pub fn check_api_endpoint(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let bad = || {
        format!(
            "api_endpoint \"{}\" must be an https://host[:port][/path] URL with a DNS name as \
             host (or empty)",
            echo(s)
        )
    };
    let rest = s.strip_prefix("https://").ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = !host.is_empty() && host.len() <= 253 && host.split('.').all(label_ok);
    let path_ok =
        !rest.contains(|c: char| c.is_whitespace() || c.is_control() || c == '?' || c == '#');
    if s.len() <= MAX_API_ENDPOINT_BYTES && host_ok && port_ok && path_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_endpoint_follows_the_autoscaler_plugins_rules() {
        for ok in [
            "",
            "https://api.accord.dev",
            "https://api.eu1.cloud.example:8443/v1",
            "https://127.0.0.1:50051",
        ] {
            check_api_endpoint(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        for bad in [
            "http://api.accord.dev",
            "https://",
            "https://API.example",
            "https://[::1]:8443",
            "https://api.example:0",
            "https://api example",
            "https://api.example?x=1",
            "api.accord.dev",
        ] {
            assert!(check_api_endpoint(bad).is_err(), "{bad:?}");
        }
        // The shipped configurations name one the start accepts.
        let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        for file in [
            "config/addon-manager.toml",
            "kubernetes/base/config/addon-manager.toml",
        ] {
            let cfg: AddonManagerConfig =
                accord_runtime::config::load("addon-manager", Some(&deploy.join(file))).unwrap();
            assert!(!cfg.api_endpoint.is_empty(), "{file}");
            check_api_endpoint(&cfg.api_endpoint).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_API_ENDPOINT_BYTES));
        let err = check_api_endpoint(&long).unwrap_err();
        assert!(err.len() < 300, "{err}");
    }
}
