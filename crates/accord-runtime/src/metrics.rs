//! Prometheus metrics of one service and the `/metrics` endpoint that serves them.
//!
//! [`Metrics`] owns a `prometheus_client` [`Registry`] shared by every part of a service (it is
//! cheap to clone). It comes with the built-in gRPC metrics that [`crate::grpc::MetricsLayer`]
//! records for every call:
//!
//! - `accord_grpc_requests_total{service,method,code}` (counter),
//! - `accord_grpc_request_duration_seconds{service,method}` (histogram),
//!
//! where `service` is the Accord service (`provisioner`), `method` the full gRPC method path
//! (`/accord.provisioner.v1.Clusters/CreateCluster`) and `code` the canonical gRPC code name
//! (`OK`, `PERMISSION_DENIED`, …). Services register their own metrics with
//! [`Metrics::register`] or [`Metrics::registry_mut`].
//!
//! [`serve`] exposes the registry over HTTP/1.1 on `/metrics` in the format the scraper's
//! `Accept` header asks for, negotiated by the platform's one rule
//! ([`accord_core::exposition::negotiate`], shared with telemetry's cluster metrics endpoint):
//! OpenMetrics 1.0 when asked for it (Prometheus 2 and 3 by default), the classic text format
//! 0.0.4 otherwise (`Accept: text/plain`, `*/*`, none). Both come from `prometheus-client`'s own
//! encoders, so both describe the same registry: in the classic text a counter's HELP and TYPE
//! carry its `_total` name, and there is no `# UNIT`, `_created` series, exemplar or `# EOF`
//! (an info metric is a gauge named `…_info`). Responses say `Vary: Accept` and, through
//! [`compression`], are gzip-compressed (at gzip's fastest level) when `Accept-Encoding` allows
//! it (`Content-Encoding: gzip`, `Vary: accept-encoding`). [`negotiated_format`],
//! [`exposition_response`] and [`compression`] are the one implementation of this: telemetry's
//! cluster metrics endpoint uses them too.
//!
//! Invariant: a metric name is registered once per registry; the built-in gRPC names are
//! reserved.

use std::{
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use accord_core::exposition::{Format, negotiate};
use axum::{
    Router,
    body::HttpBody,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{
    encoding::{EncodeLabelSet, prometheus_text, text},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Metric, Registry, Unit},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tower_http::compression::{
    CompressionLayer, CompressionLevel,
    predicate::{DefaultPredicate, Predicate},
};

/// A series' labels as `name = value` pairs fixed at the call site, e.g.
/// `Family<Labels<2>, Counter>` with `&[("operation", "drain-node"), ("result", "ok")]`.
pub type Labels<const N: usize> = [(&'static str, &'static str); N];
pub use accord_core::exposition::{OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};

/// Labels of `accord_grpc_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcRequestLabels {
    service: String,
    method: String,
    code: &'static str,
}

/// Labels of `accord_grpc_request_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcMethodLabels {
    service: String,
    method: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Request-duration buckets: 0.5 ms … ~16 s.
fn grpc_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

struct Inner {
    service: String,
    registry: Mutex<Registry>,
    grpc_requests: Family<GrpcRequestLabels, Counter>,
    grpc_duration: HistogramFamily<GrpcMethodLabels>,
}

/// The metrics of one service. Clones share the registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("service", &self.inner.service)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry for `service` with the built-in gRPC metrics registered.
    pub fn new(service: &str) -> Self {
        let mut registry = Registry::default();
        let grpc_requests = Family::<GrpcRequestLabels, Counter>::default();
        registry.register(
            "accord_grpc_requests",
            "gRPC requests handled, by method and status code",
            grpc_requests.clone(),
        );
        let grpc_duration: HistogramFamily<GrpcMethodLabels> =
            Family::new_with_constructor(grpc_duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "accord_grpc_request_duration",
            "Time from receiving a gRPC request to sending its response headers",
            Unit::Seconds,
            grpc_duration.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                service: service.to_owned(),
                registry: Mutex::new(registry),
                grpc_requests,
                grpc_duration,
            }),
        }
    }

    /// The service these metrics belong to.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// Registers a service metric. Counters get `_total` appended by the encoder.
    pub fn register(&self, name: impl Into<String>, help: impl Into<String>, metric: impl Metric) {
        self.registry_mut().register(name, help, metric);
    }

    /// A new metric of type `M` (a counter, a family …), registered under `name`.
    pub fn registered<M: Metric + Clone + Default>(
        &self,
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> M {
        let metric = M::default();
        self.register(name, help, metric.clone());
        metric
    }

    /// The registry, for sub-registries, units or collectors. Hold the guard briefly: a scrape
    /// waits for it.
    pub fn registry_mut(&self) -> MutexGuard<'_, Registry> {
        // A panic while registering cannot leave the registry half-updated in a way that
        // matters for encoding, so a poisoned lock is still usable.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one finished gRPC call.
    pub fn observe_grpc_request(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        let service = self.inner.service.clone();
        self.inner
            .grpc_requests
            .get_or_create(&GrpcRequestLabels {
                service: service.clone(),
                method: method.to_owned(),
                code: code_name(code),
            })
            .inc();
        self.inner
            .grpc_duration
            .get_or_create(&GrpcMethodLabels {
                service,
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The registry as OpenMetrics text (ends with `# EOF`).
    pub fn encode(&self) -> Result<String, fmt::Error> {
        self.encode_as(Format::OpenMetrics)
    }

    /// The registry in `format`: OpenMetrics 1.0 or the classic text format 0.0.4.
    pub fn encode_as(&self, format: Format) -> Result<String, fmt::Error> {
        let mut out = String::new();
        let registry = self.registry_mut();
        match format {
            Format::OpenMetrics => text::encode(&mut out, &registry)?,
            Format::Prometheus => prometheus_text::encode(&mut out, &registry)?,
        }
        Ok(out)
    }
}

/// The canonical name of a gRPC status code (defined once, in `accord-proto`).
pub use accord_proto::convert::code_name;

/// Why the metrics endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsServeError {
    /// The listen address could not be bound.
    #[error("cannot bind the metrics endpoint to {addr}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("metrics endpoint failed")]
    Serve(#[source] std::io::Error),
}

/// Serves `metrics` on `http://<addr>/metrics` until `shutdown` is cancelled. Returns the bound
/// address (port 0 picks a free port) and the server task.
pub async fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<Result<(), MetricsServeError>>), MetricsServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| MetricsServeError::Bind { addr, source })?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .layer(compression())
        .with_state(metrics);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(MetricsServeError::Serve)
    });
    tracing::info!(addr = %bound, "metrics endpoint listening");
    Ok((bound, task))
}

/// The compression every metrics endpoint applies: gzip (the one codec the workspace compiles
/// into tower-http) when the request's `Accept-Encoding` allows it (q-values honoured, `q=0`
/// refuses), identity otherwise, for the responses [`CompressMetrics`] picks (successful ones of
/// 32 bytes or more). A compressible response gets `Vary: accept-encoding` either way, so a
/// cache never hands a gzip body to a client that did not ask for one. Gzip runs at its fastest
/// level: the CPU a scrape costs stays small and bounded, and exposition text (repeated names
/// and labels) compresses well even so.
pub fn compression() -> CompressionLayer<CompressMetrics> {
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(CompressMetrics::default())
}

/// What [`compression`] compresses: tower-http's default choice (bodies of 32 bytes or more;
/// not gRPC, images or event streams) among successful responses only — a refusal or an
/// encoding failure is one short line of text, answered as it is.
#[derive(Clone, Default)]
pub struct CompressMetrics(DefaultPredicate);

impl Predicate for CompressMetrics {
    fn should_compress<B: HttpBody>(&self, response: &http::Response<B>) -> bool {
        response.status().is_success() && self.0.should_compress(response)
    }
}

/// The exposition format a scrape's `Accept` header asks for, by the platform's one rule
/// ([`negotiate`]; no header, or one that is not text, is the classic text format).
pub fn negotiated_format(headers: &HeaderMap) -> Format {
    negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    )
}

/// A scrape's successful answer: `body` in `format`, with its content type and `Vary: Accept`
/// (caches must key on the format asked for).
pub fn exposition_response(format: Format, body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::VARY, HeaderValue::from_static("accept")),
        ],
        body,
    )
        .into_response()
}

async fn scrape(State(metrics): State<Metrics>, headers: HeaderMap) -> Response {
    let format = negotiated_format(&headers);
    match metrics.encode_as(format) {
        Ok(body) => exposition_response(format, body),
        Err(err) => {
            tracing::error!(error = %err, "encoding metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_testkit::{http, promtool_check_metrics};
    use prometheus_client::metrics::{gauge::Gauge, info::Info};

    /// What Prometheus 3 sends by default (`scrape_protocols` unset).
    const PROMETHEUS_3_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;\
        escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
        text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,\
        */*;q=0.1";

    /// A registry with every kind of metric a service registers: the built-in gRPC counter and
    /// histogram, a labelled counter family, a gauge and an info metric.
    fn busy_metrics() -> Metrics {
        let metrics = Metrics::new("provisioner");
        let gauge = Gauge::<i64>::default();
        metrics.register("accord_clusters", "Clusters known", gauge.clone());
        gauge.set(3);
        let ops: Family<Labels<2>, Counter> =
            metrics.registered("accord_infra_operations", "Driver operations by result");
        ops.get_or_create(&[("operation", "drain-node"), ("result", "ok")])
            .inc_by(2);
        metrics.register(
            "accord_build",
            "The running build",
            Info::new([("version", "1.2.3")]),
        );
        metrics.observe_grpc_request(
            "/x.v1.Y/Z",
            tonic::Code::PermissionDenied,
            Duration::from_millis(3),
        );
        metrics
    }

    #[test]
    fn encodes_builtin_and_service_metrics() {
        let text = busy_metrics().encode().unwrap();
        assert!(
            text.contains(
                r#"accord_grpc_requests_total{service="provisioner",method="/x.v1.Y/Z",code="PERMISSION_DENIED"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("# UNIT accord_grpc_request_duration_seconds seconds"),
            "{text}"
        );
        assert!(
            text.contains(r#"accord_grpc_request_duration_seconds_count{service="provisioner",method="/x.v1.Y/Z"} 1"#),
            "{text}"
        );
        assert!(text.contains("accord_clusters 3"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn classic_text_types_counters_under_their_total_name() {
        let text = busy_metrics().encode_as(Format::Prometheus).unwrap();
        for line in [
            "# HELP accord_grpc_requests_total gRPC requests handled, by method and status code.",
            "# TYPE accord_grpc_requests_total counter",
            r#"accord_grpc_requests_total{service="provisioner",method="/x.v1.Y/Z",code="PERMISSION_DENIED"} 1"#,
            "# TYPE accord_grpc_request_duration_seconds histogram",
            r#"accord_grpc_request_duration_seconds_bucket{service="provisioner",method="/x.v1.Y/Z",le="+Inf"} 1"#,
            r#"accord_grpc_request_duration_seconds_count{service="provisioner",method="/x.v1.Y/Z"} 1"#,
            "# TYPE accord_infra_operations_total counter",
            r#"accord_infra_operations_total{operation="drain-node",result="ok"} 2"#,
            "# TYPE accord_clusters gauge",
            "accord_clusters 3",
            "# TYPE accord_build_info gauge",
            r#"accord_build_info{version="1.2.3"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing:\n{text}");
        }
        for absent in ["# EOF", "# UNIT", "_created", "unknown", "untyped"] {
            assert!(!text.contains(absent), "{absent:?} in:\n{text}");
        }
    }

    #[test]
    fn promtool_reads_the_classic_text_cleanly() {
        let metrics = busy_metrics();
        let classic = metrics.encode_as(Format::Prometheus).unwrap();
        let check = promtool_check_metrics(&classic).unwrap();
        assert!(check.is_clean(), "{check:?}\n---\n{classic}");
        // The check can fail: promtool, a classic-text reader, does not accept the OpenMetrics
        // text this endpoint used to send to everyone.
        let openmetrics = metrics.encode().unwrap();
        let check = promtool_check_metrics(&openmetrics).unwrap();
        assert!(!check.is_clean(), "{check:?}\n---\n{openmetrics}");
    }

    #[tokio::test]
    async fn serves_the_negotiated_format_gzipped_when_accepted() {
        let metrics = busy_metrics();
        let shutdown = CancellationToken::new();
        let (addr, task) = serve(
            "127.0.0.1:0".parse().unwrap(),
            metrics.clone(),
            shutdown.clone(),
        )
        .await
        .unwrap();
        assert_ne!(addr.port(), 0);

        // curl's default and `Accept: text/plain`: the classic text, uncompressed.
        for accept in [None, Some("*/*"), Some("text/plain")] {
            let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
            let response = http::get(addr, "/metrics", &headers).await.unwrap();
            assert_eq!(response.status, 200, "{accept:?}");
            assert_eq!(
                response.header("content-type"),
                Some(PROMETHEUS_CONTENT_TYPE),
                "{accept:?}"
            );
            assert_eq!(response.header("content-encoding"), None, "{accept:?}");
            let vary = response.header_tokens("vary");
            assert!(vary.contains(&"accept".to_owned()), "{vary:?}");
            let text = response.text().unwrap();
            assert_eq!(text, metrics.encode_as(Format::Prometheus).unwrap());
            let check = promtool_check_metrics(&text).unwrap();
            assert!(check.is_clean(), "{accept:?}: {check:?}\n---\n{text}");
        }

        // Prometheus 3's defaults: OpenMetrics, gzip-compressed.
        let response = http::get(
            addr,
            "/metrics",
            &[("accept", PROMETHEUS_3_ACCEPT), ("accept-encoding", "gzip")],
        )
        .await
        .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some(OPENMETRICS_CONTENT_TYPE)
        );
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        let vary = response.header_tokens("vary");
        assert!(
            vary.contains(&"accept".to_owned()) && vary.contains(&"accept-encoding".to_owned()),
            "{vary:?}"
        );
        assert!(!response.body.starts_with(b"# HELP"), "not compressed");
        assert_eq!(response.text().unwrap(), metrics.encode().unwrap());

        // The classic text gzipped; and gzip refused with q=0 is not used.
        let response = http::get(
            addr,
            "/metrics",
            &[
                ("accept", "text/plain"),
                ("accept-encoding", "deflate, gzip;q=0.8"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        let text = response.text().unwrap();
        assert!(promtool_check_metrics(&text).unwrap().is_clean(), "{text}");
        let response = http::get(
            addr,
            "/metrics",
            &[("accept-encoding", "gzip;q=0, identity")],
        )
        .await
        .unwrap();
        assert_eq!(response.header("content-encoding"), None);
        assert!(response.body.starts_with(b"# HELP"));

        let not_found = http::get(addr, "/nope", &[]).await.unwrap();
        assert_eq!(not_found.status, 404);

        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn bind_error_names_the_address() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = serve(addr, Metrics::new("x"), CancellationToken::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
