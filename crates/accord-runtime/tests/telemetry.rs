//! Process-wide telemetry, in its own test binary because it installs globals once.

// Test helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use accord_runtime::{
    LogFormat,
    grpc::inject_trace_context,
    telemetry::{TelemetryError, init, init_with},
};
use tonic::metadata::MetadataMap;

#[tokio::test(flavor = "multi_thread")]
async fn initialises_once_with_otlp_and_propagates_w3c_trace_context() {
    // A collector address nobody listens on: export fails fast and must not break anything.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let guard = init_with(
        "telemetry-test",
        LogFormat::Json,
        Some(&format!("http://{closed}")),
    )
    .unwrap();
    assert!(guard.exports_traces());

    // Second calls are refused, not panics.
    assert!(matches!(
        init("again", LogFormat::Text),
        Err(TelemetryError::AlreadyInitialized)
    ));
    assert!(matches!(
        init_with("again", LogFormat::Text, None),
        Err(TelemetryError::AlreadyInitialized)
    ));

    // The global propagator is W3C TraceContext, and spans carry OpenTelemetry contexts.
    let fields: Vec<String> =
        opentelemetry::global::get_text_map_propagator(|p| p.fields().map(str::to_owned).collect());
    assert!(fields.iter().any(|f| f == "traceparent"), "{fields:?}");
    let span = tracing::info_span!("outgoing call");
    let mut metadata = MetadataMap::new();
    span.in_scope(|| {
        tracing::info!(answer = 42, "inside a span");
        inject_trace_context(&mut metadata);
    });
    drop(span);
    let traceparent = metadata
        .get("traceparent")
        .expect("traceparent injected")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        traceparent.starts_with("00-") && traceparent.len() == 55,
        "{traceparent}"
    );

    // Dropping the guard flushes and shuts the exporter down in bounded time.
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || drop(guard)),
    )
    .await
    .expect("telemetry shutdown timed out")
    .unwrap();
}
