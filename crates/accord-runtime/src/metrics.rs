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
//! [`serve`] exposes the registry over HTTP/1.1 on `/metrics` as OpenMetrics 1.0 text. The
//! format is chosen deliberately (prometheus-client emits OpenMetrics, `# EOF` included) and the
//! content type says so, so Prometheus parses it with its OpenMetrics parser.
//!
//! Invariant: a metric name is registered once per registry; the built-in gRPC names are
//! reserved.

use std::{
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Metric, Registry, Unit},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// A series' labels as `name = value` pairs fixed at the call site, e.g.
/// `Family<Labels<2>, Counter>` with `&[("operation", "drain-node"), ("result", "ok")]`.
pub type Labels<const N: usize> = [(&'static str, &'static str); N];
/// Content type of the `/metrics` response.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

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
        let mut out = String::new();
        encode(&mut out, &self.registry_mut())?;
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

async fn scrape(State(metrics): State<Metrics>) -> Response {
    match metrics.encode() {
        Ok(body) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
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
    use prometheus_client::metrics::gauge::Gauge;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn http_get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[test]
    fn encodes_builtin_and_service_metrics() {
        let metrics = Metrics::new("provisioner");
        let gauge = Gauge::<i64>::default();
        metrics.register("accord_clusters", "Clusters known", gauge.clone());
        gauge.set(3);
        metrics.observe_grpc_request(
            "/x.v1.Y/Z",
            tonic::Code::PermissionDenied,
            Duration::from_millis(3),
        );
        let text = metrics.encode().unwrap();
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

    #[tokio::test]
    async fn serves_openmetrics_over_http_on_a_free_port() {
        let metrics = Metrics::new("provisioner");
        metrics.observe_grpc_request("/x.v1.Y/Z", tonic::Code::Ok, Duration::from_millis(1));
        let shutdown = CancellationToken::new();
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), metrics, shutdown.clone())
            .await
            .unwrap();
        assert_ne!(addr.port(), 0);

        let response = http_get(addr, "/metrics").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response
                .to_ascii_lowercase()
                .contains(&format!("content-type: {OPENMETRICS_CONTENT_TYPE}")),
            "{response}"
        );
        assert!(
            response.contains("accord_grpc_requests_total"),
            "{response}"
        );
        assert!(
            response.contains("accord_grpc_request_duration_seconds"),
            "{response}"
        );

        let not_found = http_get(addr, "/nope").await;
        assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");

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
