//! Telemetry without a collector, in its own test binary (it installs process globals once):
//! spans still carry W3C trace contexts, so a gRPC caller's `traceparent` continues onto the
//! events and bus requests a service makes, though nothing is exported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_runtime::{LogFormat, grpc::inject_trace_context, telemetry::init_with};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::MetadataMap;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

#[tokio::test(flavor = "multi_thread")]
async fn spans_carry_and_continue_trace_contexts_with_no_otlp_endpoint() {
    let guard = init_with("telemetry-no-otlp", LogFormat::Text, None).unwrap();
    assert!(!guard.exports_traces());

    // A span of its own gets a fresh trace context, injected on outgoing calls.
    let span = tracing::info_span!("handling a request");
    let mut metadata = MetadataMap::new();
    span.in_scope(|| inject_trace_context(&mut metadata));
    let own = metadata.get("traceparent").expect("traceparent injected");
    let own = own.to_str().unwrap();
    assert!(own.starts_with("00-") && own.len() == 55, "{own}");

    // A caller's context is continued: same trace id, a new span id.
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut carrier = std::collections::HashMap::new();
    carrier.insert("traceparent".to_owned(), caller.to_owned());
    let parent = TraceContextPropagator::new().extract(&carrier);
    let child = tracing::info_span!("continued");
    let _ = child.set_parent(parent);
    let mut metadata = MetadataMap::new();
    child.in_scope(|| inject_trace_context(&mut metadata));
    let continued = metadata.get("traceparent").unwrap().to_str().unwrap();
    assert!(
        continued.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{continued}"
    );
    assert_ne!(continued, caller, "a new span id");
    drop(guard);
}
