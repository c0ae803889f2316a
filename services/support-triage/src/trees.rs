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
//! - `webhooks` `<project>/<webhook>` → a customer's webhook (its secret included);
//! - `deliveries` `<project>/<event id>/<webhook>` → one notification to one webhook, at most
//!   [`accord_notify::model::MAX_DELIVERIES_PER_PROJECT`] per project (older finished ones are
//!   deleted by the commit that adds new ones);
//! - `deliveries-due` `<webhook>/<due ms>/<delivery key>` → the delivery key: the pending
//!   deliveries of each webhook in the order they are due, for the delivery loop;
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariant: only support-triage opens this store; it is the single writer of tickets.

use accord_core::{
    DomainError,
    ids::{ProjectId, RemediationId, TicketId},
    support::{Ticket, TicketState},
};
use accord_notify::{Delivery, Webhook, WebhookId};
use accord_runtime::directory::ReadModel;
use accord_store::{Store, Table, Versioned};
use time::OffsetDateTime;

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

/// Customer webhooks: `<project>/<webhook id>` → [`Webhook`].
pub const WEBHOOKS: Table<Webhook> = Table::new("webhooks");
/// Deliveries: `<project>/<event id>/<webhook id>` → [`Delivery`] (one per event and webhook;
/// event ids are ULIDs, so a project's deliveries list in event order).
pub const DELIVERIES: Table<Delivery> = Table::new("deliveries");
/// Pending deliveries by webhook and due time: `<webhook id>/<due, Unix ms, 13 digits>/<delivery
/// key>` → the delivery key. Written and deleted with the delivery's state in one commit.
pub const DELIVERIES_DUE: Table<String> = Table::new("deliveries-due");

/// Key of a webhook.
pub fn webhook_key(project: ProjectId, id: WebhookId) -> String {
    format!("{project}/{id}")
}

/// Key of a delivery.
pub fn delivery_key(project: ProjectId, event_id: &str, webhook: WebhookId) -> String {
    format!("{project}/{event_id}/{webhook}")
}

/// Key of a pending delivery's due entry.
pub fn due_key(webhook: WebhookId, at: OffsetDateTime, delivery_key: &str) -> String {
    let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0);
    format!("{webhook}/{ms:013}/{delivery_key}")
}

/// The due time of a due entry's key (Unix ms).
pub fn due_ms(due_key: &str) -> Option<i64> {
    due_key.split('/').nth(1)?.parse().ok()
}

/// Webhook and delivery reads over the read model's store.
pub trait Notifications {
    /// A project's webhooks, oldest first.
    fn webhooks(&self, project: ProjectId) -> Result<Vec<Webhook>, DomainError>;
    /// Every webhook of every project.
    fn all_webhooks(&self) -> Result<Vec<Webhook>, DomainError>;
    /// A project's deliveries, oldest first, with their keys and versions.
    fn deliveries(
        &self,
        project: ProjectId,
    ) -> Result<Vec<(String, Versioned<Delivery>)>, DomainError>;
    /// Up to `limit` due entries of `webhook`, earliest first: (due key, delivery key).
    fn due_of(
        &self,
        webhook: WebhookId,
        limit: usize,
    ) -> Result<Vec<(String, String)>, DomainError>;
}

impl Notifications for Reader {
    fn webhooks(&self, project: ProjectId) -> Result<Vec<Webhook>, DomainError> {
        Ok(WEBHOOKS.values(self.store(), &format!("{project}/"))?)
    }

    fn all_webhooks(&self) -> Result<Vec<Webhook>, DomainError> {
        Ok(WEBHOOKS.values(self.store(), "")?)
    }

    fn deliveries(
        &self,
        project: ProjectId,
    ) -> Result<Vec<(String, Versioned<Delivery>)>, DomainError> {
        Ok(DELIVERIES.list(self.store(), &format!("{project}/"))?)
    }

    fn due_of(
        &self,
        webhook: WebhookId,
        limit: usize,
    ) -> Result<Vec<(String, String)>, DomainError> {
        Ok(self
            .store()
            .list_page::<String>(DELIVERIES_DUE.name(), &format!("{webhook}/"), None, limit)?
            .into_iter()
            .map(|(k, v)| (k, v.value))
            .collect())
    }
}
