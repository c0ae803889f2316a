//! Fault injection through `SimFleet::inject`: events, messages and errors.

use accord_core::{
    ids::{ClusterId, NodeId},
    infra::{InfraDriver, InfraEvent, ReplicaState},
};
use accord_sim::{Fault, SimError};
use accord_testkit::{assert_eventually, assert_eventually_eq};

use crate::common::*;

fn readiness(recorder: &Recorder, node: NodeId) -> Vec<(bool, String)> {
    recorder
        .all()
        .into_iter()
        .filter_map(|e| match e {
            InfraEvent::NodeReadiness {
                node: n,
                ready,
                reason,
            } if n == node => Some((ready, reason)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn node_not_ready_and_recover() {
    let (fleet, recorder) = fleet();
    let pool = Pool::new("h100-80gb-sxm-ib.8x");
    let node = provision_ready(&fleet, &recorder, pool.node("gpu-a-1")).await;

    // By name.
    let message = fleet
        .inject(Fault::NodeNotReady {
            node: "gpu-a-1".into(),
        })
        .unwrap();
    assert!(message.contains("NotReady"), "{message}");
    assert_eventually!(is_ready(&recorder, node, false));
    assert_eq!(
        readiness(&recorder, node).last().unwrap().1,
        "KubeletStopped"
    );
    assert_eq!(fleet.snapshot().nodes, vec![(node, false)]);
    let listed = fleet.instances();
    assert_eq!(listed[0].faults, ["kubelet-stopped"]);

    // By id.
    let message = fleet
        .inject(Fault::NodeRecover {
            node: node.to_string(),
        })
        .unwrap();
    assert!(message.contains("Ready again"), "{message}");
    assert_eventually!(is_ready(&recorder, node, true));
    assert_eq!(readiness(&recorder, node).len(), 3);
}

#[tokio::test]
async fn xid_79_takes_the_node_not_ready_and_counters_grow() {
    let (fleet, recorder) = fleet();
    let pool = Pool::new("h200-141gb-sxm-ib.8x");
    let node = provision_ready(&fleet, &recorder, pool.node("gpu-b-1")).await;

    let message = fleet
        .inject(Fault::GpuXid {
            node: "gpu-b-1".into(),
            gpu: 2,
            xid: 48,
        })
        .unwrap();
    assert!(
        message.contains("XID 48 (double-bit ECC error)") && message.contains("DBE total 1"),
        "{message}"
    );
    assert!(message.contains("stays Ready"), "{message}");
    assert!(
        fleet.instances()[0]
            .faults
            .contains(&"gpu2-xid-48".to_owned())
    );

    fleet
        .inject(Fault::GpuXid {
            node: "gpu-b-1".into(),
            gpu: 7,
            xid: 79,
        })
        .unwrap();
    assert_eventually!(is_ready(&recorder, node, false));
    assert_eq!(
        readiness(&recorder, node).last().unwrap().1,
        "GpuFellOffTheBus"
    );

    fleet
        .inject(Fault::NodeRecover {
            node: "gpu-b-1".into(),
        })
        .unwrap();
    assert_eventually!(is_ready(&recorder, node, true));
}

#[tokio::test]
async fn replica_down_and_up() {
    let (fleet, recorder) = fleet();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    let running = |r: &Recorder| {
        r.count(|e| {
            matches!(
                e,
                InfraEvent::ReplicaChanged {
                    state: ReplicaState::Running,
                    ..
                }
            )
        })
    };
    assert_eventually_eq!(running(&recorder), 3);

    let message = fleet
        .inject(Fault::ReplicaDown {
            cluster,
            replica: None,
        })
        .unwrap();
    assert!(
        message.contains("cp-0") && message.contains("down"),
        "{message}"
    );
    assert_eventually!(recorder.all().iter().any(|e| matches!(
        e,
        InfraEvent::ReplicaChanged { replica, state: ReplicaState::Down, .. } if replica == "cp-0"
    )));
    fleet
        .inject(Fault::ReplicaDown {
            cluster,
            replica: Some("cp-2".into()),
        })
        .unwrap();
    let down = fleet
        .snapshot()
        .replicas
        .iter()
        .filter(|r| r.3 == ReplicaState::Down)
        .count();
    assert_eq!(down, 2);

    // An upgrade waits while replicas are down, and resumes when they are back.
    fleet
        .upgrade_control_plane(cluster, v("1.32"))
        .await
        .unwrap();
    fleet
        .inject(Fault::ReplicaUp {
            cluster,
            replica: Some("cp-2".into()),
        })
        .unwrap();
    let upgrading = |fleet: &accord_sim::SimFleet| {
        fleet
            .snapshot()
            .replicas
            .iter()
            .filter(|r| r.3 == ReplicaState::Upgrading)
            .count()
    };
    assert_eq!(upgrading(&fleet), 0, "the upgrade waits while cp-0 is down");
    // Without a name, every Down replica comes back.
    let message = fleet
        .inject(Fault::ReplicaUp {
            cluster,
            replica: None,
        })
        .unwrap();
    assert!(
        message.contains("cp-0") && message.contains("running"),
        "{message}"
    );
    assert_eventually!(
        fleet
            .snapshot()
            .replicas
            .iter()
            .all(|r| r.3 == ReplicaState::Running && r.4 == v("1.32"))
    );

    let err = fleet
        .inject(Fault::ReplicaUp {
            cluster,
            replica: None,
        })
        .unwrap_err();
    assert!(
        matches!(err, SimError::NoReplicaInState { state: "down", .. }),
        "{err}"
    );
    let err = fleet
        .inject(Fault::ReplicaDown {
            cluster,
            replica: Some("cp-9".into()),
        })
        .unwrap_err();
    assert!(err.to_string().contains("cp-0, cp-1, cp-2"), "{err}");
    let err = fleet
        .inject(Fault::ReplicaDown {
            cluster: ClusterId::generate(),
            replica: None,
        })
        .unwrap_err();
    assert!(matches!(err, SimError::UnknownCluster(_)), "{err}");
}

#[tokio::test]
async fn fail_next_provisions_yields_node_failed() {
    let (fleet, recorder) = fleet();
    let message = fleet
        .inject(Fault::FailNextProvisions { count: 1 })
        .unwrap();
    assert!(message.contains("next 1"), "{message}");
    let pool = Pool::new("c1a.16x");
    let bad = pool.node("cpu-bad");
    let good = pool.node("cpu-good");
    let (bad_id, good_id) = (bad.node, good.node);
    fleet.provision_node(bad).await.unwrap();
    fleet.provision_node(good).await.unwrap();
    assert_eventually!(
        recorder
            .all()
            .iter()
            .any(|e| matches!(e, InfraEvent::NodeFailed { node, .. } if *node == bad_id))
    );
    assert_eventually!(is_ready(&recorder, good_id, true));
    assert_eq!(
        recorder
            .count(|e| matches!(e, InfraEvent::NodeProvisioned { node, .. } if *node == bad_id)),
        0
    );
    // A failed instance leaves nothing behind.
    assert_eq!(fleet.snapshot().nodes, vec![(good_id, true)]);
}

#[tokio::test]
async fn faults_on_unknown_or_unsuitable_targets_are_clear_errors() {
    let (fleet, recorder) = fleet();
    let cpu = provision_ready(&fleet, &recorder, Pool::new("c1a.16x").node("cpu-1")).await;
    provision_ready(&fleet, &recorder, Pool::new("l40s-48gb.10x").node("l40s-1")).await;

    let err = fleet
        .inject(Fault::NodeNotReady {
            node: "nope".into(),
        })
        .unwrap_err();
    assert!(matches!(err, SimError::UnknownNode(_)), "{err}");
    let err = fleet
        .inject(Fault::NodeNotReady {
            node: NodeId::generate().to_string(),
        })
        .unwrap_err();
    assert!(matches!(err, SimError::UnknownNode(_)), "{err}");

    let err = fleet
        .inject(Fault::GpuXid {
            node: "l40s-1".into(),
            gpu: 10,
            xid: 48,
        })
        .unwrap_err();
    assert!(err.to_string().contains("has 10 GPUs"), "{err}");
    let err = fleet
        .inject(Fault::GpuXid {
            node: cpu.to_string(),
            gpu: 0,
            xid: 48,
        })
        .unwrap_err();
    assert!(err.to_string().contains("has 0 GPUs"), "{err}");
    let err = fleet
        .inject(Fault::IbLinkDown {
            node: "l40s-1".into(),
            port: 0,
        })
        .unwrap_err();
    assert!(matches!(err, SimError::NoInfiniband { .. }), "{err}");
    let err = fleet
        .inject(Fault::GpuThermal {
            node: "l40s-1".into(),
            gpu: 0,
            temp_c: 500,
        })
        .unwrap_err();
    assert!(matches!(err, SimError::InvalidFault(_)), "{err}");

    // A node that is still provisioning does not take node faults.
    let pool = Pool::new("h100-80gb-sxm-ib.8x");
    let slow = accord_sim::SimFleet::new(config().with_clock_factor(1.0)).unwrap();
    slow.provision_node(pool.node("gpu-slow")).await.unwrap();
    let err = slow
        .inject(Fault::NodeNotReady {
            node: "gpu-slow".into(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            SimError::NodeNotRunning {
                phase: "provisioning",
                ..
            }
        ),
        "{err}"
    );
    let err = slow
        .inject(Fault::IbLinkDown {
            node: "gpu-slow".into(),
            port: 8,
        })
        .unwrap_err();
    assert!(matches!(err, SimError::NodeNotRunning { .. }), "{err}");
}

#[tokio::test]
async fn ib_port_faults_validate_the_port() {
    let (fleet, recorder) = fleet();
    provision_ready(
        &fleet,
        &recorder,
        Pool::new("h100-80gb-sxm-ib.8x").node("gpu-1"),
    )
    .await;
    let err = fleet
        .inject(Fault::IbLinkDown {
            node: "gpu-1".into(),
            port: 8,
        })
        .unwrap_err();
    assert!(
        matches!(err, SimError::IbPortOutOfRange { count: 8, .. }),
        "{err}"
    );
    let message = fleet
        .inject(Fault::IbLinkDown {
            node: "gpu-1".into(),
            port: 3,
        })
        .unwrap();
    assert!(message.contains("link_downed 1"), "{message}");
    assert!(fleet.instances()[0].faults.contains(&"ib3-down".to_owned()));
    let message = fleet
        .inject(Fault::IbLinkUp {
            node: "gpu-1".into(),
            port: 3,
        })
        .unwrap();
    assert!(message.contains("is up"), "{message}");
    assert!(fleet.instances()[0].faults.is_empty());
    // IB faults do not change readiness (the telemetry service acts on them, not the provisioner).
    assert_eq!(
        recorder.count(|e| matches!(e, InfraEvent::NodeReadiness { ready: false, .. })),
        0
    );
}
