//! The customer metrics endpoint: `GET /v1/clusters/{cluster}/metrics`, one cluster's GPU,
//! InfiniBand and node series under dcgm-exporter's names (`accord_health::exposition`), for a
//! Prometheus the customer runs.
//!
//! - Authentication: `Authorization: Bearer <API key>`, verified like every gRPC call (the
//!   provisioner checks the key; `401` with `WWW-Authenticate: Bearer` otherwise).
//! - Scoping: the cluster is named by id or name and resolved with the kit's one rule
//!   (`accord_runtime::scope`): another project's cluster is `404`, word for word like a
//!   missing one; then the caller's role in the cluster's project is checked ([`RULE`]: any
//!   member reads, as do provider operators).
//! - Content negotiation: OpenMetrics 1.0 when the scraper's `Accept` asks for it, the classic
//!   text format 0.0.4 otherwise — the platform's one rule (`accord_core::exposition::negotiate`),
//!   applied and answered (content type, `Vary: Accept`) by the kit's
//!   `accord_runtime::metrics::negotiated_format` and `exposition_response`, as every service's
//!   own `/metrics` is.
//! - Compression: gzip when `Accept-Encoding` allows it, through the kit's
//!   `accord_runtime::metrics::compression` (the same layer as every `/metrics`).
//!
//! Invariants:
//! - the fleet's lock is held only to copy the cluster's latest samples and XID counters;
//!   rendering (O(series)) runs on the blocking pool, at most [`MAX_CONCURRENT_RENDERS`] at a
//!   time — a scrape beyond that is `429` with `Retry-After`, never a queue;
//! - error bodies are one short line that never repeats more than a bounded part of the path.

use std::{net::SocketAddr, sync::Arc};

use accord_core::{
    DomainError,
    error::echo,
    limits::MAX_REF_BYTES,
    responsibility::{Action, Actor, RpcRule},
};
use accord_health::exposition::{self, ClusterLabels, NodeMetrics};
use accord_runtime::{
    grpc::{Authenticator, bearer_token},
    metrics, scope,
};
use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;

use crate::service::Telemetry;

/// The endpoint's authorisation rule: reading a cluster's metrics is the provider's
/// "cluster metrics endpoint", open to every member of the cluster's project.
pub const RULE: RpcRule = RpcRule::new(
    "GET /v1/clusters/{cluster}/metrics",
    Action::Read,
    "cluster-metrics",
    Actor::Either,
    true,
);

/// Renders running at once; more scrapes are answered `429`.
pub const MAX_CONCURRENT_RENDERS: usize = 4;

/// The path of a cluster's metrics under the endpoint's base URL.
pub fn path(cluster: &str) -> String {
    format!("/v1/clusters/{cluster}/metrics")
}

struct Endpoint {
    telemetry: Arc<Telemetry>,
    authenticator: Box<dyn Authenticator>,
    renders: Semaphore,
}

/// Serves the endpoint on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    telemetry: Arc<Telemetry>,
    authenticator: impl Authenticator,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let endpoint = Arc::new(Endpoint {
        telemetry,
        authenticator: Box::new(authenticator),
        renders: Semaphore::new(MAX_CONCURRENT_RENDERS),
    });
    let app = Router::new()
        .route("/v1/clusters/{cluster}/metrics", get(cluster_metrics))
        .layer(metrics::compression())
        .with_state(endpoint);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}

/// Binds the endpoint's listener (port 0 picks a free port); the address is known before the
/// service starts, so `accord up` can print it.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

async fn cluster_metrics(
    State(endpoint): State<Arc<Endpoint>>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
) -> Response {
    match render(&endpoint, &cluster, &headers).await {
        Ok((format, body)) => metrics::exposition_response(format, body),
        Err(e) => refusal(&e),
    }
}

async fn render(
    endpoint: &Endpoint,
    cluster: &str,
    headers: &HeaderMap,
) -> Result<(exposition::Format, String), DomainError> {
    if cluster.len() > MAX_REF_BYTES {
        return Err(DomainError::invalid(
            "cluster",
            format!("at most {MAX_REF_BYTES} bytes"),
        ));
    }
    let token =
        bearer_token(headers).map_err(|s| DomainError::Unauthenticated(s.message().to_owned()))?;
    let principal = endpoint.authenticator.authenticate(token).await?;
    let reader = endpoint.telemetry.reader();
    let entry = scope::cluster(reader, &principal, None, cluster)?;
    let view = reader
        .cluster(entry.id)?
        .map(|v| v.value)
        .ok_or_else(|| DomainError::not_found("cluster", echo(cluster)))?;
    RULE.authorize_in_project(&principal, view.project)?;
    let format = metrics::negotiated_format(headers);
    let Ok(_permit) = endpoint.renders.try_acquire() else {
        return Err(DomainError::ResourceExhausted(
            "too many metrics scrapes at once; retry in a second".to_owned(),
        ));
    };
    let (samples, xids) = endpoint.telemetry.metrics_snapshot(view.id);
    let body = tokio::task::spawn_blocking(move || {
        let pools: Vec<String> = samples.iter().map(|s| view.pool_name(s.pool)).collect();
        let nodes: Vec<NodeMetrics<'_>> = samples
            .iter()
            .zip(&pools)
            .map(|(sample, pool_name)| NodeMetrics { sample, pool_name })
            .collect();
        let labels = ClusterLabels {
            id: &view.id,
            name: &view.name,
        };
        exposition::render(format, &labels, &nodes, &xids)
    })
    .await
    .map_err(|e| DomainError::internal(format!("rendering metrics: {e}")))?;
    Ok((format, body))
}

/// The HTTP answer to a refusal: its status and one line of text.
fn refusal(e: &DomainError) -> Response {
    let status = match e {
        DomainError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
        DomainError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        DomainError::PermissionDenied(_) => StatusCode::FORBIDDEN,
        DomainError::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "cluster metrics endpoint");
    }
    let mut response = (status, format!("{e}\n")).into_response();
    let headers = response.headers_mut();
    match status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_agrees_with_the_matrix() {
        accord_core::responsibility::check_rules(&[RULE]).unwrap();
    }

    #[test]
    fn refusals_carry_their_http_status_and_headers() {
        let cases = [
            (DomainError::invalid("cluster", "too long"), 400),
            (DomainError::not_found("cluster", "x".to_owned()), 404),
            (DomainError::Unauthenticated("no key".into()), 401),
            (DomainError::PermissionDenied("role".into()), 403),
            (DomainError::ResourceExhausted("busy".into()), 429),
            (DomainError::Unavailable("bus".into()), 503),
        ];
        for (error, code) in cases {
            let response = refusal(&error);
            assert_eq!(response.status().as_u16(), code, "{error}");
        }
        assert_eq!(
            refusal(&DomainError::Unauthenticated("no key".into())).headers()
                [header::WWW_AUTHENTICATE],
            "Bearer"
        );
        assert_eq!(
            refusal(&DomainError::ResourceExhausted("busy".into())).headers()[header::RETRY_AFTER],
            "1"
        );
    }
}
