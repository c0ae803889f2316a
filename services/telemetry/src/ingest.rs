//! The telemetry ingest: one core NATS subscription to `accord.tel.>` in the queue group
//! [`QUEUE_GROUP`], each message handed to [`Telemetry::ingest`] in arrival order.
//!
//! Replicas: the queue group lets several replicas share the subject, but the health checks keep
//! per-node state, so one node's samples must always reach the same replica. The deployment
//! does that with NATS subject mapping (`accord.tel.*.*` → `accord.tel.{{partition(n,1,2)}}.…`,
//! partitioned on cluster and node) and one replica per partition; this service runs one
//! replica over every partition (see ARCHITECTURE.md).
//!
//! Core NATS drops messages a slow subscriber cannot take (telemetry is loss-tolerant: the
//! next sample carries the counters again); nothing here buffers without bound.
//!
//! [`sweep`] forgets nodes that stopped reporting, once every [`SWEEP_INTERVAL`] (a
//! best-effort task: the fleet's lock is taken once for a pass over the nodes, O(nodes)).

use std::sync::Arc;

use accord_bus::{Bus, subjects};
use anyhow::Context as _;
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::service::Telemetry;

/// The queue group replicas share.
pub const QUEUE_GROUP: &str = "telemetry";

/// How often [`sweep`] runs.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Forgets silent nodes every [`SWEEP_INTERVAL`] until `shutdown`.
pub async fn sweep(service: Arc<Telemetry>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {
                let forgotten = service.forget_silent();
                if forgotten > 0 {
                    tracing::info!(forgotten, "forgot nodes that stopped reporting");
                }
            }
        }
    }
}

/// Runs the ingest until `shutdown` (a critical task: a subscription that ends is an error).
pub async fn run(
    bus: Bus,
    service: Arc<Telemetry>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut samples = bus
        .subscribe_core_queue(&subjects::telemetry_all(), QUEUE_GROUP)
        .await
        .context("subscribing to telemetry")?;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            message = samples.next() => match message {
                Some(message) => {
                    service.ingest(&message.subject, &message.payload).await;
                }
                None => anyhow::bail!("the telemetry subscription ended"),
            },
        }
    }
}
