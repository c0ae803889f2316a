//! W3C trace context crosses NATS: the consumer's span joins the producer's trace.
//!
//! Its own test binary (process): it installs a tracing subscriber and the global propagator,
//! and tracing's per-callsite interest cache must not be raced by unrelated tests on other
//! threads.

// Test helpers outside `#[test]` functions fail loudly too; clippy's test allowance only covers
// `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_bus::trace::TRACEPARENT;
use accord_bus::{CancellationToken, CloudEvent, ConsumerSpec, subjects};
use accord_testkit::assert_eventually_eq;
use opentelemetry::trace::{TraceContextExt, TraceId, TracerProvider as _};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::{self, env};

fn current_trace_id() -> TraceId {
    tracing::Span::current()
        .context()
        .span()
        .span_context()
        .trace_id()
}

#[tokio::test]
async fn consumer_span_continues_the_producer_trace() {
    // Thread-local subscriber: this test runs on a current-thread runtime, so every task it
    // spawns (the consumer included) is polled on this thread and sees it.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("accord-bus-test")));
    let _guard = tracing::subscriber::set_default(subscriber);
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );

    let env = env().await;
    let (entry, producer_trace) = {
        let span = tracing::info_span!("create_cluster");
        let _entered = span.enter();
        let event = support::event(1);
        assert!(
            event.traceparent.is_some(),
            "the envelope records traceparent"
        );
        (event.outbox_entry().unwrap(), current_trace_id())
    };
    assert_ne!(producer_trace, TraceId::INVALID);
    let traceparent = entry
        .headers
        .iter()
        .find(|(name, _)| name == TRACEPARENT)
        .map(|(_, value)| value.clone())
        .expect("the outbox entry carries a traceparent header");
    assert!(
        traceparent.contains(&producer_trace.to_string()),
        "{traceparent}"
    );
    env.bus.publish_entry(&entry).await.unwrap();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn({
        let bus = env.bus.clone();
        let seen = seen.clone();
        let shutdown = shutdown.clone();
        async move {
            let spec = ConsumerSpec::new("trace-svc", vec![subjects::events_all()])
                .with_ack_wait(Duration::from_secs(2));
            bus.consume(
                spec,
                move |_event: CloudEvent| {
                    seen.lock().unwrap().push(current_trace_id());
                    async { Ok(()) }
                },
                shutdown,
            )
            .await
        }
    });
    assert_eventually_eq!(seen.lock().unwrap().clone(), vec![producer_trace]);
    shutdown.cancel();
    consumer.await.unwrap().unwrap();
}
