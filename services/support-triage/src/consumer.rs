//! The one dispatch point for platform events: a durable JetStream consumer (`support-triage`)
//! on `cluster.*`, `addon.*`, `health.*` and `remediation.*`, one span per message, each decoded
//! into [`Input`] and handed to [`SupportDesk::on_input`].
//!
//! Failure policy: an undecodable event is dead-lettered; a store failure is retried.

use std::sync::Arc;

use accord_bus::{Bus, BusError, CloudEvent, ConsumerSpec, HandlerError, subjects};
use accord_core::DomainError;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::{
    handlers::incidents::Source,
    service::{Input, SupportDesk},
};

/// Durable consumer name.
pub const DURABLE: &str = "support-triage";

/// The consumer's definition.
pub fn spec() -> Result<ConsumerSpec, BusError> {
    Ok(ConsumerSpec::new(
        DURABLE,
        vec![
            subjects::events_of("cluster")?,
            subjects::events_of("addon")?,
            subjects::events_of("health")?,
            subjects::events_of("remediation")?,
        ],
    ))
}

/// Decodes an event this service listens to; `Ok(None)` for types it ignores.
pub fn decode(ev: &CloudEvent) -> Result<Option<Input>, BusError> {
    let (resource, _, _) = ev.type_parts()?;
    Ok(match resource {
        "cluster" => Some(Input::Cluster(ev.decode_data()?)),
        "addon" => Some(Input::Addon(ev.decode_data()?)),
        "health" => Some(Input::Health(ev.decode_data()?)),
        "remediation" => Some(Input::Remediation(ev.decode_data()?)),
        _ => None,
    })
}

/// Handles one event.
pub async fn handle(desk: &SupportDesk, ev: CloudEvent) -> Result<(), HandlerError> {
    let input = match decode(&ev) {
        Ok(Some(input)) => input,
        Ok(None) => return Ok(()),
        Err(e) => return Err(HandlerError::reject(format!("undecodable event: {e}"))),
    };
    let source = Source {
        event_type: ev.r#type.clone(),
        event_id: ev.id.clone(),
    };
    let span = tracing::info_span!("support-triage.event", r#type = %ev.r#type, id = %ev.id);
    desk.on_input(input, source)
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
    desk: Arc<SupportDesk>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    bus.consume(
        spec()?,
        move |ev| {
            let d = Arc::clone(&desk);
            async move { handle(&d, ev).await }
        },
        shutdown,
    )
    .await
}
