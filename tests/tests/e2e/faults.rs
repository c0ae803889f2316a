//! Faults injected through the simulator's NATS fault server reach the cluster's conditions and
//! the event stream; malformed requests are refused and the server keeps serving.

use accord_core::{cluster::ClusterEvent, ids::ClusterId, meta::ConditionStatus};
use accord_e2e::{Env, cluster_id, condition, is_running, kind, summary};
use bytes::Bytes;
use serde_json::json;

/// The `ControlPlaneReady` transition carried by a `cluster.condition-changed` event of `id`.
fn cp_transition(e: &accord_bus::CloudEvent, id: &str) -> Option<(ConditionStatus, String)> {
    if kind(e) != "cluster.condition-changed" || e.subject.as_deref() != Some(id) {
        return None;
    }
    match e.decode_data::<ClusterEvent>().ok()? {
        ClusterEvent::ConditionChanged { condition, .. }
            if condition.type_ == "ControlPlaneReady" =>
        {
            Some((condition.status, condition.reason))
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_down_and_up_flip_control_plane_ready_and_publish_condition_changes() {
    let env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "flaky", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();

    let down = env
        .inject_fault(
            json!({"kind": "replica-down", "cluster": id})
                .to_string()
                .as_bytes(),
        )
        .await
        .unwrap();
    assert!(down.ok, "{down:?}");
    let degraded = env
        .wait_cluster(&admin, &id, "ControlPlaneReady=False/ReplicaDown", |c| {
            condition(c, "ControlPlaneReady")
                .is_some_and(|k| k.status == "False" && k.reason == "ReplicaDown")
        })
        .await
        .unwrap();
    let status = degraded.status.as_ref().unwrap();
    let down_replicas: Vec<&str> = status
        .control_plane
        .iter()
        .filter(|r| r.state == "down")
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(down_replicas.len(), 1, "{}", summary(&degraded));
    assert_eq!(status.phase, "degraded", "{}", summary(&degraded));
    let k = condition(&degraded, "ControlPlaneReady").unwrap();
    assert!(k.message.contains(down_replicas[0]), "{k:?}");
    env.wait_event("cluster.condition-changed to False/ReplicaDown", |e| {
        cp_transition(e, &id) == Some((ConditionStatus::False, "ReplicaDown".into()))
    })
    .await
    .unwrap();

    let up = env
        .inject_fault(
            json!({"kind": "replica-up", "cluster": id})
                .to_string()
                .as_bytes(),
        )
        .await
        .unwrap();
    assert!(up.ok, "{up:?}");
    let healed = env
        .wait_cluster(&admin, &id, "ControlPlaneReady=True again", is_running)
        .await
        .unwrap();
    assert!(
        healed
            .status
            .as_ref()
            .unwrap()
            .control_plane
            .iter()
            .all(|r| r.state == "running"),
        "{}",
        summary(&healed)
    );
    env.wait_event("cluster.condition-changed back to True", |e| {
        cp_transition(e, &id).is_some_and(|(s, _)| s == ConditionStatus::True)
    })
    .await
    .unwrap();
    // In order: ready, down, ready again.
    let transitions: Vec<ConditionStatus> = env
        .events()
        .await
        .unwrap()
        .iter()
        .filter_map(|e| cp_transition(e, &id))
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        transitions
            .iter()
            .rev()
            .take(3)
            .rev()
            .copied()
            .collect::<Vec<_>>(),
        vec![
            ConditionStatus::True,
            ConditionStatus::False,
            ConditionStatus::True
        ],
        "{transitions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_fault_requests_get_error_replies_and_the_fault_server_keeps_serving() {
    let env = Env::start().await.unwrap();
    let unknown_cluster = ClusterId::generate().to_string();
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"replica-down please".to_vec()),
        ("empty", Vec::new()),
        ("JSON but not an object", b"[1,2,3]".to_vec()),
        ("unknown kind", br#"{"kind":"meteor-strike"}"#.to_vec()),
        ("missing cluster", br#"{"kind":"replica-down"}"#.to_vec()),
        (
            "cluster id of the wrong kind",
            br#"{"kind":"replica-down","cluster":"node-01j0000000000000000000000"}"#.to_vec(),
        ),
        (
            "cluster that does not exist",
            json!({"kind": "replica-down", "cluster": unknown_cluster})
                .to_string()
                .into_bytes(),
        ),
        (
            "unknown node",
            br#"{"kind":"node-not-ready","node":"no-such-node"}"#.to_vec(),
        ),
        ("binary garbage", vec![0xff, 0xfe, 0x00, 0x7b, 0x22]),
    ];
    for (what, payload) in &malformed {
        let reply = env.inject_fault(payload).await.unwrap_or_else(|e| {
            panic!("{what}: no decodable reply (the server must answer every request): {e:#}")
        });
        assert!(!reply.ok, "{what}: accepted: {reply:?}");
        assert!(
            reply.error.as_deref().is_some_and(|e| !e.trim().is_empty()),
            "{what}: an error reply must say what was wrong: {reply:?}"
        );
    }

    // Still serving: a valid fault is applied and the fleet listing answers.
    let ok = env
        .inject_fault(br#"{"kind":"fail-next-provisions","count":1}"#)
        .await
        .unwrap();
    assert!(ok.ok, "{ok:?}");
    let listing = env
        .bus
        .request(
            &accord_sim::fault_server::list_subject().unwrap(),
            Bytes::new(),
            accord_e2e::REQUEST_TIMEOUT,
        )
        .await
        .unwrap();
    let instances: serde_json::Value = serde_json::from_slice(&listing).unwrap();
    assert!(instances.is_array(), "{instances}");
}
