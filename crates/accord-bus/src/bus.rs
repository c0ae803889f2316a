//! The connection: [`Bus`] owns one NATS client and its JetStream context.
//!
//! Invariants:
//! - The initial connect retries until [`ConnectOptions::connect_timeout`]; once connected, the
//!   client reconnects forever (bounded exponential delay up to
//!   [`ConnectOptions::max_reconnect_delay`]). Subscriptions and pull consumers resume by
//!   themselves after a reconnect.
//! - [`Bus::connected`] follows the client's Connected / Disconnected events; the gRPC health
//!   status follows it.
//! - [`Bus::publish_entry`] returns only after the PubAck (or an error). An error never means
//!   "not stored" for sure: retry with the same entry (same `Nats-Msg-Id`) and JetStream
//!   de-duplicates within the stream's duplicate window.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use accord_core::outbox::OutboxEntry;
use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{BusError, chain, from_publish, from_request};
use crate::message::{BusMessage, Subscription};
use crate::trace;

/// The JetStream de-duplication header.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// How to connect. `Default` suits services; tests shorten the delays with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// How long the *initial* connect keeps retrying before [`Bus::connect_with`] fails.
    pub connect_timeout: Duration,
    /// Upper bound of the delay between reconnect attempts (exponential from 0).
    pub max_reconnect_delay: Duration,
    /// How often the client pings the server (detects half-open connections).
    pub ping_interval: Duration,
    /// Timeout of JetStream API calls and of the PubAck wait in [`Bus::publish_entry`].
    pub request_timeout: Duration,
    /// Who the connection authenticates as (`None`: anonymous, for servers without auth).
    pub auth: Option<BusAuth>,
    /// PEM file of the CA that signed the server's certificate: the connection requires TLS
    /// and verifies the server against it (`None`: the system roots, TLS only when the URL
    /// says `tls://` or the server asks for it).
    pub tls_ca_file: Option<std::path::PathBuf>,
}

/// Credentials of a NATS connection. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum BusAuth {
    /// A service's nkey user: the seed (`SU…`) signs the server's nonce.
    Nkey(String),
    /// A token: a customer's Accord API key, checked by the auth callout.
    Token(String),
}

impl fmt::Debug for BusAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusAuth::Nkey(_) => f.write_str("Nkey(<redacted>)"),
            BusAuth::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            max_reconnect_delay: Duration::from_secs(2),
            ping_interval: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            auth: None,
            tls_ca_file: None,
        }
    }
}

impl ConnectOptions {
    /// Sets [`ConnectOptions::connect_timeout`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`ConnectOptions::max_reconnect_delay`].
    pub fn with_max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay;
        self
    }

    /// Sets [`ConnectOptions::ping_interval`].
    pub fn with_ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`ConnectOptions::request_timeout`].
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`ConnectOptions::auth`].
    pub fn with_auth(mut self, auth: Option<BusAuth>) -> Self {
        self.auth = auth;
        self
    }

    /// Sets [`ConnectOptions::tls_ca_file`].
    pub fn with_tls_ca_file(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.tls_ca_file = path;
        self
    }
}

/// What JetStream answered to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    /// The stream already held a message with this `Nats-Msg-Id` (within the duplicate window);
    /// nothing new was stored.
    pub duplicate: bool,
    /// Stream sequence of the stored message (of the original one for a duplicate).
    pub sequence: u64,
    /// The stream that stored it.
    pub stream: String,
}

/// A connection to NATS. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Bus {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) connected: watch::Receiver<bool>,
    pub(crate) options: ConnectOptions,
    pub(crate) name: String,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("name", &self.inner.name)
            .field("connected", &*self.inner.connected.borrow())
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// Connects with [`ConnectOptions::default`].
    pub async fn connect(url: &str, client_name: &str) -> Result<Bus, BusError> {
        Bus::connect_with(url, client_name, ConnectOptions::default()).await
    }

    /// Connects, retrying the initial connection until `options.connect_timeout`; afterwards the
    /// client reconnects forever. `url` may list several servers separated by commas.
    pub async fn connect_with(
        url: &str,
        client_name: &str,
        options: ConnectOptions,
    ) -> Result<Bus, BusError> {
        let addrs = url
            .split(',')
            .map(str::trim)
            .filter(|addr| !addr.is_empty())
            .map(str::parse::<async_nats::ServerAddr>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| BusError::Connect {
                url: url.to_owned(),
                source: Box::new(error),
            })?;
        if addrs.is_empty() {
            return Err(BusError::InvalidArgument("no NATS server URL given".into()));
        }
        let (connected_tx, connected_rx) = watch::channel(false);
        let connected_tx = Arc::new(connected_tx);
        let deadline = Instant::now() + options.connect_timeout;
        let mut attempt: u32 = 0;
        let client = loop {
            attempt = attempt.saturating_add(1);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let nats_options = nats_options(
                client_name,
                &options,
                remaining.max(Duration::from_millis(100)),
                Arc::clone(&connected_tx),
            );
            match nats_options.connect(addrs.clone()).await {
                Ok(client) => break client,
                Err(error)
                    if matches!(
                        error.kind(),
                        async_nats::ConnectErrorKind::AuthorizationViolation
                            | async_nats::ConnectErrorKind::Authentication
                    ) =>
                {
                    return Err(BusError::NotAuthorized {
                        url: url.to_owned(),
                    });
                }
                Err(error) => {
                    let retryable = matches!(
                        error.kind(),
                        async_nats::ConnectErrorKind::Dns
                            | async_nats::ConnectErrorKind::TimedOut
                            | async_nats::ConnectErrorKind::Io
                    );
                    if !retryable || Instant::now() >= deadline {
                        return Err(BusError::Connect {
                            url: url.to_owned(),
                            source: Box::new(error),
                        });
                    }
                    tracing::debug!(url, attempt, error = %chain(&error), "nats not reachable yet");
                    let delay = reconnect_delay(attempt as usize, Duration::from_millis(500));
                    tokio::time::sleep(
                        delay.min(deadline.saturating_duration_since(Instant::now())),
                    )
                    .await;
                }
            }
        };
        connected_tx
            .send_replace(client.connection_state() == async_nats::connection::State::Connected);
        tracing::info!(url, client = client_name, "connected to nats");
        let jetstream = jetstream::context::ContextBuilder::new()
            .timeout(options.request_timeout)
            .build(client.clone());
        Ok(Bus {
            inner: Arc::new(Inner {
                client,
                jetstream,
                connected: connected_rx,
                options,
                name: client_name.to_owned(),
            }),
        })
    }

    /// `true` while connected; changes on every Connected / Disconnected event.
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.inner.connected.clone()
    }

    /// Whether the client is connected right now.
    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// The client name given at connect time.
    pub fn client_name(&self) -> &str {
        &self.inner.name
    }

    /// The options the bus was connected with.
    pub fn options(&self) -> &ConnectOptions {
        &self.inner.options
    }

    /// The name the server reports (its `server_name`, or its generated id).
    pub fn server_name(&self) -> String {
        self.inner.client.server_info().server_name
    }

    /// Largest message (payload plus headers) the server accepts.
    pub fn max_payload(&self) -> usize {
        self.inner.client.server_info().max_payload
    }

    /// Publishes an outbox entry to JetStream with `Nats-Msg-Id: entry.id` (plus the entry's
    /// headers) and waits for the PubAck, at most [`ConnectOptions::request_timeout`].
    ///
    /// On error the entry may or may not be stored: retry with the same entry.
    pub async fn publish_entry(&self, entry: &OutboxEntry) -> Result<PublishOutcome, BusError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &entry.headers {
            // The entry id is the de-duplication key; entry headers may not override it.
            if !name.eq_ignore_ascii_case(MSG_ID_HEADER) {
                trace::insert_header(&mut headers, name, value);
            }
        }
        if !trace::insert_header(&mut headers, MSG_ID_HEADER, &entry.id) {
            return Err(BusError::InvalidArgument(format!(
                "outbox entry id {:?} cannot be a NATS header value",
                entry.id
            )));
        }
        self.publish_jetstream(&entry.subject, headers, Bytes::from(entry.payload.clone()))
            .await
    }

    /// JetStream publish + PubAck wait with the bus's timeout.
    pub(crate) async fn publish_jetstream(
        &self,
        subject: &str,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<PublishOutcome, BusError> {
        let timeout = self.inner.options.request_timeout;
        let size = payload.len();
        let publish = async {
            let ack = self
                .inner
                .jetstream
                .publish_with_headers(subject.to_owned(), headers, payload)
                .await
                .map_err(|error| self.publish_error(subject, size, timeout, error))?;
            ack.await
                .map_err(|error| self.publish_error(subject, size, timeout, error))
        };
        let ack = tokio::time::timeout(timeout, publish)
            .await
            .map_err(|_elapsed| BusError::Timeout {
                operation: "publish (awaiting PubAck)",
                timeout,
            })??;
        Ok(PublishOutcome {
            duplicate: ack.duplicate,
            sequence: ack.sequence,
            stream: ack.stream,
        })
    }

    fn publish_error(
        &self,
        subject: &str,
        size: usize,
        timeout: Duration,
        error: jetstream::context::PublishError,
    ) -> BusError {
        if error.kind() == jetstream::context::PublishErrorKind::MaxPayloadExceeded {
            return BusError::PayloadTooLarge {
                size,
                limit: self.max_payload(),
            };
        }
        if !self.is_connected() {
            return BusError::unavailable("publish", error);
        }
        from_publish(subject, timeout, error)
    }

    /// Publishes on core NATS (no persistence, no ack): telemetry and other high-volume,
    /// loss-tolerant data. Returns once the message is queued on the connection.
    pub async fn publish_core(&self, subject: &str, payload: Bytes) -> Result<(), BusError> {
        let size = payload.len();
        self.inner
            .client
            .publish(subject.to_owned(), payload)
            .await
            .map_err(|error| match error.kind() {
                async_nats::client::PublishErrorKind::MaxPayloadExceeded => {
                    BusError::PayloadTooLarge {
                        size,
                        limit: self.max_payload(),
                    }
                }
                async_nats::client::PublishErrorKind::InvalidSubject => {
                    BusError::InvalidArgument(format!("invalid subject {subject:?}"))
                }
                _ => BusError::unavailable("publish", error),
            })
    }

    /// Waits until everything published so far has reached the server.
    pub async fn flush(&self) -> Result<(), BusError> {
        let timeout = self.inner.options.request_timeout;
        tokio::time::timeout(timeout, self.inner.client.flush())
            .await
            .map_err(|_elapsed| BusError::Timeout {
                operation: "flush",
                timeout,
            })?
            .map_err(|error| BusError::unavailable("flush", error))
    }

    /// Subscribes on core NATS; removed when dropped. When this returns the subscription has
    /// been written to the server's socket (async-nats' flush does not wait for the server's
    /// answer): the server applies it before anything this connection sends later, but a
    /// message another connection publishes at the same instant may still miss it.
    pub async fn subscribe_core(&self, subject: &str) -> Result<Subscription, BusError> {
        let subscriber = self
            .inner
            .client
            .subscribe(subject.to_owned())
            .await
            .map_err(|error| subscribe_error(subject, error))?;
        self.flush().await?;
        Ok(Subscription::new(subscriber))
    }

    /// Like [`subscribe_core`](Self::subscribe_core), load-balanced over a queue group.
    pub async fn subscribe_core_queue(
        &self,
        subject: &str,
        queue_group: &str,
    ) -> Result<Subscription, BusError> {
        let subscriber = self
            .inner
            .client
            .queue_subscribe(subject.to_owned(), queue_group.to_owned())
            .await
            .map_err(|error| subscribe_error(subject, error))?;
        self.flush().await?;
        Ok(Subscription::new(subscriber))
    }

    /// Sends a request (with the current trace context in its headers) and waits for the reply.
    pub async fn request(
        &self,
        subject: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, BusError> {
        Ok(self
            .request_message(subject, payload, timeout)
            .await?
            .payload)
    }

    /// Like [`request`](Self::request), returning the whole reply (headers included).
    pub async fn request_message(
        &self,
        subject: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<BusMessage, BusError> {
        let mut headers = HeaderMap::new();
        trace::inject_current(&mut headers);
        let request = async_nats::Request::new()
            .payload(payload)
            .headers(headers)
            .timeout(Some(timeout));
        // The outer timeout also bounds the time spent queueing while disconnected.
        let reply = tokio::time::timeout(
            timeout,
            self.inner.client.send_request(subject.to_owned(), request),
        )
        .await
        .map_err(|_elapsed| BusError::Timeout {
            operation: "request",
            timeout,
        })?
        .map_err(|error| {
            if self.is_connected() {
                from_request(subject, timeout, error)
            } else {
                BusError::unavailable("request", error)
            }
        })?;
        Ok(BusMessage::from_nats(reply))
    }
}

fn subscribe_error(subject: &str, error: async_nats::SubscribeError) -> BusError {
    match error.kind() {
        async_nats::SubscribeErrorKind::InvalidSubject => {
            BusError::InvalidArgument(format!("invalid subject {subject:?}"))
        }
        async_nats::SubscribeErrorKind::InvalidQueueName => {
            BusError::InvalidArgument("invalid queue group".to_owned())
        }
        _ => BusError::unavailable("subscribe", error),
    }
}

/// async-nats options: no reconnect limit, bounded exponential reconnect delay, connection state
/// mirrored into `connected`.
fn nats_options(
    client_name: &str,
    options: &ConnectOptions,
    connection_timeout: Duration,
    connected: Arc<watch::Sender<bool>>,
) -> async_nats::ConnectOptions {
    let max_delay = options.max_reconnect_delay;
    let name = client_name.to_owned();
    let mut base = match &options.auth {
        None => async_nats::ConnectOptions::new(),
        Some(BusAuth::Nkey(seed)) => async_nats::ConnectOptions::with_nkey(seed.clone()),
        Some(BusAuth::Token(token)) => async_nats::ConnectOptions::with_token(token.clone()),
    };
    if let Some(ca) = &options.tls_ca_file {
        base = base.add_root_certificates(ca.clone()).require_tls(true);
    }
    base.name(client_name)
        .ping_interval(options.ping_interval)
        .connection_timeout(connection_timeout.min(Duration::from_secs(5)))
        .request_timeout(Some(options.request_timeout))
        .max_reconnects(None)
        .reconnect_delay_callback(move |attempts| reconnect_delay(attempts, max_delay))
        .event_callback(move |event| {
            let connected = Arc::clone(&connected);
            let name = name.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        connected.send_replace(true);
                        tracing::info!(client = %name, "nats connected");
                    }
                    async_nats::Event::Disconnected => {
                        connected.send_replace(false);
                        tracing::warn!(client = %name, "nats disconnected; reconnecting");
                    }
                    async_nats::Event::Closed => {
                        connected.send_replace(false);
                        tracing::warn!(client = %name, "nats connection closed");
                    }
                    other => tracing::warn!(client = %name, event = %other, "nats event"),
                }
            }
        })
}

/// 0 for the first attempt, then 10 ms · 2^(n-2), capped at `max`.
pub(crate) fn reconnect_delay(attempts: usize, max: Duration) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let exponent = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(16);
    Duration::from_millis(10u64.saturating_mul(1u64 << exponent)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_is_bounded_exponential() {
        let max = Duration::from_secs(2);
        assert_eq!(reconnect_delay(0, max), Duration::ZERO);
        assert_eq!(reconnect_delay(1, max), Duration::ZERO);
        assert_eq!(reconnect_delay(2, max), Duration::from_millis(10));
        assert_eq!(reconnect_delay(3, max), Duration::from_millis(20));
        assert_eq!(reconnect_delay(9, max), Duration::from_millis(1280));
        assert_eq!(reconnect_delay(10, max), max);
        assert_eq!(reconnect_delay(usize::MAX, max), max);
    }

    #[test]
    fn options_builders() {
        let options = ConnectOptions::default()
            .with_connect_timeout(Duration::from_secs(1))
            .with_max_reconnect_delay(Duration::from_millis(100))
            .with_ping_interval(Duration::from_secs(3))
            .with_request_timeout(Duration::from_secs(2));
        assert_eq!(options.connect_timeout, Duration::from_secs(1));
        assert_eq!(options.max_reconnect_delay, Duration::from_millis(100));
        assert_eq!(options.ping_interval, Duration::from_secs(3));
        assert_eq!(options.request_timeout, Duration::from_secs(2));
    }
}
