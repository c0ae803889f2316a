//! support-triage's store layout and typed reads.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`] (read model from events);
//! - `tickets` `<ticket>` → [`Ticket`];
//! - `incidents` `<incident key>` → ticket id: the open platform incident of a key (e.g.
//!   `control-plane/<cluster>`), so repeated signals add evidence instead of new tickets;
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariant: only support-triage opens this store; it is the single writer of tickets.

use accord_core::{
    DomainError,
    ids::{ClusterId, ProjectId, TicketId},
    support::Ticket,
};
use accord_runtime::scope::{ClusterEntry, Directory, ProjectEntry};
use accord_store::{Store, Table, Versioned};

use crate::view::ClusterView;

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const TICKETS: Table<Ticket> = Table::new("tickets");
pub const INCIDENTS: Table<TicketId> = Table::new("incidents");

/// Typed reads.
#[derive(Clone)]
pub struct Reader {
    store: Store,
}

impl Reader {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn cluster(&self, id: ClusterId) -> Result<Option<Versioned<ClusterView>>, DomainError> {
        Ok(CLUSTERS.get(&self.store, &id.to_string())?)
    }

    pub fn clusters(&self) -> Result<Vec<ClusterView>, DomainError> {
        Ok(CLUSTERS.values(&self.store, "")?)
    }

    pub fn ticket(&self, id: TicketId) -> Result<Option<Versioned<Ticket>>, DomainError> {
        Ok(TICKETS.get(&self.store, &id.to_string())?)
    }

    /// Every ticket, oldest first (ids are time-ordered).
    pub fn tickets(&self) -> Result<Vec<Ticket>, DomainError> {
        Ok(TICKETS.values(&self.store, "")?)
    }

    /// The open incident of `key`, if any.
    pub fn incident(&self, key: &str) -> Result<Option<Versioned<Ticket>>, DomainError> {
        match INCIDENTS.get(&self.store, key)? {
            Some(id) => self.ticket(id.value),
            None => Ok(None),
        }
    }
}

impl Directory for Reader {
    fn project(&self, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError> {
        accord_runtime::directory::project(&self.store, id)
    }

    fn project_named(&self, name: &str) -> Result<Option<ProjectEntry>, DomainError> {
        accord_runtime::directory::project_named(&self.store, name)
    }

    fn cluster(&self, id: ClusterId) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(Reader::cluster(self, id)?.map(|v| v.value.entry()))
    }

    fn cluster_named(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(self
            .clusters()?
            .into_iter()
            .find(|c| c.project == project && c.name == name)
            .map(|c| c.entry()))
    }
}
