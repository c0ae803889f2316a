//! What the checks look for, and where that can be changed: [`HealthConfig`] (serde, YAML or
//! JSON) and the settings it resolves to for one node ([`Checks`]).
//!
//! Defaults (the issue's words; `health-checks.yaml` beside this crate writes every one of them
//! out, and a test keeps the two equal):
//!
//! | check | trips when | severity |
//! |---|---|---|
//! | `gpu-xid` | a GPU's XID count grows: one finding per increase, with the last XID and how many arrived | from the XID catalogue ([`crate::xid`]); unknown → critical |
//! | `gpu-ecc` | a GPU's double-bit ECC count grows | critical |
//! | `gpu-row-remap` | uncorrectable remapped rows grow / `row_remap_failure` is set (once per episode) | warning / critical |
//! | `gpu-nvlink` | more than `max_per_minute` (100) NVLink CRC flit errors in the last minute | warning |
//! | `gpu-pcie` | more than `max_per_minute` (100) PCIe replays in the last minute | warning |
//! | `ib-link` | a port down for `down_for` (30 s) on end, once per outage / `link_downed` grows `flaps_per_hour` (3) times within an hour / more than `max_symbol_errors_per_hour` (120) symbol errors within an hour | critical / warning / warning |
//! | `node-not-ready` | not ready for `after` (10 min: the remediation policy's grace) on end, once per episode | critical |
//! | `gpu-thermal` | a thermal violation for `after` (5 min) on end, once per episode | warning |
//!
//! Every check also has `enabled` (default true). The windows themselves (a minute, an hour)
//! are fixed: they size each node's memory ([`crate::window`]).
//!
//! Overrides: `checks` applies to every node, `instance_types.<type>` over it, and
//! `clusters.<cluster id>` over both — the narrowest scope wins, field by field. Unknown
//! fields are refused (a typo must not silently keep a default).
//!
//! ```yaml
//! checks:
//!   gpu-nvlink: {max_per_minute: 500}
//! instance_types:
//!   h100-80gb-sxm-ib.8x:
//!     ib-link: {down_for: 1m}
//! clusters:
//!   cl-01jd6v3xq5n8c7m2k4p9r0s1t2:
//!     gpu-xid: {severities: {13: info}}
//!     gpu-thermal: {enabled: false}
//! ```

use std::{collections::BTreeMap, time::Duration};

use accord_core::ids::ClusterId;
use serde::{Deserialize, Serialize};

use crate::{check::Severity, xid};

/// The shipped defaults, written out in full (equal to [`Checks::default`]).
pub const DEFAULTS_YAML: &str = include_str!("../health-checks.yaml");

/// Longest configuration accepted, in bytes (a configuration is a few KiB).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Longest error message quoted from the YAML parser, in characters.
const MAX_ERROR_CHARS: usize = 300;

/// The checks' configuration: defaults plus overrides per instance type and per cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Over the built-in defaults, for every node.
    #[serde(default)]
    pub checks: ChecksPatch,
    /// Per instance type (e.g. `h100-80gb-sxm-ib.8x`), over `checks`.
    #[serde(default)]
    pub instance_types: BTreeMap<String, ChecksPatch>,
    /// Per cluster id, over the instance type's.
    #[serde(default)]
    pub clusters: BTreeMap<ClusterId, ChecksPatch>,
}

/// A configuration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Larger than [`MAX_CONFIG_BYTES`].
    #[error("the health check configuration has {len} bytes; at most {MAX_CONFIG_BYTES} are read")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Not YAML (or JSON) of the expected shape; the parser's message, shortened.
    #[error("the health check configuration does not parse: {0}")]
    Parse(String),
}

impl HealthConfig {
    /// Parses a configuration (YAML; JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge { len: text.len() });
        }
        serde_norway::from_str(text).map_err(|e| ConfigError::Parse(shorten(&e.to_string())))
    }

    /// The settings of a node of `instance_type` in `cluster`: the defaults, then `checks`,
    /// then the instance type's overrides, then the cluster's.
    pub fn resolve(&self, cluster: &ClusterId, instance_type: &str) -> Checks {
        let mut checks = Checks::default();
        for patch in self.layers(cluster, instance_type) {
            patch.apply(&mut checks);
        }
        checks
    }

    /// The severity of one XID on a node of `instance_type` in `cluster`: the narrowest
    /// override that names it, else the catalogue's, else the unknown-XID severity (also used
    /// when the count grew with no XID reported).
    pub fn xid_severity(
        &self,
        cluster: &ClusterId,
        instance_type: &str,
        xid: Option<u32>,
    ) -> Severity {
        let layers = self.layers(cluster, instance_type);
        if let Some(code) = xid {
            let overridden = layers
                .iter()
                .rev()
                .find_map(|p| p.gpu_xid.as_ref().and_then(|x| x.severities.get(&code)));
            if let Some(&severity) = overridden {
                return severity;
            }
            if let Some(severity) = xid::catalogue_severity(code) {
                return severity;
            }
        }
        layers
            .iter()
            .rev()
            .find_map(|p| p.gpu_xid.as_ref().and_then(|x| x.unknown_severity))
            .unwrap_or(Severity::Critical)
    }

    /// The patches that apply, widest first.
    fn layers(&self, cluster: &ClusterId, instance_type: &str) -> Vec<&ChecksPatch> {
        let mut layers = Vec::with_capacity(3);
        layers.push(&self.checks);
        layers.extend(self.instance_types.get(instance_type));
        layers.extend(self.clusters.get(cluster));
        layers
    }
}

fn shorten(message: &str) -> String {
    match message.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// Milliseconds of `d`, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

// ------------------------------------------------------------------ resolved settings

/// Every check's settings for one node (what [`HealthConfig::resolve`] returns). `Default` is
/// the documented defaults. Copied into each node's state, so it stays small and `Copy`; the
/// per-XID severities are looked up when a finding is raised ([`HealthConfig::xid_severity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// `gpu-xid`.
    pub gpu_xid: Enabled,
    /// `gpu-ecc`.
    pub gpu_ecc: CounterCheck,
    /// `gpu-row-remap`.
    pub gpu_row_remap: RowRemapCheck,
    /// `gpu-nvlink`.
    pub gpu_nvlink: RateCheck,
    /// `gpu-pcie`.
    pub gpu_pcie: RateCheck,
    /// `ib-link`.
    pub ib_link: IbLinkCheck,
    /// `node-not-ready`.
    pub node_not_ready: SustainedCheck,
    /// `gpu-thermal`.
    pub gpu_thermal: SustainedCheck,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            gpu_xid: Enabled { enabled: true },
            gpu_ecc: CounterCheck {
                enabled: true,
                severity: Severity::Critical,
            },
            gpu_row_remap: RowRemapCheck {
                enabled: true,
                severity: Severity::Warning,
                failure_severity: Severity::Critical,
            },
            gpu_nvlink: RateCheck {
                enabled: true,
                severity: Severity::Warning,
                max_per_minute: 100,
            },
            gpu_pcie: RateCheck {
                enabled: true,
                severity: Severity::Warning,
                max_per_minute: 100,
            },
            ib_link: IbLinkCheck {
                enabled: true,
                down_for: Duration::from_secs(30),
                down_severity: Severity::Critical,
                flaps_per_hour: 3,
                flap_severity: Severity::Warning,
                max_symbol_errors_per_hour: 120,
                symbol_error_severity: Severity::Warning,
            },
            // The shipped remediation policy's grace (`NOT_READY_GRACE_MINUTES`): raised
            // earlier, the finding would be answered "wait" and nothing would ask again.
            node_not_ready: SustainedCheck {
                enabled: true,
                after: Duration::from_secs(600),
                severity: Severity::Critical,
            },
            gpu_thermal: SustainedCheck {
                enabled: true,
                after: Duration::from_secs(300),
                severity: Severity::Warning,
            },
        }
    }
}

impl Checks {
    /// Whether `check` runs.
    pub fn enabled(&self, check: crate::CheckId) -> bool {
        use crate::CheckId as C;
        match check {
            C::GpuXid => self.gpu_xid.enabled,
            C::GpuEcc => self.gpu_ecc.enabled,
            C::GpuRowRemap => self.gpu_row_remap.enabled,
            C::GpuNvlink => self.gpu_nvlink.enabled,
            C::GpuPcie => self.gpu_pcie.enabled,
            C::IbLink => self.ib_link.enabled,
            C::NodeNotReady => self.node_not_ready.enabled,
            C::GpuThermal => self.gpu_thermal.enabled,
        }
    }
}

/// A check with nothing to set but whether it runs (`gpu-xid`: its severities come from the
/// catalogue and the configuration's `severities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enabled {
    /// Whether the check runs.
    pub enabled: bool,
}

/// A counter that must not grow (`gpu-ecc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterCheck {
    /// Whether the check runs.
    pub enabled: bool,
    /// Severity of a finding.
    pub severity: Severity,
}

/// `gpu-row-remap`: rows remapped for uncorrectable errors, and remap failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRemapCheck {
    /// Whether the check runs.
    pub enabled: bool,
    /// Severity when the uncorrectable remapped rows grow.
    pub severity: Severity,
    /// Severity when `row_remap_failure` is set (once per episode).
    pub failure_severity: Severity,
}

/// A counter with a per-minute budget (`gpu-nvlink`, `gpu-pcie`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCheck {
    /// Whether the check runs.
    pub enabled: bool,
    /// Severity of a finding.
    pub severity: Severity,
    /// Trips when the last minute counted more than this.
    pub max_per_minute: u64,
}

/// `ib-link`: outages, flapping and symbol errors of each InfiniBand port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IbLinkCheck {
    /// Whether the check runs.
    pub enabled: bool,
    /// A port down at least this long, on end, is one finding per outage.
    pub down_for: Duration,
    /// Severity of an outage.
    pub down_severity: Severity,
    /// `link_downed` growing at least this many times within an hour is flapping.
    pub flaps_per_hour: u64,
    /// Severity of flapping.
    pub flap_severity: Severity,
    /// Trips when the last hour counted more symbol errors than this.
    pub max_symbol_errors_per_hour: u64,
    /// Severity of too many symbol errors.
    pub symbol_error_severity: Severity,
}

/// A condition that must not last (`node-not-ready`, `gpu-thermal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SustainedCheck {
    /// Whether the check runs.
    pub enabled: bool,
    /// The condition held at least this long, on end: one finding per episode.
    pub after: Duration,
    /// Severity of a finding.
    pub severity: Severity,
}

// ------------------------------------------------------------------ patches (the file format)

/// Overrides of some checks' settings; absent fields keep what the wider scope said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChecksPatch {
    /// `gpu-xid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_xid: Option<XidPatch>,
    /// `gpu-ecc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_ecc: Option<CounterPatch>,
    /// `gpu-row-remap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_row_remap: Option<RowRemapPatch>,
    /// `gpu-nvlink`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_nvlink: Option<RatePatch>,
    /// `gpu-pcie`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_pcie: Option<RatePatch>,
    /// `ib-link`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ib_link: Option<IbLinkPatch>,
    /// `node-not-ready`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_not_ready: Option<SustainedPatch>,
    /// `gpu-thermal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_thermal: Option<SustainedPatch>,
}

/// Overrides of `gpu-xid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XidPatch {
    /// Whether the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Severity per XID, over the catalogue's (merged XID by XID with the wider scopes). Keys
    /// are numbers, or strings of digits (JSON object keys).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "xid_keys"
    )]
    pub severities: BTreeMap<u32, Severity>,
    /// Severity of an XID the catalogue does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_severity: Option<Severity>,
}

/// Overrides of `gpu-ecc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterPatch {
    /// Whether the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Severity of a finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// Overrides of `gpu-row-remap`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowRemapPatch {
    /// Whether the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Severity when the uncorrectable remapped rows grow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Severity of a remap failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_severity: Option<Severity>,
}

/// Overrides of `gpu-nvlink` / `gpu-pcie`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePatch {
    /// Whether the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Severity of a finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Trips above this many per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_minute: Option<u64>,
}

/// Overrides of `ib-link`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IbLinkPatch {
    /// Whether the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How long a port must stay down (`30s`, `1m`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub down_for: Option<Duration>,
    /// Severity of an outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_severity: Option<Severity>,
    /// `link_downed` increments within an hour that make a port flapping (at least).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flaps_per_hour: Option<u64>,
    /// Severity of flapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_severity: Option<Severity>,
    /// Trips above this many symbol errors within an hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_symbol_errors_per_hour: Option<u64>,
    /// Severity of too many symbol errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_error_severity: Option<Severity>,
}

/// Overrides of `node-not-ready` / `gpu-thermal`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SustainedPatch {
    /// Whether the check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How long the condition must hold (`5m`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde"
    )]
    pub after: Option<Duration>,
    /// Severity of a finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// A map keyed by XID, whether the keys came as numbers (YAML) or strings (JSON).
fn xid_keys<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<u32, Severity>, D::Error> {
    #[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord)]
    #[serde(untagged)]
    enum Key {
        Number(u32),
        Text(String),
    }
    let raw = BTreeMap::<Key, Severity>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(key, severity)| match key {
            Key::Number(code) => Ok((code, severity)),
            Key::Text(text) => text.parse().map(|code| (code, severity)).map_err(|_| {
                serde::de::Error::custom("an XID in `severities` is a number, e.g. 79")
            }),
        })
        .collect()
}

fn set<T: Copy>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

impl ChecksPatch {
    /// Writes the fields this patch sets over `checks`.
    pub fn apply(&self, checks: &mut Checks) {
        if let Some(p) = &self.gpu_xid {
            set(&mut checks.gpu_xid.enabled, p.enabled);
        }
        if let Some(p) = &self.gpu_ecc {
            set(&mut checks.gpu_ecc.enabled, p.enabled);
            set(&mut checks.gpu_ecc.severity, p.severity);
        }
        if let Some(p) = &self.gpu_row_remap {
            let c = &mut checks.gpu_row_remap;
            set(&mut c.enabled, p.enabled);
            set(&mut c.severity, p.severity);
            set(&mut c.failure_severity, p.failure_severity);
        }
        for (patch, check) in [
            (&self.gpu_nvlink, &mut checks.gpu_nvlink),
            (&self.gpu_pcie, &mut checks.gpu_pcie),
        ] {
            if let Some(p) = patch {
                set(&mut check.enabled, p.enabled);
                set(&mut check.severity, p.severity);
                set(&mut check.max_per_minute, p.max_per_minute);
            }
        }
        if let Some(p) = &self.ib_link {
            let c = &mut checks.ib_link;
            set(&mut c.enabled, p.enabled);
            set(&mut c.down_for, p.down_for);
            set(&mut c.down_severity, p.down_severity);
            set(&mut c.flaps_per_hour, p.flaps_per_hour);
            set(&mut c.flap_severity, p.flap_severity);
            set(
                &mut c.max_symbol_errors_per_hour,
                p.max_symbol_errors_per_hour,
            );
            set(&mut c.symbol_error_severity, p.symbol_error_severity);
        }
        for (patch, check) in [
            (&self.node_not_ready, &mut checks.node_not_ready),
            (&self.gpu_thermal, &mut checks.gpu_thermal),
        ] {
            if let Some(p) = patch {
                set(&mut check.enabled, p.enabled);
                set(&mut check.after, p.after);
                set(&mut check.severity, p.severity);
            }
        }
    }
}
