//! The metrics exposition formats every Accord `/metrics` endpoint may answer with, and the one
//! `Accept` negotiation between them — shared by the services' own `/metrics`
//! (`accord_runtime::metrics`) and the customer cluster metrics endpoint (telemetry, through
//! `accord_health::exposition`). It lives here because it is pure text handling both of those
//! crates can reach without depending on each other: accord-health stays IO-free and
//! accord-runtime never pulls in the health checks.
//!
//! Rules of [`negotiate`] (for the headers Prometheus 2 and 3 send, the outcome of Prometheus'
//! own `expfmt.NegotiateIncludingOpenMetrics`; unlike it, a tie in `q` goes to OpenMetrics):
//! - The header is a comma-separated list of media ranges, each with optional `;` parameters;
//!   types, subtypes and parameter names compare case-insensitively. A range's weight is its
//!   `q` (default 1, `0`–`1` with at most three decimals); a range with a malformed `q` or
//!   without a `/` is ignored, as RFC 9110 lets a server do.
//! - OpenMetrics is chosen only by an explicit `application/openmetrics-text` range whose
//!   `version` is absent, `1.0.0` or `0.0.1` (the draft name of the same text format). Any other
//!   range that the classic format satisfies — `text/plain`, `text/*`, `*/*` — weighs for the
//!   classic format; wildcards never pick OpenMetrics, so `*/*` and a missing header get the
//!   classic format, which every Prometheus-compatible scraper reads.
//! - OpenMetrics wins when its best weight is above 0 and at least the classic format's best
//!   weight (a tie goes to OpenMetrics: the client named it explicitly).
//! - Anything else (no header, an empty or unparsable one, only types we do not serve) gets the
//!   classic format rather than `406 Not Acceptable`: a metrics endpoint that answers is more
//!   useful to a misconfigured scraper than one that refuses.
//!
//! Cost: one pass over the header, no allocation.

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The classic Prometheus text format, version 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// `Content-Type` of the classic Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `Content-Type` of OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Format {
    /// The `Content-Type` header of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// The format to answer a request with, from its `Accept` header (module docs for the rules).
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Prometheus;
    };
    // Weights in thousandths, so comparisons are exact.
    let mut best_openmetrics: u16 = 0;
    let mut best_classic: u16 = 0;
    for range in accept.split(',') {
        let Some(range) = MediaRange::parse(range) else {
            continue;
        };
        match range.serves() {
            Some(Format::OpenMetrics) => best_openmetrics = best_openmetrics.max(range.q),
            Some(Format::Prometheus) => best_classic = best_classic.max(range.q),
            None => {}
        }
    }
    if best_openmetrics > 0 && best_openmetrics >= best_classic {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

/// One media range of an `Accept` header.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    version: Option<&'a str>,
    /// Weight in thousandths (1000 = `q=1`).
    q: u16,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        if kind.is_empty() || subtype.is_empty() {
            return None;
        }
        let mut range = MediaRange {
            kind,
            subtype,
            version: None,
            q: 1000,
        };
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim() {
                n if n.eq_ignore_ascii_case("q") => range.q = parse_q(value)?,
                n if n.eq_ignore_ascii_case("version") => range.version = Some(value),
                _ => {}
            }
        }
        Some(range)
    }

    /// The format this range asks for, if it asks for one we serve.
    fn serves(&self) -> Option<Format> {
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if is(self.kind, "application") && is(self.subtype, "openmetrics-text") {
            return matches!(self.version, None | Some("1.0.0") | Some("0.0.1"))
                .then_some(Format::OpenMetrics);
        }
        let classic = (is(self.kind, "text") && (is(self.subtype, "plain") || self.subtype == "*"))
            || (self.kind == "*" && self.subtype == "*");
        classic.then_some(Format::Prometheus)
    }
}

/// `q` per RFC 9110: `0`, `1`, `0.` + up to three digits or `1.` + up to three zeros.
fn parse_q(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Three digits, right-padded with zeros: "5" → 500, "25" → 250.
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_accept_and_q_values() {
        use Format::{OpenMetrics as Om, Prometheus as Text};
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                            version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
                            application/openmetrics-text;version=0.0.1;q=0.4,\
                            text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
                            text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        let cases: &[(Option<&str>, Format)] = &[
            (None, Text),
            (Some(""), Text),
            (Some("*/*"), Text),
            (Some("text/*"), Text),
            (Some("application/*"), Text),
            (Some("text/plain"), Text),
            (Some("text/plain; version=0.0.4"), Text),
            (Some("application/json"), Text),
            (Some("garbage"), Text),
            (Some("application/openmetrics-text"), Om),
            (Some("Application/OpenMetrics-Text; Version=1.0.0"), Om),
            (Some("application/openmetrics-text; version=0.0.1"), Om),
            (Some("application/openmetrics-text; version=2.0.0"), Text),
            (Some(prometheus_2), Om),
            (Some(prometheus_3), Om),
            // q-values decide; a tie goes to OpenMetrics; q=0 means "not acceptable".
            (Some("application/openmetrics-text;q=0.5,text/plain"), Text),
            (Some("text/plain;q=0.5,application/openmetrics-text"), Om),
            (
                Some("text/plain;q=0.7,application/openmetrics-text;q=0.7"),
                Om,
            ),
            (
                Some("application/openmetrics-text;q=0.699,text/plain;q=0.7"),
                Text,
            ),
            (Some("application/openmetrics-text;q=0"), Text),
            (Some("application/openmetrics-text;q=0.0,*/*"), Text),
            (Some("application/openmetrics-text;q=0.001"), Om),
            (Some("application/openmetrics-text;q=0.1,*/*;q=0.2"), Text),
            (Some("application/openmetrics-text;q=0.3,*/*;q=0.2"), Om),
            (
                Some("text/plain;q=0,application/openmetrics-text;q=0.1"),
                Om,
            ),
            (
                Some("application/openmetrics-text; q=\"0.8\", text/plain; q=0.9"),
                Text,
            ),
            // A malformed q drops its range (RFC 9110 lets a server ignore it).
            (Some("application/openmetrics-text;q=2"), Text),
            (Some("application/openmetrics-text;q=0.5555"), Text),
            (
                Some("application/openmetrics-text;q=abc,text/plain;q=0.1"),
                Text,
            ),
            (Some("application/openmetrics-text;q=1.000"), Om),
            (Some(" , ,application/openmetrics-text ; q=1 ,"), Om),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(*accept), *want, "Accept: {accept:?}");
        }
        assert_eq!(
            Format::OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert_eq!(
            Format::Prometheus.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }

    /// What real scrapers send: Prometheus 2 and 3 with their default `scrape_protocols`, with
    /// protobuf first (native histograms; we serve no protobuf), configured for the classic
    /// format only, and curl with and without `-H 'Accept: text/plain'`.
    #[test]
    fn scrapers_get_the_format_they_prefer() {
        let cases = [
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                Format::OpenMetrics,
            ),
            (
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
                 application/openmetrics-text;version=0.0.1;q=0.4,\
                 text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
                 text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                Format::OpenMetrics,
            ),
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,\
                 text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                Format::OpenMetrics,
            ),
            (
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                Format::Prometheus,
            ),
            (
                "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,*/*;q=0.1",
                Format::Prometheus,
            ),
            ("text/plain", Format::Prometheus),
            ("*/*", Format::Prometheus),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(Some(accept)), want, "Accept: {accept}");
        }
    }
}
