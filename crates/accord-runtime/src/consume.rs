//! The one durable consumer every service uses: a [`Subscription`] names the durable consumer,
//! the resources whose events it takes and how an event becomes the service's input type; [`run`]
//! decodes each message, opens one span per message, calls the handler and applies one failure
//! policy ([`settle`]).
//!
//! [`run_with_directory`] also keeps the kit's project directory (`crate::directory`) from
//! `project.*` events, for services that scope requests but do not own projects.
//!
//! A subscription may gain inputs between releases: the durable consumer's filter subjects are
//! derived from [`Subscription::inputs`] on every start, and the bus binds with create-or-update,
//! so an existing consumer takes the new kinds from where it stands (accord-bus's test
//! `a_durable_consumer_restarted_with_more_filters_receives_the_new_kind`). Events of the new
//! kind it had already moved past are not replayed.
//!
//! Failure policy (the same for every service):
//! - an event of a type the service ignores is acknowledged;
//! - an event that does not decode is rejected (dead-lettered: it will never decode);
//! - a handler's `InvalidArgument` or `NotFound` is rejected (the event itself is wrong);
//! - anything else (store, plugin host, bus) is retried with back-off and dead-lettered after
//!   the consumer's `max_deliver`.

use std::{future::Future, sync::Arc};

use accord_bus::{Bus, BusError, CloudEvent, ConsumerSpec, HandlerError, subjects};
use accord_core::{DomainError, events::DomainEvent, project::ProjectEvent};

use crate::{directory, engine::Engine};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// Turns an event's data into the service's input.
pub type Decoder<I> = fn(&CloudEvent) -> Result<I, BusError>;

/// A durable consumer of platform events, decoded into `I`: for each resource kind it takes
/// (`cluster`, `nodepool`, …), how that kind's events become an `I`, typically
/// `("cluster", |ev| ev.decode_data().map(Input::Cluster))`.
pub struct Subscription<I: 'static> {
    /// Durable consumer name (also names its dead-letter subject).
    pub durable: &'static str,
    /// Resource kind → decoder.
    pub inputs: &'static [(&'static str, Decoder<I>)],
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
        self.spec_with(&[])
    }

    /// The definition with `extra` resource kinds besides the subscription's own.
    fn spec_with(&self, extra: &[&str]) -> Result<ConsumerSpec, BusError> {
        let filters = extra
            .iter()
            .copied()
            .chain(self.inputs.iter().map(|(resource, _)| *resource))
            .map(subjects::events_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ConsumerSpec::new(self.durable, filters))
    }

    /// The event as the service's input; `Ok(None)` for kinds it does not take.
    pub fn decode(&self, ev: &CloudEvent) -> Result<Option<I>, BusError> {
        let (resource, _, _) = ev.type_parts()?;
        match self.inputs.iter().find(|(r, _)| *r == resource) {
            Some((_, decode)) => decode(ev).map(Some),
            None => Ok(None),
        }
    }
}

/// A service's one dispatch point for the platform events it consumes (the kit's consumer
/// calls it once per message, inside that message's span).
pub trait EventSink<I>: Send + Sync + 'static {
    /// The service's own events.
    type Event: DomainEvent;

    /// The service's write side (the project directory is written through it too).
    fn engine(&self) -> &Arc<Engine<Self::Event>>;

    /// Handles one input; the error decides between retry and dead letter ([`settle`]).
    fn on_event(
        &self,
        input: I,
        meta: EventMeta,
    ) -> impl Future<Output = Result<(), DomainError>> + Send;
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
    let input = match sub.decode(&ev) {
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

/// Runs the consumer until `shutdown`, also writing `project.*` events into the project
/// directory through `engine` (the service's one write lock).
pub async fn run_with_directory<I, E, H, Fut>(
    bus: Bus,
    sub: Subscription<I>,
    engine: Arc<Engine<E>>,
    handler: H,
    shutdown: CancellationToken,
) -> Result<(), BusError>
where
    E: DomainEvent,
    H: Fn(I, EventMeta) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let spec = sub.spec_with(&[DIRECTORY_RESOURCE])?;
    let (handler, sub, engine) = (&handler, &sub, &engine);
    bus.consume(
        spec,
        move |ev| async move {
            if ev.type_parts().is_ok_and(|(r, _, _)| r == DIRECTORY_RESOURCE) {
                let project: ProjectEvent = match ev.decode_data() {
                    Ok(p) => p,
                    Err(e) => return Err(HandlerError::reject(format!("undecodable event: {e}"))),
                };
                let span = tracing::info_span!("event", consumer = sub.durable, r#type = %ev.r#type, id = %ev.id);
                return settle(
                    async {
                        let change = directory::on_project_event::<E>(&project)?;
                        engine.lock().await.commit(change).await
                    }
                    .instrument(span)
                    .await,
                );
            }
            handle_one(sub, handler, ev).await
        },
        shutdown,
    )
    .await
}

/// The resource kind whose events feed the project directory.
const DIRECTORY_RESOURCE: &str = "project";

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
