//! Node repairs through the `InfraDriver` trait (clock factor 0: every step completes as soon as
//! the scheduler runs): events in order, snapshot, idempotency, faults.

use accord_core::{
    ids::NodeId,
    infra::{InfraDriver, InfraEvent, RepairAction, RepairRequest},
};
use accord_sim::Fault;
use accord_testkit::assert_eventually;

use crate::common::*;

fn request(id: &str, node: NodeId, action: RepairAction) -> RepairRequest {
    RepairRequest {
        id: id.to_owned(),
        node,
        action,
    }
}

/// `(ok, detail)` of every `RepairFinished` of `id`.
fn outcomes(recorder: &Recorder, id: &str) -> Vec<(bool, String)> {
    recorder
        .all()
        .into_iter()
        .filter_map(|e| match e {
            InfraEvent::RepairFinished {
                repair, ok, detail, ..
            } if repair == id => Some((ok, detail)),
            _ => None,
        })
        .collect()
}

/// The steps of `id` and the node's readiness changes, in order.
fn timeline(recorder: &Recorder, id: &str, node: NodeId) -> Vec<String> {
    recorder
        .all()
        .into_iter()
        .filter_map(|e| match e {
            InfraEvent::RepairProgress { repair, step, .. } if repair == id => Some(step),
            InfraEvent::NodeReadiness {
                node: n,
                ready,
                reason,
            } if n == node => Some(format!("ready={ready} {reason}")),
            InfraEvent::RepairFinished { repair, ok, .. } if repair == id => {
                Some(format!("ok={ok}"))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_gpu_reset_and_a_reboot_through_the_driver() {
    let (fleet, recorder) = fleet_with(config().with_clock_factor(0.0));
    let node = provision_ready(
        &fleet,
        &recorder,
        Pool::new("h200-141gb-sxm-ib.8x").node("g1"),
    )
    .await;
    fleet
        .inject(Fault::GpuXid {
            node: "g1".into(),
            gpu: 5,
            xid: 48,
        })
        .unwrap();

    fleet
        .repair_node(request("reset-1", node, RepairAction::ResetGpu { gpu: 5 }))
        .await
        .unwrap();
    assert_eventually!(!outcomes(&recorder, "reset-1").is_empty());
    assert_eq!(
        timeline(&recorder, "reset-1", node)[1..],
        ["drain-gpu", "reset", "verify", "ok=true"]
    );
    assert!(
        !fleet.instances()[0]
            .faults
            .contains(&"gpu5-xid-48".to_owned())
    );

    // XID 79: the reset cannot help, the reboot does.
    fleet
        .inject(Fault::GpuXid {
            node: "g1".into(),
            gpu: 3,
            xid: 79,
        })
        .unwrap();
    assert_eventually!(is_ready(&recorder, node, false));
    fleet
        .repair_node(request("reset-2", node, RepairAction::ResetGpu { gpu: 3 }))
        .await
        .unwrap();
    assert_eventually!(!outcomes(&recorder, "reset-2").is_empty());
    let (ok, detail) = &outcomes(&recorder, "reset-2")[0];
    assert!(!ok && detail.contains("not on the PCIe bus"), "{detail}");

    fleet
        .repair_node(request("reboot-1", node, RepairAction::RebootNode))
        .await
        .unwrap();
    assert_eventually!(!outcomes(&recorder, "reboot-1").is_empty());
    let steps = timeline(&recorder, "reboot-1", node);
    let from = steps.iter().position(|s| s == "drain").unwrap();
    assert_eq!(
        steps[from..],
        [
            "drain",
            "power-cycle",
            "ready=false Rebooting",
            "boot",
            "ready=true KubeletReady",
            "ok=true"
        ]
    );
    assert!(fleet.instances()[0].faults.is_empty());

    let snapshot = fleet.snapshot();
    let repairs: Vec<(&str, Option<bool>)> = snapshot
        .repairs
        .iter()
        .map(|r| (r.id.as_str(), r.ok))
        .collect();
    assert_eq!(
        repairs,
        [
            ("reset-1", Some(true)),
            ("reset-2", Some(false)),
            ("reboot-1", Some(true))
        ]
    );
    assert_eq!(snapshot.nodes, [(node, true)]);

    // A finished id reports again and redoes nothing.
    let before = recorder.all().len();
    fleet
        .repair_node(request("reboot-1", node, RepairAction::RebootNode))
        .await
        .unwrap();
    assert_eventually!(outcomes(&recorder, "reboot-1").len() == 2);
    assert_eq!(recorder.all().len(), before + 1, "{:?}", recorder.all());

    // Terminated: the repairs go with the instance.
    fleet.terminate_node(node).await.unwrap();
    assert_eventually!(fleet.snapshot().repairs.is_empty());
}

#[tokio::test]
async fn repair_faults_through_the_driver() {
    let (fleet, recorder) = fleet_with(config().with_clock_factor(0.0));
    let node = provision_ready(&fleet, &recorder, Pool::new("c1a.16x").node("c1")).await;

    fleet.inject(Fault::FailNextRepairs { count: 1 }).unwrap();
    fleet
        .repair_node(request("reboot-1", node, RepairAction::RebootNode))
        .await
        .unwrap();
    assert_eventually!(!outcomes(&recorder, "reboot-1").is_empty());
    assert!(!outcomes(&recorder, "reboot-1")[0].0);
    assert!(is_ready(&recorder, node, false));
    assert!(
        fleet.instances()[0]
            .faults
            .contains(&"reboot-failed".to_owned())
    );

    fleet.inject(Fault::HangNextRepairs { count: 1 }).unwrap();
    fleet
        .repair_node(request("reboot-2", node, RepairAction::RebootNode))
        .await
        .unwrap();
    fleet
        .repair_node(request("reboot-3", node, RepairAction::RebootNode))
        .await
        .unwrap();
    assert_eventually!(!outcomes(&recorder, "reboot-3").is_empty());
    let (ok, detail) = &outcomes(&recorder, "reboot-3")[0];
    assert!(
        !ok && detail.contains("another repair (reboot-2)"),
        "{detail}"
    );
    assert_eq!(
        timeline(&recorder, "reboot-2", node).last().unwrap(),
        "drain"
    );
    assert!(outcomes(&recorder, "reboot-2").is_empty(), "it hangs");
    let running: Vec<_> = fleet
        .snapshot()
        .repairs
        .into_iter()
        .filter(|r| r.ok.is_none())
        .map(|r| r.id)
        .collect();
    assert_eq!(running, ["reboot-2"]);

    // Not up: fails at once.
    let absent = NodeId::generate();
    fleet
        .repair_node(request("gone", absent, RepairAction::RebootNode))
        .await
        .unwrap();
    assert_eventually!(!outcomes(&recorder, "gone").is_empty());
    assert!(!outcomes(&recorder, "gone")[0].0);
}
