//! The contract between the provisioner and an infrastructure driver (the simulated fleet in
//! `accord-sim`, or a real cloud's API behind the same trait).
//!
//! The model is list/watch, as with any cloud API: operations are requested and accepted
//! quickly, their progress arrives later as [`InfraEvent`]s on the sink the provisioner
//! registered, and [`InfraDriver::snapshot`] lists what exists so a restarted provisioner can
//! reconcile. Invariant: every operation is idempotent by the id it names (a redelivered command
//! never provisions a second instance).

use std::{future::Future, pin::Pin, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    validation::KubeVersion,
};

/// A machine shape the provider sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceType {
    /// Name, e.g. `h200-141gb-sxm-ib.8x`.
    pub name: String,
    /// GPUs per instance (0 for CPU-only).
    pub gpu_count: u32,
    /// GPU model, e.g. `H200`.
    pub gpu_model: String,
    /// Whether the instance is on the InfiniBand fabric.
    pub infiniband: bool,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in GiB.
    pub memory_gib: u32,
}

/// A region and its failure domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Name, e.g. `eu-iceland1`.
    pub name: String,
    /// Failure domains (independent power/network), at least three for an HA control plane.
    pub failure_domains: Vec<String>,
}

/// What the driver offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Instance types.
    pub instance_types: Vec<InstanceType>,
    /// Regions.
    pub regions: Vec<Region>,
}

impl Catalog {
    /// An instance type by name.
    pub fn instance_type(&self, name: &str) -> Option<&InstanceType> {
        self.instance_types.iter().find(|t| t.name == name)
    }

    /// A region by name.
    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }
}

/// Replicas of every control plane.
pub const CONTROL_PLANE_REPLICAS: usize = 3;

/// Request to create (or converge) a cluster's control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlaneRequest {
    /// The cluster.
    pub cluster: ClusterId,
    /// Region to place it in.
    pub region: String,
    /// Kubernetes version.
    pub version: KubeVersion,
}

/// Request to provision one worker node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRequest {
    /// The node (idempotency key).
    pub node: NodeId,
    /// Node name (hostname).
    pub name: String,
    /// Owning project.
    pub project: ProjectId,
    /// Cluster it joins.
    pub cluster: ClusterId,
    /// Pool it belongs to.
    pub pool: NodePoolId,
    /// Region.
    pub region: String,
    /// Subnet the node's address comes from.
    pub vpc_subnet: ipnet::Ipv4Net,
    /// Instance type.
    pub instance_type: String,
    /// Base image version.
    pub image_version: String,
    /// kubelet version.
    pub kubelet_version: KubeVersion,
}

/// State of one control-plane replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaState {
    /// Being created.
    Provisioning,
    /// Serving.
    Running,
    /// Being replaced by a newer version.
    Upgrading,
    /// Not serving.
    Down,
}

impl ReplicaState {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Provisioning => "provisioning",
            ReplicaState::Running => "running",
            ReplicaState::Upgrading => "upgrading",
            ReplicaState::Down => "down",
        }
    }
}

/// Something that happened in the infrastructure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InfraEvent {
    /// A control-plane replica changed state.
    ReplicaChanged {
        /// Cluster.
        cluster: ClusterId,
        /// Replica name.
        replica: String,
        /// Failure domain it runs in.
        failure_domain: String,
        /// New state.
        state: ReplicaState,
        /// Version it runs.
        version: KubeVersion,
    },
    /// The control plane is gone.
    ControlPlaneDeleted {
        /// Cluster.
        cluster: ClusterId,
    },
    /// The instance is up and its kubelet registered.
    NodeProvisioned {
        /// Node.
        node: NodeId,
        /// Provider instance id.
        instance_id: String,
        /// Failure domain.
        failure_domain: String,
        /// Address in the VPC subnet.
        internal_ip: String,
    },
    /// The node's Ready condition changed (kubelet heartbeats, hardware).
    NodeReadiness {
        /// Node.
        node: NodeId,
        /// Ready or not.
        ready: bool,
        /// Why.
        reason: String,
    },
    /// Every evictable pod left the node.
    NodeDrained {
        /// Node.
        node: NodeId,
    },
    /// The instance is gone.
    NodeTerminated {
        /// Node.
        node: NodeId,
    },
    /// Provisioning failed.
    NodeFailed {
        /// Node.
        node: NodeId,
        /// Why.
        reason: String,
    },
    /// A repair ([`InfraDriver::repair_node`]) went through one of its steps.
    RepairProgress {
        /// The repair's id ([`RepairRequest::id`]).
        repair: String,
        /// Node.
        node: NodeId,
        /// The step, e.g. `drain`, `power-cycle`, `reset`.
        step: String,
        /// What happened, in a sentence.
        detail: String,
    },
    /// A customer component (an admission webhook, an operator, a job) degrades the control
    /// plane or the fabric, the provider's mitigation took effect, or the customer's fix
    /// cleared it.
    ComponentImpact {
        /// Cluster.
        cluster: ClusterId,
        /// The customer's component, as the customer named it (e.g. `policy-webhook`).
        component: String,
        /// What it does.
        impact: ImpactKind,
        /// Where it stands.
        state: ImpactState,
        /// What happened, in a sentence.
        detail: String,
    },
    /// A repair finished, well or not.
    RepairFinished {
        /// The repair's id.
        repair: String,
        /// Node.
        node: NodeId,
        /// Whether it repaired the node.
        ok: bool,
        /// What happened, in a sentence (why it failed).
        detail: String,
    },
}

/// How a customer component degrades what the provider runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImpactKind {
    /// A customer admission webhook fails closed: the API server rejects or times out writes.
    WebhookFailingClosed,
    /// A customer client (an operator, a controller) floods the API server.
    ApiFlood,
    /// A customer workload saturates the InfiniBand fabric.
    FabricSaturation,
}

impl ImpactKind {
    /// Every kind.
    pub const ALL: [ImpactKind; 3] = [
        ImpactKind::WebhookFailingClosed,
        ImpactKind::ApiFlood,
        ImpactKind::FabricSaturation,
    ];

    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImpactKind::WebhookFailingClosed => "webhook-failing-closed",
            ImpactKind::ApiFlood => "api-flood",
            ImpactKind::FabricSaturation => "fabric-saturation",
        }
    }

    /// The provider's least invasive action that restores baseline health without changing
    /// the component's configuration.
    pub fn mitigation(self) -> Mitigation {
        match self {
            ImpactKind::WebhookFailingClosed => Mitigation::BypassWebhook,
            ImpactKind::ApiFlood => Mitigation::ThrottleClient,
            ImpactKind::FabricSaturation => Mitigation::IsolateTraffic,
        }
    }

    /// Whether it degrades the control plane (otherwise the infrastructure: the fabric).
    pub fn is_control_plane(self) -> bool {
        !matches!(self, ImpactKind::FabricSaturation)
    }
}

/// Where a component's impact stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImpactState {
    /// It degrades the control plane or the fabric now.
    Degrading,
    /// The provider's mitigation restored baseline health; the component is still broken.
    Mitigated,
    /// The customer fixed the component; the mitigation is lifted.
    Cleared,
}

impl ImpactState {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImpactState::Degrading => "degrading",
            ImpactState::Mitigated => "mitigated",
            ImpactState::Cleared => "cleared",
        }
    }
}

/// A provider action that contains a customer component's impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mitigation {
    /// Exempt the API server from the failing webhook (a `failurePolicy: Ignore` override at
    /// the API server's admission layer) until the customer fixes it.
    BypassWebhook,
    /// Put the flooding client in a low API Priority and Fairness level.
    ThrottleClient,
    /// Rate-limit the workload's fabric traffic to its share.
    IsolateTraffic,
}

impl Mitigation {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mitigation::BypassWebhook => "bypass-webhook",
            Mitigation::ThrottleClient => "throttle-client",
            Mitigation::IsolateTraffic => "isolate-fabric-traffic",
        }
    }
}

/// A component impact as the infrastructure sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedImpact {
    /// Cluster.
    pub cluster: ClusterId,
    /// The customer's component.
    pub component: String,
    /// What it does.
    pub impact: ImpactKind,
    /// Degrading or mitigated (cleared impacts are gone).
    pub state: ImpactState,
}

/// What a repair does to a running node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum RepairAction {
    /// Drain the GPU's work, reset the GPU, verify it. Impossible when the GPU is off the bus.
    ResetGpu {
        /// GPU index on the node.
        gpu: u32,
    },
    /// Drain the node, power-cycle it and wait for its kubelet (the node's cordon is the
    /// caller's business).
    RebootNode,
}

impl RepairAction {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RepairAction::ResetGpu { .. } => "reset-gpu",
            RepairAction::RebootNode => "reboot-node",
        }
    }
}

/// A repair of one node, idempotent by `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairRequest {
    /// Idempotency key: requesting the same id again starts nothing new (a finished repair
    /// reports its outcome again).
    pub id: String,
    /// Node.
    pub node: NodeId,
    /// What to do.
    pub action: RepairAction,
}

/// A repair as the infrastructure sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRepair {
    /// Its id.
    pub id: String,
    /// Node.
    pub node: NodeId,
    /// What it does.
    pub action: RepairAction,
    /// `None` while running; then whether it repaired the node.
    pub ok: Option<bool>,
    /// The last step's or the outcome's sentence.
    pub detail: String,
}

/// What exists right now: the provisioner lists it at start-up and at every resync and brings
/// the committed state in line with it (events can be lost with a crash; observed state
/// cannot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfraSnapshot {
    /// Control-plane replicas by cluster.
    pub replicas: Vec<(ClusterId, String, String, ReplicaState, KubeVersion)>,
    /// Nodes with whether they are ready.
    pub nodes: Vec<(NodeId, bool)>,
    /// Every instance as the infrastructure sees it.
    #[serde(default)]
    pub instances: Vec<ObservedInstance>,
    /// Repairs running, and finished ones of instances that still exist.
    #[serde(default)]
    pub repairs: Vec<ObservedRepair>,
    /// Customer components degrading (or mitigated on) a control plane or the fabric.
    #[serde(default)]
    pub impacts: Vec<ObservedImpact>,
}

/// One instance as the infrastructure sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedInstance {
    /// The node it is for.
    pub node: NodeId,
    /// Provider instance id.
    pub instance_id: String,
    /// Failure domain.
    pub failure_domain: String,
    /// Address in the VPC subnet.
    pub internal_ip: String,
    /// Provisioning finished (the instance runs).
    pub provisioned: bool,
    /// The kubelet reports Ready.
    pub ready: bool,
    /// Drained (workloads evicted) and still running.
    pub drained: bool,
    /// Being terminated.
    pub terminating: bool,
}

/// Why the infrastructure refused or failed an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfraError {
    /// The request can never succeed (unknown instance type, region …).
    #[error("invalid infrastructure request: {0}")]
    Invalid(String),
    /// No capacity now; retry later.
    #[error("no capacity: {0}")]
    NoCapacity(String),
    /// The infrastructure API is unreachable; retry later.
    #[error("infrastructure unavailable: {0}")]
    Unavailable(String),
}

/// A boxed future returned by driver operations.
pub type InfraFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, InfraError>> + Send + 'a>>;

/// Where a driver delivers its events.
pub type InfraEventSink = Arc<dyn Fn(InfraEvent) + Send + Sync>;

/// An infrastructure provider.
pub trait InfraDriver: Send + Sync + 'static {
    /// What it offers.
    fn catalog(&self) -> Catalog;
    /// Registers the sink that receives every later event.
    fn subscribe(&self, sink: InfraEventSink);
    /// Lists what exists.
    fn snapshot(&self) -> InfraSnapshot;
    /// Creates the control plane (three replicas over distinct failure domains) if absent.
    fn ensure_control_plane(&self, req: ControlPlaneRequest) -> InfraFuture<'_, ()>;
    /// Rolls the control plane to `version`, one replica at a time.
    fn upgrade_control_plane(
        &self,
        cluster: ClusterId,
        version: KubeVersion,
    ) -> InfraFuture<'_, ()>;
    /// Tears the control plane down.
    fn delete_control_plane(&self, cluster: ClusterId) -> InfraFuture<'_, ()>;
    /// Provisions a node if it does not exist yet.
    fn provision_node(&self, req: NodeRequest) -> InfraFuture<'_, ()>;
    /// Evicts the node's pods (cordons it first).
    fn drain_node(&self, node: NodeId) -> InfraFuture<'_, ()>;
    /// Terminates the node's instance; terminating an absent node is not an error.
    fn terminate_node(&self, node: NodeId) -> InfraFuture<'_, ()>;
    /// Starts a repair of a running node (AutoClusters); its steps and outcome arrive as
    /// [`InfraEvent::RepairProgress`] and [`InfraEvent::RepairFinished`]. Idempotent by
    /// [`RepairRequest::id`]. A node that is not running finishes the repair at once, failed.
    fn repair_node(&self, req: RepairRequest) -> InfraFuture<'_, ()>;
    /// Rebuilds a `Down` control-plane replica under the same name, in a failure domain none
    /// of the cluster's other replicas uses (`ReplicaChanged` Provisioning, then Running). A
    /// replica that is not down is left alone; the call never takes a running replica away.
    fn replace_replica(&self, cluster: ClusterId, replica: String) -> InfraFuture<'_, ()>;
    /// Applies `mitigation` to a customer component's impact (idempotent; an impact that is
    /// gone or already mitigated changes nothing). The outcome arrives as
    /// [`InfraEvent::ComponentImpact`] `Mitigated`.
    fn mitigate(
        &self,
        cluster: ClusterId,
        component: String,
        mitigation: Mitigation,
    ) -> InfraFuture<'_, ()>;
}
