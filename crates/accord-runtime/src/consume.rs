//! The one durable consumer every service uses: a [`Subscription`] names the durable consumer,
//! the resources whose events it takes and how an event becomes the service's input type; [`run`]
//! decodes each message, opens one span per message, calls the handler and applies one failure
//! policy ([`settle`]).
//!
//! Failure policy (the same for every service):
//! - an event of a type the service ignores is acknowledged;
//! - an event that does not decode is rejected (dead-lettered: it will never decode);
//! - a handler's `InvalidArgument` or `NotFound` is rejected (the event itself is wrong);
//! - anything else (store, plugin host, bus) is retried with back-off and dead-lettered after
//!   the consumer's `max_deliver`.

use std::future::Future;

use accord_bus::{Bus, BusError, CloudEvent, ConsumerSpec, HandlerError, subjects};
use accord_core::DomainError;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// A durable consumer of platform events, decoded into `I`.
pub struct Subscription<I> {
    /// Durable consumer name (also names its dead-letter subject).
    pub durable: &'static str,
    /// Resource kinds whose events it takes (`cluster`, `nodepool`, …).
    pub resources: &'static [&'static str],
    /// The event as the service's input; `Ok(None)` for types it ignores.
    pub decode: fn(&CloudEvent) -> Result<Option<I>, BusError>,
}

impl<I> Clone for Subscription<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Subscription<I> {}

impl<I> Subscription<I> {
    /// The JetStream consumer's definition.
    pub fn spec(&self) -> Result<ConsumerSpec, BusError> {
        let filters = self
            .resources
            .iter()
            .map(|r| subjects::events_of(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ConsumerSpec::new(self.durable, filters))
    }
}

/// Where an input came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// CloudEvents type, e.g. `accord.cluster.created.v1`.
    pub event_type: String,
    /// Event id (ULID), unique per event: handlers use it to stay idempotent.
    pub id: String,
}

/// What the bus does with a message whose handler returned `result`.
pub fn settle(result: Result<(), DomainError>) -> Result<(), HandlerError> {
    result.map_err(|e| match e {
        DomainError::InvalidArgument(_) | DomainError::NotFound { .. } => HandlerError::reject(e),
        other => HandlerError::retry(other),
    })
}

/// Decodes, traces and handles one event.
pub async fn handle_one<I, H, Fut>(
    sub: &Subscription<I>,
    handler: &H,
    ev: CloudEvent,
) -> Result<(), HandlerError>
where
    H: Fn(I, EventMeta) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let input = match (sub.decode)(&ev) {
        Ok(Some(input)) => input,
        Ok(None) => return Ok(()),
        Err(e) => return Err(HandlerError::reject(format!("undecodable event: {e}"))),
    };
    let span =
        tracing::info_span!("event", consumer = sub.durable, r#type = %ev.r#type, id = %ev.id);
    let meta = EventMeta {
        event_type: ev.r#type,
        id: ev.id,
    };
    settle(handler(input, meta).instrument(span).await)
}

/// Runs the consumer until `shutdown`.
pub async fn run<I, H, Fut>(
    bus: Bus,
    sub: Subscription<I>,
    handler: H,
    shutdown: CancellationToken,
) -> Result<(), BusError>
where
    H: Fn(I, EventMeta) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let spec = sub.spec()?;
    let handler = &handler;
    let sub = &sub;
    bus.consume(spec, move |ev| handle_one(sub, handler, ev), shutdown)
        .await
}
