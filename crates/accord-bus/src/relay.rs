//! The outbox relay: moves committed events from a service's store to JetStream.
//!
//! Loop: read up to `batch` pending entries (oldest first) → publish each, in order, awaiting its
//! PubAck → remove it → repeat until the outbox is empty → wait for a nudge (`notify`) or a
//! periodic tick. A failed publish (or store call) backs off exponentially (50 ms → 2 s) and the
//! same entry is retried; later entries wait, so order is kept.
//!
//! Invariants:
//! - An entry is removed only after JetStream acknowledged it (or reported it as a duplicate).
//! - A crash between PubAck and remove republishes the entry with the same `Nats-Msg-Id`;
//!   JetStream drops it as a duplicate within the stream's duplicate window (2 min by default).
//!   Consumers are idempotent for the rare case beyond that window.
//! - Producers wake the relay with [`Notify::notify_one`] after committing (it stores a permit,
//!   so a nudge that arrives while the relay is busy is not lost); the periodic tick covers a
//!   missed nudge.
//!
//! [`OutboxSource`] calls are synchronous (the store's batch operations are short); they run on
//! the relay task.

use std::sync::Arc;
use std::time::Duration;

use accord_core::outbox::OutboxSource;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::consumer::sleep_or_shutdown;
use crate::error::chain;
use crate::{Bus, BusError};

/// Relay tuning. `Default` suits services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Entries read per `pending` call.
    pub batch: usize,
    /// How often an idle relay looks at the outbox without being nudged.
    pub tick: Duration,
    /// First back-off after a failure.
    pub min_backoff: Duration,
    /// Longest back-off.
    pub max_backoff: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch: 128,
            tick: Duration::from_secs(1),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// The outbox relay (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxRelay;

impl OutboxRelay {
    /// Runs the relay with [`RelayConfig::default`] until `shutdown` is cancelled.
    pub async fn run<S: OutboxSource>(
        bus: Bus,
        source: Arc<S>,
        notify: Arc<Notify>,
        shutdown: CancellationToken,
    ) {
        Self::run_with(RelayConfig::default(), bus, source, notify, shutdown).await;
    }

    /// Runs the relay until `shutdown` is cancelled.
    pub async fn run_with<S: OutboxSource>(
        config: RelayConfig,
        bus: Bus,
        source: Arc<S>,
        notify: Arc<Notify>,
        shutdown: CancellationToken,
    ) {
        let span = tracing::info_span!("outbox.relay", client = %bus.client_name());
        async move {
            tracing::info!("outbox relay running");
            let mut backoff = config.min_backoff;
            loop {
                if shutdown.is_cancelled() {
                    break;
                }
                match drain(&bus, source.as_ref(), config.batch.max(1), Some(&shutdown)).await {
                    Ok(published) => {
                        backoff = config.min_backoff;
                        if published > 0 {
                            tracing::debug!(published, "outbox drained");
                        }
                        tokio::select! {
                            biased;
                            () = shutdown.cancelled() => break,
                            () = notify.notified() => {}
                            () = tokio::time::sleep(config.tick) => {}
                        }
                    }
                    Err(error) => {
                        if error.is_unavailable() {
                            tracing::warn!(error = %chain(&error), retry_in = ?backoff, "outbox relay cannot publish; retrying");
                        } else {
                            tracing::error!(error = %chain(&error), retry_in = ?backoff, "outbox relay failed; retrying the same entry");
                        }
                        if !sleep_or_shutdown(backoff, &shutdown).await {
                            break;
                        }
                        backoff = (backoff * 2).min(config.max_backoff);
                    }
                }
            }
            tracing::info!("outbox relay stopped");
        }
        .instrument(span)
        .await;
    }

    /// Publishes everything pending now, in order, and returns how many entries were published
    /// (duplicates included). Stops at the first error, leaving that entry pending.
    pub async fn relay_once<S: OutboxSource + ?Sized>(
        bus: &Bus,
        source: &S,
    ) -> Result<usize, BusError> {
        drain(bus, source, RelayConfig::default().batch, None).await
    }
}

async fn drain<S: OutboxSource + ?Sized>(
    bus: &Bus,
    source: &S,
    batch: usize,
    shutdown: Option<&CancellationToken>,
) -> Result<usize, BusError> {
    let mut published = 0;
    loop {
        let entries = source.pending(batch).map_err(|error| BusError::Outbox {
            operation: "read pending entries",
            source: Box::new(error),
        })?;
        let full_batch = entries.len() >= batch;
        for entry in &entries {
            let outcome = bus.publish_entry(entry).await?;
            tracing::debug!(
                id = %entry.id,
                subject = %entry.subject,
                sequence = outcome.sequence,
                duplicate = outcome.duplicate,
                "outbox entry published"
            );
            source.remove(&entry.id).map_err(|error| BusError::Outbox {
                operation: "remove a published entry",
                source: Box::new(error),
            })?;
            published += 1;
        }
        // A short batch means the outbox was empty at read time; the next nudge or tick picks up
        // anything newer (and a source whose `remove` misbehaves cannot spin this loop).
        if !full_batch || shutdown.is_some_and(CancellationToken::is_cancelled) {
            return Ok(published);
        }
    }
}
