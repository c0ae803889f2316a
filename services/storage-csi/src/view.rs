//! What storage-csi knows about each cluster, from the platform's events: its project, name and
//! region (to scope requests and place volumes), its nodes with their names and readiness (what
//! volumes attach to), and whether the `csi-driver` add-on is installed (StorageClasses are
//! flagged when it is not). A read model, written only by [`crate::handlers::cluster_view`].

use std::collections::BTreeMap;

use accord_core::ids::{ClusterId, NodeId, ProjectId};
use serde::{Deserialize, Serialize};

/// A node as storage-csi sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node's name (what requests usually name).
    pub name: String,
    /// Whether its kubelet is Ready (only Ready nodes get new attachments).
    pub ready: bool,
}

/// A cluster as storage-csi knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub id: ClusterId,
    pub name: String,
    pub project: ProjectId,
    /// The region its volumes live in (immutable after creation).
    pub region: String,
    /// Nodes by id (from `node.provisioning` until `node.terminated`).
    pub nodes: BTreeMap<NodeId, NodeView>,
    /// Whether the `csi-driver` add-on is installed (from `addon.*`).
    pub csi_driver_installed: bool,
    /// The cluster was deleted: no new volumes.
    #[serde(default)]
    pub deleting: bool,
}

impl ClusterView {
    /// The node `requested` names (an id or a name) in this cluster.
    pub fn node(&self, requested: &str) -> Option<(NodeId, &NodeView)> {
        match requested.parse::<NodeId>() {
            Ok(id) => self.nodes.get(&id).map(|n| (id, n)),
            Err(_) => self
                .nodes
                .iter()
                .find(|(_, n)| n.name == requested)
                .map(|(id, n)| (*id, n)),
        }
    }
}

impl accord_runtime::directory::ClusterRecord for ClusterView {
    fn entry(&self) -> accord_runtime::scope::ClusterEntry {
        accord_runtime::scope::ClusterEntry::new(self.id, &self.name, self.project)
    }
}
