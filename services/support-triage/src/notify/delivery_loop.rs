//! The delivery loop: POSTs due deliveries and records what happened.
//!
//! Every [`TICK`], whenever the consumer enqueued something, and whenever a webhook's batch
//! finishes, a pass takes the due deliveries from the store — per webhook not already being
//! sent to, its [`PER_WEBHOOK`] earliest, [`MAX_PER_PASS`] in all — and sends each webhook's
//! batch in order on its own task: one request at a time per webhook (order holds per endpoint
//! while it answers), at most [`CONCURRENCY`] requests at a time overall. Each outcome is
//! recorded under the engine's lock, taken after the request (never across it).
//!
//! A retry waits its backoff, so a later notification can overtake one being retried; receivers
//! order by the CloudEvents `time` and de-duplicate by `webhook-id`. Deliveries are in the
//! store: a restart resumes them (an attempt cut off by the shutdown is made again: delivery is
//! at least once).
//!
//! Runs as a critical task: if it stopped, notifications would silently stop.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use accord_notify::{Notifier, Request, WebhookId};
use time::OffsetDateTime;
use tokio::{sync::Semaphore, task::JoinSet, time::MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::desk::Due;
use crate::service::SupportDesk;

/// How often the loop looks for due deliveries without being woken (the shortest backoff is
/// 10 s).
pub const TICK: Duration = Duration::from_secs(1);
/// Deliveries taken per pass at most.
pub const MAX_PER_PASS: usize = 64;
/// Deliveries of one webhook taken per pass at most (a slow endpoint holds only its own batch).
pub const PER_WEBHOOK: usize = 8;
/// Requests in flight at most.
pub const CONCURRENCY: usize = 4;

/// Webhooks with a batch in flight.
type Busy = Arc<Mutex<HashSet<WebhookId>>>;

/// Runs the loop until `shutdown`; in-flight attempts are dropped then (and made again after
/// a restart).
pub async fn run(
    desk: Arc<SupportDesk>,
    notifier: Notifier,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let busy: Busy = Arc::default();
    let mut batches: JoinSet<()> = JoinSet::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let wake = desk.deliveries_enqueued();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                batches.abort_all();
                return Ok(());
            }
            _ = tick.tick() => {}
            () = wake.notified() => {}
            Some(_) = batches.join_next(), if !batches.is_empty() => {}
        }
        while batches.try_join_next().is_some() {}
        let in_flight = busy.lock().map(|b| b.clone()).unwrap_or_default();
        let taken = desk
            .due_deliveries(
                OffsetDateTime::now_utc(),
                &in_flight,
                PER_WEBHOOK,
                MAX_PER_PASS,
            )
            .await;
        let due = match taken {
            Ok(due) => due,
            Err(e) => {
                warn!(error = %e, "reading due webhook deliveries; trying again at the next tick");
                continue;
            }
        };
        for batch in by_webhook(due) {
            let Some(first) = batch.first() else { continue };
            let id = first.webhook.id;
            if let Ok(mut b) = busy.lock() {
                b.insert(id);
            }
            let guard = BusyGuard {
                busy: Arc::clone(&busy),
                id,
            };
            batches.spawn(send_batch(
                Arc::clone(&desk),
                notifier.clone(),
                Arc::clone(&permits),
                batch,
                guard,
            ));
        }
    }
}

/// Groups due deliveries by webhook, keeping each webhook's order.
fn by_webhook(due: Vec<Due>) -> Vec<Vec<Due>> {
    let mut out: Vec<Vec<Due>> = Vec::new();
    for d in due {
        match out.iter_mut().find(|b| b[0].webhook.id == d.webhook.id) {
            Some(b) => b.push(d),
            None => out.push(vec![d]),
        }
    }
    out
}

/// Frees its webhook when the batch ends, also when it is aborted.
struct BusyGuard {
    busy: Busy,
    id: WebhookId,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut b) = self.busy.lock() {
            b.remove(&self.id);
        }
    }
}

/// Sends one webhook's batch in order, recording each outcome.
async fn send_batch(
    desk: Arc<SupportDesk>,
    notifier: Notifier,
    permits: Arc<Semaphore>,
    batch: Vec<Due>,
    _guard: BusyGuard,
) {
    for due in batch {
        let Some(body) = due.delivery.body.as_deref() else {
            continue;
        };
        let outcome = {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            notifier
                .deliver(&Request {
                    url: &due.webhook.url,
                    secret: &due.webhook.secret,
                    event_id: &due.delivery.event_id,
                    body: body.as_bytes(),
                    now_unix: OffsetDateTime::now_utc().unix_timestamp(),
                })
                .await
        };
        debug!(webhook = %due.webhook.id, event = %due.delivery.event_id, ?outcome, "webhook attempt");
        if let Err(e) = desk
            .record_attempt(&due.key, &outcome, OffsetDateTime::now_utc())
            .await
        {
            warn!(webhook = %due.webhook.id, error = %e, "recording a webhook attempt; it is made again");
        }
    }
}
