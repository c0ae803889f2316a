//! The telemetry service's store layout and typed reads.
//!
//! Tables (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`] (read model from the provisioner's events);
//! - `findings` `<cluster>/<ts>/<finding id>` → [`StoredFinding`]: every finding committed, where
//!   `<ts>` is the tripping sample's `ts_ms` as 16 hex digits with the sign bit flipped (so keys
//!   sort by time, and the findings of a cluster since a time are a suffix of its prefix). The key
//!   is a function of the finding alone (its id is derived from the sample), so a finding seen
//!   again — a redelivered sample, a restart — lands on the same key and is not committed twice;
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Retention: the newest [`MAX_FINDINGS_PER_CLUSTER`] findings of each cluster are kept (a
//! commit that would exceed it deletes the oldest in the same batch); a deleted cluster's
//! findings are deleted with its view.
//!
//! Invariant: only the telemetry service opens this store; it is the single writer of findings.

use accord_core::{DomainError, ids::ClusterId};
use accord_health::HealthFinding;
use accord_runtime::directory::ReadModel;
use accord_store::{Store, Table};
use serde::{Deserialize, Serialize};

use crate::view::ClusterView;

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const FINDINGS: Table<StoredFinding> = Table::new("findings");

/// Findings kept per cluster (the oldest go first).
pub const MAX_FINDINGS_PER_CLUSTER: usize = 1000;

/// A committed finding and what the API shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFinding {
    pub finding: HealthFinding,
    /// The node's hostname in the tripping sample.
    pub node_name: String,
}

/// Typed reads: the kit's read model of clusters and projects; finding reads in [`Findings`].
pub type Reader = ReadModel<ClusterView>;

/// The telemetry service's read model in `store`.
pub fn reader(store: Store) -> Reader {
    ReadModel::new(store, CLUSTERS)
}

/// The key prefix of a cluster's findings.
pub fn findings_prefix(cluster: ClusterId) -> String {
    format!("{cluster}/")
}

/// The sortable form of a `ts_ms` used in keys.
pub fn ts_key(ts_ms: i64) -> String {
    format!("{:016x}", ts_ms.cast_unsigned() ^ (1 << 63))
}

/// The key of `finding`.
pub fn finding_key(finding: &HealthFinding) -> String {
    format!(
        "{}{}/{}",
        findings_prefix(finding.cluster),
        ts_key(finding.ts_ms()),
        finding.id
    )
}

/// Finding reads over the read model's store.
pub trait Findings {
    /// The keys of `cluster`'s findings, oldest first.
    fn finding_keys(&self, cluster: ClusterId) -> Result<Vec<String>, DomainError>;
    /// Whether a finding is stored at `key`.
    fn has_finding(&self, key: &str) -> Result<bool, DomainError>;
    /// `cluster`'s findings taken at or after `since_ts_ms`, newest first, at most `limit`.
    fn findings_since(
        &self,
        cluster: ClusterId,
        since_ts_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, DomainError>;
}

impl Findings for Reader {
    fn finding_keys(&self, cluster: ClusterId) -> Result<Vec<String>, DomainError> {
        Ok(FINDINGS
            .list(self.store(), &findings_prefix(cluster))?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }

    fn has_finding(&self, key: &str) -> Result<bool, DomainError> {
        Ok(FINDINGS.get(self.store(), key)?.is_some())
    }

    fn findings_since(
        &self,
        cluster: ClusterId,
        since_ts_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, DomainError> {
        let prefix = findings_prefix(cluster);
        let from = since_ts_ms.map(|ts| format!("{prefix}{}", ts_key(ts)));
        Ok(FINDINGS
            .list(self.store(), &prefix)?
            .into_iter()
            .rev()
            .take_while(|(key, _)| from.as_ref().is_none_or(|from| key >= from))
            .take(limit)
            .map(|(_, v)| v.value)
            .collect())
    }
}
