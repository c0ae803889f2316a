//! The JetStream streams and read-only views of them.
//!
//! - [`EVENTS_STREAM`] (`accord.evt.>`): file storage, a de-duplication window (the relay's
//!   crash-safety depends on it), a maximum age.
//! - [`DLQ_STREAM`] (`accord.dlq.>`): file storage, kept longer, for operators to inspect.
//!
//! [`Bus::ensure_streams`] creates or updates both and is idempotent; every service calls it at
//! start-up. [`Bus::stream_messages`] / [`Bus::watch_events`] read a stream with an *ordered
//! ephemeral* consumer (no acks, recreated transparently by async-nats on gaps or reconnects),
//! which is what `accord events watch` uses.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::error::chain;
use crate::message::StoredMessage;
use crate::subjects::{self, DLQ_STREAM, EVENTS_STREAM};
use crate::{Bus, BusError, CloudEvent, trace};

/// Stream settings. `Default` is right for a single server; clustered deployments raise
/// `replicas`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// Replicas of each stream (1 on a single server, 3 on a cluster).
    pub replicas: usize,
    /// How long events are kept.
    pub events_max_age: Duration,
    /// How long JetStream remembers `Nats-Msg-Id`s to drop duplicates.
    pub duplicate_window: Duration,
    /// How long dead letters are kept.
    pub dlq_max_age: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            replicas: 1,
            events_max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
            dlq_max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Where a stream reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Only messages stored after the reader was created.
    New,
    /// From the oldest stored message.
    All,
    /// The last `n` matching messages, then live.
    Last(u64),
}

/// A snapshot of a stream's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamState {
    /// Messages stored.
    pub messages: u64,
    /// Oldest sequence still stored.
    pub first_sequence: u64,
    /// Newest sequence assigned.
    pub last_sequence: u64,
    /// Consumers defined on the stream.
    pub consumer_count: usize,
}

/// A snapshot of a durable consumer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerState {
    /// Matching messages not yet delivered.
    pub num_pending: u64,
    /// Delivered, not yet acknowledged (or terminated).
    pub num_ack_pending: usize,
    /// Messages delivered more than once.
    pub num_redelivered: usize,
    /// Stream sequence of the last delivered message.
    pub delivered_stream_sequence: u64,
    /// Stream sequence below which everything is acknowledged.
    pub ack_floor_stream_sequence: u64,
}

impl Bus {
    /// Creates or updates [`EVENTS_STREAM`] and [`DLQ_STREAM`] with [`StreamOptions::default`].
    pub async fn ensure_streams(&self) -> Result<(), BusError> {
        self.ensure_streams_with(&StreamOptions::default()).await
    }

    /// Creates or updates [`EVENTS_STREAM`] and [`DLQ_STREAM`].
    pub async fn ensure_streams_with(&self, options: &StreamOptions) -> Result<(), BusError> {
        let events = stream::Config {
            name: EVENTS_STREAM.to_owned(),
            description: Some("Accord domain events (CloudEvents, structured JSON)".to_owned()),
            subjects: vec![subjects::events_all()],
            storage: StorageType::File,
            num_replicas: options.replicas,
            duplicate_window: options.duplicate_window,
            max_age: options.events_max_age,
            discard: DiscardPolicy::Old,
            ..Default::default()
        };
        let dlq = stream::Config {
            name: DLQ_STREAM.to_owned(),
            description: Some("Messages Accord consumers gave up on".to_owned()),
            subjects: vec![subjects::dead_letters_all()],
            storage: StorageType::File,
            num_replicas: options.replicas,
            duplicate_window: options.duplicate_window,
            max_age: options.dlq_max_age,
            discard: DiscardPolicy::Old,
            ..Default::default()
        };
        let timeout = self.inner.options.request_timeout;
        for config in [events, dlq] {
            let name = config.name.clone();
            self.inner
                .jetstream
                .create_or_update_stream(config)
                .await
                .map_err(|error| BusError::from_api("create or update stream", timeout, error))?;
            tracing::debug!(stream = %name, "stream ensured");
        }
        Ok(())
    }

    /// Current state of a stream.
    pub async fn stream_state(&self, stream: &str) -> Result<StreamState, BusError> {
        let info = self
            .get_stream(stream)
            .await?
            .get_info()
            .await
            .map_err(|error| {
                BusError::from_api("stream info", self.inner.options.request_timeout, error)
            })?;
        Ok(StreamState {
            messages: info.state.messages,
            first_sequence: info.state.first_sequence,
            last_sequence: info.state.last_sequence,
            consumer_count: info.state.consumer_count,
        })
    }

    /// Current state of a durable consumer.
    pub async fn consumer_state(
        &self,
        stream: &str,
        durable: &str,
    ) -> Result<ConsumerState, BusError> {
        let info = self
            .get_stream(stream)
            .await?
            .consumer_info(durable)
            .await
            .map_err(|error| {
                if self.is_connected() {
                    BusError::jetstream("consumer info", error)
                } else {
                    BusError::unavailable("consumer info", error)
                }
            })?;
        Ok(ConsumerState {
            num_pending: info.num_pending,
            num_ack_pending: info.num_ack_pending,
            num_redelivered: info.num_redelivered,
            delivered_stream_sequence: info.delivered.stream_sequence,
            ack_floor_stream_sequence: info.ack_floor.stream_sequence,
        })
    }

    pub(crate) async fn get_stream(
        &self,
        stream: &str,
    ) -> Result<async_nats::jetstream::stream::Stream, BusError> {
        self.inner
            .jetstream
            .get_stream(stream)
            .await
            .map_err(|error| {
                BusError::from_api("get stream", self.inner.options.request_timeout, error)
            })
    }

    /// Reads `stream` in order (filtered by `filter_subject`) from `from`, then follows new
    /// messages live. The reader holds no server state beyond an ephemeral consumer that the
    /// server removes shortly after the returned stream is dropped.
    pub async fn stream_messages(
        &self,
        stream: &str,
        filter_subject: &str,
        from: StartAt,
    ) -> Result<BoxStream<'static, Result<StoredMessage, BusError>>, BusError> {
        let js_stream = self.get_stream(stream).await?;
        let timeout = self.inner.options.request_timeout;
        let create = |deliver_policy: DeliverPolicy| {
            let js_stream = &js_stream;
            async move {
                js_stream
                    .create_consumer(pull::OrderedConfig {
                        filter_subject: filter_subject.to_owned(),
                        deliver_policy,
                        ..Default::default()
                    })
                    .await
                    .map_err(|error| BusError::from_api("create ordered consumer", timeout, error))
            }
        };
        let (consumer, skip) = match from {
            StartAt::New | StartAt::Last(0) => (create(DeliverPolicy::New).await?, 0),
            StartAt::All => (create(DeliverPolicy::All).await?, 0),
            StartAt::Last(n) => {
                let state = self.stream_state(stream).await?;
                self.last_n_consumer(&js_stream, &state, n, create).await?
            }
        };
        let messages = consumer
            .messages()
            .await
            .map_err(|error| BusError::from_api("read ordered consumer", timeout, error))?;
        let stream_name = stream.to_owned();
        let items = messages
            .map(move |item| match item {
                Ok(message) => {
                    let sequence = message.info().map(|info| info.stream_sequence).unwrap_or(0);
                    let message = message.message;
                    Ok(StoredMessage {
                        stream: stream_name.clone(),
                        sequence,
                        subject: message.subject.to_string(),
                        headers: trace::header_pairs(message.headers.as_ref()),
                        payload: message.payload,
                    })
                }
                Err(error) => Err(BusError::jetstream("read ordered consumer", error)),
            })
            .skip(usize::try_from(skip).unwrap_or(usize::MAX));
        Ok(items.boxed())
    }

    /// Finds a start sequence from which at least `n` messages match (or the stream start), by
    /// probing windows of 4·n, 16·n, … sequences back from the end, and how many of the matching
    /// messages to skip so that exactly the last `n` are delivered.
    async fn last_n_consumer<F, Fut>(
        &self,
        js_stream: &async_nats::jetstream::stream::Stream,
        state: &StreamState,
        n: u64,
        create: F,
    ) -> Result<
        (
            async_nats::jetstream::consumer::Consumer<pull::OrderedConfig>,
            u64,
        ),
        BusError,
    >
    where
        F: Fn(DeliverPolicy) -> Fut,
        Fut: std::future::Future<
                Output = Result<
                    async_nats::jetstream::consumer::Consumer<pull::OrderedConfig>,
                    BusError,
                >,
            >,
    {
        if state.messages == 0 {
            return Ok((create(DeliverPolicy::New).await?, 0));
        }
        let mut window = n;
        loop {
            let start = state
                .last_sequence
                .saturating_sub(window.saturating_sub(1))
                .max(state.first_sequence)
                .max(1);
            let consumer = create(DeliverPolicy::ByStartSequence {
                start_sequence: start,
            })
            .await?;
            let pending = consumer.cached_info().num_pending;
            if pending >= n || start <= state.first_sequence {
                return Ok((consumer, pending.saturating_sub(n)));
            }
            let name = consumer.cached_info().name.clone();
            if let Err(error) = js_stream.delete_consumer(&name).await {
                tracing::debug!(error = %chain(&error), "could not delete a probe consumer; it expires");
            }
            window = window.saturating_mul(4);
        }
    }

    /// Live view of domain events matching `filter_subject` (e.g. [`subjects::events_all`]),
    /// decoded. A stored message that is not a valid CloudEvent yields an `Err` item and the
    /// stream goes on.
    pub async fn watch_events(
        &self,
        filter_subject: &str,
        from: StartAt,
    ) -> Result<BoxStream<'static, Result<CloudEvent, BusError>>, BusError> {
        let messages = self
            .stream_messages(EVENTS_STREAM, filter_subject, from)
            .await?;
        Ok(messages
            .map(|item| item.and_then(|message| CloudEvent::from_json_bytes(&message.payload)))
            .boxed())
    }

    /// Events matching `filter_subject` as they are published (core NATS, no JetStream: what a
    /// customer's connection may do), decoded; nothing stored is replayed.
    pub async fn live_events(
        &self,
        filter_subject: &str,
    ) -> Result<BoxStream<'static, Result<CloudEvent, BusError>>, BusError> {
        let messages = self.subscribe_core(filter_subject).await?;
        Ok(messages
            .map(|message| CloudEvent::from_json_bytes(&message.payload))
            .boxed())
    }
}
