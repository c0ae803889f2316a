//! The customer metrics endpoint over real HTTP, with an authenticator that knows one key: the
//! format negotiated from `Accept` (Prometheus 3's defaults get OpenMetrics; `Accept:
//! text/plain` and curl's `*/*` get the classic text, which `promtool check metrics` reads with
//! its counters typed), gzip when `Accept-Encoding` allows it, `Vary` on both.

use accord_core::{
    DomainError,
    iam::{Principal, Role},
    ids::{ApiKeyId, NodeId, NodePoolId, ProjectId, UserId},
};
use accord_health::{
    HealthConfig,
    exposition::{OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE},
};
use accord_runtime::{grpc::Authenticator, metrics::Metrics};
use accord_store::Store;
use accord_telemetry::{Telemetry, http};
use accord_testkit::{http as client, promtool_check_metrics};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::{bytes, put_cluster, sample, subject, view, with_xid};

const KEY: &str = "accord_key_reader";

/// What Prometheus 3 sends by default.
const PROMETHEUS_3_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;\
    escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
    text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/// Knows [`KEY`]: a reader of one project.
struct OneKey(ProjectId);

impl Authenticator for OneKey {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>> {
        let answer = (token == KEY)
            .then(|| Principal::Customer {
                user: UserId::generate(),
                user_name: "ada@example.com".into(),
                project: self.0,
                role: Role::Reader,
                key: ApiKeyId::generate(),
            })
            .ok_or_else(|| DomainError::Unauthenticated("unknown key".into()));
        Box::pin(async move { answer })
    }
}

/// promtool's lints of dcgm-exporter's own naming, which the endpoint keeps for compatibility
/// (as in `accord_health`'s exposition tests): camelCase labels, a `…_COUNTER` gauge.
fn is_dcgm_compat_lint(line: &str) -> bool {
    let camel = " label names should be written in 'snake_case' not 'camelCase'";
    line.strip_suffix(camel).is_some_and(|name| {
        name.starts_with("DCGM_FI_DEV_") || name == "accord_gpu_xid_errors_total"
    }) || line == "DCGM_FI_DEV_PCIE_REPLAY_COUNTER metric name should not include type 'counter'"
}

#[tokio::test]
async fn scrapes_negotiate_the_format_and_gzip() {
    let store = Store::temporary().unwrap();
    let pool = NodePoolId::generate();
    let project = ProjectId::generate();
    let cluster = view(project, pool);
    put_cluster(&store, &cluster).await;
    let telemetry = Telemetry::new(
        store.clone(),
        HealthConfig::default(),
        &Metrics::new("telemetry"),
    );
    let base = sample(cluster.id, NodeId::generate(), pool, 1_000_000);
    let mut tripping = with_xid(base.clone(), 3, 79);
    tripping.ts_ms += 10_000;
    for s in [&base, &tripping] {
        telemetry.ingest(&subject(s), &bytes(s)).await;
    }

    let (listener, addr) = http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(http::serve(
        listener,
        telemetry,
        OneKey(project),
        shutdown.clone(),
    ));
    let path = http::path(&cluster.name);
    let bearer = format!("Bearer {KEY}");

    // The classic text for `text/plain`, curl's `*/*` and no Accept at all; gzip on request.
    for (accept, encoding) in [
        (Some("text/plain"), None),
        (Some("*/*"), Some("gzip")),
        (None, Some("gzip, deflate, br")),
    ] {
        let mut headers = vec![("authorization", bearer.as_str())];
        headers.extend(accept.map(|a| ("accept", a)));
        headers.extend(encoding.map(|e| ("accept-encoding", e)));
        let response = client::get(addr, &path, &headers).await.unwrap();
        assert_eq!(response.status, 200, "{accept:?}");
        assert_eq!(
            response.header("content-type"),
            Some(PROMETHEUS_CONTENT_TYPE)
        );
        assert_eq!(
            response.header("content-encoding"),
            encoding.map(|_| "gzip"),
            "{accept:?} {encoding:?}"
        );
        let vary = response.header_tokens("vary");
        assert!(
            vary.contains(&"accept".to_owned()) && vary.contains(&"accept-encoding".to_owned()),
            "{vary:?}"
        );
        let text = response.text().unwrap();
        assert!(
            text.lines()
                .any(|l| l == "# TYPE accord_gpu_xid_errors_total counter"),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("accord_gpu_xid_errors_total{")
                    && l.contains("xid=\"79\"")
                    && l.ends_with(" 1")),
            "{text}"
        );
        let check = promtool_check_metrics(&text).unwrap();
        // 0: clean; 3: lint findings only (1 is a parse error).
        assert!(matches!(check.code, Some(0 | 3)), "{check:?}\n---\n{text}");
        let unexpected: Vec<&str> = check
            .output
            .lines()
            .filter(|l| !l.is_empty() && !is_dcgm_compat_lint(l))
            .collect();
        assert!(
            unexpected.is_empty(),
            "promtool: {unexpected:#?}\n---\n{text}"
        );
    }

    // Prometheus 3's defaults (it always accepts gzip): OpenMetrics, compressed.
    let response = client::get(
        addr,
        &path,
        &[
            ("authorization", bearer.as_str()),
            ("accept", PROMETHEUS_3_ACCEPT),
            ("accept-encoding", "gzip"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    let text = response.text().unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.lines()
            .any(|l| l == "# TYPE accord_gpu_xid_errors counter"),
        "{text}"
    );

    // A refusal is still a short plain line, whatever the client accepts.
    let response = client::get(addr, &path, &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.text().unwrap().ends_with('\n'));

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
