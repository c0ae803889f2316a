//! AutoClusters under `kill -9`: the provisioner binary is killed while a replace-node waits for
//! its replacement, and the restarted process finishes the same remediation — the replacement it
//! created before the crash joins the pool, the old node leaves, and no second replacement is
//! ever created. Findings are published on the bus as the telemetry service would.

use accord_bus::{Bus, CloudEvent, service_source};
use accord_core::remediation::{Finding, FindingKind, HealthEvent};
use accord_proto::provisioner::v1::{self as pb, remediations_client::RemediationsClient};
use accord_testkit::{NatsServer, default_deadline, eventually};
use std::time::Duration;
use tonic::transport::Channel;

use crate::support::*;

type Remediations =
    RemediationsClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>;

fn plugin_dir() -> String {
    std::env::var("ACCORD_PLUGIN_DIR").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../plugins/target/wasm32-wasip2/release"
        )
        .to_owned()
    })
}

/// Slow enough (GPU nodes take 180 s × 0.02 = 3.6 s to come up) to kill the process while the
/// replacement is being provisioned.
fn settings() -> Vec<(&'static str, String)> {
    vec![
        ("ACCORD_PROVISIONER__PLUGIN_DIR", plugin_dir()),
        ("ACCORD_PROVISIONER__SIM_CLOCK_FACTOR", "0.02".to_owned()),
    ]
}

async fn publish_xid79(bus: &Bus, id: &str, cluster: &str, node: &str, project: &str) {
    let event = HealthEvent::FindingRaised {
        finding: Finding {
            kind: FindingKind::GpuXid,
            cluster: cluster.to_owned(),
            node: node.to_owned(),
            xid: Some(79),
            gpu: Some(3),
            port: None,
            state: None,
            minutes: None,
            temp_c: None,
            signal: Some("xid".into()),
            severity: Some("critical".into()),
        },
        project: project.parse().unwrap(),
        evidence: vec![format!("GPU 3 XID 79 ({id})")],
        finding_id: id.to_owned(),
    };
    let scope = accord_core::events::Scope::Project(project.parse().unwrap());
    let entry = CloudEvent::new(service_source("telemetry"), scope, &event)
        .unwrap()
        .outbox_entry()
        .unwrap();
    bus.publish_entry(&entry).await.unwrap();
}

/// Waits until the cluster has a remediation for finding `finding` that satisfies `pred`.
async fn remediation(
    client: &Remediations,
    cluster: &str,
    finding: &str,
    what: &str,
    pred: impl Fn(&pb::Remediation) -> bool,
) -> pb::Remediation {
    let pred = &pred;
    eventually(default_deadline(), Duration::from_millis(50), || {
        let mut client = client.clone();
        let cluster = cluster.to_owned();
        async move {
            let items = client
                .list_remediations(pb::ListRemediationsRequest {
                    project: String::new(),
                    cluster,
                    state: String::new(),
                    limit: 0,
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner()
                .items;
            items
                .into_iter()
                .find(|r| r.finding.as_ref().is_some_and(|f| f.finding_id == finding) && pred(r))
                .ok_or_else(|| format!("no {what} yet"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{what}: {e}"))
}

async fn nodes_of(p: &Proc, token: &str, cluster: &str) -> Vec<pb::Node> {
    p.nodes(token)
        .await
        .list_nodes(pb::ListNodesRequest {
            project: String::new(),
            cluster: cluster.to_owned(),
            node_pool: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_replace_resumes_it_without_a_second_replacement() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "remediation-crash")
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    // Nodes boot published images only: an image-builder beside it, its key trusted.
    let (_builder, key_env) = image_builder_beside(&nats, images.path(), logs.path());
    let mut env = settings();
    env.push(key_env);

    let mut p = Proc::start_with(&nats, data.path(), logs.path(), 1, false, true, &env).await;
    let token = p.line("admin_token");
    let project = p.line("project");
    let mut clusters = p.clusters(&token).await;
    let mut req = create("heal");
    req.spec.as_mut().unwrap().autoclusters = Some(pb::AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent: 50,
        max_in_flight_per_pool: 1,
        ..Default::default()
    });
    let cluster = clusters.create_cluster(req).await.unwrap().into_inner();
    let id = cluster.metadata.unwrap().id;
    running(&mut clusters, &id).await;
    let pools = p.pools(&token).await;
    // The provisioner learns the base release from image-builder's events.
    eventually(default_deadline(), Duration::from_millis(100), || {
        let mut pools = pools.clone();
        let id = id.clone();
        async move {
            pools
                .create_node_pool(pb::CreateNodePoolRequest {
                    project: String::new(),
                    cluster: id,
                    name: "gpu".into(),
                    labels: Default::default(),
                    spec: Some(pb::NodePoolSpec {
                        instance_type: "h100-80gb-sxm-ib.8x".into(),
                        count: 2,
                        ..Default::default()
                    }),
                })
                .await
                .map(drop)
                .map_err(|s| s.to_string())
        }
    })
    .await
    .unwrap();
    let nodes = eventually(default_deadline(), Duration::from_millis(100), || async {
        let nodes = nodes_of(&p, &token, &id).await;
        if nodes.len() == 2
            && nodes
                .iter()
                .all(|n| n.status.as_ref().is_some_and(|s| s.state == "ready"))
        {
            Ok(nodes)
        } else {
            Err(format!("{} nodes", nodes.len()))
        }
    })
    .await
    .unwrap();
    let victim = nodes[0].metadata.as_ref().unwrap().id.clone();
    let client = RemediationsClient::with_interceptor(p.grpc().await, Bearer::new(&token));

    // The first XID 79 reboots the node; the same fault again replaces it.
    publish_xid79(&bus, "hf-crash-1", &id, &victim, &project).await;
    remediation(&client, &id, "hf-crash-1", "the reboot succeeded", |r| {
        r.state == "succeeded"
    })
    .await;
    publish_xid79(&bus, "hf-crash-2", &id, &victim, &project).await;
    let replacing = remediation(
        &client,
        &id,
        "hf-crash-2",
        "the replacement requested",
        |r| r.step == "provision-replacement",
    )
    .await;
    assert_eq!(replacing.action, "replace-node");
    let replacement = replacing.replacement.clone();
    assert!(!replacement.is_empty());

    // kill -9 while the replacement is being provisioned.
    p.kill9();
    drop(p);

    let p = Proc::start_with(&nats, data.path(), logs.path(), 2, false, false, &env).await;
    let client = RemediationsClient::with_interceptor(p.grpc().await, Bearer::new(&token));
    let done = remediation(&client, &id, "hf-crash-2", "the replace finished", |r| {
        r.state == "succeeded"
    })
    .await;
    assert_eq!(done.replacement, replacement, "the same replacement");
    assert_eq!(done.id, replacing.id);
    let nodes = nodes_of(&p, &token, &id).await;
    let ids: Vec<&str> = nodes
        .iter()
        .map(|n| n.metadata.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&replacement.as_str()));
    assert!(!ids.contains(&victim.as_str()));
    // Exactly one node was ever created besides the pool's first two.
    assert_eq!(count(&bus, "node.provisioning", None).await, 3);
    // And only one remediation per finding.
    let all = client
        .clone()
        .list_remediations(pb::ListRemediationsRequest {
            project: String::new(),
            cluster: id.clone(),
            state: String::new(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(all.len(), 2, "{all:?}");
}
