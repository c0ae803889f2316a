//! What the telemetry service knows of each cluster, from the provisioner's events: its name and
//! project (to scope requests, to drop samples of clusters it does not know, and to address
//! findings to the project) and its pools' names (to show a node's pool). A read model, written
//! only by [`crate::handlers::cluster_view`].

use std::collections::BTreeMap;

use accord_core::ids::{ClusterId, NodePoolId, ProjectId};
use accord_runtime::{directory::ClusterRecord, scope::ClusterEntry};
use serde::{Deserialize, Serialize};

/// A cluster as the telemetry service knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub id: ClusterId,
    pub name: String,
    pub project: ProjectId,
    /// Pool id → pool name.
    #[serde(default)]
    pub pools: BTreeMap<NodePoolId, String>,
}

impl ClusterView {
    /// The name of pool `pool`, or its id when the pool's creation was not seen.
    pub fn pool_name(&self, pool: NodePoolId) -> String {
        self.pools
            .get(&pool)
            .cloned()
            .unwrap_or_else(|| pool.to_string())
    }
}

impl ClusterRecord for ClusterView {
    fn entry(&self) -> ClusterEntry {
        ClusterEntry::new(self.id, &self.name, self.project)
    }
}
