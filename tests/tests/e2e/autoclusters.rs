//! AutoClusters live: a fault injected in the simulator is seen by the telemetry service, the
//! provisioner's policy decides, and the node is repaired through the infrastructure — XID 79
//! reboots the node, the same XID on the same GPU again replaces it; without the customer's
//! opt-in nothing touches the node; a correlated outage trips the breaker and the rest are held
//! until it clears.

use accord_core::{
    autoclusters::{Remediation, RemediationState},
    events::DomainEvent as _,
    ids::{ClusterId, NodeId, RemediationId},
    node::NodeState,
    remediation::{RemediationAction, RemediationEvent},
};
use accord_e2e::{
    Api, Env, GPU_INSTANCE, cluster_id, cluster_request, kind, pool_request, wait_for,
};
use accord_proto::{provisioner::v1 as pb, support::v1 as spb, telemetry::v1 as tpb};
use serde_json::json;

/// A running cluster `name` with AutoClusters set as given, and a ready pool `gpu` of `count`
/// GPU nodes whose agents the telemetry service has heard from (their baselines are taken).
async fn gpu_cluster(
    env: &Env,
    api: &Api,
    name: &str,
    autoclusters: Option<pb::AutoClustersSettings>,
    count: u32,
) -> (String, Vec<tpb::NodeHealth>) {
    let mut req = cluster_request(name, "");
    req.spec.as_mut().unwrap().autoclusters = autoclusters;
    let created = api
        .clusters
        .clone()
        .create_cluster(req)
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    env.wait_cluster(api, &id, "cluster running", accord_e2e::is_running)
        .await
        .unwrap();
    api.node_pools
        .clone()
        .create_node_pool(pool_request(&id, "gpu", GPU_INSTANCE, count, ""))
        .await
        .unwrap();
    env.wait_pool(api, &id, "gpu", "pool ready", |p| {
        p.status.as_ref().is_some_and(|s| s.ready_nodes == count)
    })
    .await
    .unwrap();
    let health = env.telemetry(&env.admin_token).unwrap();
    // Two samples per node: the first is the baseline the XID counters are compared with.
    let nodes = wait_for("every node's verdict", || {
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
            if nodes.len() == count as usize
                && nodes
                    .iter()
                    .all(|n| n.verdict == i32::from(tpb::Verdict::Pass))
            {
                Ok(nodes)
            } else {
                Err(format!("{nodes:?}"))
            }
        }
    })
    .await
    .unwrap();
    (id, nodes)
}

/// Waits for a ticket of `cluster` whose evidence names `remediation`, in `state`.
async fn incident(
    env: &Env,
    cluster: &str,
    remediation: RemediationId,
    state: &str,
) -> spb::Ticket {
    let id = remediation.to_string();
    env.wait_ticket(cluster, &format!("a {state} incident for {id}"), |t| {
        t.state == state && t.evidence.iter().any(|e| e.contains(&id))
    })
    .await
    .unwrap()
}

async fn xid79(env: &Env, node: &str, gpu: u32) {
    env.fault(json!({"kind": "gpu-xid", "node": node, "gpu": gpu, "xid": 79}))
        .await
        .unwrap();
}

/// The remediation events of the stream about `node`.
async fn remediation_events(env: &Env, node: &str) -> Vec<RemediationEvent> {
    env.events()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| kind(e).starts_with("remediation."))
        .filter_map(|e| e.decode_data::<RemediationEvent>().ok())
        .filter(|e| e.resource_id() == node)
        .collect()
}

/// Waits for the `n`-th `remediation.decided` about `node` and returns its remediation.
async fn nth_decision(env: &Env, node: &str, n: usize) -> Remediation {
    let id: RemediationId = wait_for(&format!("decision {n} about {node}"), || async {
        let decided: Vec<RemediationId> = remediation_events(env, node)
            .await
            .into_iter()
            .filter_map(|e| match e {
                RemediationEvent::Decided { remediation, .. } => remediation,
                _ => None,
            })
            .collect();
        decided
            .get(n - 1)
            .copied()
            .ok_or_else(|| format!("{} decisions", decided.len()))
    })
    .await
    .unwrap();
    env.provisioner.reader().remediation(id).unwrap().unwrap()
}

/// Waits until the remediation is in `state`.
async fn wait_state(env: &Env, id: RemediationId, state: RemediationState) -> Remediation {
    wait_for(&format!("{id} {}", state.as_str()), || async {
        let r = env.provisioner.reader().remediation(id).unwrap().unwrap();
        if r.status.state == state {
            Ok(r)
        } else {
            Err(format!(
                "{} ({}): {}",
                r.status.state.as_str(),
                r.status.action.as_str(),
                r.status.reason
            ))
        }
    })
    .await
    .unwrap()
}

fn node_state(env: &Env, node: &str) -> Option<(NodeState, bool)> {
    let id: NodeId = node.parse().unwrap();
    env.provisioner
        .reader()
        .node(id)
        .unwrap()
        .map(|n| (n.status.state, n.status.cordoned_by.is_some()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xid_79_reboots_the_node_and_the_same_fault_again_replaces_it() {
    let mut env = Env::start().await.unwrap();
    env.start_telemetry().await.unwrap();
    let admin = env.admin().unwrap();
    let settings = pb::AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent: 50,
        max_in_flight_per_pool: 1,
        mode: String::new(),
        ..Default::default()
    };
    env.start_support_triage().await.unwrap();
    let (cluster, nodes) = gpu_cluster(&env, &admin, "heal", Some(settings), 2).await;
    let node = nodes[0].node_id.clone();

    // XID 79 on GPU 3: the GPU falls off the bus, the node goes NotReady; the policy says
    // reboot, the node is cordoned, drained, power-cycled, Ready again and uncordoned.
    xid79(&env, &nodes[0].node_name, 3).await;
    let first = nth_decision(&env, &node, 1).await;
    assert_eq!(first.spec.decision.action, RemediationAction::RebootNode);
    assert_eq!(first.spec.decision.responsibility.to_string(), "supported");
    assert_eq!(first.spec.finding.xid, Some(79));
    assert_eq!(first.spec.finding.gpu, Some(3));
    assert_eq!(first.spec.node_name, nodes[0].node_name);
    assert!(
        first.spec.policy.starts_with("gpu-remediation@"),
        "{}",
        first.spec.policy
    );
    assert!(!first.spec.evidence.is_empty());
    let done = wait_state(&env, first.metadata.id, RemediationState::Succeeded).await;
    let steps: Vec<&str> = done
        .status
        .timeline
        .iter()
        .map(|t| t.what.as_str())
        .collect();
    for step in [
        "decided",
        "cordoned",
        "repair-requested",
        "power-cycle",
        "repaired",
        "uncordoned",
        "succeeded",
    ] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    assert_eq!(node_state(&env, &node), Some((NodeState::Ready, false)));
    // A Supported incident carried the evidence and the remediation; the repair closed it.
    let ticket = incident(&env, &cluster, first.metadata.id, "closed").await;
    assert_eq!(
        ticket.category,
        i32::from(spb::Category::Supported),
        "{ticket:?}"
    );
    assert!(ticket.evidence.len() >= 2, "{:?}", ticket.evidence);
    let kinds: Vec<&str> = remediation_events(&env, &node)
        .await
        .iter()
        .map(|e| e.event())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert!(kinds.starts_with(&["decided", "started"]), "{kinds:?}");
    assert!(kinds.contains(&"succeeded"), "{kinds:?}");

    // The same XID on the same GPU again within 24 h: the ladder's next rung, replace-node. A
    // new node joins the pool, the old one leaves, the remediation keeps its evidence.
    xid79(&env, &nodes[0].node_name, 3).await;
    let second = nth_decision(&env, &node, 2).await;
    assert_eq!(
        second.spec.decision.action,
        RemediationAction::ReplaceNode,
        "{}",
        second.spec.decision.reason
    );
    assert_eq!(second.spec.context.xid_count_24h, 2);
    let replaced = wait_state(&env, second.metadata.id, RemediationState::Succeeded).await;
    let replacement = replaced.status.replacement.unwrap();
    assert_eq!(node_state(&env, &node), None, "the old node is gone");
    assert_eq!(
        node_state(&env, &replacement.to_string()).map(|s| s.0),
        Some(NodeState::Ready)
    );
    assert!(
        !replaced.spec.evidence.is_empty(),
        "evidence kept for the RMA"
    );
    assert!(
        env.fleet
            .instances()
            .iter()
            .all(|i| i.node != node.parse::<NodeId>().unwrap())
    );
    let cluster_id: ClusterId = cluster.parse().unwrap();
    let pool_nodes: usize = env
        .provisioner
        .reader()
        .pools(cluster_id)
        .unwrap()
        .iter()
        .map(|p| env.provisioner.reader().nodes(p.metadata.id).unwrap().len())
        .sum();
    assert_eq!(pool_nodes, 2, "the pool keeps its size");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_opt_in_a_fault_is_decided_and_announced_but_the_node_is_not_touched() {
    let mut env = Env::start().await.unwrap();
    env.start_telemetry().await.unwrap();
    let admin = env.admin().unwrap();
    env.start_support_triage().await.unwrap();
    let (cluster, nodes) = gpu_cluster(&env, &admin, "manual", None, 1).await;
    let node = nodes[0].node_id.clone();
    xid79(&env, &nodes[0].node_name, 1).await;
    let r = nth_decision(&env, &node, 1).await;
    assert_eq!(r.spec.decision.action, RemediationAction::NotifyCustomer);
    assert_eq!(r.status.state, RemediationState::Skipped);
    assert!(
        r.spec.decision.reason.contains("not allowed"),
        "{}",
        r.spec.decision.reason
    );
    assert!(!r.spec.context.remediation_allowed);
    // Nothing acts on the node: a skipped remediation is never carried out (the commit that
    // recorded it would have started it), so the node stays NotReady and uncordoned.
    assert_eq!(node_state(&env, &node), Some((NodeState::NotReady, false)));
    let kinds: Vec<&str> = remediation_events(&env, &node)
        .await
        .iter()
        .map(|e| e.event())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(kinds, ["decided"]);
    // Still an incident: the provider's hardware failed, the customer chose manual repair.
    let ticket = incident(&env, &cluster, r.metadata.id, "open").await;
    assert_eq!(
        ticket.category,
        i32::from(spb::Category::Supported),
        "{ticket:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correlated_outage_trips_the_breaker_and_held_remediations_are_released_when_it_clears() {
    let mut env = Env::start().await.unwrap();
    env.start_telemetry().await.unwrap();
    let admin = env.admin().unwrap();
    let settings = pb::AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent: 25,
        max_in_flight_per_pool: 1,
        mode: String::new(),
        ..Default::default()
    };
    let (_, nodes) = gpu_cluster(&env, &admin, "outage", Some(settings), 4).await;

    // Three of four nodes lose a GPU at once: 3 of 4 unhealthy > 25 %, every one is held.
    for n in &nodes[..3] {
        xid79(&env, &n.node_name, 0).await;
    }
    let mut held = Vec::new();
    for n in &nodes[..3] {
        let r = nth_decision(&env, &n.node_id, 1).await;
        assert_eq!(
            r.spec.decision.action,
            RemediationAction::Hold,
            "{}",
            r.spec.decision.reason
        );
        assert_eq!(r.status.state, RemediationState::Held);
        assert!(
            r.spec
                .decision
                .reason
                .contains("cluster circuit breaker open"),
            "{}",
            r.spec.decision.reason
        );
        held.push(r);
    }
    assert_eq!(
        node_state(&env, &nodes[0].node_id),
        Some((NodeState::NotReady, false))
    );

    // Two nodes come back by themselves: the breaker closes for the third, whose reboot runs;
    // the others are released one at a time (one in flight per pool) until all are repaired.
    for n in &nodes[1..3] {
        env.fault(json!({"kind": "node-recover", "node": n.node_name}))
            .await
            .unwrap();
    }
    for r in &held {
        let done = wait_state(&env, r.metadata.id, RemediationState::Succeeded).await;
        assert_eq!(done.status.action, RemediationAction::RebootNode);
        assert!(
            done.status.timeline.iter().any(|t| t.what == "released"),
            "{:?}",
            done.status.timeline
        );
        let events = remediation_events(&env, &r.spec.node.to_string()).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RemediationEvent::Held { .. }))
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RemediationEvent::Released { .. }))
        );
    }
    for n in &nodes[..3] {
        assert_eq!(
            node_state(&env, &n.node_id),
            Some((NodeState::Ready, false))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_approval_mode_a_reboot_waits_for_the_customer_and_runs_once_approved() {
    let mut env = Env::start().await.unwrap();
    env.start_telemetry().await.unwrap();
    let admin = env.admin().unwrap();
    let settings = pb::AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent: 50,
        max_in_flight_per_pool: 1,
        mode: "approval".into(),
        ..Default::default()
    };
    let (_, nodes) = gpu_cluster(&env, &admin, "careful", Some(settings), 1).await;
    let node = nodes[0].node_id.clone();
    xid79(&env, &nodes[0].node_name, 2).await;
    let pending = nth_decision(&env, &node, 1).await;
    assert_eq!(pending.status.state, RemediationState::PendingApproval);
    assert_eq!(node_state(&env, &node), Some((NodeState::NotReady, false)));

    // AutoClusters is shared: the provider's operator may approve too (the customer's API
    // key does the same, below, for the second approval attempt).
    let mut by_operator = pb::remediations_client::RemediationsClient::with_interceptor(
        env.channel(),
        accord_e2e::Bearer::new(&env.operator_token).unwrap(),
    );
    let approved = by_operator
        .approve_remediation(pb::ResolveRemediationRequest {
            project: pending.metadata.project.to_string(),
            id: pending.metadata.id.to_string(),
            reason: "the job checkpointed".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state, "running");
    let done = wait_state(&env, pending.metadata.id, RemediationState::Succeeded).await;
    let approval = done.status.timeline.iter().find(|t| t.what == "approved");
    assert!(
        approval.is_some_and(|t| t.detail.contains("the job checkpointed")),
        "{:?}",
        done.status.timeline
    );
    let mut remediations = pb::remediations_client::RemediationsClient::with_interceptor(
        env.channel(),
        accord_e2e::Bearer::new(&env.admin_token).unwrap(),
    );
    assert_eq!(node_state(&env, &node), Some((NodeState::Ready, false)));
    // Approving again is refused: it is no longer pending.
    let again = remediations
        .approve_remediation(pb::ResolveRemediationRequest {
            project: String::new(),
            id: pending.metadata.id.to_string(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preventive_reset_waits_for_the_maintenance_window_and_runs_when_it_opens() {
    let mut env = Env::start().await.unwrap();
    env.start_telemetry().await.unwrap();
    let admin = env.admin().unwrap();
    // A window two days from now: closed today whatever the time.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let day = format!("{:?}", later.weekday())[..3].to_ascii_lowercase();
    let window = |days: Vec<String>, minutes| pb::MaintenanceWindow {
        days,
        start: "00:00".into(),
        duration_minutes: minutes,
        text: String::new(),
    };
    let settings = pb::AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent: 50,
        max_in_flight_per_pool: 1,
        maintenance_windows: vec![window(vec![day.clone()], 60)],
        ..Default::default()
    };
    let (cluster, nodes) = gpu_cluster(&env, &admin, "windowed", Some(settings.clone()), 1).await;
    let node = nodes[0].node_id.clone();
    // XID 63 (a row remap recorded): the GPU keeps working; resetting it is preventive.
    env.fault(json!({"kind": "gpu-xid", "node": nodes[0].node_name, "gpu": 1, "xid": 63}))
        .await
        .unwrap();
    // The sample raises two findings, the XID and the row remap it records: both wait.
    let waiting = [
        nth_decision(&env, &node, 1).await,
        nth_decision(&env, &node, 2).await,
    ];
    for w in &waiting {
        assert_eq!(
            w.status.state,
            RemediationState::WaitingWindow,
            "{:?}",
            w.status
        );
        assert_eq!(w.spec.decision.action, RemediationAction::ResetGpu);
        assert!(
            w.status.reason.contains("maintenance window opening at"),
            "{}",
            w.status.reason
        );
        assert!(
            w.status.timeline.iter().any(|t| t.what == "meanwhile"),
            "{:?}",
            w.status.timeline
        );
    }
    assert_eq!(node_state(&env, &node), Some((NodeState::Ready, false)));

    // The customer opens a window that is always open: the reset runs at the next pass.
    let current = admin
        .clusters
        .clone()
        .get_cluster(pb::GetClusterRequest {
            project: String::new(),
            cluster: cluster.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    admin
        .clusters
        .clone()
        .update_cluster(pb::UpdateClusterRequest {
            cluster: cluster.clone(),
            resource_version: current.metadata.unwrap().resource_version,
            update_mask: vec!["spec.autoclusters".into()],
            spec: Some(pb::ClusterSpec {
                autoclusters: Some(pb::AutoClustersSettings {
                    maintenance_windows: vec![window(Vec::new(), 24 * 60)],
                    ..settings
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    // One runs the reset; the other finds it done and does nothing more.
    let mut finished = Vec::new();
    for w in &waiting {
        finished.push(
            wait_for("a final state", || async {
                let r = env
                    .provisioner
                    .reader()
                    .remediation(w.metadata.id)
                    .unwrap()
                    .unwrap();
                if r.status.state.is_final() {
                    Ok(r)
                } else {
                    Err(r.status.state.as_str().to_owned())
                }
            })
            .await
            .unwrap(),
        );
    }
    finished.sort_by_key(|r| r.status.state != RemediationState::Succeeded);
    let [done, other] = &finished[..] else {
        unreachable!()
    };
    assert_eq!(
        done.status.state,
        RemediationState::Succeeded,
        "{:?}",
        done.status
    );
    assert!(
        done.status
            .timeline
            .iter()
            .any(|t| t.what == "released" && t.detail.contains("the maintenance window is open")),
        "{:?}",
        done.status.timeline
    );
    assert_eq!(
        other.status.state,
        RemediationState::Skipped,
        "{:?}",
        other.status
    );
    assert!(
        other.status.reason.contains("already repaired the node"),
        "{:?}",
        other.status
    );
    assert_eq!(node_state(&env, &node), Some((NodeState::Ready, false)));
}
