//! Per-RPC request counter and latency histogram.
//!
//! The status code is read from the response headers: tonic sends an error of a unary call
//! (and every refusal of the layers inside this one) as a trailers-only response whose headers
//! carry `grpc-status`; a response without it is recorded as `OK`. Errors a streaming call
//! reports in its trailers after the headers are therefore counted as `OK`, and the duration is
//! time to response headers.
//!
//! Invariant: label cardinality is bounded. A method path is used as the `method` label only if
//! it is known (declared in the rule table, health/reflection, or — without auth — belongs to a
//! served service); anything else is recorded as [`OTHER_METHOD`], so random paths cannot grow
//! the registry.

use std::{
    collections::HashSet,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use tonic::Code;
use tower::{Layer, Service};

use crate::metrics::Metrics;

/// `method` label of requests to unknown paths.
pub const OTHER_METHOD: &str = "other";

/// Which paths get their own `method` label.
#[derive(Debug, Default)]
struct KnownMethods {
    /// Exact method paths (`/pkg.Service/Method`).
    methods: HashSet<String>,
    /// Service names whose every method is known (`pkg.Service`).
    services: HashSet<String>,
}

impl KnownMethods {
    fn label<'a>(&self, path: &'a str) -> &'a str {
        let service = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .map(|(s, _)| s);
        if self.methods.contains(path) || service.is_some_and(|s| self.services.contains(s)) {
            path
        } else {
            OTHER_METHOD
        }
    }
}

/// Layer recording the built-in gRPC metrics into a [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Metrics,
    known: Option<Arc<KnownMethods>>,
}

impl MetricsLayer {
    /// Records every path as its own `method` label (use [`MetricsLayer::with_known`] on servers
    /// reachable by untrusted clients).
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            known: None,
        }
    }

    /// Labels only the given method paths and every method of the given service names; other
    /// paths are recorded as [`OTHER_METHOD`].
    pub fn with_known(
        mut self,
        methods: impl IntoIterator<Item = impl Into<String>>,
        services: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.known = Some(Arc::new(KnownMethods {
            methods: methods.into_iter().map(Into::into).collect(),
            services: services.into_iter().map(Into::into).collect(),
        }));
        self
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.metrics.clone(),
            known: self.known.clone(),
        }
    }
}

/// The service produced by [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Metrics,
    known: Option<Arc<KnownMethods>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for MetricsService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let path = req.uri().path();
        let method = match &self.known {
            Some(known) => known.label(path),
            None => path,
        }
        .to_owned();
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            let code = match &result {
                Ok(response) => response_code(response.headers()),
                // The transport turns a service error into a reset stream: no status reached
                // the client.
                Err(_) => Code::Unknown,
            };
            metrics.observe_grpc_request(&method, code, started.elapsed());
            result
        })
    }
}

/// The `grpc-status` of a (trailers-only) response, `OK` when the headers carry none.
fn response_code(headers: &http::HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from_i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_share_one_label() {
        let known = KnownMethods {
            methods: ["/a.v1.A/Get".to_owned()].into(),
            services: ["grpc.health.v1.Health".to_owned()].into(),
        };
        assert_eq!(known.label("/a.v1.A/Get"), "/a.v1.A/Get");
        assert_eq!(known.label("/a.v1.A/Random"), OTHER_METHOD);
        assert_eq!(
            known.label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(known.label("/junk"), OTHER_METHOD);
        assert_eq!(known.label(""), OTHER_METHOD);
    }

    #[test]
    fn code_comes_from_headers_or_defaults_to_ok() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(response_code(&headers), Code::Ok);
        headers.insert("grpc-status", http::HeaderValue::from_static("7"));
        assert_eq!(response_code(&headers), Code::PermissionDenied);
    }
}
