//! [`Change`]: the writes and the typed events of one atomic change, for services whose events
//! are one [`DomainEvent`] type. The service's engine turns the events into CloudEvents outbox
//! entries ([`Change::outbox`]) and commits them with the writes in one store batch
//! (transactional outbox): no event without its state, no state without its events.

use accord_core::{DomainError, events::DomainEvent, outbox::OutboxEntry};
use accord_store::{Commit, Expect};
use serde::Serialize;

/// Writes and events of one atomic change.
pub struct Change<E> {
    pub commit: Commit,
    pub events: Vec<E>,
}

impl<E> Default for Change<E> {
    fn default() -> Self {
        Self {
            commit: Commit::default(),
            events: Vec::new(),
        }
    }
}

impl<E: DomainEvent> std::fmt::Debug for Change<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("ops", &self.commit.len_ops())
            .field("events", &self.event_names())
            .finish()
    }
}

impl<E: DomainEvent> Change<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `value` at `tree/key` if the stored version satisfies `expect`.
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

    /// Deletes `tree/key` if the stored version satisfies `expect`.
    pub fn delete(&mut self, tree: &str, key: &str, expect: Expect) -> &mut Self {
        self.commit.push_delete(tree, key, expect);
        self
    }

    /// Adds an event.
    pub fn event(&mut self, e: E) -> &mut Self {
        self.events.push(e);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.commit.is_empty() && self.events.is_empty()
    }

    /// `<resource>.<event>` names, for logs and tests.
    pub fn event_names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| format!("{}.{}", e.resource(), e.event()))
            .collect()
    }

    /// The outbox entries of the events, with `source` as their CloudEvents source.
    pub fn outbox(&self, source: &str) -> Result<Vec<OutboxEntry>, DomainError> {
        self.events
            .iter()
            .map(|e| {
                accord_bus::CloudEvent::new(source, e)
                    .and_then(|c| c.outbox_entry())
                    .map_err(|e| DomainError::Internal(format!("event encoding: {e}")))
            })
            .collect()
    }
}
