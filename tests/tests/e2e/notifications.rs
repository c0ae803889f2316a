//! Customer webhooks end to end: a project registers a webhook pointing at an HTTP server run by
//! the test (plain HTTP on loopback: the harness allows it, as `accord up` does); XID 79 on a
//! GPU node of a cluster with AutoClusters on makes the provisioner decide and repair, and the
//! server receives `remediation.decided`, `remediation.succeeded` and the incident's
//! `ticket.opened` as CloudEvents, each signed with the webhook's secret; `ListDeliveries`
//! shows them delivered.

use std::sync::{Arc, Mutex};

use accord_e2e::{Bearer, Env, GPU_INSTANCE, cluster_id, cluster_request, pool_request, wait_for};
use accord_notify::signature::verify;
use accord_proto::{
    provisioner::v1 as pb,
    support::v1::{self as spb, notifications_client::NotificationsClient},
    telemetry::v1 as tpb,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A request the receiver got: its headers (lower-case names) and body.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 receiver on loopback answering 200 to every request.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/accord", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let rec = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let rec = Arc::clone(&rec);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head_end..head_end + len].to_vec();
                rec.lock().unwrap().push(Received { headers, body });
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_remediation_and_its_incident_reach_the_customers_webhook_signed() {
    let mut env = Env::start().await.unwrap();
    env.start_telemetry().await.unwrap();
    env.start_support_triage().await.unwrap();
    let admin = env.admin().unwrap();
    let mut notifications = NotificationsClient::with_interceptor(
        env.support_channel().unwrap(),
        Bearer::new(&env.admin_token).unwrap(),
    );
    let (url, seen) = receiver().await;

    // A webhook for everything (no kinds); the secret comes back this once.
    let hook = notifications
        .create_webhook(spb::CreateWebhookRequest {
            project: String::new(),
            url: url.clone(),
            kinds: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(hook.id.starts_with("wh-"), "{hook:?}");
    assert!(hook.secret.starts_with("whsec_"), "{hook:?}");
    let listed = notifications
        .list_webhooks(spb::ListWebhooksRequest::default())
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].secret, "", "the secret is shown only at creation");
    // A URL the policy refuses is INVALID_ARGUMENT naming `url`.
    let refused = notifications
        .create_webhook(spb::CreateWebhookRequest {
            project: String::new(),
            url: "http://example.com/hook".into(),
            kinds: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("url"), "{}", refused.message());

    // A GPU cluster with AutoClusters on.
    let mut req = cluster_request("notified", "");
    req.spec.as_mut().unwrap().autoclusters = Some(pb::AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent: 50,
        max_in_flight_per_pool: 1,
        mode: String::new(),
        ..Default::default()
    });
    let created = admin
        .clusters
        .clone()
        .create_cluster(req)
        .await
        .unwrap()
        .into_inner();
    let cluster = cluster_id(&created).unwrap();
    env.wait_cluster(&admin, &cluster, "cluster running", accord_e2e::is_running)
        .await
        .unwrap();
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&cluster, "gpu", GPU_INSTANCE, 1, ""))
        .await
        .unwrap();
    env.wait_pool(&admin, &cluster, "gpu", "pool ready", |p| {
        p.status.as_ref().is_some_and(|s| s.ready_nodes == 1)
    })
    .await
    .unwrap();
    let health = env.telemetry(&env.admin_token).unwrap();
    let node = wait_for("the node's baseline", || {
        let mut health = health.clone();
        let cluster = cluster.clone();
        async move {
            let nodes = health
                .list_node_health(tpb::ListNodeHealthRequest {
                    project: String::new(),
                    cluster,
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner()
                .nodes;
            match nodes.first() {
                Some(n) if n.verdict == i32::from(tpb::Verdict::Pass) => Ok(n.clone()),
                _ => Err(format!("{nodes:?}")),
            }
        }
    })
    .await
    .unwrap();

    // XID 79: decided (reboot), incident opened, remediated.
    let reply = env
        .inject_fault(
            json!({"kind": "gpu-xid", "node": node.node_name, "gpu": 2, "xid": 79})
                .to_string()
                .as_bytes(),
        )
        .await
        .unwrap();
    assert!(reply.ok, "{reply:?}");
    let wanted = [
        "accord.remediation.decided.v1",
        "accord.ticket.opened.v1",
        "accord.remediation.succeeded.v1",
    ];
    let got = wait_for("the notifications at the webhook", || {
        let seen = Arc::clone(&seen);
        async move {
            let got = seen.lock().unwrap().clone();
            let types: Vec<String> = got
                .iter()
                .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
                .map(|v| v["type"].as_str().unwrap_or_default().to_owned())
                .collect();
            if wanted.iter().all(|t| types.iter().any(|g| g == t)) {
                Ok(got)
            } else {
                Err(format!("{types:?}"))
            }
        }
    })
    .await
    .unwrap();

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for r in &got {
        assert_eq!(
            r.header("content-type"),
            Some("application/cloudevents+json")
        );
        let ce: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["source"], "/accord/support-triage");
        assert_eq!(r.header("webhook-id"), ce["id"].as_str(), "{ce}");
        let sig = r.header("x-accord-signature").unwrap();
        assert!(
            verify(&hook.secret, sig, &r.body, now, 300),
            "a signature that does not verify: {sig}"
        );
    }
    let decided = got
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|v| v["type"] == "accord.remediation.decided.v1")
        .unwrap();
    assert_eq!(decided["data"]["finding"]["xid"], 79, "{decided}");

    // Every delivery is listed as delivered, after one attempt.
    let deliveries = wait_for("deliveries recorded as delivered", || {
        let mut n = notifications.clone();
        let webhook = hook.id.clone();
        async move {
            let ds = n
                .list_deliveries(spb::ListDeliveriesRequest {
                    project: String::new(),
                    webhook,
                    state: "delivered".into(),
                    limit: 0,
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner()
                .deliveries;
            let kinds: Vec<&str> = ds.iter().map(|d| d.kind.as_str()).collect();
            if [
                "remediation-decided",
                "incident-opened",
                "remediation-succeeded",
            ]
            .iter()
            .all(|k| kinds.contains(k))
            {
                Ok(ds)
            } else {
                Err(format!("{kinds:?}"))
            }
        }
    })
    .await
    .unwrap();
    for d in &deliveries {
        assert_eq!(d.attempts, 1, "{d:?}");
        assert_eq!(d.last_status, 200, "{d:?}");
        assert!(d.delivered_at.is_some());
    }
}
