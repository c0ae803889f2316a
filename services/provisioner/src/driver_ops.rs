//! Infrastructure operations as values: what the committed state asks of the driver. Each has
//! a typed identity ([`OpKey`], the idempotency key of "issued once per process") and a metric
//! name, and runs against any [`InfraDriver`].

use std::sync::Arc;

use accord_core::{
    ids::{ClusterId, NodeId, RemediationId},
    infra::{ControlPlaneRequest, InfraDriver, InfraError, Mitigation, NodeRequest, RepairRequest},
    validation::KubeVersion,
};

/// One driver operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverOp {
    EnsureControlPlane(ControlPlaneRequest),
    UpgradeControlPlane {
        cluster: ClusterId,
        version: KubeVersion,
    },
    DeleteControlPlane(ClusterId),
    ProvisionNode(Box<NodeRequest>),
    DrainNode(NodeId),
    TerminateNode(NodeId),
    /// Rebuild a down control-plane replica.
    ReplaceReplica {
        cluster: ClusterId,
        replica: String,
    },
    /// Contain a customer component's impact.
    Mitigate {
        cluster: ClusterId,
        component: String,
        mitigation: Mitigation,
    },
    /// A repair: one attempt of a remediation (AutoClusters).
    RepairNode {
        remediation: RemediationId,
        attempt: u32,
        request: RepairRequest,
    },
}

/// The identity of an operation: issuing the same key twice in one process is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OpKey {
    EnsureControlPlane(ClusterId),
    UpgradeControlPlane(ClusterId, KubeVersion),
    DeleteControlPlane(ClusterId),
    ProvisionNode(NodeId),
    DrainNode(NodeId),
    TerminateNode(NodeId),
    /// The remediation and its attempt.
    RepairNode(RemediationId, u32),
    /// Cluster and replica name.
    ReplaceReplica(ClusterId, String),
    /// Cluster, component and mitigation.
    Mitigate(ClusterId, String, Mitigation),
}

impl DriverOp {
    /// The operation's identity.
    pub fn key(&self) -> OpKey {
        match self {
            DriverOp::EnsureControlPlane(r) => OpKey::EnsureControlPlane(r.cluster),
            DriverOp::UpgradeControlPlane { cluster, version } => {
                OpKey::UpgradeControlPlane(*cluster, *version)
            }
            DriverOp::DeleteControlPlane(c) => OpKey::DeleteControlPlane(*c),
            DriverOp::ProvisionNode(r) => OpKey::ProvisionNode(r.node),
            DriverOp::DrainNode(n) => OpKey::DrainNode(*n),
            DriverOp::TerminateNode(n) => OpKey::TerminateNode(*n),
            DriverOp::RepairNode {
                remediation,
                attempt,
                ..
            } => OpKey::RepairNode(*remediation, *attempt),
            DriverOp::ReplaceReplica { cluster, replica } => {
                OpKey::ReplaceReplica(*cluster, replica.clone())
            }
            DriverOp::Mitigate {
                cluster,
                component,
                mitigation,
            } => OpKey::Mitigate(*cluster, component.clone(), *mitigation),
        }
    }

    /// The metric label.
    pub fn name(&self) -> &'static str {
        match self {
            DriverOp::EnsureControlPlane(_) => "ensure-control-plane",
            DriverOp::UpgradeControlPlane { .. } => "upgrade-control-plane",
            DriverOp::DeleteControlPlane(_) => "delete-control-plane",
            DriverOp::ProvisionNode(_) => "provision-node",
            DriverOp::DrainNode(_) => "drain-node",
            DriverOp::TerminateNode(_) => "terminate-node",
            DriverOp::RepairNode { .. } => "repair-node",
            DriverOp::ReplaceReplica { .. } => "replace-replica",
            DriverOp::Mitigate { .. } => "mitigate",
        }
    }

    /// Runs the operation.
    pub async fn run(self, driver: Arc<dyn InfraDriver>) -> Result<(), InfraError> {
        match self {
            DriverOp::EnsureControlPlane(r) => driver.ensure_control_plane(r).await,
            DriverOp::UpgradeControlPlane { cluster, version } => {
                driver.upgrade_control_plane(cluster, version).await
            }
            DriverOp::DeleteControlPlane(c) => driver.delete_control_plane(c).await,
            DriverOp::ProvisionNode(r) => driver.provision_node(*r).await,
            DriverOp::DrainNode(n) => driver.drain_node(n).await,
            DriverOp::TerminateNode(n) => driver.terminate_node(n).await,
            DriverOp::RepairNode { request, .. } => driver.repair_node(request).await,
            DriverOp::ReplaceReplica { cluster, replica } => {
                driver.replace_replica(cluster, replica).await
            }
            DriverOp::Mitigate {
                cluster,
                component,
                mitigation,
            } => driver.mitigate(cluster, component, mitigation).await,
        }
    }
}
