//! support-triage's store layout and typed reads.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`] (read model from events);
//! - `tickets` `<ticket>` → [`Ticket`];
//! - `incidents` `<incident key>` → ticket id: the open platform incident of a key (e.g.
//!   `control-plane/<cluster>`), so repeated signals add evidence instead of new tickets.
//!
//! Invariant: only support-triage opens this store; it is the single writer of tickets.

use accord_core::{
    DomainError,
    ids::{ClusterId, TicketId},
    support::Ticket,
};
use accord_store::{Store, StoreError, Versioned};

use crate::view::ClusterView;

pub const CLUSTERS: &str = "clusters";
pub const TICKETS: &str = "tickets";
pub const INCIDENTS: &str = "incidents";

/// Store errors are never the caller's fault (a version conflict is a retryable race).
pub fn internal(e: StoreError) -> DomainError {
    e.into_domain()
}

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
        self.store.get(CLUSTERS, &id.to_string()).map_err(internal)
    }

    pub fn clusters(&self) -> Result<Vec<ClusterView>, DomainError> {
        Ok(self
            .store
            .list::<ClusterView>(CLUSTERS, "")
            .map_err(internal)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect())
    }

    pub fn ticket(&self, id: TicketId) -> Result<Option<Versioned<Ticket>>, DomainError> {
        self.store.get(TICKETS, &id.to_string()).map_err(internal)
    }

    /// Every ticket, oldest first (ids are time-ordered).
    pub fn tickets(&self) -> Result<Vec<Ticket>, DomainError> {
        Ok(self
            .store
            .list::<Ticket>(TICKETS, "")
            .map_err(internal)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect())
    }

    /// The open incident of `key`, if any.
    pub fn incident(&self, key: &str) -> Result<Option<Versioned<Ticket>>, DomainError> {
        let Some(id) = self
            .store
            .get::<TicketId>(INCIDENTS, key)
            .map_err(internal)?
        else {
            return Ok(None);
        };
        self.ticket(id.value)
    }
}
