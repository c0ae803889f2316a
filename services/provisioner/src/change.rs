//! What a handler decides: the writes and the events of one atomic change
//! ([`accord_runtime::Change`] over [`Event`], every event the provisioner publishes).

use accord_core::{
    cluster::ClusterEvent, events::DomainEvent, node::NodeEvent, nodepool::NodePoolEvent,
    project::ProjectEvent, remediation::RemediationEvent,
};
use serde::{Deserialize, Serialize};

/// Any event the provisioner publishes. Serialises as the inner event (the CloudEvent's data
/// is the inner event's JSON); never deserialised as a whole (consumers decode by type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Event {
    Project(ProjectEvent),
    Cluster(ClusterEvent),
    NodePool(NodePoolEvent),
    Node(NodeEvent),
    Remediation(RemediationEvent),
}

macro_rules! delegate {
    ($self:ident, $e:ident => $body:expr) => {
        match $self {
            Event::Project($e) => $body,
            Event::Cluster($e) => $body,
            Event::NodePool($e) => $body,
            Event::Node($e) => $body,
            Event::Remediation($e) => $body,
        }
    };
}

impl DomainEvent for Event {
    fn resource(&self) -> &'static str {
        delegate!(self, e => e.resource())
    }
    fn event(&self) -> &'static str {
        delegate!(self, e => e.event())
    }
    fn resource_id(&self) -> String {
        delegate!(self, e => e.resource_id())
    }
    fn version(&self) -> u32 {
        delegate!(self, e => e.version())
    }
}

impl From<ProjectEvent> for Event {
    fn from(e: ProjectEvent) -> Self {
        Event::Project(e)
    }
}
impl From<ClusterEvent> for Event {
    fn from(e: ClusterEvent) -> Self {
        Event::Cluster(e)
    }
}
impl From<NodePoolEvent> for Event {
    fn from(e: NodePoolEvent) -> Self {
        Event::NodePool(e)
    }
}
impl From<NodeEvent> for Event {
    fn from(e: NodeEvent) -> Self {
        Event::Node(e)
    }
}

impl From<RemediationEvent> for Event {
    fn from(e: RemediationEvent) -> Self {
        Event::Remediation(e)
    }
}

/// Writes and events of one atomic change.
pub type Change = accord_runtime::Change<Event>;
