//! Enqueueing notifications: one pending [`Delivery`] per wanting webhook of the project,
//! written into the change that carries the event's own effects (so an incident and its
//! notification commit together, or neither does).
//!
//! Idempotent: a delivery is keyed by (event id, webhook), so a redelivered event enqueues
//! nothing new. Bounded: the project keeps its newest
//! [`MAX_DELIVERIES_PER_PROJECT`] deliveries; older finished ones are deleted in the same change
//! (pending ones stay until they are delivered or given up, within a day).

use std::collections::HashSet;

use accord_core::{DomainError, ids::ProjectId};
use accord_notify::{
    Delivery, DeliveryState, NotificationKind, Webhook,
    model::{MAX_BODY_BYTES, MAX_DELIVERIES_PER_PROJECT, MAX_ERROR_BYTES, cut},
};
use accord_store::{Expect, Versioned};
use time::OffsetDateTime;

use crate::{
    handlers::Change,
    trees::{DELIVERIES, DELIVERIES_DUE, delivery_key, due_key},
};

/// Longest event id used in a delivery key.
const MAX_EVENT_ID_BYTES: usize = 64;

/// A notification to send to a project's webhooks.
#[derive(Debug, Clone)]
pub struct Notification {
    pub project: ProjectId,
    pub kind: NotificationKind,
    /// Its CloudEvents id: the bus event's.
    pub event_id: String,
    pub event_type: String,
    /// The CloudEvents JSON document, or why there is none (it could not be encoded).
    pub body: Result<String, String>,
}

/// Adds to `ch` the deliveries of `notes` (all of one project: `webhooks` and `existing` are
/// that project's, `existing` in key order) at `now`; the number of deliveries added.
pub fn enqueue(
    ch: &mut Change,
    notes: &[Notification],
    webhooks: &[Webhook],
    existing: &[(String, Versioned<Delivery>)],
    now: OffsetDateTime,
) -> Result<usize, DomainError> {
    let known: HashSet<&str> = existing.iter().map(|(k, _)| k.as_str()).collect();
    let mut added = 0usize;
    for n in notes {
        if !usable_event_id(&n.event_id) {
            tracing::warn!(
                event_type = %n.event_type,
                "event id unusable as a delivery key; not notified"
            );
            continue;
        }
        for w in webhooks
            .iter()
            .filter(|w| w.project == n.project && w.wants(n.kind))
        {
            let key = delivery_key(n.project, &n.event_id, w.id);
            if known.contains(key.as_str()) {
                continue;
            }
            let mut d = Delivery {
                project: n.project,
                webhook: w.id,
                event_id: n.event_id.clone(),
                event_type: n.event_type.clone(),
                kind: n.kind,
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt: Some(now),
                last_status: None,
                last_error: String::new(),
                created_at: now,
                delivered_at: None,
                body: None,
            };
            match &n.body {
                Ok(body) if body.len() <= MAX_BODY_BYTES => d.body = Some(body.clone()),
                Ok(body) => {
                    d.state = DeliveryState::Failed;
                    d.next_attempt = None;
                    d.last_error = format!(
                        "the notification is {} bytes, over the {MAX_BODY_BYTES}-byte limit",
                        body.len()
                    );
                }
                Err(why) => {
                    d.state = DeliveryState::Failed;
                    d.next_attempt = None;
                    d.last_error = cut(why, MAX_ERROR_BYTES);
                }
            }
            ch.put(DELIVERIES, &key, &d, Expect::Absent)?;
            if d.state == DeliveryState::Pending {
                ch.put(DELIVERIES_DUE, &due_key(w.id, now, &key), &key, Expect::Any)?;
            }
            added += 1;
        }
    }
    // Retention: the oldest finished deliveries go first.
    let mut over = (existing.len() + added).saturating_sub(MAX_DELIVERIES_PER_PROJECT);
    for (key, d) in existing {
        if over == 0 {
            break;
        }
        if d.value.state.is_final() {
            ch.delete(DELIVERIES, key, Expect::Version(d.version));
            over -= 1;
        }
    }
    Ok(added)
}

/// Event ids become key segments: a ULID-like token, not too long.
fn usable_event_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_EVENT_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
