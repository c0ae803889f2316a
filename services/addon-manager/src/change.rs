//! What a handler decides: the writes and the add-on events of one atomic change.
//!
//! The engine turns the events into CloudEvents outbox entries and commits them with the writes
//! in one store batch (transactional outbox): no event without its state, no state without its
//! events.

use accord_core::{DomainError, addon::AddonEvent, outbox::OutboxEntry};
use accord_store::{Commit, Expect};
use serde::Serialize;

/// Writes and events of one atomic change.
#[derive(Default)]
pub struct Change {
    pub commit: Commit,
    pub events: Vec<AddonEvent>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("ops", &self.commit.len_ops())
            .field("events", &self.event_names())
            .finish()
    }
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

    pub fn event(&mut self, e: AddonEvent) -> &mut Self {
        self.events.push(e);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.commit.is_empty() && self.events.is_empty()
    }

    /// `addon.<event>` names, for logs and tests.
    pub fn event_names(&self) -> Vec<String> {
        use accord_core::events::DomainEvent as _;
        self.events
            .iter()
            .map(|e| format!("addon.{}", e.event()))
            .collect()
    }

    /// The outbox entries of the events.
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
