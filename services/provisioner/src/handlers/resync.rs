//! Level-triggered repair: what the committed state missed of the infrastructure, as the
//! infrastructure events that would have told it. Events from the driver arrive in memory and
//! die with the process; the observed state ([`InfraSnapshot`]) does not, so the controller
//! lists it at start-up and at every resync and applies what this finds, through the same
//! handlers as live events (idempotent: an event that changes nothing commits nothing).
//!
//! Per node of the committed state:
//! - its instance runs but the node has no instance id → `NodeProvisioned`;
//! - the instance's readiness differs from the node's (a provisioning node whose instance is
//!   ready included) → `NodeReadiness`;
//! - the node is draining and the instance has been drained → `NodeDrained`;
//! - the node had an instance (or was terminating) and the instance is gone → `NodeTerminated`.
//!
//! A provisioning node without an instance needs no event: the controller re-drives
//! `provision_node` (idempotent by node id), and a failed attempt is simply tried again.

use std::collections::HashMap;

use accord_core::{
    cluster::Cluster,
    infra::{ImpactState, InfraEvent, InfraSnapshot, ObservedInstance},
    node::{Node, NodeState},
};

/// The events `nodes` missed, given what the infrastructure reports.
pub fn missed_events(nodes: &[Node], snapshot: &InfraSnapshot) -> Vec<InfraEvent> {
    let observed: HashMap<_, &ObservedInstance> =
        snapshot.instances.iter().map(|i| (i.node, i)).collect();
    let mut events = Vec::new();
    for n in nodes {
        let id = n.metadata.id;
        let state = n.status.state;
        let Some(inst) = observed.get(&id) else {
            if !n.status.instance_id.is_empty() || state == NodeState::Terminating {
                events.push(InfraEvent::NodeTerminated { node: id });
            }
            continue;
        };
        if inst.terminating || state == NodeState::Failed {
            continue;
        }
        if inst.provisioned && n.status.instance_id.is_empty() {
            events.push(InfraEvent::NodeProvisioned {
                node: id,
                instance_id: inst.instance_id.clone(),
                failure_domain: inst.failure_domain.clone(),
                internal_ip: inst.internal_ip.clone(),
            });
        }
        let readiness_tracked = matches!(
            state,
            NodeState::Provisioning | NodeState::Ready | NodeState::NotReady
        );
        let is_ready = state == NodeState::Ready;
        if readiness_tracked
            && inst.provisioned
            && is_ready != inst.ready
            && (state != NodeState::Provisioning || inst.ready)
        {
            events.push(InfraEvent::NodeReadiness {
                node: id,
                ready: inst.ready,
                reason: "Resync".into(),
            });
        }
        if state == NodeState::Draining && inst.drained {
            events.push(InfraEvent::NodeDrained { node: id });
        }
    }
    events
}

/// The component-impact reports the store missed: impacts the infrastructure lists in
/// another state than the cluster's status (or not at all), and impacts the status keeps that
/// the infrastructure no longer lists (cleared while nobody listened).
pub fn missed_impacts(clusters: &[Cluster], snapshot: &InfraSnapshot) -> Vec<InfraEvent> {
    let mut events = Vec::new();
    for c in clusters {
        let id = c.metadata.id;
        let observed: Vec<_> = snapshot
            .impacts
            .iter()
            .filter(|i| i.cluster == id)
            .collect();
        for o in &observed {
            let known = c
                .status
                .impacts
                .iter()
                .find(|i| i.component == o.component && i.impact == o.impact);
            if known.is_none_or(|k| k.state != o.state) {
                events.push(InfraEvent::ComponentImpact {
                    cluster: id,
                    component: o.component.clone(),
                    impact: o.impact,
                    state: o.state,
                    detail: format!(
                        "{} of {} is {} (seen at resync)",
                        o.impact.as_str(),
                        o.component,
                        o.state.as_str()
                    ),
                });
            }
        }
        for k in &c.status.impacts {
            if !observed
                .iter()
                .any(|o| o.component == k.component && o.impact == k.impact)
            {
                events.push(InfraEvent::ComponentImpact {
                    cluster: id,
                    component: k.component.clone(),
                    impact: k.impact,
                    state: ImpactState::Cleared,
                    detail: format!(
                        "{} of {} is gone (seen at resync)",
                        k.impact.as_str(),
                        k.component
                    ),
                });
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use accord_core::{
        ids::{ClusterId, NodeId, NodePoolId, ProjectId},
        meta::Metadata,
        node::{NodeSpec, NodeStatus},
    };
    use time::OffsetDateTime;

    use super::*;

    fn node(state: NodeState, instance_id: &str) -> Node {
        let id = NodeId::generate();
        Node {
            metadata: Metadata::new(id, "n", ProjectId::generate(), OffsetDateTime::now_utc()),
            spec: NodeSpec {
                cluster: ClusterId::generate(),
                pool: NodePoolId::generate(),
                instance_type: "c1a.16x".into(),
                image_version: "2026.11.0".into(),
                kubelet_version: "1.32".parse().unwrap(),
            },
            status: NodeStatus {
                state,
                cordoned_by: None,
                failure_domain: String::new(),
                internal_ip: String::new(),
                instance_id: instance_id.into(),
                ready_at: None,
                conditions: Default::default(),
                retiring: None,
            },
        }
    }

    fn observed(n: &Node, provisioned: bool, ready: bool) -> ObservedInstance {
        ObservedInstance {
            node: n.metadata.id,
            instance_id: "i-1".into(),
            failure_domain: "fd-1".into(),
            internal_ip: "10.0.0.9".into(),
            provisioned,
            ready,
            drained: false,
            terminating: false,
        }
    }

    fn kinds(events: &[InfraEvent]) -> Vec<&'static str> {
        events
            .iter()
            .map(|e| match e {
                InfraEvent::NodeProvisioned { .. } => "provisioned",
                InfraEvent::NodeReadiness { ready: true, .. } => "ready",
                InfraEvent::NodeReadiness { ready: false, .. } => "not-ready",
                InfraEvent::NodeDrained { .. } => "drained",
                InfraEvent::NodeTerminated { .. } => "terminated",
                _ => "other",
            })
            .collect()
    }

    #[test]
    fn a_node_whose_events_were_lost_catches_up_with_its_instance() {
        // The case that left pools stuck: provisioning in the store, running and ready outside.
        let stuck = node(NodeState::Provisioning, "");
        let snapshot = InfraSnapshot {
            instances: vec![observed(&stuck, true, true)],
            ..Default::default()
        };
        assert_eq!(
            kinds(&missed_events(std::slice::from_ref(&stuck), &snapshot)),
            ["provisioned", "ready"]
        );
    }

    #[test]
    fn each_missed_transition_is_replayed_and_nothing_else() {
        let still_booting = node(NodeState::Provisioning, "");
        let went_down = node(NodeState::Ready, "i-1");
        let in_sync = node(NodeState::Ready, "i-1");
        let drained = node(NodeState::Draining, "i-1");
        let vanished = node(NodeState::Ready, "i-1");
        let terminated = node(NodeState::Terminating, "");
        let never_started = node(NodeState::Provisioning, "");
        let mut drained_obs = observed(&drained, true, true);
        drained_obs.drained = true;
        let snapshot = InfraSnapshot {
            instances: vec![
                observed(&still_booting, false, false),
                observed(&went_down, true, false),
                observed(&in_sync, true, true),
                drained_obs,
            ],
            ..Default::default()
        };
        let nodes = [
            still_booting,
            went_down,
            in_sync,
            drained,
            vanished,
            terminated,
            never_started,
        ];
        assert_eq!(
            kinds(&missed_events(&nodes, &snapshot)),
            ["not-ready", "drained", "terminated", "terminated"]
        );
    }
}
