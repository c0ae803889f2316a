//! W3C trace-context propagation across NATS headers.
//!
//! Outgoing: the current span's OpenTelemetry context is injected with the *global* text-map
//! propagator (the service runtime installs `TraceContextPropagator`; until it does, nothing is
//! injected and nothing breaks). Incoming: the context is extracted from the message headers and
//! set as the parent of the per-message span.

use std::collections::HashMap;
use std::str::FromStr;

use async_nats::HeaderMap;
use async_nats::header::{HeaderName, HeaderValue};
use opentelemetry::propagation::Extractor;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C `traceparent` header / CloudEvents extension attribute.
pub const TRACEPARENT: &str = "traceparent";

/// The current span's propagation headers (`traceparent`, `tracestate`, …), sorted by name.
pub(crate) fn current_headers() -> Vec<(String, String)> {
    let cx = tracing::Span::current().context();
    let mut map: HashMap<String, String> = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut map);
    });
    let mut headers: Vec<(String, String)> = map.into_iter().collect();
    headers.sort();
    headers
}

/// Injects the current span's context into `headers`.
pub(crate) fn inject_current(headers: &mut HeaderMap) {
    for (name, value) in current_headers() {
        insert_header(headers, &name, &value);
    }
}

/// Parents `span` to the trace context carried by `headers`, if any.
pub(crate) fn set_parent_from(span: &tracing::Span, headers: Option<&HeaderMap>) {
    let Some(headers) = headers else {
        return;
    };
    let cx = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // Without an OpenTelemetry layer there is nothing to parent; that is fine.
    let _ = span.set_parent(cx);
}

/// Parents `span` to the trace context carried by `(name, value)` header pairs, if any.
pub(crate) fn set_parent_from_pairs(span: &tracing::Span, headers: &[(String, String)]) {
    if headers.is_empty() {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&PairsExtractor(headers))
    });
    let _ = span.set_parent(cx);
}

/// Inserts a header, skipping (with a warning) names or values NATS cannot carry. async-nats'
/// infallible `insert(&str, &str)` panics on those, so the bus only uses the fallible parsers.
pub(crate) fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) -> bool {
    match (HeaderName::from_str(name), HeaderValue::from_str(value)) {
        (Ok(name), Ok(value)) => {
            headers.insert(name, value);
            true
        }
        _ => {
            tracing::warn!(header = name, "skipping a header NATS cannot carry");
            false
        }
    }
}

/// All headers as `(name, value)` pairs, sorted by name (multi-valued headers repeat the name).
pub(crate) fn header_pairs(headers: Option<&HeaderMap>) -> Vec<(String, String)> {
    let Some(headers) = headers else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .flat_map(|(name, values)| {
            let name: &str = name.as_ref();
            values
                .iter()
                .map(move |value| (name.to_owned(), value.as_str().to_owned()))
        })
        .collect();
    pairs.sort();
    pairs
}

/// The last value of header `name`, if present (and `name` is a valid header name).
pub(crate) fn header_value<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    let name = HeaderName::from_str(name).ok()?;
    headers?.get_last(name).map(HeaderValue::as_str)
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        header_value(Some(self.0), key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

struct PairsExtractor<'a>(&'a [(String, String)]);

impl Extractor for PairsExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_header_skips_what_nats_cannot_carry() {
        let mut headers = HeaderMap::new();
        assert!(insert_header(&mut headers, "traceparent", "00-abc-def-01"));
        assert!(!insert_header(&mut headers, "bad:name", "v"));
        assert!(!insert_header(&mut headers, "good", "line\nbreak"));
        assert_eq!(
            header_pairs(Some(&headers)),
            vec![("traceparent".to_owned(), "00-abc-def-01".to_owned())]
        );
        assert_eq!(
            header_value(Some(&headers), "traceparent"),
            Some("00-abc-def-01")
        );
        assert_eq!(header_value(Some(&headers), "bad:name"), None);
    }

    #[test]
    fn without_a_tracer_nothing_is_injected() {
        assert!(current_headers().is_empty());
    }
}
