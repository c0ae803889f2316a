//! The ingest path over a temporary store: samples admitted or dropped (and counted), findings
//! committed once across duplicates and restarts, the node's verdicts, a deleted cluster.

use accord_core::{
    cluster::ClusterEvent,
    ids::{NodeId, NodePoolId, ProjectId},
};
use accord_health::HealthConfig;
use accord_health::Verdict;
use accord_runtime::metrics::Metrics;
use accord_store::Store;
use accord_telemetry::{
    Ingested, MAX_SAMPLE_BYTES, Telemetry, handlers::cluster_view::Input, metrics::DropReason,
    trees::Findings as _,
};

use super::{bytes, put_cluster, sample, subject, view, with_xid};

fn telemetry(store: &Store) -> std::sync::Arc<Telemetry> {
    Telemetry::new(
        store.clone(),
        HealthConfig::default(),
        &Metrics::new("telemetry"),
    )
}

#[tokio::test]
async fn an_xid_raises_one_finding_even_when_observed_twice_or_after_a_restart() {
    let store = Store::temporary().unwrap();
    let pool = NodePoolId::generate();
    let cluster = view(ProjectId::generate(), pool);
    put_cluster(&store, &cluster).await;
    let node = NodeId::generate();
    let base = sample(cluster.id, node, pool, 1_000_000);
    let mut tripping = with_xid(base.clone(), 3, 79);
    tripping.ts_ms += 10_000;

    let t = telemetry(&store);
    assert_eq!(
        t.ingest(&subject(&base), &bytes(&base)).await,
        Ingested::Checked {
            first: true,
            raised: 0
        }
    );
    assert_eq!(
        t.ingest(&subject(&tripping), &bytes(&tripping)).await,
        Ingested::Checked {
            first: false,
            raised: 1
        }
    );
    // The same sample again (a redelivery): ignored by the checks.
    assert_eq!(
        t.ingest(&subject(&tripping), &bytes(&tripping)).await,
        Ingested::Dropped(DropReason::Duplicate)
    );
    assert_eq!(t.metrics().accepted_total(), 2);
    assert_eq!(t.metrics().dropped_total(DropReason::Duplicate), 1);

    let stored = t.reader().findings_since(cluster.id, None, 10).unwrap();
    assert_eq!(stored.len(), 1);
    let f = &stored[0].finding;
    assert_eq!((f.gpu, f.xid, f.node), (Some(3), Some(79), node));
    let health = t.node_health(cluster.id);
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].verdict(), Verdict::Critical);
    assert_eq!(
        health[0]
            .failing()
            .map(|c| c.check.as_str())
            .collect::<Vec<_>>(),
        ["gpu-xid"]
    );
    let latest = t.latest_sample(cluster.id, "node-a").unwrap();
    assert_eq!(latest.ts_ms, tripping.ts_ms);

    // A restart on the same store that sees the same two samples again derives the same finding
    // id: nothing is committed, nothing published.
    let restarted = telemetry(&store);
    restarted.ingest(&subject(&base), &bytes(&base)).await;
    assert_eq!(
        restarted
            .ingest(&subject(&tripping), &bytes(&tripping))
            .await,
        Ingested::Checked {
            first: false,
            raised: 0
        }
    );
    assert_eq!(
        restarted.reader().finding_keys(cluster.id).unwrap().len(),
        1
    );
}

#[tokio::test]
async fn samples_of_unknown_clusters_oversized_malformed_or_misaddressed_are_dropped_and_counted() {
    let store = Store::temporary().unwrap();
    let pool = NodePoolId::generate();
    let known = view(ProjectId::generate(), pool);
    put_cluster(&store, &known).await;
    let t = telemetry(&store);

    let stranger = sample(
        accord_core::ids::ClusterId::generate(),
        NodeId::generate(),
        pool,
        1,
    );
    assert_eq!(
        t.ingest(&subject(&stranger), &bytes(&stranger)).await,
        Ingested::Dropped(DropReason::UnknownCluster)
    );

    let ours = sample(known.id, NodeId::generate(), pool, 1);
    let mut oversized = bytes(&ours);
    oversized.resize(MAX_SAMPLE_BYTES + 1, b' ');
    assert_eq!(
        t.ingest(&subject(&ours), &oversized).await,
        Ingested::Dropped(DropReason::Oversized)
    );
    assert_eq!(
        t.ingest(&subject(&ours), b"{\"v\":1,\"ts_ms\":").await,
        Ingested::Dropped(DropReason::Malformed)
    );
    let mut long_name = ours.clone();
    long_name.node_name = "n".repeat(300);
    assert_eq!(
        t.ingest(&subject(&long_name), &bytes(&long_name)).await,
        Ingested::Dropped(DropReason::Malformed)
    );
    let mut future = serde_json::to_value(&ours).unwrap();
    future["v"] = 99.into();
    assert_eq!(
        t.ingest(&subject(&ours), &serde_json::to_vec(&future).unwrap())
            .await,
        Ingested::Dropped(DropReason::UnsupportedVersion)
    );
    let other_node = sample(known.id, NodeId::generate(), pool, 1);
    assert_eq!(
        t.ingest(&subject(&other_node), &bytes(&ours)).await,
        Ingested::Dropped(DropReason::SubjectMismatch)
    );

    let m = t.metrics();
    for reason in [
        DropReason::UnknownCluster,
        DropReason::Oversized,
        DropReason::UnsupportedVersion,
        DropReason::SubjectMismatch,
    ] {
        assert_eq!(m.dropped_total(reason), 1, "{reason:?}");
    }
    assert_eq!(m.dropped_total(DropReason::Malformed), 2);
    assert_eq!(m.accepted_total(), 0);
    assert!(t.node_health(known.id).is_empty());
}

#[tokio::test]
async fn a_deleted_cluster_loses_its_findings_and_its_nodes_state() {
    let store = Store::temporary().unwrap();
    let pool = NodePoolId::generate();
    let cluster = view(ProjectId::generate(), pool);
    put_cluster(&store, &cluster).await;
    let t = telemetry(&store);
    let base = sample(cluster.id, NodeId::generate(), pool, 5_000);
    let mut tripping = with_xid(base.clone(), 0, 48);
    tripping.ts_ms += 10_000;
    t.ingest(&subject(&base), &bytes(&base)).await;
    t.ingest(&subject(&tripping), &bytes(&tripping)).await;
    assert_eq!(t.reader().finding_keys(cluster.id).unwrap().len(), 1);

    t.on_input(Input::Cluster(ClusterEvent::Deleted {
        cluster: cluster.id,
        project: cluster.project,
        name: cluster.name.clone(),
    }))
    .await
    .unwrap();
    assert!(t.reader().cluster(cluster.id).unwrap().is_none());
    assert!(t.reader().finding_keys(cluster.id).unwrap().is_empty());
    assert!(t.node_health(cluster.id).is_empty());
    // Its nodes' samples are now dropped.
    let later = sample(cluster.id, base.node, pool, 30_000);
    assert_eq!(
        t.ingest(&subject(&later), &bytes(&later)).await,
        Ingested::Dropped(DropReason::UnknownCluster)
    );
}

#[tokio::test]
async fn nodes_silent_for_fifteen_minutes_of_sample_time_are_forgotten() {
    let store = Store::temporary().unwrap();
    let pool = NodePoolId::generate();
    let cluster = view(ProjectId::generate(), pool);
    put_cluster(&store, &cluster).await;
    let t = telemetry(&store);
    let start = 10_000_000;
    let gone = sample(cluster.id, NodeId::generate(), pool, start);
    let mut alive = sample(cluster.id, NodeId::generate(), pool, start);
    alive.node_name = "node-b".into();
    t.ingest(&subject(&gone), &bytes(&gone)).await;
    t.ingest(&subject(&alive), &bytes(&alive)).await;
    // Exactly the limit behind: kept.
    alive.ts_ms = start + accord_telemetry::fleet::SILENT_AFTER_MS;
    t.ingest(&subject(&alive), &bytes(&alive)).await;
    assert_eq!(t.forget_silent(), 0);
    assert_eq!(t.node_health(cluster.id).len(), 2);
    // One millisecond more: the silent node goes, the reporting one stays.
    alive.ts_ms += 1;
    t.ingest(&subject(&alive), &bytes(&alive)).await;
    assert_eq!(t.forget_silent(), 1);
    let left: Vec<_> = t
        .node_health(cluster.id)
        .into_iter()
        .map(|n| n.node)
        .collect();
    assert_eq!(left, [alive.node]);
    assert!(t.latest_sample(cluster.id, "node-a").is_none());
    // Its next sample is a baseline again.
    let mut back = gone.clone();
    back.ts_ms = alive.ts_ms;
    assert_eq!(
        t.ingest(&subject(&back), &bytes(&back)).await,
        Ingested::Checked {
            first: true,
            raised: 0
        }
    );
}
