//! Durable pull consumers: how a service processes events.
//!
//! [`Bus::consume`] binds (creating or updating) a durable, explicit-ack, multi-filter pull
//! consumer and feeds each message to the handler, one at a time, in stream order.
//!
//! Per message:
//!
//! | outcome | action |
//! |---|---|
//! | handler `Ok(())` | ack (double-ack: confirmed by the server) |
//! | handler `Err(Retry)`, deliveries < `max_deliver` | nak with the [`ConsumerSpec::backoff`] delay |
//! | handler `Err(Retry)` on the last delivery | dead-letter, then term |
//! | handler `Err(Reject)` | dead-letter, then term |
//! | handler panics | as `Retry` (the consumer keeps running) |
//! | payload over [`ConsumerSpec::max_payload`], or not a valid CloudEvent | dead-letter, then term |
//!
//! A dead letter goes to `accord.dlq.<durable>` ([`DLQ_STREAM`]) with the original payload and
//! headers plus `Accord-Dlq-*` headers naming the reason, the original subject, stream and
//! sequence, and the delivery count. It is published with `Nats-Msg-Id:
//! <durable>:<stream>:<sequence>`, so re-dead-lettering the same message is a no-op. The message
//! is terminated only after the dead letter is stored.
//!
//! Invariants:
//! - A message is acknowledged only after its handler returned `Ok` — handlers must be idempotent,
//!   because an ack can be lost and a crash redelivers after `ack_wait`.
//! - While a handler runs, the consumer sends "in progress" acks every `ack_wait / 3`, so a slow
//!   handler is not redelivered behind its own back.
//! - Bad input never stops the consumer; NATS outages don't either (the loop re-binds with
//!   back-off until `shutdown`).
//! - One `bus.consume` span per message with `subject`, `event_id`, `event_type`, `delivered`,
//!   parented to the message's `traceparent`.
//!
//! `backoff` is applied by the client to naks only; it is *not* sent to the server, because a
//! server-side `BackOff` replaces `ack_wait` with its first step (a slow handler would then be
//! redelivered after that step instead of `ack_wait`).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{self, AckKind};
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::envelope::MAX_EVENT_BYTES;
use crate::error::chain;
use crate::subjects::{self, DLQ_STREAM, EVENTS_STREAM};
use crate::{Bus, BusError, CloudEvent, MSG_ID_HEADER, trace};

/// Header: why the message was dead-lettered.
pub const DLQ_REASON_HEADER: &str = "Accord-Dlq-Reason";
/// Header: the subject the message was originally published on.
pub const DLQ_SUBJECT_HEADER: &str = "Accord-Dlq-Subject";
/// Header: the stream the message came from.
pub const DLQ_STREAM_HEADER: &str = "Accord-Dlq-Stream";
/// Header: the message's sequence in that stream.
pub const DLQ_SEQUENCE_HEADER: &str = "Accord-Dlq-Stream-Seq";
/// Header: the durable consumer that gave up.
pub const DLQ_CONSUMER_HEADER: &str = "Accord-Dlq-Consumer";
/// Header: how many times the message had been delivered.
pub const DLQ_DELIVERIES_HEADER: &str = "Accord-Dlq-Deliveries";
/// Header: the original `Nats-Msg-Id`, if any.
pub const DLQ_ORIGINAL_MSG_ID_HEADER: &str = "Accord-Dlq-Original-Msg-Id";
/// Header: present (`true`) when the payload had to be truncated to fit.
pub const DLQ_TRUNCATED_HEADER: &str = "Accord-Dlq-Truncated";

/// Nak delay when [`ConsumerSpec::backoff`] is empty.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Longest reason kept in the dead-letter header.
const MAX_REASON_LEN: usize = 1024;
/// Back-off bounds for re-binding the consumer and retrying dead-letter publishes.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What a handler says about a message it could not process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Transient failure: redeliver later (nak with delay). After `max_deliver` deliveries the
    /// message is dead-lettered.
    #[error("retry: {0}")]
    Retry(String),
    /// The message can never be processed: dead-letter it now (and terminate it).
    #[error("reject: {0}")]
    Reject(String),
}

impl HandlerError {
    /// [`HandlerError::Retry`] from anything displayable (e.g. an error).
    pub fn retry(reason: impl std::fmt::Display) -> Self {
        HandlerError::Retry(reason.to_string())
    }

    /// [`HandlerError::Reject`] from anything displayable.
    pub fn reject(reason: impl std::fmt::Display) -> Self {
        HandlerError::Reject(reason.to_string())
    }
}

/// A durable consumer's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Durable name (a subject token: it also names the dead-letter subject).
    pub durable: String,
    /// Subjects to receive (multi-filter); empty means the whole stream.
    pub filter_subjects: Vec<String>,
    /// Deliveries before giving up (default 5).
    pub max_deliver: i64,
    /// Redelivery delay when a delivery is neither acked nor naked, e.g. after a crash
    /// (default 30 s).
    pub ack_wait: Duration,
    /// Nak delays for `Retry`, by delivery number (the last step repeats).
    pub backoff: Vec<Duration>,
    /// Larger payloads are dead-lettered without being decoded (default 1 MiB).
    pub max_payload: usize,
    /// The stream to consume (default [`EVENTS_STREAM`]).
    pub stream: String,
    /// Messages fetched ahead of the handler (default 8). Fetched messages count against
    /// `ack_wait`, so keep this small for slow handlers.
    pub prefetch: usize,
}

impl Default for ConsumerSpec {
    fn default() -> Self {
        ConsumerSpec {
            durable: String::new(),
            filter_subjects: Vec::new(),
            max_deliver: 5,
            ack_wait: Duration::from_secs(30),
            backoff: vec![
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(15),
                Duration::from_secs(30),
            ],
            max_payload: MAX_EVENT_BYTES,
            stream: EVENTS_STREAM.to_owned(),
            prefetch: 8,
        }
    }
}

impl ConsumerSpec {
    /// A spec with defaults for everything but the name and the filters.
    pub fn new(durable: impl Into<String>, filter_subjects: Vec<String>) -> Self {
        ConsumerSpec {
            durable: durable.into(),
            filter_subjects,
            ..ConsumerSpec::default()
        }
    }

    /// Sets [`ConsumerSpec::max_deliver`].
    pub fn with_max_deliver(mut self, max_deliver: i64) -> Self {
        self.max_deliver = max_deliver;
        self
    }

    /// Sets [`ConsumerSpec::ack_wait`].
    pub fn with_ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// Sets [`ConsumerSpec::backoff`].
    pub fn with_backoff(mut self, backoff: Vec<Duration>) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets [`ConsumerSpec::max_payload`].
    pub fn with_max_payload(mut self, max_payload: usize) -> Self {
        self.max_payload = max_payload;
        self
    }

    /// Sets [`ConsumerSpec::stream`].
    pub fn with_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = stream.into();
        self
    }

    /// Sets [`ConsumerSpec::prefetch`].
    pub fn with_prefetch(mut self, prefetch: usize) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// The nak delay after delivery number `delivered` (1-based) failed.
    pub fn retry_delay(&self, delivered: i64) -> Duration {
        let index = usize::try_from(delivered.saturating_sub(1)).unwrap_or(0);
        self.backoff
            .get(index)
            .or(self.backoff.last())
            .copied()
            .unwrap_or(DEFAULT_RETRY_DELAY)
    }

    fn validate(&self) -> Result<(), BusError> {
        subjects::token(&self.durable)?;
        if self.max_deliver < 1 {
            return Err(BusError::InvalidArgument(format!(
                "max_deliver must be at least 1, got {}",
                self.max_deliver
            )));
        }
        if self.ack_wait.is_zero() {
            return Err(BusError::InvalidArgument(
                "ack_wait must be positive".into(),
            ));
        }
        if self.prefetch == 0 {
            return Err(BusError::InvalidArgument(
                "prefetch must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn progress_interval(&self) -> Duration {
        (self.ack_wait / 3).max(Duration::from_millis(50))
    }
}

/// What happens to one message.
enum Verdict {
    Ack,
    Nak { delay: Duration, reason: String },
    DeadLetter(String),
}

/// Where a delivered message came from, for logs and dead letters.
struct Delivery {
    subject: String,
    stream: String,
    sequence: u64,
    delivered: i64,
}

impl Bus {
    /// Runs a durable consumer until `shutdown` is cancelled (see the module docs for the
    /// per-message contract).
    ///
    /// Returns `Err` only if the consumer cannot be set up the first time (bad spec, stream
    /// missing, NATS down); afterwards failures are logged and retried until `shutdown`.
    /// `shutdown` is observed between messages: a running handler finishes and its message is
    /// settled first.
    pub async fn consume<H, Fut>(
        &self,
        spec: ConsumerSpec,
        handler: H,
        shutdown: CancellationToken,
    ) -> Result<(), BusError>
    where
        H: Fn(CloudEvent) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        spec.validate()?;
        let dlq_subject = subjects::dead_letter(&spec.durable)?;
        let mut first = true;
        let mut backoff = MIN_BACKOFF;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            let bound = match self.bind_consumer(&spec).await {
                Ok(consumer) => consumer
                    .stream()
                    .max_messages_per_batch(spec.prefetch)
                    .messages()
                    .await
                    .map_err(|error| {
                        BusError::from_api(
                            "pull messages",
                            self.inner.options.request_timeout,
                            error,
                        )
                    }),
                Err(error) => Err(error),
            };
            let mut messages = match bound {
                Ok(messages) => messages,
                Err(error) if first => return Err(error),
                Err(error) => {
                    tracing::warn!(consumer = %spec.durable, error = %chain(&error), retry_in = ?backoff, "cannot bind consumer");
                    if !sleep_or_shutdown(backoff, &shutdown).await {
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            if first {
                tracing::info!(consumer = %spec.durable, filters = ?spec.filter_subjects, "consumer running");
            }
            first = false;
            backoff = MIN_BACKOFF;
            loop {
                let next = tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return Ok(()),
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(message)) => {
                        self.process(&spec, &dlq_subject, &handler, message, &shutdown)
                            .await;
                    }
                    Some(Err(error)) => {
                        use async_nats::jetstream::consumer::pull::MessagesErrorKind as K;
                        if error.kind() == K::MissingHeartbeat {
                            tracing::debug!(consumer = %spec.durable, "missed a consumer heartbeat");
                            continue;
                        }
                        tracing::warn!(consumer = %spec.durable, error = %chain(&error), "consumer stream failed; re-binding");
                        break;
                    }
                    None => break,
                }
            }
            if !sleep_or_shutdown(backoff, &shutdown).await {
                return Ok(());
            }
        }
    }

    /// Creates the durable consumer, or updates it to `spec`.
    async fn bind_consumer(
        &self,
        spec: &ConsumerSpec,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, BusError> {
        let stream = self.get_stream(&spec.stream).await?;
        let config = pull::Config {
            durable_name: Some(spec.durable.clone()),
            description: Some(format!("accord consumer {}", spec.durable)),
            filter_subjects: spec.filter_subjects.clone(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: spec.ack_wait,
            max_deliver: spec.max_deliver,
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        };
        stream.create_consumer(config).await.map_err(|error| {
            BusError::from_api(
                "create durable consumer",
                self.inner.options.request_timeout,
                error,
            )
        })
    }

    async fn process<H, Fut>(
        &self,
        spec: &ConsumerSpec,
        dlq_subject: &str,
        handler: &H,
        message: jetstream::Message,
        shutdown: &CancellationToken,
    ) where
        H: Fn(CloudEvent) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let delivery = match message.info() {
            Ok(info) => Delivery {
                subject: message.subject.to_string(),
                stream: info.stream.to_owned(),
                sequence: info.stream_sequence,
                delivered: info.delivered,
            },
            Err(_) => Delivery {
                subject: message.subject.to_string(),
                stream: spec.stream.clone(),
                sequence: 0,
                delivered: 1,
            },
        };
        let span = tracing::info_span!(
            "bus.consume",
            consumer = %spec.durable,
            subject = %delivery.subject,
            stream_sequence = delivery.sequence,
            delivered = delivery.delivered,
            event_id = tracing::field::Empty,
            event_type = tracing::field::Empty,
        );
        trace::set_parent_from(&span, message.headers.as_ref());
        let work = async {
            let verdict = decide(spec, handler, &message.payload, delivery.delivered).await;
            self.settle(spec, dlq_subject, &message, &delivery, verdict, shutdown)
                .await;
        }
        .instrument(span);
        with_progress(&message, spec.progress_interval(), work).await;
    }

    async fn settle(
        &self,
        spec: &ConsumerSpec,
        dlq_subject: &str,
        message: &jetstream::Message,
        delivery: &Delivery,
        verdict: Verdict,
        shutdown: &CancellationToken,
    ) {
        match verdict {
            Verdict::Ack => {
                if let Err(error) = message.double_ack().await {
                    tracing::warn!(error = %chain(error.as_ref()), "ack failed; the message will be redelivered");
                } else {
                    tracing::debug!("processed");
                }
            }
            Verdict::Nak { delay, reason } => {
                tracing::info!(%reason, retry_in = ?delay, "handler asked for a retry");
                if let Err(error) = message.ack_with(AckKind::Nak(Some(delay))).await {
                    tracing::warn!(error = %chain(error.as_ref()), "nak failed; redelivery after ack_wait");
                }
            }
            Verdict::DeadLetter(reason) => {
                tracing::warn!(%reason, "dead-lettering the message");
                match self
                    .dead_letter(spec, dlq_subject, message, delivery, &reason, shutdown)
                    .await
                {
                    Ok(()) => {
                        if let Err(error) = message.double_ack_with(AckKind::Term).await {
                            tracing::warn!(error = %chain(error.as_ref()), "term failed; the message will be redelivered and dead-lettered again (idempotent)");
                        }
                    }
                    Err(error) => {
                        // Shutting down before the dead letter was stored: leave the message
                        // un-acked so it is redelivered after ack_wait.
                        tracing::warn!(error = %chain(&error), "dead letter not stored; leaving the message for redelivery");
                    }
                }
            }
        }
    }

    /// Stores the message in the dead-letter stream, retrying until it is stored or `shutdown`.
    async fn dead_letter(
        &self,
        spec: &ConsumerSpec,
        dlq_subject: &str,
        message: &jetstream::Message,
        delivery: &Delivery,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), BusError> {
        let mut headers = HeaderMap::new();
        if let Some(original) = &message.headers {
            for (name, values) in original.iter() {
                let name_str: &str = name.as_ref();
                // Nats-* headers are instructions to the server (de-dup id, expectations), not
                // data; the original id is kept under its own header below.
                if name_str.len() >= 5 && name_str[..5].eq_ignore_ascii_case("nats-") {
                    continue;
                }
                for value in values {
                    headers.append(name.clone(), value.clone());
                }
            }
        }
        let original_id = trace::header_value(message.headers.as_ref(), MSG_ID_HEADER);
        let fields = [
            (DLQ_REASON_HEADER, sanitize_reason(reason)),
            (DLQ_SUBJECT_HEADER, delivery.subject.clone()),
            (DLQ_STREAM_HEADER, delivery.stream.clone()),
            (DLQ_SEQUENCE_HEADER, delivery.sequence.to_string()),
            (DLQ_CONSUMER_HEADER, spec.durable.clone()),
            (DLQ_DELIVERIES_HEADER, delivery.delivered.to_string()),
            (
                MSG_ID_HEADER,
                format!("{}:{}:{}", spec.durable, delivery.stream, delivery.sequence),
            ),
        ];
        for (name, value) in fields {
            trace::insert_header(&mut headers, name, &value);
        }
        if let Some(original_id) = original_id {
            trace::insert_header(&mut headers, DLQ_ORIGINAL_MSG_ID_HEADER, original_id);
        }

        let mut payload: Bytes = message.payload.clone();
        let mut backoff = MIN_BACKOFF;
        loop {
            match self
                .publish_jetstream(dlq_subject, headers.clone(), payload.clone())
                .await
            {
                Ok(outcome) => {
                    tracing::info!(
                        dlq_stream = %DLQ_STREAM,
                        dlq_sequence = outcome.sequence,
                        duplicate = outcome.duplicate,
                        "dead letter stored"
                    );
                    return Ok(());
                }
                Err(BusError::PayloadTooLarge { limit, .. })
                    if trace::header_value(Some(&headers), DLQ_TRUNCATED_HEADER).is_none() =>
                {
                    // Our headers pushed a near-limit message over the server limit: keep as
                    // much of the payload as fits and say so.
                    let keep = limit.saturating_sub(8 * 1024).min(payload.len());
                    payload = payload.slice(..keep);
                    trace::insert_header(&mut headers, DLQ_TRUNCATED_HEADER, "true");
                }
                Err(error) => {
                    tracing::warn!(error = %chain(&error), retry_in = ?backoff, "dead-letter publish failed");
                    if !sleep_or_shutdown(backoff, shutdown).await {
                        return Err(error);
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Decodes and runs the handler; never panics (a panicking handler counts as `Retry`).
async fn decide<H, Fut>(
    spec: &ConsumerSpec,
    handler: &H,
    payload: &Bytes,
    delivered: i64,
) -> Verdict
where
    H: Fn(CloudEvent) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    if payload.len() > spec.max_payload {
        return Verdict::DeadLetter(format!(
            "payload of {} bytes exceeds the consumer limit of {} bytes",
            payload.len(),
            spec.max_payload
        ));
    }
    let event = match CloudEvent::from_json_bytes(payload) {
        Ok(event) => event,
        Err(error) => return Verdict::DeadLetter(error.to_string()),
    };
    let span = tracing::Span::current();
    span.record("event_id", event.id.as_str());
    span.record("event_type", event.r#type.as_str());

    let outcome = AssertUnwindSafe(async { handler(event).await })
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            Err(HandlerError::Retry(format!("handler panicked: {message}")))
        });
    match outcome {
        Ok(()) => Verdict::Ack,
        Err(HandlerError::Reject(reason)) => {
            Verdict::DeadLetter(format!("rejected by the handler: {reason}"))
        }
        Err(HandlerError::Retry(reason)) if delivered >= spec.max_deliver => {
            Verdict::DeadLetter(format!(
                "gave up after {delivered} deliveries (max_deliver {}): {reason}",
                spec.max_deliver
            ))
        }
        Err(HandlerError::Retry(reason)) => Verdict::Nak {
            delay: spec.retry_delay(delivered),
            reason,
        },
    }
}

/// Runs `work`, telling the server every `interval` that the message is still being worked on.
async fn with_progress<F: Future>(
    message: &jetstream::Message,
    interval: Duration,
    work: F,
) -> F::Output {
    tokio::pin!(work);
    let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            output = &mut work => return output,
            _ = ticker.tick() => {
                if let Err(error) = message.ack_with(AckKind::Progress).await {
                    tracing::debug!(error = %chain(error.as_ref()), "progress ack failed");
                }
            }
        }
    }
}

/// Sleeps for `delay`; `false` if `shutdown` was cancelled first.
pub(crate) async fn sleep_or_shutdown(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

/// One line of printable text, at most [`MAX_REASON_LEN`] bytes (headers cannot hold newlines).
fn sanitize_reason(reason: &str) -> String {
    let mut text: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.len() > MAX_REASON_LEN {
        let mut cut = MAX_REASON_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_follows_the_backoff_and_repeats_the_last_step() {
        let spec = ConsumerSpec::new("svc", vec![])
            .with_backoff(vec![Duration::from_millis(10), Duration::from_millis(20)]);
        assert_eq!(spec.retry_delay(1), Duration::from_millis(10));
        assert_eq!(spec.retry_delay(2), Duration::from_millis(20));
        assert_eq!(spec.retry_delay(9), Duration::from_millis(20));
        assert_eq!(spec.retry_delay(0), Duration::from_millis(10));
        let empty = ConsumerSpec::new("svc", vec![]).with_backoff(vec![]);
        assert_eq!(empty.retry_delay(3), DEFAULT_RETRY_DELAY);
    }

    #[test]
    fn spec_defaults_and_validation() {
        let spec = ConsumerSpec::new("addon-manager", vec![subjects::events_all()]);
        assert_eq!(spec.max_deliver, 5);
        assert_eq!(spec.ack_wait, Duration::from_secs(30));
        assert_eq!(spec.stream, EVENTS_STREAM);
        assert!(spec.validate().is_ok());
        assert!(ConsumerSpec::new("a.b", vec![]).validate().is_err());
        assert!(ConsumerSpec::new("", vec![]).validate().is_err());
        assert!(
            ConsumerSpec::new("x", vec![])
                .with_max_deliver(0)
                .validate()
                .is_err()
        );
        assert!(
            ConsumerSpec::new("x", vec![])
                .with_ack_wait(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(
            ConsumerSpec::new("x", vec![])
                .with_prefetch(0)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn reasons_become_single_bounded_lines() {
        assert_eq!(sanitize_reason("a\nb\r\tc"), "a b  c");
        let long = "é".repeat(MAX_REASON_LEN);
        let cut = sanitize_reason(&long);
        assert!(cut.len() <= MAX_REASON_LEN);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn handler_error_helpers() {
        assert_eq!(
            HandlerError::retry(std::io::Error::other("disk")),
            HandlerError::Retry("disk".into())
        );
        assert_eq!(HandlerError::reject("bad").to_string(), "reject: bad");
    }
}
