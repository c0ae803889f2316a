//! The one dispatch point for the provisioner's events: a durable JetStream consumer
//! (`addon-manager`) on `cluster.*` and `nodepool.*`, one span per message, each decoded into
//! [`Input`] and handed to [`AddonManager::on_input`].
//!
//! Failure policy: an event that cannot be decoded is rejected (dead-lettered, it will never
//! decode); a store or plugin-host failure is retried (redelivered with back-off, dead-lettered
//! after the consumer's `max_deliver`).

use std::sync::Arc;

use accord_bus::{Bus, BusError, CloudEvent, ConsumerSpec, HandlerError, subjects};
use accord_core::{DomainError, cluster::ClusterEvent, nodepool::NodePoolEvent};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::{handlers::cluster_view::Input, service::AddonManager};

/// Durable consumer name (also names its dead-letter subject).
pub const DURABLE: &str = "addon-manager";

/// The consumer's definition.
pub fn spec() -> Result<ConsumerSpec, BusError> {
    Ok(ConsumerSpec::new(
        DURABLE,
        vec![
            subjects::events_of("cluster")?,
            subjects::events_of("nodepool")?,
        ],
    ))
}

/// Decodes an event this service listens to; `Ok(None)` for types it ignores.
pub fn decode(ev: &CloudEvent) -> Result<Option<Input>, BusError> {
    let (resource, _, _) = ev.type_parts()?;
    Ok(match resource {
        "cluster" => Some(Input::Cluster(ev.decode_data::<ClusterEvent>()?)),
        "nodepool" => Some(Input::NodePool(ev.decode_data::<NodePoolEvent>()?)),
        _ => None,
    })
}

/// Handles one event.
pub async fn handle(manager: &AddonManager, ev: CloudEvent) -> Result<(), HandlerError> {
    let input = match decode(&ev) {
        Ok(Some(input)) => input,
        Ok(None) => return Ok(()),
        Err(e) => return Err(HandlerError::reject(format!("undecodable event: {e}"))),
    };
    let span = tracing::info_span!("addon-manager.event", r#type = %ev.r#type, id = %ev.id);
    manager
        .on_input(input)
        .instrument(span)
        .await
        .map_err(|e| match e {
            DomainError::InvalidArgument(_) | DomainError::NotFound { .. } => {
                HandlerError::reject(e)
            }
            other => HandlerError::retry(other),
        })
}

/// Runs the consumer until `shutdown`.
pub async fn run(
    bus: Bus,
    manager: Arc<AddonManager>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    bus.consume(
        spec()?,
        move |ev| {
            let m = Arc::clone(&manager);
            async move { handle(&m, ev).await }
        },
        shutdown,
    )
    .await
}
