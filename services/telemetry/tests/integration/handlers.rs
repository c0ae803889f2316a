//! The handlers as plain functions: a finding stored and announced once, retention per cluster,
//! listing since a time, the cluster view from pool events.

use accord_core::{
    ids::{NodeId, NodePoolId, ProjectId},
    nodepool::NodePoolEvent,
    remediation::HealthEvent,
};
use accord_health::{HealthChecker, HealthConfig, HealthFinding};
use accord_store::{Store, Versioned};
use accord_telemetry::{
    handlers::{
        cluster_view::{Input, apply},
        findings::{Stored, raise},
    },
    trees::{Findings as _, MAX_FINDINGS_PER_CLUSTER, finding_key, reader},
    view::ClusterView,
};

use super::{put_cluster, sample, view, with_xid};

/// The findings an XID on GPU `gpu` at `ts_ms` raises on a fresh node of `cluster`.
fn xid_finding(cluster: &ClusterView, gpu: usize, ts_ms: i64) -> HealthFinding {
    let pool = *cluster.pools.keys().next().unwrap();
    let base = sample(cluster.id, NodeId::generate(), pool, ts_ms - 10_000);
    let mut tripping = with_xid(base.clone(), gpu, 79);
    tripping.ts_ms = ts_ms;
    let mut checker = HealthChecker::new(HealthConfig::default());
    let mut out = Vec::new();
    checker.observe(&base, &mut out);
    checker.observe(&tripping, &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

#[test]
fn a_finding_is_stored_and_announced_once() {
    let cluster = view(ProjectId::generate(), NodePoolId::generate());
    let f = xid_finding(&cluster, 3, 100_000);

    let (ch, new) = raise(
        &cluster,
        "node-a",
        &Stored { keys: &[] },
        &[f.clone(), f.clone()],
    )
    .unwrap();
    assert_eq!(new, 1);
    assert_eq!(ch.events.len(), 1);
    let HealthEvent::FindingRaised {
        finding,
        project,
        evidence,
        finding_id,
    } = &ch.events[0];
    assert_eq!((finding.xid, finding.gpu), (Some(79), Some(3)));
    assert_eq!(
        *finding_id,
        f.id.to_string(),
        "the finding's own id travels with it"
    );
    assert_eq!(*project, cluster.project);
    assert!(evidence[0].contains("gpu-xid critical"), "{evidence:?}");

    let keys = [finding_key(&f)];
    let (again, new) = raise(&cluster, "node-a", &Stored { keys: &keys }, &[f]).unwrap();
    assert_eq!(new, 0);
    assert!(again.is_empty());
}

#[test]
fn a_finding_is_published_under_its_clusters_project() {
    let project = ProjectId::generate();
    let cluster = view(project, NodePoolId::generate());
    let f = xid_finding(&cluster, 3, 100_000);
    let (ch, _) = raise(&cluster, "node-a", &Stored { keys: &[] }, &[f]).unwrap();
    let entries = ch.outbox("telemetry").unwrap();
    assert_eq!(entries.len(), 1);
    let prefix = format!("accord.evt.{project}.health.finding-raised.");
    assert!(
        entries[0].subject.starts_with(&prefix),
        "{}",
        entries[0].subject
    );
}

#[test]
fn a_full_cluster_drops_its_oldest_findings_in_the_same_change() {
    let cluster = view(ProjectId::generate(), NodePoolId::generate());
    let keys: Vec<String> = (0..MAX_FINDINGS_PER_CLUSTER)
        .map(|i| format!("{}/{i:016x}/hf-old", cluster.id))
        .collect();
    let f = xid_finding(&cluster, 0, 500_000);
    let (ch, new) = raise(&cluster, "node-a", &Stored { keys: &keys }, &[f]).unwrap();
    assert_eq!(new, 1);
    // One put and one delete (of the oldest key).
    assert_eq!(ch.commit.len_ops(), 2);
}

#[tokio::test]
async fn findings_list_newest_first_since_a_time() {
    let store = Store::temporary().unwrap();
    let cluster = view(ProjectId::generate(), NodePoolId::generate());
    put_cluster(&store, &cluster).await;
    let r = reader(store.clone());
    for ts in [100_000, 200_000, 300_000] {
        let f = xid_finding(&cluster, 1, ts);
        let keys = r.finding_keys(cluster.id).unwrap();
        let (ch, _) = raise(&cluster, "node-a", &Stored { keys: &keys }, &[f]).unwrap();
        store.commit(ch.commit).await.unwrap();
    }
    let all = r.findings_since(cluster.id, None, 10).unwrap();
    let times: Vec<i64> = all.iter().map(|f| f.finding.ts_ms()).collect();
    assert_eq!(times, [300_000, 200_000, 100_000]);
    let since = r.findings_since(cluster.id, Some(200_000), 10).unwrap();
    assert_eq!(since.len(), 2);
    let newest = r.findings_since(cluster.id, None, 1).unwrap();
    assert_eq!(newest[0].finding.ts_ms(), 300_000);
    let other = view(ProjectId::generate(), NodePoolId::generate());
    assert!(r.findings_since(other.id, None, 10).unwrap().is_empty());
}

#[test]
fn pool_deletions_and_unknown_clusters_in_the_view() {
    let pool = NodePoolId::generate();
    let cluster = view(ProjectId::generate(), pool);
    let stored = Versioned {
        version: 3,
        value: cluster.clone(),
    };
    let deleted = Input::NodePool(NodePoolEvent::Deleted {
        pool,
        cluster: cluster.id,
        project: cluster.project,
        name: "gpu".into(),
    });
    let ch = apply(Some(&stored), &[], &deleted).unwrap().unwrap();
    assert_eq!(ch.commit.len_ops(), 1);
    assert_eq!(cluster.pool_name(pool), "gpu");
    let mut without = cluster.clone();
    without.pools.clear();
    assert_eq!(without.pool_name(pool), pool.to_string());
    // A pool event about a cluster the service never saw records nothing.
    assert!(apply(None, &[], &deleted).unwrap().is_none());
}
