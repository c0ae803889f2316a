//! support-triage's store layout and typed reads.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`] (read model from events);
//! - `tickets` `<ticket>` → [`Ticket`];
//! - `incidents` `<incident key>` → ticket id: the open platform incident of a key (e.g.
//!   `control-plane/<cluster>`), so repeated signals add evidence instead of new tickets;
//! - `remediations` `<remediation id>` → ticket id: the incident an AutoClusters remediation
//!   still in progress reports to (its `started`, `step`, `held` and `released` events name the
//!   node, not the finding's kind that keys the incident); written when a decision that leads to
//!   node work lands on an incident, deleted when the remediation succeeds or fails;
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariant: only support-triage opens this store; it is the single writer of tickets.

use accord_core::{
    DomainError,
    ids::{RemediationId, TicketId},
    support::{Ticket, TicketState},
};
use accord_runtime::directory::ReadModel;
use accord_store::{Store, Table, Versioned};

use crate::view::ClusterView;

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const TICKETS: Table<Ticket> = Table::new("tickets");
pub const INCIDENTS: Table<TicketId> = Table::new("incidents");
pub const REMEDIATIONS: Table<TicketId> = Table::new("remediations");

/// Typed reads: the kit's read model of clusters and projects; ticket reads in [`Tickets`].
pub type Reader = ReadModel<ClusterView>;

/// support-triage's read model in `store`.
pub fn reader(store: Store) -> Reader {
    ReadModel::new(store, CLUSTERS)
}

/// Ticket reads over the read model's store.
pub trait Tickets {
    fn ticket(&self, id: TicketId) -> Result<Option<Versioned<Ticket>>, DomainError>;
    /// Every ticket, oldest first (ids are time-ordered).
    fn tickets(&self) -> Result<Vec<Ticket>, DomainError>;
    /// The open incident of `key`, if any.
    fn incident(&self, key: &str) -> Result<Option<Versioned<Ticket>>, DomainError>;
    /// The open incident a remediation reports to, if any.
    fn remediation_incident(
        &self,
        remediation: RemediationId,
    ) -> Result<Option<Versioned<Ticket>>, DomainError>;
}

impl Tickets for Reader {
    fn ticket(&self, id: TicketId) -> Result<Option<Versioned<Ticket>>, DomainError> {
        Ok(TICKETS.get(self.store(), &id.to_string())?)
    }

    fn tickets(&self) -> Result<Vec<Ticket>, DomainError> {
        Ok(TICKETS.values(self.store(), "")?)
    }

    fn incident(&self, key: &str) -> Result<Option<Versioned<Ticket>>, DomainError> {
        match INCIDENTS.get(self.store(), key)? {
            Some(id) => self.ticket(id.value),
            None => Ok(None),
        }
    }

    fn remediation_incident(
        &self,
        remediation: RemediationId,
    ) -> Result<Option<Versioned<Ticket>>, DomainError> {
        let Some(id) = REMEDIATIONS.get(self.store(), &remediation.to_string())? else {
            return Ok(None);
        };
        Ok(self
            .ticket(id.value)?
            .filter(|t| t.value.state == TicketState::Open))
    }
}
