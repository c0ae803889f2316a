//! Accord's message bus: the only crate that talks to NATS.
//!
//! - [`subjects`]: every subject, built by named functions from validated tokens.
//! - [`envelope`]: the CloudEvents 1.0 structured-JSON envelope ([`CloudEvent`]) and its outbox
//!   entry.
//! - [`Bus`]: the connection — JetStream publish with de-duplication, core publish/subscribe,
//!   request/reply ([`Bus::serve`]), connection state for health checks.
//! - [`streams`]: the `ACCORD_EVENTS` and `ACCORD_DLQ` streams and live views of them
//!   ([`Bus::watch_events`]).
//! - [`consumer`]: durable pull consumers with explicit ack, bounded redelivery and a dead-letter
//!   subject ([`Bus::consume`]).
//! - [`relay`]: the transactional-outbox relay ([`OutboxRelay`]).
//! - [`objects`]: the plugin bucket, a NATS Object Store ([`Bus::plugin_store`]).
//!
//! Invariants:
//! - No async-nats type appears in this crate's public API; callers see [`BusMessage`],
//!   [`StoredMessage`], [`Subscription`], [`BusError`].
//! - Nothing is acknowledged before the state it promises is stored: the relay removes an outbox
//!   entry only after its PubAck; a consumer acks only after its handler succeeded and terms only
//!   after the dead letter was stored.
//! - Trace context crosses NATS as a W3C `traceparent` header (see [`trace`]).

// This crate is the designated owner of async-nats: the workspace `clippy.toml` forbids
// `async_nats::connect`, `async_nats::Client` and friends everywhere else.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod auth;
mod bus;
pub mod consumer;
pub mod envelope;
mod error;
mod message;
pub mod objects;
pub mod relay;
mod serve;
pub mod streams;
pub mod subjects;
pub mod trace;

pub use bus::{Bus, BusAuth, ConnectOptions, MSG_ID_HEADER, PublishOutcome};
pub use consumer::{ConsumerSpec, HandlerError};
pub use envelope::{CloudEvent, new_event_id, service_source};
pub use error::{BoxError, BusError};
pub use message::{BusMessage, StoredMessage, Subscription};
pub use objects::{ObjectChange, PLUGIN_BUCKET, PluginMeta, PluginObject, PluginStore};
pub use relay::{OutboxRelay, RelayConfig};
pub use serve::ServeHandle;
pub use streams::{ConsumerState, StartAt, StreamOptions, StreamState};
pub use subjects::{DLQ_STREAM, EVENTS_STREAM};
pub use tokio_util::sync::CancellationToken;
