//! The driver contract: control planes, upgrades, node lifecycle, idempotency, addressing.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;

use accord_core::{
    ids::{ClusterId, NodeId},
    infra::{Catalog, InfraDriver, InfraError, InfraEvent, Region, ReplicaState},
};
use accord_sim::{SimFleet, default_catalog};
use accord_testkit::{assert_eventually, assert_eventually_eq};

use crate::common::*;

fn replica_events(
    events: &[InfraEvent],
    cluster: ClusterId,
) -> Vec<(String, String, ReplicaState, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            InfraEvent::ReplicaChanged {
                cluster: c,
                replica,
                failure_domain,
                state,
                version,
            } if *c == cluster => Some((
                replica.clone(),
                failure_domain.clone(),
                *state,
                version.to_string(),
            )),
            _ => None,
        })
        .collect()
}

fn running_count(recorder: &Recorder, cluster: ClusterId, version: &str) -> usize {
    let mut latest = BTreeMap::new();
    for (replica, _, state, v) in replica_events(&recorder.all(), cluster) {
        latest.insert(replica, (state, v));
    }
    latest
        .values()
        .filter(|(s, v)| *s == ReplicaState::Running && v == version)
        .count()
}

#[tokio::test]
async fn control_plane_gets_three_replicas_in_distinct_failure_domains() {
    let (fleet, recorder) = fleet();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    // Idempotent: a redelivered request creates nothing new.
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    assert_eventually_eq!(running_count(&recorder, cluster, "1.31"), 3);

    let events = replica_events(&recorder.all(), cluster);
    assert_eq!(events.len(), 6, "3 × provisioning, 3 × running: {events:?}");
    assert!(
        events[..3]
            .iter()
            .all(|e| e.2 == ReplicaState::Provisioning)
    );
    let domains: BTreeSet<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        domains,
        BTreeSet::from(["eu-iceland1-a", "eu-iceland1-b", "eu-iceland1-c"])
    );
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.replicas.len(), 3);
    let snap_domains: HashSet<&str> = snapshot.replicas.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(snap_domains.len(), 3);
    assert!(
        snapshot
            .replicas
            .iter()
            .all(|r| r.0 == cluster && r.3 == ReplicaState::Running)
    );
}

#[tokio::test]
async fn a_region_with_fewer_than_three_failure_domains_is_invalid() {
    let mut catalog: Catalog = default_catalog();
    catalog.regions.push(Region {
        name: "tiny1".into(),
        failure_domains: vec!["tiny1-a".into(), "tiny1-b".into()],
    });
    let fleet = SimFleet::with_catalog(config(), catalog).unwrap();
    let mut req = cp_request(ClusterId::generate());
    req.region = "tiny1".into();
    let err = fleet.ensure_control_plane(req.clone()).await.unwrap_err();
    assert!(
        matches!(&err, InfraError::Invalid(m) if m.contains("2 failure domains")),
        "{err}"
    );
    req.region = "atlantis".into();
    let err = fleet.ensure_control_plane(req).await.unwrap_err();
    assert!(
        matches!(&err, InfraError::Invalid(m) if m.contains("atlantis")),
        "{err}"
    );
    assert!(fleet.snapshot().replicas.is_empty());
}

#[tokio::test]
async fn upgrade_rolls_one_replica_at_a_time() {
    let (fleet, recorder) = fleet();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    assert_eventually_eq!(running_count(&recorder, cluster, "1.31"), 3);

    fleet
        .upgrade_control_plane(cluster, v("1.32"))
        .await
        .unwrap();
    fleet
        .upgrade_control_plane(cluster, v("1.32"))
        .await
        .unwrap(); // redelivery: no-op
    let err = fleet
        .upgrade_control_plane(cluster, v("1.33"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InfraError::Invalid(_)),
        "another target mid-upgrade: {err}"
    );
    assert_eventually_eq!(running_count(&recorder, cluster, "1.32"), 3);

    // Replay the event order: never more than one replica out of service.
    let events = replica_events(&recorder.all(), cluster);
    let mut states: BTreeMap<String, ReplicaState> = BTreeMap::new();
    let mut upgrades = Vec::new();
    for (replica, _, state, version) in &events[6..] {
        states.insert(replica.clone(), *state);
        let out = states
            .values()
            .filter(|s| **s != ReplicaState::Running)
            .count();
        assert!(out <= 1, "two replicas out at once: {events:?}");
        if *state == ReplicaState::Upgrading {
            assert_eq!(
                version, "1.31",
                "upgrading replicas still run the old version"
            );
            upgrades.push(replica.clone());
        } else {
            assert_eq!((state, version.as_str()), (&ReplicaState::Running, "1.32"));
        }
    }
    assert_eq!(upgrades, ["cp-0", "cp-1", "cp-2"]);
    assert_eq!(events.len(), 12);
    assert!(fleet.snapshot().replicas.iter().all(|r| r.4 == v("1.32")));

    // Unknown cluster and downgrade are refused.
    assert!(matches!(
        fleet
            .upgrade_control_plane(ClusterId::generate(), v("1.32"))
            .await,
        Err(InfraError::Invalid(_))
    ));
    assert!(matches!(
        fleet.upgrade_control_plane(cluster, v("1.31")).await,
        Err(InfraError::Invalid(_))
    ));
}

#[tokio::test]
async fn delete_control_plane_converges_even_when_absent() {
    let (fleet, recorder) = fleet();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    fleet.delete_control_plane(cluster).await.unwrap();
    fleet.delete_control_plane(cluster).await.unwrap();
    let deleted = |c: ClusterId| {
        recorder
            .count(|e| matches!(e, InfraEvent::ControlPlaneDeleted { cluster } if *cluster == c))
    };
    assert_eventually_eq!(deleted(cluster), 1);
    assert!(fleet.snapshot().replicas.is_empty());
    // No replica ever reached Running: deletion cancelled provisioning.
    assert_eq!(running_count(&recorder, cluster, "1.31"), 0);

    let absent = ClusterId::generate();
    fleet.delete_control_plane(absent).await.unwrap();
    assert_eventually_eq!(deleted(absent), 1);
}

#[tokio::test]
async fn provision_is_idempotent_and_reports_provisioned_then_ready() {
    let (fleet, recorder) = fleet();
    let pool = Pool::new("h100-80gb-sxm-ib.8x");
    let req = pool.node("gpu-1");
    let node = req.node;
    fleet.provision_node(req.clone()).await.unwrap();
    fleet.provision_node(req.clone()).await.unwrap();
    assert_eventually!(is_ready(&recorder, node, true));
    fleet.provision_node(req).await.unwrap();

    let mine: Vec<InfraEvent> = recorder
        .all()
        .into_iter()
        .filter(|e| match e {
            InfraEvent::NodeProvisioned { node: n, .. }
            | InfraEvent::NodeReadiness { node: n, .. } => *n == node,
            _ => false,
        })
        .collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    let InfraEvent::NodeProvisioned {
        instance_id,
        failure_domain,
        internal_ip,
        ..
    } = &mine[0]
    else {
        panic!("NodeProvisioned must come first: {mine:?}");
    };
    assert!(instance_id.starts_with("i-"));
    assert!(failure_domain.starts_with("us-east1-"));
    assert_eq!(internal_ip, "10.20.0.4");
    assert!(matches!(
        &mine[1],
        InfraEvent::NodeReadiness { ready: true, .. }
    ));
    assert_eq!(fleet.snapshot().nodes, vec![(node, true)]);
    assert_eq!(fleet.instances().len(), 1);
}

#[tokio::test]
async fn unknown_instance_type_or_region_is_invalid() {
    let (fleet, _recorder) = fleet();
    let pool = Pool::new("b300.8x");
    let err = fleet.provision_node(pool.node("x")).await.unwrap_err();
    assert!(
        matches!(&err, InfraError::Invalid(m) if m.contains("b300.8x")),
        "{err}"
    );
    let pool = Pool::new("c1a.16x");
    let mut req = pool.node("x");
    req.region = "moon1".into();
    let err = fleet.provision_node(req).await.unwrap_err();
    assert!(
        matches!(&err, InfraError::Invalid(m) if m.contains("moon1")),
        "{err}"
    );
    assert!(fleet.snapshot().nodes.is_empty());
}

#[tokio::test]
async fn ips_are_unique_inside_the_subnet_and_pools_spread_over_domains() {
    let (fleet, recorder) = fleet();
    let mut pool = Pool::new("c1a.16x");
    pool.subnet = "10.30.1.0/27".parse().unwrap();
    let mut other = Pool::new("l40s-48gb.10x");
    other.cluster = pool.cluster;
    other.subnet = pool.subnet;
    let mut nodes = Vec::new();
    for i in 0..12 {
        let req = pool.node(&format!("cpu-{i}"));
        nodes.push(req.node);
        fleet.provision_node(req).await.unwrap();
        let req = other.node(&format!("l40s-{i}"));
        nodes.push(req.node);
        fleet.provision_node(req).await.unwrap();
    }
    let provisioned = |r: &Recorder| r.count(|e| matches!(e, InfraEvent::NodeProvisioned { .. }));
    assert_eventually_eq!(provisioned(&recorder), 24);

    let mut ips = HashSet::new();
    let mut per_domain: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in recorder.all() {
        if let InfraEvent::NodeProvisioned { internal_ip, .. } = e {
            let ip: Ipv4Addr = internal_ip.parse().unwrap();
            assert!(pool.subnet.contains(&ip), "{ip} outside {}", pool.subnet);
            let host = u32::from(ip) - u32::from(pool.subnet.network());
            assert!((4..31).contains(&host), "{ip} is reserved or broadcast");
            assert!(ips.insert(ip), "{ip} handed out twice");
        }
    }
    for i in fleet.instances() {
        *per_domain
            .entry((i.instance_type, i.failure_domain))
            .or_default() += 1;
    }
    assert!(
        per_domain.values().all(|n| *n == 4),
        "each pool spreads 4/4/4: {per_domain:?}"
    );

    // /27 has 27 usable addresses; 24 are taken, 3 left, then the subnet is full.
    for i in 0..3 {
        fleet
            .provision_node(pool.node(&format!("more-{i}")))
            .await
            .unwrap();
    }
    let err = fleet
        .provision_node(pool.node("one-too-many"))
        .await
        .unwrap_err();
    assert!(matches!(err, InfraError::NoCapacity(_)), "{err}");
}

#[tokio::test]
async fn drain_then_terminate_and_absent_nodes_converge() {
    let (fleet, recorder) = fleet();
    let pool = Pool::new("c1a.16x");
    let node = provision_ready(&fleet, &recorder, pool.node("cpu-1")).await;

    fleet.drain_node(node).await.unwrap();
    fleet.drain_node(node).await.unwrap();
    let drained = |r: &Recorder, n: NodeId| {
        r.count(|e| matches!(e, InfraEvent::NodeDrained { node } if *node == n))
    };
    assert_eventually_eq!(drained(&recorder, node), 1);
    fleet.terminate_node(node).await.unwrap();
    fleet.terminate_node(node).await.unwrap();
    let terminated = |r: &Recorder, n: NodeId| {
        r.count(|e| matches!(e, InfraEvent::NodeTerminated { node } if *node == n))
    };
    assert_eventually_eq!(terminated(&recorder, node), 1);
    assert!(fleet.snapshot().nodes.is_empty());

    // Absent: Ok, and the final event arrives anyway so the caller converges.
    let ghost = NodeId::generate();
    fleet.terminate_node(ghost).await.unwrap();
    fleet.drain_node(ghost).await.unwrap();
    assert_eventually_eq!(terminated(&recorder, ghost), 1);
    assert_eventually_eq!(drained(&recorder, ghost), 1);
    assert!(fleet.snapshot().nodes.is_empty());
}

#[tokio::test]
async fn terminating_a_provisioning_node_cancels_it() {
    let (fleet, recorder) = fleet_with(config().with_clock_factor(0.01));
    let pool = Pool::new("h200-141gb-sxm-ib.8x");
    let req = pool.node("gpu-1");
    let node = req.node;
    fleet.provision_node(req).await.unwrap();
    fleet.terminate_node(node).await.unwrap();
    assert_eventually_eq!(
        recorder.count(|e| matches!(e, InfraEvent::NodeTerminated { .. })),
        1
    );
    assert_eq!(
        recorder.count(|e| matches!(e, InfraEvent::NodeProvisioned { .. })),
        0
    );
}

#[tokio::test]
async fn events_before_subscribe_are_delivered_in_order() {
    let fleet = SimFleet::new(config().with_clock_factor(0.0)).unwrap();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    assert_eventually!(
        fleet
            .snapshot()
            .replicas
            .iter()
            .filter(|r| r.3 == ReplicaState::Running)
            .count()
            == 3
    );
    let recorder = Recorder::default();
    fleet.subscribe(recorder.sink());
    assert_eventually_eq!(recorder.all().len(), 6);
    let states: Vec<ReplicaState> = replica_events(&recorder.all(), cluster)
        .into_iter()
        .map(|e| e.2)
        .collect();
    assert_eq!(&states[..3], [ReplicaState::Provisioning; 3]);
    assert_eq!(&states[3..], [ReplicaState::Running; 3]);
}
