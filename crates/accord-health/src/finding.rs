//! What a check raises: a [`HealthFinding`] about one node (and GPU or port), with the
//! [`Evidence`] that tripped it and a deterministic [`FindingId`].
//!
//! Invariants:
//! - The id is a function of *which* rule tripped *where* and *on which sample*: cluster,
//!   node, check, the signal read, the GPU or port, and the `ts_ms` of the tripping sample
//!   ([`FindingId::derive`]). The same sample delivered twice can never yield two ids; one
//!   finding per episode means one id per episode.
//! - Evidence carries values and sample timestamps only, never free text from a sample.

use accord_core::{
    ids::{ClusterId, NodeId},
    remediation::{Finding, FindingKind},
    telemetry::{IbPortName, IbPortState},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::check::{CheckId, Severity};

/// A health finding about one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthFinding {
    /// Deterministic id ([`FindingId::derive`]).
    pub id: FindingId,
    /// The node's cluster.
    pub cluster: ClusterId,
    /// The node.
    pub node: NodeId,
    /// The check that raised it.
    pub check: CheckId,
    /// Its kind in the remediation vocabulary (`check.kind()`).
    pub kind: FindingKind,
    /// How bad it is.
    pub severity: Severity,
    /// The GPU (the `gpu-*` checks; for `gpu-thermal`, the hottest GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    /// The XID (`gpu-xid`): the last one the GPU reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xid: Option<u32>,
    /// The InfiniBand port (`ib-link`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IbPortName>,
    /// The port's state in the tripping sample (`ib-link`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_state: Option<IbPortState>,
    /// What tripped it.
    pub evidence: Evidence,
}

/// The sample field a check read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// `gpus[].xid_total`.
    XidTotal,
    /// `gpus[].ecc_dbe_total`.
    EccDbeTotal,
    /// `gpus[].remapped_rows_uncorrectable`.
    RemappedRowsUncorrectable,
    /// `gpus[].row_remap_failure`.
    RowRemapFailure,
    /// `gpus[].nvlink_crc_errors`.
    NvlinkCrcErrors,
    /// `gpus[].pcie_replay`.
    PcieReplay,
    /// `ib_ports[].state`.
    State,
    /// `ib_ports[].link_downed`.
    LinkDowned,
    /// `ib_ports[].symbol_error`.
    SymbolError,
    /// `ready`.
    Ready,
    /// `thermal_violation`.
    ThermalViolation,
}

impl Signal {
    /// The field's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::XidTotal => "xid_total",
            Signal::EccDbeTotal => "ecc_dbe_total",
            Signal::RemappedRowsUncorrectable => "remapped_rows_uncorrectable",
            Signal::RowRemapFailure => "row_remap_failure",
            Signal::NvlinkCrcErrors => "nvlink_crc_errors",
            Signal::PcieReplay => "pcie_replay",
            Signal::State => "state",
            Signal::LinkDowned => "link_downed",
            Signal::SymbolError => "symbol_error",
            Signal::Ready => "ready",
            Signal::ThermalViolation => "thermal_violation",
        }
    }
}

/// A signal's value in one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SignalValue {
    /// A counter.
    Count(u64),
    /// A flag (`ready`, `thermal_violation`, `row_remap_failure`).
    Flag(bool),
    /// A port state.
    Port(IbPortState),
}

/// A signal's value and the `ts_ms` of the sample it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// The value.
    pub value: SignalValue,
    /// The sample's time, Unix ms.
    pub ts_ms: i64,
}

/// What tripped a check: the signal's previous and current readings, and for sustained and
/// windowed rules the episode start or the window's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The sample field read.
    pub signal: Signal,
    /// Its value in the node's previous sample (absent when the tripping sample is the first
    /// seen of that GPU, port or node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Reading>,
    /// Its value in the tripping sample.
    pub current: Reading,
    /// Sustained rules (a port down, not ready, thermal, a remap failure): the `ts_ms` of the
    /// first sample of the episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ts_ms: Option<i64>,
    /// How many events the finding stands for: XIDs (or ECC errors, rows) since the previous
    /// sample; for windowed rules, the count in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Windowed rules: the window's length, ms (`count` is over it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<i64>,
    /// `gpu-thermal`: the hottest GPU's temperature in the tripping sample, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<u32>,
}

impl Evidence {
    /// Evidence of a counter that grew between two samples.
    pub(crate) fn delta(signal: Signal, previous: Reading, current: Reading, count: u64) -> Self {
        Evidence {
            signal,
            previous: Some(previous),
            current,
            since_ts_ms: None,
            count: Some(count),
            window_ms: None,
            temp_c: None,
        }
    }
}

/// A finding's id: `hf-` and 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FindingId(String);

/// Where on the node a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The node itself.
    Node,
    /// A GPU, by index.
    Gpu(u32),
    /// An InfiniBand port.
    Port(&'a IbPortName),
}

impl FindingId {
    /// The first 128 bits of SHA-256 over `cluster`, `node`, `check`, `signal`, the subject
    /// (`node`, `gpu/<index>` or `port/<name>`) and the tripping sample's `ts_ms`, each
    /// followed by a newline — none of them can contain one.
    pub fn derive(
        cluster: &ClusterId,
        node: &NodeId,
        check: CheckId,
        signal: Signal,
        subject: Subject<'_>,
        ts_ms: i64,
    ) -> Self {
        let mut hash = Sha256::new();
        let subject = match subject {
            Subject::Node => "node".to_owned(),
            Subject::Gpu(index) => format!("gpu/{index}"),
            Subject::Port(name) => format!("port/{name}"),
        };
        let text = format!(
            "{cluster}\n{node}\n{check}\n{}\n{subject}\n{ts_ms}\n",
            signal.as_str()
        );
        hash.update(text.as_bytes());
        let digest = hash.finalize();
        FindingId(format!(
            "hf-{}",
            hex::encode(digest.get(..16).unwrap_or(&[]))
        ))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl HealthFinding {
    /// The `ts_ms` of the sample that tripped it.
    pub fn ts_ms(&self) -> i64 {
        self.evidence.current.ts_ms
    }

    /// The finding as the remediation policy and support-triage take it
    /// ([`accord_core::remediation::Finding`]): `node` is the node id; `state` the port's state
    /// (`ib-link`); `minutes` how long the node has been not ready (`node-not-ready`, whole
    /// minutes since the episode's first sample); `temp_c` the hottest GPU's (`gpu-thermal`);
    /// `signal` the sample field the check read ([`Signal::as_str`]) and `severity` the
    /// finding's, so a policy tells a remapped row from a failed remap.
    pub fn to_remediation(&self) -> Finding {
        let e = &self.evidence;
        let minutes = (self.check == CheckId::NodeNotReady)
            .then(|| {
                e.since_ts_ms
                    .map(|since| (e.current.ts_ms.saturating_sub(since)) / 60_000)
                    .and_then(|m| u32::try_from(m).ok())
            })
            .flatten();
        Finding {
            kind: self.kind,
            cluster: self.cluster.to_string(),
            node: self.node.to_string(),
            xid: self.xid,
            gpu: self.gpu,
            port: self.port.clone(),
            state: self.port_state.map(|s| {
                match s {
                    IbPortState::Up => "up",
                    IbPortState::Down => "down",
                }
                .to_owned()
            }),
            minutes,
            temp_c: e.temp_c,
            signal: Some(e.signal.as_str().to_owned()),
            severity: Some(
                match self.severity {
                    Severity::Info => "info",
                    Severity::Warning => "warning",
                    Severity::Critical => "critical",
                }
                .to_owned(),
            ),
        }
    }
}
