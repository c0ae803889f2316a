//! What a handler decides: the writes and the events of one atomic change.
//!
//! Handlers build a [`Change`]; the service turns its events into CloudEvents outbox entries and
//! commits writes and entries in one store batch (the transactional outbox). Invariant: no event
//! is published for a change that did not commit, and no committed change loses its events.

use accord_core::{
    DomainError, cluster::ClusterEvent, events::DomainEvent, node::NodeEvent,
    nodepool::NodePoolEvent, project::ProjectEvent,
};
use accord_store::{Commit, Expect};
use serde::Serialize;

/// Any event the provisioner publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Project(ProjectEvent),
    Cluster(ClusterEvent),
    NodePool(NodePoolEvent),
    Node(NodeEvent),
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

impl Event {
    /// `<resource>.<event>` for logs and tests.
    pub fn name(&self) -> String {
        match self {
            Event::Project(e) => format!("{}.{}", e.resource(), e.event()),
            Event::Cluster(e) => format!("{}.{}", e.resource(), e.event()),
            Event::NodePool(e) => format!("{}.{}", e.resource(), e.event()),
            Event::Node(e) => format!("{}.{}", e.resource(), e.event()),
        }
    }

    /// The outbox entry carrying this event as a CloudEvent.
    pub fn to_outbox(&self, source: &str) -> Result<accord_core::outbox::OutboxEntry, DomainError> {
        let ce = match self {
            Event::Project(e) => accord_bus::CloudEvent::new(source, e),
            Event::Cluster(e) => accord_bus::CloudEvent::new(source, e),
            Event::NodePool(e) => accord_bus::CloudEvent::new(source, e),
            Event::Node(e) => accord_bus::CloudEvent::new(source, e),
        };
        ce.and_then(|c| c.outbox_entry())
            .map_err(|e| DomainError::Internal(format!("event encoding: {e}")))
    }
}

/// Writes and events of one atomic change.
#[derive(Default)]
pub struct Change {
    pub commit: Commit,
    pub events: Vec<Event>,
}

impl Change {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put<T: Serialize>(
        &mut self,
        tree: &str,
        key: &str,
        value: &T,
        expect: Expect,
    ) -> Result<&mut Self, DomainError> {
        self.commit
            .push_put(tree, key, value, expect)
            .map_err(|e| DomainError::Internal(format!("encoding {tree}/{key}: {e}")))?;
        Ok(self)
    }

    pub fn delete(&mut self, tree: &str, key: &str, expect: Expect) -> &mut Self {
        self.commit.push_delete(tree, key, expect);
        self
    }

    pub fn event(&mut self, e: impl Into<Event>) -> &mut Self {
        self.events.push(e.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.commit.is_empty() && self.events.is_empty()
    }

    /// Names of the events, for tests.
    pub fn event_names(&self) -> Vec<String> {
        self.events.iter().map(Event::name).collect()
    }
}
