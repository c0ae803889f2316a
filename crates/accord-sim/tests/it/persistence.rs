//! The state file: a new fleet on the same file sees what the old one had, and transitions
//! that were in flight finish.

use accord_core::{
    ids::ClusterId,
    infra::{InfraDriver, InfraEvent, ReplicaState},
};
use accord_sim::{Fault, SimFleet};
use accord_testkit::assert_eventually;

use crate::common::*;

#[tokio::test]
async fn a_restarted_fleet_finds_its_instances_and_finishes_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    // 500× real time: a CPU node ~0.12 s, a GPU node ~0.36 s (still provisioning at the drop).
    let config = config().with_clock_factor(0.002).with_state_file(&path);

    let (fleet, recorder) = fleet_with(config.clone());
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    let cpu = provision_ready(&fleet, &recorder, Pool::new("c1a.16x").node("cpu-1")).await;
    fleet
        .inject(Fault::IbLinkDown {
            node: "cpu-1".into(),
            port: 0,
        })
        .unwrap_err();
    assert_eventually!(
        fleet
            .snapshot()
            .replicas
            .iter()
            .all(|r| r.3 == ReplicaState::Running)
    );
    let gpu_req = Pool::new("h100-80gb-sxm-ib.8x").node("gpu-1");
    let gpu = gpu_req.node;
    fleet.provision_node(gpu_req).await.unwrap();
    fleet
        .inject(Fault::NodeNotReady {
            node: "cpu-1".into(),
        })
        .unwrap();
    let before = fleet.instances();
    drop(fleet);
    assert!(path.is_file());

    let (fleet, recorder) = fleet_with(config);
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.replicas.len(), 3);
    assert!(snapshot.nodes.contains(&(cpu, false)), "{snapshot:?}");
    assert!(
        snapshot.nodes.contains(&(gpu, false)),
        "still provisioning: {snapshot:?}"
    );
    let after = fleet.instances();
    let cpu_before = before.iter().find(|i| i.node == cpu).unwrap();
    let cpu_after = after.iter().find(|i| i.node == cpu).unwrap();
    assert_eq!(
        cpu_before, cpu_after,
        "same IP, domain, instance id and faults"
    );

    // The GPU node finishes provisioning under the new fleet.
    assert_eventually!(is_ready(&recorder, gpu, true), "{:?}", recorder.all());
    assert_eq!(
        recorder.count(|e| matches!(e, InfraEvent::NodeProvisioned { node, .. } if *node == gpu)),
        1
    );
    // And the new fleet keeps handing out fresh addresses.
    let third = provision_ready(&fleet, &recorder, Pool::new("c1a.16x").node("cpu-2")).await;
    let ips: std::collections::HashSet<String> =
        fleet.instances().into_iter().map(|i| i.ip).collect();
    assert_eq!(ips.len(), 3, "{third}");
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_not_an_empty_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    std::fs::write(&path, b"{\"version\": 1, \"instances\": 7}").unwrap();
    let err = SimFleet::new(config().with_state_file(&path)).unwrap_err();
    assert!(err.to_string().contains("fleet.json"), "{err}");
}

#[test]
fn a_fleet_needs_a_runtime_and_a_sane_clock() {
    assert!(matches!(
        SimFleet::new(config()),
        Err(accord_sim::SimError::NoRuntime)
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for factor in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                SimFleet::new(config().with_clock_factor(factor)),
                Err(accord_sim::SimError::Config(_))
            ));
        }
    });
}
