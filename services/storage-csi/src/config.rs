//! Configuration of the standalone `accord-storage-csi` binary (`accord up` builds its own):
//! `--config FILE` (TOML) and `ACCORD_STORAGE_CSI__…` variables; unknown keys are errors.

use std::time::Duration;

use accord_runtime::config::RuntimeConfig;
use serde::Deserialize;

/// A project's quota as configured.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Total provisioned GiB per project (disks and shared filesystems).
    pub max_total_gib: u64,
    /// Volumes per project.
    pub max_volumes: u64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        let q = accord_storage::Quota::default();
        Self {
            max_total_gib: q.max_total_gib,
            max_volumes: q.max_volumes,
        }
    }
}

/// storage-csi's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageCsiConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// How often operations in flight are polled when nothing else wakes the reconciler.
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
    /// Every project's quota.
    pub quota: QuotaConfig,
    /// The copy throughput a migration's dry run assumes, bytes per second.
    pub migration_throughput_bytes_per_second: u64,
    /// Clock factor of the simulated storage back ends the binary runs (1.0 = real time;
    /// 0.001: a 1 TiB copy takes about a second).
    pub sim_clock_factor: f64,
}

impl Default for StorageCsiConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            reconcile_interval: crate::DEFAULT_RECONCILE_INTERVAL,
            quota: QuotaConfig::default(),
            migration_throughput_bytes_per_second: crate::service::Settings::default()
                .migration_throughput,
            sim_clock_factor: 1.0,
        }
    }
}

impl StorageCsiConfig {
    /// The engine's settings.
    pub fn settings(&self) -> crate::service::Settings {
        crate::service::Settings {
            quota: accord_storage::Quota {
                max_total_gib: self.quota.max_total_gib,
                max_volumes: self.quota.max_volumes,
            },
            migration_throughput: self.migration_throughput_bytes_per_second.max(1),
        }
    }
}
