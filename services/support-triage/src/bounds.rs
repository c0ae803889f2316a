//! What every support request is held to before any work is done on it: each string and each
//! repeated field of every `accord.support.v1.Support` and `Notifications` request against the platform's limits
//! ([`accord_core::limits`]). The gRPC edge ([`crate::grpc`]) calls these first, so nothing
//! oversized reaches scoping, the read model, the classification engine or the write lock.
//!
//! | field                                   | limit                                        |
//! |-----------------------------------------|----------------------------------------------|
//! | `project`, `cluster`, `ticket`, `state` | [`MAX_REF_BYTES`] (253 bytes)                |
//! | `title`                                 | [`MAX_TITLE_BYTES`] (200 bytes)              |
//! | `description`                           | [`MAX_DESCRIPTION_BYTES`] (16 KiB)           |
//! | `component`, `reason`, `resolution`     | [`MAX_SHORT_TEXT_BYTES`] (1 KiB)             |
//! | `customer_components`                   | [`MAX_ITEMS`] (32) names of [`MAX_SHORT_TEXT_BYTES`] |
//! | `url` (webhooks)                        | 2048 bytes                                   |
//! | `kinds` (webhooks)                      | [`MAX_ITEMS`] (32) names of [`MAX_REF_BYTES`] |
//! | `id`, `webhook`                         | [`MAX_REF_BYTES`] (253 bytes)                |
//! | `limit` (`ListDeliveries`)              | 1000                                         |
//!
//! Invariant: a field over its limit is `INVALID_ARGUMENT` naming the field and the limit,
//! never repeating the value; every violation of a request is reported at once. The checks are
//! O(size of the request) and allocate nothing proportional to it.

use accord_core::{
    DomainError,
    error::Violations,
    limits::{
        self, MAX_DESCRIPTION_BYTES, MAX_ITEMS, MAX_REF_BYTES, MAX_SHORT_TEXT_BYTES,
        MAX_TITLE_BYTES,
    },
};
use accord_proto::support::v1 as pb;

/// `FileTicket`.
pub fn file_ticket(r: &pb::FileTicketRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "cluster", &r.cluster, MAX_REF_BYTES);
    limits::text(&mut v, "title", &r.title, MAX_TITLE_BYTES);
    limits::text(&mut v, "description", &r.description, MAX_DESCRIPTION_BYTES);
    limits::text(&mut v, "component", &r.component, MAX_SHORT_TEXT_BYTES);
    limits::text_items(
        &mut v,
        "customer_components",
        &r.customer_components,
        MAX_ITEMS,
        MAX_SHORT_TEXT_BYTES,
    );
    v.into_result()
}

/// `GetTicket`.
pub fn get_ticket(r: &pb::GetTicketRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "ticket", &r.ticket, MAX_REF_BYTES);
    v.into_result()
}

/// `ListTickets`.
pub fn list_tickets(r: &pb::ListTicketsRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "cluster", &r.cluster, MAX_REF_BYTES);
    limits::text(&mut v, "state", &r.state, MAX_REF_BYTES);
    v.into_result()
}

/// `ReclassifyTicket`.
pub fn reclassify_ticket(r: &pb::ReclassifyTicketRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "ticket", &r.ticket, MAX_REF_BYTES);
    limits::text(&mut v, "reason", &r.reason, MAX_SHORT_TEXT_BYTES);
    v.into_result()
}

/// `CloseTicket`.
pub fn close_ticket(r: &pb::CloseTicketRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "ticket", &r.ticket, MAX_REF_BYTES);
    limits::text(&mut v, "resolution", &r.resolution, MAX_SHORT_TEXT_BYTES);
    v.into_result()
}

/// Most deliveries one `ListDeliveries` answers.
pub const MAX_DELIVERIES_LIMIT: u32 = 1000;

/// `CreateWebhook`: `url` up to 2048 bytes, `kinds` up to [`MAX_ITEMS`] names.
pub fn create_webhook(r: &pb::CreateWebhookRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(
        &mut v,
        "url",
        &r.url,
        accord_notify::url_policy::MAX_URL_BYTES,
    );
    limits::text_items(&mut v, "kinds", &r.kinds, MAX_ITEMS, MAX_REF_BYTES);
    v.into_result()
}

/// `ListWebhooks`.
pub fn list_webhooks(r: &pb::ListWebhooksRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    v.into_result()
}

/// `DeleteWebhook`.
pub fn delete_webhook(r: &pb::DeleteWebhookRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "id", &r.id, MAX_REF_BYTES);
    v.into_result()
}

/// `ListDeliveries`: `limit` at most [`MAX_DELIVERIES_LIMIT`].
pub fn list_deliveries(r: &pb::ListDeliveriesRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "webhook", &r.webhook, MAX_REF_BYTES);
    limits::text(&mut v, "state", &r.state, MAX_REF_BYTES);
    if r.limit > MAX_DELIVERIES_LIMIT {
        v.add("limit", format!("is at most {MAX_DELIVERIES_LIMIT}"));
    }
    v.into_result()
}
