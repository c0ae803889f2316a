//! W3C trace context across gRPC: extract on the server, inject on clients.
//!
//! The server opens one `grpc.request` span per call whose OpenTelemetry parent is the
//! `traceparent` the client sent, so a trace continues from the CLI through the service and on
//! to the bus. Both directions use the global propagator installed by
//! [`crate::telemetry::install_propagator`] (a no-op until then).

use opentelemetry::propagation::{Extractor, Injector};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The span of one inbound gRPC request (used as tonic's `trace_fn`).
pub(crate) fn request_span(req: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "grpc.request",
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.method = %req.uri().path(),
        principal = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(req.headers()))
    });
    // Fails only when no OpenTelemetry layer is installed, i.e. traces are not exported.
    let _ = span.set_parent(parent);
    span
}

/// Writes the current span's trace context (`traceparent`, `tracestate`) into outgoing gRPC
/// metadata. Clients call it on each request they build.
pub fn inject_trace_context(metadata: &mut MetadataMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataInjector(metadata))
    });
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::{
        Context,
        trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState},
    };
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    #[test]
    fn traceparent_round_trips_through_metadata_and_headers() {
        let propagator = TraceContextPropagator::new();
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let mut metadata = MetadataMap::new();
        propagator.inject_context(
            &Context::new().with_remote_span_context(sc.clone()),
            &mut MetadataInjector(&mut metadata),
        );
        assert_eq!(
            metadata.get("traceparent").unwrap().to_str().unwrap(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let headers = metadata.into_headers();
        let extracted = propagator.extract(&HeaderExtractor(&headers));
        assert_eq!(extracted.span().span_context().trace_id(), sc.trace_id());
    }
}
