//! The addon-manager's view of clusters and node pools, built from the provisioner's events
//! (the provisioner owns them; this is a read model, written only by [`crate::handlers::cluster_view`]).
//!
//! It holds what add-on plugins render from (version, network, pools with their GPU model,
//! InfiniBand and autoscaling bounds) and what authorisation needs (the project).

use std::collections::BTreeMap;

use accord_core::{
    cluster::Cluster,
    ids::{ClusterId, NodePoolId, ProjectId},
    nodepool::NodePool,
};
use accord_plugin_host::{ClusterInfo, PoolInfo};
use serde::{Deserialize, Serialize};

/// A cluster as the addon-manager knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub id: ClusterId,
    pub name: String,
    pub project: ProjectId,
    /// Kubernetes minor the control plane runs (or will run), e.g. `1.32`.
    pub kubernetes_version: String,
    pub region: String,
    pub pod_cidr: String,
    pub service_cidr: String,
    pub api_endpoint: String,
    /// Add-ons opted into at creation.
    pub opted_in: Vec<String>,
    /// Node pools by id.
    pub pools: BTreeMap<NodePoolId, PoolView>,
}

/// A node pool as add-ons see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolView {
    pub name: String,
    pub instance_type: String,
    pub gpus_per_node: u32,
    pub gpu_model: String,
    pub infiniband: bool,
    pub count: u32,
    pub min_count: Option<u32>,
    pub max_count: Option<u32>,
}

impl ClusterView {
    /// The view of a cluster as the provisioner published it.
    pub fn from_cluster(c: &Cluster) -> Self {
        let version = c
            .status
            .current_version
            .unwrap_or(c.spec.kubernetes_version);
        Self {
            id: c.metadata.id,
            name: c.metadata.name.clone(),
            project: c.metadata.project,
            kubernetes_version: version.to_string(),
            region: c.spec.region.clone(),
            pod_cidr: c.spec.network.pod_cidr.to_string(),
            service_cidr: c.spec.network.service_cidr.to_string(),
            api_endpoint: c.status.api_endpoint.clone(),
            opted_in: c.spec.addons.clone(),
            pools: BTreeMap::new(),
        }
    }

    /// Whether any pool runs on InfiniBand.
    pub fn has_infiniband(&self) -> bool {
        self.pools.values().any(|p| p.infiniband)
    }

    /// What add-on plugins render from (pools ordered by name).
    pub fn info(&self) -> ClusterInfo {
        let mut pools: Vec<PoolInfo> = self
            .pools
            .values()
            .map(|p| PoolInfo {
                name: p.name.clone(),
                instance_type: p.instance_type.clone(),
                gpu_count: p.gpus_per_node,
                gpu_model: p.gpu_model.clone(),
                infiniband: p.infiniband,
                count: p.count,
                min_count: p.min_count,
                max_count: p.max_count,
            })
            .collect();
        pools.sort_by(|a, b| a.name.cmp(&b.name));
        ClusterInfo {
            id: self.id.to_string(),
            name: self.name.clone(),
            project: self.project.to_string(),
            kubernetes_version: self.kubernetes_version.clone(),
            region: self.region.clone(),
            pod_cidr: self.pod_cidr.clone(),
            service_cidr: self.service_cidr.clone(),
            api_endpoint: self.api_endpoint.clone(),
            pools,
        }
    }
}

impl PoolView {
    /// The view of a pool; `gpus_per_node`, `gpu_model` and `infiniband` come with the
    /// pool's creation event (from the provider's catalogue).
    pub fn from_pool(p: &NodePool, gpus_per_node: u32, gpu_model: &str, infiniband: bool) -> Self {
        Self {
            name: p.metadata.name.clone(),
            instance_type: p.spec.instance_type.clone(),
            gpus_per_node,
            gpu_model: gpu_model.to_owned(),
            infiniband,
            count: p.spec.count,
            min_count: p.spec.autoscaling.map(|a| a.min_count),
            max_count: p.spec.autoscaling.map(|a| a.max_count),
        }
    }

    /// Applies a pool update (count and autoscaling may change; the instance type never does).
    pub fn update_from(&mut self, p: &NodePool) {
        self.count = p.spec.count;
        self.min_count = p.spec.autoscaling.map(|a| a.min_count);
        self.max_count = p.spec.autoscaling.map(|a| a.max_count);
    }
}

impl accord_runtime::directory::ClusterRecord for ClusterView {
    fn entry(&self) -> accord_runtime::scope::ClusterEntry {
        accord_runtime::scope::ClusterEntry::new(self.id, &self.name, self.project)
    }
}
