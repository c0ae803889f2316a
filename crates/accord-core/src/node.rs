//! Worker nodes (owned by the provisioner; hardware owned by the provider).
//!
//! State machine: Provisioning → Ready ⇄ NotReady; Ready/NotReady → Draining → Terminating →
//! (record removed, `node.terminated` published); Provisioning → Failed. Cordoning is a flag
//! next to the state: the customer may cordon and uncordon; the provider never uncordons a node
//! the customer cordoned.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    events::DomainEvent,
    iam::Party,
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    meta::{Conditions, Metadata},
    validation::KubeVersion,
};

/// A worker node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Metadata.
    pub metadata: Metadata<NodeId>,
    /// What it was created as.
    pub spec: NodeSpec,
    /// Observed state.
    pub status: NodeStatus,
}

/// What a node was created as (immutable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Cluster.
    pub cluster: ClusterId,
    /// Pool.
    pub pool: NodePoolId,
    /// Instance type.
    pub instance_type: String,
    /// Base image.
    pub image_version: String,
    /// kubelet version.
    pub kubelet_version: KubeVersion,
}

/// Lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Instance being created.
    Provisioning,
    /// Kubelet ready.
    Ready,
    /// Kubelet not ready (heartbeats lost, hardware fault …).
    NotReady,
    /// Pods being evicted before removal.
    Draining,
    /// Instance being terminated.
    Terminating,
    /// Provisioning failed; the pool controller replaces it.
    Failed,
}

impl NodeState {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Provisioning => "provisioning",
            NodeState::Ready => "ready",
            NodeState::NotReady => "not-ready",
            NodeState::Draining => "draining",
            NodeState::Terminating => "terminating",
            NodeState::Failed => "failed",
        }
    }
}

/// What the provisioner observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// State.
    pub state: NodeState,
    /// Who cordoned it, if cordoned.
    #[serde(default)]
    pub cordoned_by: Option<Party>,
    /// Failure domain (known once placed).
    #[serde(default)]
    pub failure_domain: String,
    /// Address in the VPC subnet.
    #[serde(default)]
    pub internal_ip: String,
    /// Provider instance id.
    #[serde(default)]
    pub instance_id: String,
    /// When it first became ready.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ready_at: Option<OffsetDateTime>,
    /// Conditions.
    #[serde(default)]
    pub conditions: Conditions,
    /// The AutoClusters remediation replacing this node: it no longer counts towards its
    /// pool's size (its replacement does) and leaves once the replacement is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring: Option<crate::ids::RemediationId>,
}

/// Facts about nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum NodeEvent {
    /// Provisioning requested.
    Provisioning {
        /// Node.
        node: NodeId,
        /// Name.
        name: String,
        /// Project.
        project: ProjectId,
        /// Cluster.
        cluster: ClusterId,
        /// Pool.
        pool: NodePoolId,
        /// Instance type.
        instance_type: String,
        /// Image.
        image_version: String,
    },
    /// Kubelet ready (first time or after NotReady).
    Ready {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// Pool.
        pool: NodePoolId,
        /// Failure domain.
        failure_domain: String,
        /// The node's VPC address (load-balancer backends, pool targets of firewall rules);
        /// empty in events published before it was carried.
        #[serde(default)]
        internal_ip: String,
    },
    /// Kubelet not ready.
    NotReady {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// Pool.
        pool: NodePoolId,
        /// Why.
        reason: String,
    },
    /// Cordoned.
    Cordoned {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// By whom.
        by: Party,
    },
    /// Uncordoned.
    Uncordoned {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
    },
    /// Draining started.
    Draining {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// Why (scale-down, cycle, pool deletion).
        reason: String,
    },
    /// Drained: its workloads are gone and its instance is being terminated.
    Drained {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// Pool.
        pool: NodePoolId,
    },
    /// Terminated and removed.
    Terminated {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// Pool.
        pool: NodePoolId,
        /// Name.
        name: String,
    },
    /// Provisioning failed.
    Failed {
        /// Node.
        node: NodeId,
        /// Cluster.
        cluster: ClusterId,
        /// Why.
        reason: String,
    },
}

impl DomainEvent for NodeEvent {
    fn resource(&self) -> &'static str {
        "node"
    }
    fn event(&self) -> &'static str {
        match self {
            NodeEvent::Provisioning { .. } => "provisioning",
            NodeEvent::Ready { .. } => "ready",
            NodeEvent::NotReady { .. } => "not-ready",
            NodeEvent::Cordoned { .. } => "cordoned",
            NodeEvent::Uncordoned { .. } => "uncordoned",
            NodeEvent::Draining { .. } => "draining",
            NodeEvent::Drained { .. } => "drained",
            NodeEvent::Terminated { .. } => "terminated",
            NodeEvent::Failed { .. } => "failed",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            NodeEvent::Provisioning { node, .. }
            | NodeEvent::Ready { node, .. }
            | NodeEvent::NotReady { node, .. }
            | NodeEvent::Cordoned { node, .. }
            | NodeEvent::Uncordoned { node, .. }
            | NodeEvent::Draining { node, .. }
            | NodeEvent::Drained { node, .. }
            | NodeEvent::Terminated { node, .. }
            | NodeEvent::Failed { node, .. } => node.to_string(),
        }
    }
}
