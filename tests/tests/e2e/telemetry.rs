//! The telemetry service end to end: the simulated node agents' samples reach it over core NATS,
//! an XID injected through the simulator becomes one `health.finding-raised` event on the
//! stream, a finding `ListFindings` shows and a CRITICAL node in `ListNodeHealth`; another
//! project's key cannot tell the cluster exists. The cluster metrics endpoint and the services'
//! own `/metrics` negotiate their format and gzip, and promtool reads the classic text.

use accord_core::remediation::HealthEvent;
use accord_e2e::{Env, GPU_INSTANCE, cluster_id, kind, pool_request, wait_for};
use accord_proto::{provisioner::v1 as pb, telemetry::v1 as tpb};
use serde_json::json;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_xid_becomes_a_finding_an_event_and_a_critical_node() {
    let mut env = Env::start().await.unwrap();
    let telemetry = env.start_telemetry().await.unwrap();
    let metrics_addr = telemetry.cluster_metrics_addr().unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "gpus", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "h100", GPU_INSTANCE, 1, ""))
        .await
        .unwrap();
    let health = env.telemetry(&env.admin_token).unwrap();

    // The node reports (its first sample is the checks' baseline) under its pool's name.
    let node = wait_for("the GPU node's first sample", || {
        let mut health = health.clone();
        let cluster = id.clone();
        async move {
            let nodes = health
                .list_node_health(tpb::ListNodeHealthRequest {
                    project: String::new(),
                    cluster,
                })
                .await
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                .into_inner()
                .nodes;
            match nodes.as_slice() {
                [n] if n.pool == "h100" => Ok(n.clone()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
    .unwrap();
    assert!(node.failing_checks.is_empty(), "{node:?}");

    let reply = env
        .inject_fault(
            json!({"kind": "gpu-xid", "node": node.node_name, "gpu": 3, "xid": 79})
                .to_string()
                .as_bytes(),
        )
        .await
        .unwrap();
    assert!(reply.ok, "{reply:?}");

    // The event, with the finding's XID and GPU, addressed to the cluster's project.
    let event = env
        .wait_event("health.finding-raised for XID 79 on GPU 3", |e| {
            kind(e) == "health.finding-raised"
                && e.decode_data::<HealthEvent>().is_ok_and(|h| {
                    let HealthEvent::FindingRaised { finding, .. } = h;
                    finding.xid == Some(79) && finding.gpu == Some(3)
                })
        })
        .await
        .unwrap();
    let HealthEvent::FindingRaised {
        finding, project, ..
    } = event.decode_data::<HealthEvent>().unwrap();
    assert_eq!(finding.cluster, id);
    assert_eq!(finding.node, node.node_id);
    assert_eq!(project.to_string(), env.project);

    // ListFindings shows it.
    let findings = health
        .clone()
        .list_findings(tpb::ListFindingsRequest {
            project: String::new(),
            cluster: "gpus".into(),
            since: None,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    let xid: Vec<_> = findings.iter().filter(|f| f.check == "gpu-xid").collect();
    assert_eq!(xid.len(), 1, "{findings:?}");
    assert_eq!((xid[0].gpu, xid[0].xid), (Some(3), Some(79)));
    assert_eq!(xid[0].severity, "critical");
    assert_eq!(xid[0].node_name, node.node_name);

    // ListNodeHealth: the node is CRITICAL, gpu-xid failing.
    let nodes = health
        .clone()
        .list_node_health(tpb::ListNodeHealthRequest {
            project: String::new(),
            cluster: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .nodes;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(
        nodes[0].verdict,
        i32::from(tpb::Verdict::Critical),
        "{nodes:?}"
    );
    assert!(
        nodes[0].failing_checks.iter().any(|c| c == "gpu-xid"),
        "{nodes:?}"
    );

    // The cluster's metrics endpoint, with the project's key: that GPU's series, the XID
    // counted once under its code (classic text by default, OpenMetrics on request).
    let path = "/v1/clusters/gpus/metrics";
    let (status, content_type, body) =
        http_get(metrics_addr, path, Some(&env.admin_token), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let series = |name: &str, body: &str| -> Vec<String> {
        body.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter(|l| {
                l.contains("gpu=\"3\"") && l.contains(&format!("Hostname=\"{}\"", node.node_name))
            })
            .map(str::to_owned)
            .collect()
    };
    let xid_counter = series("accord_gpu_xid_errors_total", &body);
    assert_eq!(xid_counter.len(), 1, "{body}");
    assert!(xid_counter[0].contains("xid=\"79\""), "{xid_counter:?}");
    assert!(xid_counter[0].ends_with(" 1"), "{xid_counter:?}");
    assert!(
        xid_counter[0].contains("node_pool=\"h100\""),
        "{xid_counter:?}"
    );
    let gauge = series("DCGM_FI_DEV_XID_ERRORS", &body);
    assert!(gauge.len() == 1 && gauge[0].ends_with(" 79"), "{gauge:?}");
    let (status, content_type, body) = http_get(
        metrics_addr,
        path,
        Some(&env.admin_token),
        Some("application/openmetrics-text; version=1.0.0"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(
        series("accord_gpu_xid_errors_total", &body).len(),
        1,
        "{body}"
    );
    // Prometheus 3's defaults (it always sends `Accept-Encoding: gzip`): OpenMetrics, gzipped.
    let bearer = format!("Bearer {}", env.admin_token);
    let response = accord_testkit::http::get(
        metrics_addr,
        path,
        &[
            ("authorization", bearer.as_str()),
            ("accept", PROMETHEUS_3_ACCEPT),
            ("accept-encoding", "gzip"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    let text = response.text().unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(
        series("accord_gpu_xid_errors_total", &text).len(),
        1,
        "{text}"
    );

    // The services' own `/metrics` (the platform's shared registry, served as every binary
    // serves it), after real traffic: `curl -H 'Accept: text/plain' … | promtool check metrics`
    // passes; Prometheus 3 gets OpenMetrics, gzipped.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (service_metrics, _server) = accord_runtime::metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        env.metrics.clone(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let response =
        accord_testkit::http::get(service_metrics, "/metrics", &[("accept", "text/plain")])
            .await
            .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text().unwrap();
    assert!(
        text.lines()
            .any(|l| l == "# TYPE accord_grpc_requests_total counter"),
        "{text}"
    );
    let check = accord_testkit::promtool_check_metrics(&text).unwrap();
    assert!(check.is_clean(), "{check:?}\n---\n{text}");
    let response = accord_testkit::http::get(
        service_metrics,
        "/metrics",
        &[("accept", PROMETHEUS_3_ACCEPT), ("accept-encoding", "gzip")],
    )
    .await
    .unwrap();
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{response:?}"
    );
    assert!(response.text().unwrap().ends_with("# EOF\n"));
    shutdown.cancel();

    // No key: 401 asking for a bearer token; an unknown cluster: 404.
    let (status, _, _) = http_get(metrics_addr, path, None, None).await;
    assert_eq!(status, 401);
    let (status, _, _) = http_get(
        metrics_addr,
        "/v1/clusters/nope/metrics",
        Some(&env.admin_token),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Another project's key: NOT_FOUND, exactly as for a cluster that does not exist.
    let rival = admin
        .projects
        .clone()
        .create_project(pb::CreateProjectRequest {
            name: "rival".into(),
            labels: Default::default(),
        })
        .await
        .unwrap()
        .into_inner();
    let rival_health = env.telemetry(&rival.token).unwrap();
    let foreign = rival_health
        .clone()
        .list_node_health(tpb::ListNodeHealthRequest {
            project: String::new(),
            cluster: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound, "{foreign:?}");
    let missing_id = "cl-01jd0000000000000000000000";
    let missing = rival_health
        .clone()
        .list_node_health(tpb::ListNodeHealthRequest {
            project: String::new(),
            cluster: missing_id.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        foreign.message().replace(&id, "<c>"),
        missing.message().replace(missing_id, "<c>")
    );
    for code in [
        rival_health
            .clone()
            .list_findings(tpb::ListFindingsRequest {
                project: String::new(),
                cluster: id.clone(),
                since: None,
                limit: 0,
            })
            .await
            .unwrap_err()
            .code(),
        rival_health
            .clone()
            .get_latest_sample(tpb::GetLatestSampleRequest {
                project: String::new(),
                cluster: id.clone(),
                node: node.node_name.clone(),
            })
            .await
            .unwrap_err()
            .code(),
    ] {
        assert_eq!(code, Code::NotFound);
    }
    // ... and nothing from the metrics endpoint: the same 404 as a cluster that does not exist.
    let (status, _, foreign_body) = http_get(
        metrics_addr,
        &format!("/v1/clusters/{id}/metrics"),
        Some(&rival.token),
        None,
    )
    .await;
    assert_eq!(status, 404, "{foreign_body}");
    let (_, _, missing_body) = http_get(
        metrics_addr,
        &format!("/v1/clusters/{missing_id}/metrics"),
        Some(&rival.token),
        None,
    )
    .await;
    assert_eq!(
        foreign_body.replace(&id, "<c>"),
        missing_body.replace(missing_id, "<c>")
    );

    // The owner reads the node's latest sample, which shows the XID.
    let latest = health
        .clone()
        .get_latest_sample(tpb::GetLatestSampleRequest {
            project: String::new(),
            cluster: id.clone(),
            node: node.node_name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let sample: serde_json::Value = serde_json::from_str(&latest.sample_json).unwrap();
    assert_eq!(sample["gpus"][3]["xid_last"], 79, "{sample}");
    assert_eq!(latest.node_id, node.node_id);

    // A bounded request field is refused by name.
    let long = health
        .clone()
        .list_findings(tpb::ListFindingsRequest {
            project: String::new(),
            cluster: "c".repeat(300),
            since: None,
            limit: 5000,
        })
        .await
        .unwrap_err();
    assert_eq!(long.code(), Code::InvalidArgument);
    assert!(
        long.message().contains("cluster") && long.message().contains("limit"),
        "{long:?}"
    );
}

/// What Prometheus 3 sends by default (`scrape_protocols` unset).
const PROMETHEUS_3_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;\
    escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
    text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/// `GET path` over HTTP/1.1: (status, content type, body).
async fn http_get(
    addr: std::net::SocketAddr,
    path: &str,
    bearer: Option<&str>,
    accept: Option<&str>,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = bearer {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(accept) = accept {
        request.push_str(&format!("Accept: {accept}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}
