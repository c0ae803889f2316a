//! accord-notify: customer webhook notifications — the only crate that makes outbound HTTP
//! requests (reqwest with rustls; `clippy.toml` disallows building a reqwest client anywhere
//! else).
//!
//! - [`model`] — the records support-triage keeps: webhooks, deliveries, notification kinds,
//!   the retry schedule and the bounds;
//! - [`url_policy`] — which URLs may be called ([`UrlPolicy`]: https to public hosts; http to
//!   loopback only where the deployment allows it);
//! - [`signature`] — `X-Accord-Signature: t=…,v1=<HMAC-SHA256>`, new secrets, verification;
//! - [`body`] (feature `client`) — the bus event as a CloudEvents structured-mode document;
//! - [`client`] (feature `client`) — one POST with a deadline and a response cap, answering a
//!   typed [`Outcome`].
//!
//! Without the `client` feature the crate is pure (no IO), so `accord-proto` can render its
//! records without linking an HTTP client.
//!
//! Invariant: nothing here blocks a caller for longer than one attempt's deadline, and nothing
//! panics on what an endpoint answers.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod model;
pub mod signature;
pub mod url_policy;

#[cfg(feature = "client")]
pub mod body;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod resolve;

#[cfg(feature = "client")]
pub use client::{Notifier, Outcome, Request};
pub use model::{Delivery, DeliveryState, NotificationKind, Webhook, WebhookId};
pub use url_policy::{UrlError, UrlPolicy};
