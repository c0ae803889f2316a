//! [`Change`]: the writes and the typed events of one atomic change. A handler builds one; the
//! service's [`Engine`](crate::engine::Engine) turns the events into CloudEvents outbox entries
//! and commits them with the writes in one store batch (transactional outbox): no event
//! without its state, no state without its events.
//!
//! Writes name a typed [`Table`], so a value can only be written to its own table.

use accord_core::{DomainError, InternalError, events::DomainEvent, outbox::OutboxEntry};
use accord_store::{Commit, Expect, Table};
use serde::Serialize;
use time::OffsetDateTime;

/// Who acts in a change, and when: what handlers stamp on what they write.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now: OffsetDateTime,
    /// User name, operator name, or the service's own name for the platform's actions.
    pub actor: String,
}

impl Ctx {
    /// `actor`, now.
    pub fn new(actor: impl Into<String>) -> Self {
        Self {
            now: OffsetDateTime::now_utc(),
            actor: actor.into(),
        }
    }
}

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

    /// Puts `value` at `key` of `table` if the stored version satisfies `expect`.
    pub fn put<V: Serialize>(
        &mut self,
        table: Table<V>,
        key: &str,
        value: &V,
        expect: Expect,
    ) -> Result<&mut Self, DomainError> {
        self.commit
            .push_put_in(table, key, value, expect)
            .map_err(|e| {
                DomainError::Internal(InternalError::caused_by(
                    format!("encoding {}/{key}", table.name()),
                    e,
                ))
            })?;
        Ok(self)
    }

    /// Deletes `key` of `table` if the stored version satisfies `expect`.
    pub fn delete<V>(&mut self, table: Table<V>, key: &str, expect: Expect) -> &mut Self {
        self.commit.push_delete_in(table, key, expect);
        self
    }

    /// Adds an event.
    pub fn event(&mut self, e: impl Into<E>) -> &mut Self {
        self.events.push(e.into());
        self
    }

    /// Appends another change's writes and events after this one's.
    pub fn extend(&mut self, other: Change<E>) -> &mut Self {
        self.commit.extend(other.commit);
        self.events.extend(other.events);
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

    /// The outbox entries of the events, with `source` as their CloudEvents source. An event
    /// that cannot be published (too large, bad subject token) fails here, before anything is
    /// committed.
    pub fn outbox(&self, source: &str) -> Result<Vec<OutboxEntry>, DomainError> {
        self.events
            .iter()
            .map(|e| {
                accord_bus::CloudEvent::new(source, e)
                    .and_then(|c| c.outbox_entry())
                    .map_err(|err| {
                        DomainError::Internal(InternalError::caused_by(
                            format!("encoding event {}.{}", e.resource(), e.event()),
                            err,
                        ))
                    })
            })
            .collect()
    }
}
