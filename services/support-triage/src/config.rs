//! Configuration of the standalone `accord-support-triage` binary (`accord up` builds its own):
//! `--config FILE` (TOML) and `ACCORD_SUPPORT_TRIAGE__…` variables; unknown keys are errors.

use std::path::PathBuf;

use accord_runtime::config::RuntimeConfig;
use serde::Deserialize;

/// support-triage's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportTriageConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// A rule file replacing the shipped rules (validated at start; a bad file stops the start).
    pub rules: Option<PathBuf>,
    /// Customer webhook notifications.
    pub notifications: NotificationsConfig,
}

/// `[notifications]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Allow `http://` webhooks to loopback hosts (local use only; default false: loopback on a
    /// production host is the classic SSRF target).
    pub allow_loopback: bool,
}
