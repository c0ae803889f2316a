//! The vocabulary of the checks: which check ([`CheckId`]), how bad a finding is
//! ([`Severity`]), and where a node stands on a check ([`Verdict`]).
//!
//! Invariant: a check id and the [`FindingKind`] of its findings are spelled alike
//! (`gpu-xid` … `gpu-thermal`): [`CheckId::kind`] is a bijection, tested.

use accord_core::remediation::FindingKind;
use serde::{Deserialize, Serialize};

/// A health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    /// Every increase of a GPU's XID count.
    GpuXid,
    /// A GPU's double-bit ECC count grows.
    GpuEcc,
    /// A GPU's uncorrectable remapped rows grow, or its row remapping failed.
    GpuRowRemap,
    /// A GPU's NVLink CRC flit errors per minute.
    GpuNvlink,
    /// A GPU's PCIe replays per minute.
    GpuPcie,
    /// An InfiniBand port down, flapping, or counting symbol errors.
    IbLink,
    /// The node's kubelet not ready for a while.
    NodeNotReady,
    /// A thermal or power violation sustained for a while.
    GpuThermal,
}

impl CheckId {
    /// Every check, in the order verdicts list them.
    pub const ALL: [CheckId; 8] = [
        CheckId::GpuXid,
        CheckId::GpuEcc,
        CheckId::GpuRowRemap,
        CheckId::GpuNvlink,
        CheckId::GpuPcie,
        CheckId::IbLink,
        CheckId::NodeNotReady,
        CheckId::GpuThermal,
    ];

    /// The id as written in configurations and findings, e.g. `gpu-xid`.
    pub fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    /// The kind of finding the check raises (the remediation vocabulary).
    pub fn kind(self) -> FindingKind {
        match self {
            CheckId::GpuXid => FindingKind::GpuXid,
            CheckId::GpuEcc => FindingKind::GpuEcc,
            CheckId::GpuRowRemap => FindingKind::GpuRowRemap,
            CheckId::GpuNvlink => FindingKind::GpuNvlink,
            CheckId::GpuPcie => FindingKind::GpuPcie,
            CheckId::IbLink => FindingKind::IbLink,
            CheckId::NodeNotReady => FindingKind::NodeNotReady,
            CheckId::GpuThermal => FindingKind::GpuThermal,
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording; the GPU or node stays healthy (an application's own error).
    Info,
    /// Degraded or at risk; someone should look.
    Warning,
    /// Out of service or about to be: remediation material.
    Critical,
}

impl Severity {
    /// Index into per-severity arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }

    /// The severities, lowest first.
    pub(crate) const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];
}

/// Where a node stands on one check (NVIDIA health-validation style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Not enough samples yet to judge (fewer than two: no delta has been seen).
    Unknown,
    /// Nothing found.
    Pass,
    /// A finding of severity info.
    Info,
    /// A finding of severity warning.
    Warning,
    /// A finding of severity critical.
    Critical,
}

impl From<Severity> for Verdict {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Info => Verdict::Info,
            Severity::Warning => Verdict::Warning,
            Severity::Critical => Verdict::Critical,
        }
    }
}

/// One check's verdict on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckVerdict {
    /// The check.
    pub check: CheckId,
    /// Its verdict.
    pub verdict: Verdict,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_and_finding_kinds_are_spelled_alike_one_to_one() {
        let kinds: std::collections::HashSet<_> = CheckId::ALL.iter().map(|c| c.kind()).collect();
        assert_eq!(kinds.len(), CheckId::ALL.len());
        assert_eq!(kinds.len(), FindingKind::ALL.len());
        for check in CheckId::ALL {
            assert_eq!(
                serde_json::to_value(check).unwrap(),
                serde_json::to_value(check.kind()).unwrap()
            );
        }
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(serde_json::to_value(Verdict::Pass).unwrap(), "PASS");
    }
}
