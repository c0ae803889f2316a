//! [`Change`]: the writes and the typed events of one atomic change. A handler builds one; the
//! service's [`Engine`](crate::engine::Engine) turns the events into CloudEvents outbox entries
//! and commits them with the writes in one store batch (transactional outbox): no event
//! without its state, no state without its events.
//!
//! Writes name a typed [`Table`], so a value can only be written to its own table.
//!
//! A change is made for one [`Scope`] — the project whose resources it touches, or the platform
//! — and every event it carries is published under that scope's subject
//! (`accord.evt.<scope>.…`), which is what customers' NATS permissions are written against.
//! There is no default: each handler says whose change it makes. Changes of different scopes
//! can be joined ([`Change::extend`]); each event keeps the scope it was added under.

use accord_core::{
    DomainError, InternalError,
    events::{DomainEvent, Scope},
    ids::ProjectId,
    outbox::OutboxEntry,
};
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
    /// The scope of new events (`None`: [`Change::none`], which publishes nothing).
    scope: Option<Scope>,
    /// The scope of each event of `events`, by position (events pushed directly onto `events`
    /// take `scope`).
    scopes: Vec<Option<Scope>>,
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
    /// A change of `scope`.
    pub fn of(scope: Scope) -> Self {
        Self::with(Some(scope))
    }

    /// A change with writes only: an event added to it fails the commit (there is no default
    /// scope to publish it under).
    pub fn none() -> Self {
        Self::with(None)
    }

    fn with(scope: Option<Scope>) -> Self {
        Self {
            commit: Commit::default(),
            events: Vec::new(),
            scope,
            scopes: Vec::new(),
        }
    }

    /// A change to one project's resources: its events are that project's.
    pub fn in_project(project: ProjectId) -> Self {
        Self::of(Scope::Project(project))
    }

    /// A change to platform resources (image releases, a service's own bookkeeping): its
    /// events are read by operators only.
    pub fn platform() -> Self {
        Self::of(Scope::Platform)
    }

    /// The scope of the events added from now on.
    pub fn scope(&self) -> Option<Scope> {
        self.scope
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

    /// Adds an event of the change's scope.
    pub fn event(&mut self, e: impl Into<E>) -> &mut Self {
        self.scopes.resize(self.events.len(), self.scope);
        self.events.push(e.into());
        self.scopes.push(self.scope);
        self
    }

    /// Appends another change's writes and events after this one's; its events keep their
    /// scopes.
    pub fn extend(&mut self, other: Change<E>) -> &mut Self {
        let scopes = other.event_scopes();
        self.scopes.resize(self.events.len(), self.scope);
        self.commit.extend(other.commit);
        self.events.extend(other.events);
        self.scopes.extend(scopes);
        self
    }

    /// The scope of each event, by position.
    pub fn event_scopes(&self) -> Vec<Option<Scope>> {
        (0..self.events.len())
            .map(|i| self.scopes.get(i).copied().unwrap_or(self.scope))
            .collect()
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
            .zip(self.event_scopes())
            .map(|(e, scope)| {
                let scope = scope.ok_or_else(|| {
                    DomainError::Internal(InternalError::new(format!(
                        "event {}.{} was added to a change without a scope",
                        e.resource(),
                        e.event()
                    )))
                })?;
                accord_bus::CloudEvent::new(source, scope, e)
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

#[cfg(test)]
mod tests {
    use super::*;
    use accord_core::project::ProjectEvent;

    fn revoked(project: ProjectId) -> ProjectEvent {
        ProjectEvent::ApiKeyRevoked {
            project,
            key: accord_core::ids::ApiKeyId::generate(),
        }
    }

    fn subjects(ch: &Change<ProjectEvent>) -> Vec<String> {
        ch.outbox("/accord/test")
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect()
    }

    #[test]
    fn events_are_published_under_their_changes_scope() {
        let (a, b) = (ProjectId::generate(), ProjectId::generate());
        let mut ch = Change::in_project(a);
        ch.event(revoked(a));
        let mut other = Change::in_project(b);
        other.event(revoked(b));
        let mut platform = Change::platform();
        platform.event(revoked(a));
        // Joined changes keep each event's scope.
        ch.extend(other).extend(platform);
        let got = subjects(&ch);
        assert_eq!(got.len(), 3);
        assert!(
            got[0].starts_with(&format!("accord.evt.{a}.project.")),
            "{got:?}"
        );
        assert!(
            got[1].starts_with(&format!("accord.evt.{b}.project.")),
            "{got:?}"
        );
        assert!(
            got[2].starts_with("accord.evt.platform.project."),
            "{got:?}"
        );
        // The envelope names the project (absent for the platform).
        let entries = ch.outbox("/accord/test").unwrap();
        let envelope = accord_bus::CloudEvent::from_json_bytes(&entries[1].payload).unwrap();
        assert_eq!(envelope.project, Some(b.to_string()));
        let envelope = accord_bus::CloudEvent::from_json_bytes(&entries[2].payload).unwrap();
        assert_eq!(envelope.project, None);
    }

    #[test]
    fn an_event_in_a_change_without_scope_fails_before_anything_is_committed() {
        let mut ch: Change<ProjectEvent> = Change::none();
        assert!(ch.outbox("/accord/test").unwrap().is_empty());
        ch.event(revoked(ProjectId::generate()));
        let err = ch.outbox("/accord/test").unwrap_err();
        assert!(
            err.to_string().contains("without a scope")
                || format!("{err:?}").contains("without a scope"),
            "{err:?}"
        );
        // Events pushed directly take the change's scope.
        let p = ProjectId::generate();
        let mut direct: Change<ProjectEvent> = Change::in_project(p);
        direct.events.push(revoked(p));
        assert_eq!(direct.event_scopes(), vec![Some(Scope::Project(p))]);
    }
}
