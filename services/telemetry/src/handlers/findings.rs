//! The findings one sample raised → a [`Change`]: each finding stored in `findings` and
//! announced as `health.finding-raised` (with the cluster's project and the evidence), in one
//! commit through the outbox.
//!
//! Invariants:
//! - a finding already stored (same deterministic id, so same key) is neither stored nor
//!   announced again: a redelivered sample or a restart never republishes an old finding;
//! - a cluster keeps at most [`MAX_FINDINGS_PER_CLUSTER`] findings: the oldest are deleted in the
//!   same commit that would exceed it.

use std::collections::BTreeSet;

use accord_core::{DomainError, remediation::HealthEvent};
use accord_health::HealthFinding;
use accord_store::Expect;

use super::Change;
use crate::{
    trees::{FINDINGS, MAX_FINDINGS_PER_CLUSTER, StoredFinding, finding_key},
    view::ClusterView,
};

/// What the handler knows of the store: which findings exist.
pub struct Stored<'a> {
    /// Keys of the cluster's stored findings, oldest first.
    pub keys: &'a [String],
}

/// The change raising `findings` (all of one sample of `node_name`, in `cluster`) makes, and how
/// many are new. Empty when every one was raised before.
pub fn raise(
    cluster: &ClusterView,
    node_name: &str,
    stored: &Stored<'_>,
    findings: &[HealthFinding],
) -> Result<(Change, usize), DomainError> {
    let existing: BTreeSet<&str> = stored.keys.iter().map(String::as_str).collect();
    let mut added = BTreeSet::new();
    let mut ch = Change::in_project(cluster.project);
    for finding in findings {
        let key = finding_key(finding);
        if existing.contains(key.as_str()) || added.contains(&key) {
            continue;
        }
        let record = StoredFinding {
            finding: finding.clone(),
            node_name: node_name.to_owned(),
        };
        ch.put(FINDINGS, &key, &record, Expect::Absent)?;
        ch.event(HealthEvent::FindingRaised {
            finding: finding.to_remediation(),
            project: cluster.project,
            evidence: evidence_lines(finding, node_name),
            finding_id: finding.id.to_string(),
        });
        added.insert(key);
    }
    let new = added.len();
    // Retention: only stored findings are dropped, oldest first, so that at most
    // MAX_FINDINGS_PER_CLUSTER remain with the new ones.
    let excess = (stored.keys.len() + new).saturating_sub(MAX_FINDINGS_PER_CLUSTER);
    for key in stored.keys.iter().take(excess) {
        ch.delete(FINDINGS, key, Expect::Any);
    }
    Ok((ch, new))
}

/// What the event carries for whoever investigates: the check, its severity and the node, then
/// the evidence as JSON (values and sample times only, never free text from the sample).
pub fn evidence_lines(finding: &HealthFinding, node_name: &str) -> Vec<String> {
    let severity = format!("{:?}", finding.severity).to_lowercase();
    let mut lines = vec![format!(
        "{} {severity} on node {node_name} ({}), finding {}",
        finding.check, finding.node, finding.id
    )];
    if let Ok(json) = serde_json::to_string(&finding.evidence) {
        lines.push(json);
    }
    lines
}
