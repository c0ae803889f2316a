//! Node pools (owned by the provisioner; sized and configured by the customer).
//!
//! Invariants: `min ≤ count ≤ max` when autoscaling is on; `max_surge` and `max_unavailable` are
//! never both 0 (a rolling cycle could not make progress); the instance type never changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    events::DomainEvent,
    ids::{ClusterId, NodePoolId, ProjectId},
    meta::{Conditions, Metadata},
    validation::KubeVersion,
};

/// A Kubernetes taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: String,
}

/// Cluster-autoscaler bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaling {
    /// Lower bound.
    pub min_count: u32,
    /// Upper bound.
    pub max_count: u32,
}

/// Rolling replacement settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollingUpdate {
    /// Extra nodes allowed above `count` during a cycle.
    pub max_surge: u32,
    /// Nodes allowed below `count` (ready) during a cycle.
    pub max_unavailable: u32,
}

impl Default for RollingUpdate {
    fn default() -> Self {
        Self {
            max_surge: 1,
            max_unavailable: 0,
        }
    }
}

/// A pool of identical worker nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePool {
    /// Metadata.
    pub metadata: Metadata<NodePoolId>,
    /// Desired state.
    pub spec: NodePoolSpec,
    /// Observed state.
    pub status: NodePoolStatus,
}

/// What the customer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePoolSpec {
    /// Cluster (immutable).
    pub cluster: ClusterId,
    /// Instance type (immutable).
    pub instance_type: String,
    /// Desired number of nodes.
    pub count: u32,
    /// Autoscaler bounds, when enabled.
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    /// Kubernetes labels put on the nodes.
    #[serde(default)]
    pub node_labels: BTreeMap<String, String>,
    /// Taints put on the nodes.
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// Base image new nodes get.
    pub image_version: String,
    /// kubelet version new nodes get.
    pub kubelet_version: KubeVersion,
    /// Rolling replacement settings.
    #[serde(default)]
    pub rolling_update: RollingUpdate,
    /// This pool's AutoClusters opt-in, overriding the cluster's (`None`: the cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_enabled: Option<bool>,
    /// GPU driver branch of the pool's images (`lts`, `production`, `new_feature`).
    #[serde(default = "default_driver_branch")]
    pub driver_branch: String,
    /// The image channel the pool follows for updates (`stable`, `candidate`).
    #[serde(default = "default_image_channel")]
    pub image_channel: String,
}

/// The driver branch of pools created without one (and stored before branches existed).
pub const DEFAULT_DRIVER_BRANCH: &str = "production";
/// The channel of pools created without one.
pub const DEFAULT_IMAGE_CHANNEL: &str = "stable";

fn default_driver_branch() -> String {
    DEFAULT_DRIVER_BRANCH.to_owned()
}

fn default_image_channel() -> String {
    DEFAULT_IMAGE_CHANNEL.to_owned()
}

/// Lifecycle phase of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodePoolPhase {
    /// Nodes are being created for the first time.
    Provisioning,
    /// Every node is ready and the count is met.
    Ready,
    /// The count changed and nodes are being added or removed.
    Scaling,
    /// Nodes are being replaced rolling-wise.
    Cycling,
    /// Some nodes are not ready.
    Degraded,
    /// Nodes are being removed before the pool disappears.
    Deleting,
}

impl NodePoolPhase {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            NodePoolPhase::Provisioning => "provisioning",
            NodePoolPhase::Ready => "ready",
            NodePoolPhase::Scaling => "scaling",
            NodePoolPhase::Cycling => "cycling",
            NodePoolPhase::Degraded => "degraded",
            NodePoolPhase::Deleting => "deleting",
        }
    }
}

/// A rolling cycle in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleState {
    /// Image the nodes move to.
    pub target_image_version: String,
    /// kubelet version the nodes move to.
    pub target_kubelet_version: KubeVersion,
    /// Old nodes removed so far.
    pub nodes_replaced: u32,
    /// Old nodes to replace in total.
    pub nodes_total: u32,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

/// What the provisioner observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePoolStatus {
    /// Phase.
    pub phase: NodePoolPhase,
    /// Ready nodes.
    pub ready_nodes: u32,
    /// Nodes that exist (any state but terminated).
    pub total_nodes: u32,
    /// A cycle in progress.
    #[serde(default)]
    pub cycle: Option<CycleState>,
    /// Generation this status describes.
    pub observed_generation: u64,
    /// Conditions.
    #[serde(default)]
    pub conditions: Conditions,
}

/// Facts about node pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum NodePoolEvent {
    /// Created.
    Created {
        /// The pool.
        pool: Box<NodePool>,
        /// GPUs per node (0 for CPU-only), so consumers need no catalogue.
        gpus_per_node: u32,
        /// Whether the instance type is on InfiniBand (the Network Operator is then required).
        infiniband: bool,
        /// GPU model of the instance type ("" for CPU-only).
        #[serde(default)]
        gpu_model: String,
    },
    /// Labels, taints, autoscaling or rolling settings changed.
    Updated {
        /// The pool after the change.
        pool: Box<NodePool>,
    },
    /// The desired count changed.
    Scaled {
        /// Pool.
        pool: NodePoolId,
        /// Cluster.
        cluster: ClusterId,
        /// Old count.
        from: u32,
        /// New count.
        to: u32,
    },
    /// A rolling cycle started.
    CycleStarted {
        /// Pool.
        pool: NodePoolId,
        /// Cluster.
        cluster: ClusterId,
        /// Target image.
        image_version: String,
        /// Nodes to replace.
        nodes: u32,
    },
    /// The cycle finished: every node runs the target image.
    CycleCompleted {
        /// Pool.
        pool: NodePoolId,
        /// Cluster.
        cluster: ClusterId,
        /// Image.
        image_version: String,
    },
    /// A cycle stopped before every node moved (`nodepool.cycle-stopped`): its target image
    /// was withdrawn, or its rollout halted; nodes already moved stay.
    CycleStopped {
        pool: NodePoolId,
        cluster: ClusterId,
        image_version: String,
        reason: String,
    },
    /// A rollout disabled a revision of the pool (`nodepool.revision-disabled`): no node may
    /// be moved to it again.
    RevisionDisabled {
        pool: NodePoolId,
        cluster: ClusterId,
        revision: u32,
        image_version: String,
        reason: String,
    },
    /// A rollback to the previous revision started (`nodepool.rollback-started`).
    RollbackStarted {
        pool: NodePoolId,
        cluster: ClusterId,
        /// The image nodes return to.
        image_version: String,
    },
    /// Every node is ready and the count is met.
    Ready {
        /// Pool.
        pool: NodePoolId,
        /// Cluster.
        cluster: ClusterId,
        /// Ready nodes.
        nodes: u32,
    },
    /// Deletion started.
    DeletionStarted {
        /// Pool.
        pool: NodePoolId,
        /// Cluster.
        cluster: ClusterId,
    },
    /// Gone.
    Deleted {
        /// Pool.
        pool: NodePoolId,
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Name.
        name: String,
    },
}

impl DomainEvent for NodePoolEvent {
    fn resource(&self) -> &'static str {
        "nodepool"
    }
    fn event(&self) -> &'static str {
        match self {
            NodePoolEvent::Created { .. } => "created",
            NodePoolEvent::Updated { .. } => "updated",
            NodePoolEvent::Scaled { .. } => "scaled",
            NodePoolEvent::CycleStarted { .. } => "cycle-started",
            NodePoolEvent::CycleCompleted { .. } => "cycle-completed",
            NodePoolEvent::CycleStopped { .. } => "cycle-stopped",
            NodePoolEvent::RevisionDisabled { .. } => "revision-disabled",
            NodePoolEvent::RollbackStarted { .. } => "rollback-started",
            NodePoolEvent::Ready { .. } => "ready",
            NodePoolEvent::DeletionStarted { .. } => "deletion-started",
            NodePoolEvent::Deleted { .. } => "deleted",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            NodePoolEvent::Created { pool, .. } | NodePoolEvent::Updated { pool } => {
                pool.metadata.id.to_string()
            }
            NodePoolEvent::Scaled { pool, .. }
            | NodePoolEvent::CycleStarted { pool, .. }
            | NodePoolEvent::CycleCompleted { pool, .. }
            | NodePoolEvent::CycleStopped { pool, .. }
            | NodePoolEvent::RevisionDisabled { pool, .. }
            | NodePoolEvent::RollbackStarted { pool, .. }
            | NodePoolEvent::Ready { pool, .. }
            | NodePoolEvent::DeletionStarted { pool, .. }
            | NodePoolEvent::Deleted { pool, .. } => pool.to_string(),
        }
    }
}
