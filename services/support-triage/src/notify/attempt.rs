//! An attempt's outcome, recorded on its delivery: delivered; failed for good (a permanent
//! refusal, or [`MAX_ATTEMPTS`](accord_notify::model::MAX_ATTEMPTS) attempts or a day of
//! trying); or pending again, due after the backoff
//! ([`accord_notify::model::retry_delay`]: 10 s doubling to 10 min). The due entry moves with it
//! in the same change; a final delivery drops its body.

use accord_core::DomainError;
use accord_notify::{
    Delivery, DeliveryState, Outcome,
    model::{MAX_ERROR_BYTES, cut, gives_up, next_attempt},
};
use accord_store::{Expect, Versioned};
use time::OffsetDateTime;

use crate::{
    handlers::Change,
    trees::{DELIVERIES, DELIVERIES_DUE, due_key},
};

/// The change recording `outcome` of an attempt on the delivery at `key` (`current`), finished
/// at `now`, and the delivery as written.
pub fn record(
    key: &str,
    current: &Versioned<Delivery>,
    outcome: &Outcome,
    now: OffsetDateTime,
) -> Result<(Change, Delivery), DomainError> {
    let was = &current.value;
    let mut d = was.clone();
    d.attempts = was.attempts.saturating_add(1);
    d.last_status = outcome.status().or(was.last_status);
    match outcome {
        Outcome::Delivered { .. } => {
            d.state = DeliveryState::Delivered;
            d.delivered_at = Some(now);
            d.last_error.clear();
        }
        Outcome::Permanent { error, .. } => {
            d.state = DeliveryState::Failed;
            d.last_error = cut(error, MAX_ERROR_BYTES);
        }
        Outcome::Retryable { error, .. } => {
            if gives_up(d.attempts, d.created_at, now) {
                d.state = DeliveryState::Failed;
                d.last_error = cut(
                    &format!("gave up after {} attempts: {error}", d.attempts),
                    MAX_ERROR_BYTES,
                );
            } else {
                d.last_error = cut(error, MAX_ERROR_BYTES);
            }
        }
    }
    let mut ch = Change::in_project(was.project);
    if let Some(at) = was.next_attempt {
        ch.delete(DELIVERIES_DUE, &due_key(was.webhook, at, key), Expect::Any);
    }
    if d.state.is_final() {
        d.next_attempt = None;
        d.body = None;
    } else {
        let at = next_attempt(d.attempts, now);
        d.next_attempt = Some(at);
        ch.put(
            DELIVERIES_DUE,
            &due_key(d.webhook, at, key),
            &key.to_owned(),
            Expect::Any,
        )?;
    }
    ch.put(DELIVERIES, key, &d, Expect::Version(current.version))?;
    Ok((ch, d))
}
