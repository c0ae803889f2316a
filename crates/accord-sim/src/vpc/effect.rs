//! What the VPC firewall does to nodes: a node whose required flows the firewall of its cluster
//! blocks cannot be Ready.
//!
//! The required flows checked here are the two a kubelet cannot live without: the control
//! plane reaching the kubelet (ingress 10250/tcp from the control plane's address, the first
//! host of `CONTROL_PLANE_RANGE`) and the kubelet reaching the API server (egress 6443/tcp to
//! that address). They are evaluated with the engine ([`Firewall::evaluate`]) exactly as the
//! cloud would.
//!
//! The fleet keeps one [`NetworkGates`]: the engine's view of each cluster's rule set, as the
//! [`SimVpc`](super::SimVpc) installs it. After every fleet operation, [`NetworkGates::enforce`]
//!
//! - turns a `NodeReadiness{ready:true}` the lifecycle emitted for a node the firewall blocks
//!   into `NodeReadiness{ready:false, reason:"VpcFirewallBlocked: …"}` (so a node that comes up,
//!   reboots or recovers behind a blocking firewall never flaps to Ready), and
//! - for each cluster whose rule set changed, makes every node that is up report the readiness
//!   it should have now (NotReady when newly blocked, Ready when unblocked and otherwise fine).
//!
//! Invariants: a cluster without a gate (no rule set in the VPC: the service is not running)
//! blocks nothing; the node's `ready` flag, which the snapshot and the node agent's telemetry
//! report, always equals "the lifecycle says ready and the firewall blocks nothing".

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv4Addr,
    sync::Arc,
};

use accord_core::{ids::ClusterId, infra::InfraEvent};
use accord_firewall::{Direction, Endpoint, Firewall, Packet, PacketProtocol, Verdict};

use crate::{
    lifecycle::Ctx,
    state::{FleetState, Instance},
};

/// The kubelet's port (the control plane connects to it).
pub(crate) const KUBELET_PORT: u16 = 10_250;
/// The API server's port (nodes connect to it).
pub(crate) const API_SERVER_PORT: u16 = 6_443;

/// Which of a node's required flows the firewall blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// The control plane cannot reach the kubelet.
    Kubelet,
    /// The kubelet cannot reach the API server.
    ApiServer,
    /// Neither way works.
    Both,
}

impl Blocked {
    /// `NodeReadiness.reason`.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Blocked::Kubelet => {
                "VpcFirewallBlocked: the VPC firewall blocks the kubelet flow (10250/tcp from the control plane)"
            }
            Blocked::ApiServer => {
                "VpcFirewallBlocked: the VPC firewall blocks the API server flow (6443/tcp to the control plane)"
            }
            Blocked::Both => {
                "VpcFirewallBlocked: the VPC firewall blocks the kubelet flow (10250/tcp from the control plane) and the API server flow (6443/tcp to the control plane)"
            }
        }
    }

    /// The tag `accord sim list` shows among the node's faults.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Blocked::Kubelet => "vpc-blocks-kubelet",
            Blocked::ApiServer => "vpc-blocks-api-server",
            Blocked::Both => "vpc-blocks-kubelet-and-api-server",
        }
    }
}

/// Which required flows `firewall` blocks for the node at `ip`, if any.
pub(crate) fn blocked(firewall: &Firewall, ip: Ipv4Addr) -> Option<Blocked> {
    let control_plane = firewall.cluster().resolve(Endpoint::ControlPlane);
    let kubelet = Packet {
        direction: Direction::Ingress,
        protocol: PacketProtocol::Tcp,
        port: Some(KUBELET_PORT),
        from: control_plane,
        to: ip,
    };
    let api_server = Packet {
        direction: Direction::Egress,
        protocol: PacketProtocol::Tcp,
        port: Some(API_SERVER_PORT),
        from: ip,
        to: control_plane,
    };
    let denied = |packet: &Packet| firewall.evaluate(packet).verdict == Verdict::Deny;
    match (denied(&kubelet), denied(&api_server)) {
        (false, false) => None,
        (true, false) => Some(Blocked::Kubelet),
        (false, true) => Some(Blocked::ApiServer),
        (true, true) => Some(Blocked::Both),
    }
}

/// The engine's view of every cluster's VPC firewall, as the fleet applies it to its nodes.
#[derive(Debug, Default)]
pub(crate) struct NetworkGates {
    gates: BTreeMap<ClusterId, Arc<Firewall>>,
    /// Clusters whose gate changed since the last [`NetworkGates::enforce`].
    changed: BTreeSet<ClusterId>,
}

impl NetworkGates {
    /// Installs (`Some`) or removes (`None`) a cluster's firewall; the next
    /// [`NetworkGates::enforce`] re-evaluates its nodes.
    pub(crate) fn set(&mut self, cluster: ClusterId, gate: Option<Arc<Firewall>>) {
        match gate {
            Some(gate) => {
                self.gates.insert(cluster, gate);
            }
            None => {
                self.gates.remove(&cluster);
            }
        }
        self.changed.insert(cluster);
    }

    /// What the firewall blocks for this instance now.
    pub(crate) fn blocked(&self, instance: &Instance) -> Option<Blocked> {
        self.gates
            .get(&instance.cluster)
            .and_then(|firewall| blocked(firewall, instance.internal_ip))
    }

    /// Brings the nodes' readiness in line with the firewalls after an operation (see the
    /// module docs).
    pub(crate) fn enforce(&mut self, state: &mut FleetState, ctx: &mut Ctx<'_>) {
        let changed = std::mem::take(&mut self.changed);
        if !self.gates.is_empty() {
            for event in &mut ctx.events {
                if let InfraEvent::NodeReadiness {
                    node,
                    ready,
                    reason,
                } = event
                    && *ready
                    && let Some(instance) = state.instances.get_mut(node)
                    && let Some(block) = self.blocked(instance)
                {
                    *ready = false;
                    *reason = block.reason().to_owned();
                    instance.ready = false;
                    ctx.changed = true;
                }
            }
        }
        if changed.is_empty() {
            return;
        }
        for instance in state.instances.values_mut() {
            if !changed.contains(&instance.cluster) || !instance.phase.is_up() {
                continue;
            }
            let block = self.blocked(instance);
            let healthy = instance.should_be_ready();
            let ready = healthy && block.is_none();
            if ready == instance.ready {
                continue;
            }
            instance.ready = ready;
            ctx.changed = true;
            let reason = match block {
                Some(block) if healthy => block.reason(),
                _ => instance.readiness_reason(),
            };
            ctx.emit(InfraEvent::NodeReadiness {
                node: instance.node,
                ready,
                reason: reason.to_owned(),
            });
        }
    }
}
