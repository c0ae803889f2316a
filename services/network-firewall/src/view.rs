//! What network-firewall knows about each cluster, from the provisioner's events: its project
//! and name (to scope requests), its address plan, and its pools with their Ready nodes'
//! addresses (pool targets of customer rules). A read model, written only by
//! [`crate::handlers::cluster_view`].

use std::collections::BTreeMap;

use accord_core::ids::{ClusterId, NodePoolId, ProjectId};
use accord_firewall::{ClusterSpec, Cni, PoolSpec};
use serde::{Deserialize, Serialize};

/// A node pool as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolView {
    /// The pool's name (what `pool:<name>` targets).
    pub name: String,
    /// Its Ready nodes: node id → VPC address.
    pub nodes: BTreeMap<String, String>,
}

/// A cluster as network-firewall knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub id: ClusterId,
    pub name: String,
    pub project: ProjectId,
    /// The address plan (immutable after creation).
    pub vpc_subnet: String,
    pub pod_cidr: String,
    pub service_cidr: String,
    /// The CNI's mode, as the cluster was created with.
    pub cni: Cni,
    /// Pools by id.
    pub pools: BTreeMap<NodePoolId, PoolView>,
    /// The cluster was deleted: its rule set is being removed from the VPC firewall.
    #[serde(default)]
    pub deleting: bool,
}

impl ClusterView {
    /// The network the firewall engine derives the required rules from.
    pub fn network(&self) -> ClusterSpec {
        ClusterSpec {
            vpc_subnet: self.vpc_subnet.clone(),
            pod_cidr: self.pod_cidr.clone(),
            service_cidr: self.service_cidr.clone(),
            cni: self.cni,
            pools: self
                .pools
                .values()
                .map(|p| PoolSpec {
                    name: p.name.clone(),
                    nodes: p.nodes.values().cloned().collect(),
                })
                .collect(),
        }
    }
}

impl accord_runtime::directory::ClusterRecord for ClusterView {
    fn entry(&self) -> accord_runtime::scope::ClusterEntry {
        accord_runtime::scope::ClusterEntry::new(self.id, &self.name, self.project)
    }
}
