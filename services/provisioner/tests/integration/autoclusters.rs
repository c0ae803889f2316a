//! AutoClusters' pure parts against a temporary store: what a decision records, how a running
//! remediation moves step by step (cordon, repair, verify, uncordon; replacement), the ladder
//! on failures and timeouts, the customer's cordon, and the policy's context.

use std::collections::BTreeMap;

use accord_core::{
    autoclusters::{Remediation, RemediationState, RemediationStep},
    cluster::{AutoClustersSettings, Cluster, RemediationMode},
    iam::Party,
    ids::ClusterId,
    infra::{InfraEvent, RepairAction},
    node::{Node, NodeState},
    remediation::{
        Finding, FindingKind, RemediationAction, RemediationContext, RemediationDecision,
        RemediationEvent,
    },
    responsibility::SupportScope,
};
use accord_provisioner::{
    autoclusters::{
        context::{Facts, context},
        decide::{Decided, Window, approve, record, reject},
        execute::{Observed, RepairReport, Timeouts, advance, on_repair, repair_request},
    },
    change::{Change, Event},
    handlers::{infra::on_infra_event, nodepools, nodes},
    reconcile::reconcile_cluster,
    trees::CLUSTERS,
};
use time::{Duration, OffsetDateTime};

use crate::common::*;

/// A running cluster with AutoClusters allowed and a pool of `count` ready GPU nodes.
async fn cluster_with_pool(w: &World, count: u32) -> (Cluster, Vec<Node>) {
    cluster_with_mode(w, count, RemediationMode::Auto).await
}

/// [`cluster_with_pool`] in remediation `mode`.
async fn cluster_with_mode(w: &World, count: u32, mode: RemediationMode) -> (Cluster, Vec<Node>) {
    let c = w.cluster("demo").await;
    let mut enabled = c.clone();
    enabled.spec.autoclusters = AutoClustersSettings {
        remediation_enabled: true,
        mode,
        ..AutoClustersSettings::default()
    };
    enabled.metadata.resource_version += 1;
    let mut ch = Change::none();
    ch.put(
        CLUSTERS,
        &c.metadata.id.to_string(),
        &enabled,
        accord_store::Expect::Any,
    )
    .unwrap();
    w.reader.store().commit(ch.commit).await.unwrap();
    w.commit(nodepools::create_pool(
        &w.ctx(&w.admin),
        &enabled,
        "gpu",
        BTreeMap::new(),
        &gpu_pool(count),
    ))
    .await;
    settle(w, c.metadata.id).await;
    let nodes = all_nodes(w, c.metadata.id);
    assert_eq!(nodes.len(), count as usize);
    (enabled, nodes)
}

fn all_nodes(w: &World, cluster: ClusterId) -> Vec<Node> {
    let mut nodes = Vec::new();
    for p in w.reader.pools(cluster).unwrap() {
        nodes.extend(w.reader.nodes(p.metadata.id).unwrap());
    }
    nodes
}

/// Plans the pools and completes every node transition (an instant infrastructure) until
/// nothing moves.
async fn settle(w: &World, cluster: ClusterId) {
    for _ in 0..50 {
        for ch in reconcile_cluster(
            &w.reader,
            cluster,
            Some(&w.image_key()),
            OffsetDateTime::now_utc(),
        )
        .unwrap()
        {
            w.reader.store().commit(ch.commit).await.unwrap();
        }
        let mut moved = false;
        for n in all_nodes(w, cluster) {
            let id = n.metadata.id;
            let ev = match n.status.state {
                NodeState::Provisioning => InfraEvent::NodeReadiness {
                    node: id,
                    ready: true,
                    reason: "KubeletReady".into(),
                },
                NodeState::Draining => InfraEvent::NodeDrained { node: id },
                NodeState::Terminating => InfraEvent::NodeTerminated { node: id },
                _ => continue,
            };
            infra(w, &ev).await;
            moved = true;
        }
        if !moved {
            return;
        }
    }
    panic!("the pool did not settle");
}

async fn infra(w: &World, ev: &InfraEvent) {
    let ch = on_infra_event(&w.reader, OffsetDateTime::now_utc(), ev).unwrap();
    w.reader.store().commit(ch.commit).await.unwrap();
}

fn xid(node: &Node, xid: u32, gpu: u32) -> Finding {
    Finding {
        kind: FindingKind::GpuXid,
        cluster: node.spec.cluster.to_string(),
        node: node.metadata.id.to_string(),
        xid: Some(xid),
        gpu: Some(gpu),
        port: None,
        state: None,
        minutes: None,
        temp_c: None,
        signal: Some("xid".into()),
        severity: Some("critical".into()),
    }
}

fn decided(finding: Finding, id: &str, action: RemediationAction) -> Decided {
    Decided {
        finding_id: id.into(),
        finding,
        evidence: vec!["xid_total 0 -> 1 on GPU 3".into()],
        context: RemediationContext::default(),
        decision: RemediationDecision {
            action,
            responsibility: SupportScope::Supported,
            reason: format!("test: {}", action.as_str()),
        },
        policy: "gpu-remediation@test".into(),
        window: None,
    }
}

/// Records a decision about `node` and commits it; returns the remediation and its events.
async fn decide(
    w: &World,
    c: &Cluster,
    node: &Node,
    d: Decided,
) -> (Remediation, Vec<RemediationEvent>) {
    let existing = w.reader.remediations(c.metadata.id).unwrap();
    let fresh = w.reader.node(node.metadata.id).unwrap().unwrap();
    let (ch, rem) = record(OffsetDateTime::now_utc(), c, &fresh, &existing, d).unwrap();
    let events = remediation_events(&ch);
    w.reader.store().commit(ch.commit).await.unwrap();
    (rem, events)
}

fn remediation_events(ch: &Change) -> Vec<RemediationEvent> {
    ch.events
        .iter()
        .filter_map(|e| match e {
            Event::Remediation(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn current(w: &World, rem: &Remediation) -> Remediation {
    w.reader.remediation(rem.metadata.id).unwrap().unwrap()
}

/// One controller step over `rem` at `now`; returns its remediation events.
async fn step_at(w: &World, rem: &Remediation, now: OffsetDateTime) -> Vec<RemediationEvent> {
    let rem = current(w, rem);
    let observed = Observed::read(&w.reader, &rem).unwrap();
    match advance(&rem, &observed.subject(), now, &Timeouts::default()).unwrap() {
        Some(ch) => {
            let events = remediation_events(&ch);
            w.reader.store().commit(ch.commit).await.unwrap();
            events
        }
        None => Vec::new(),
    }
}

async fn step(w: &World, rem: &Remediation) -> Vec<RemediationEvent> {
    step_at(w, rem, OffsetDateTime::now_utc()).await
}

async fn report(w: &World, rem: &Remediation, report: RepairReport<'_>) {
    let rem = current(w, rem);
    let observed = Observed::read(&w.reader, &rem).unwrap();
    let repair = rem.status.repair.clone().unwrap();
    let now = OffsetDateTime::now_utc();
    if let Some(ch) = on_repair(&rem, &observed.subject(), &repair, report, now).unwrap() {
        w.reader.store().commit(ch.commit).await.unwrap();
    }
}

fn names(events: &[RemediationEvent]) -> Vec<String> {
    use accord_core::events::DomainEvent as _;
    events
        .iter()
        .map(|e| match e {
            RemediationEvent::Step { step, .. } => format!("step:{step}"),
            other => other.event().to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn a_reboot_cordons_repairs_waits_for_ready_and_uncordons() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 2).await;
    let node = &nodes[0];
    let (rem, events) = decide(
        &w,
        &c,
        node,
        decided(xid(node, 79, 3), "hf-1", RemediationAction::RebootNode),
    )
    .await;
    assert_eq!(rem.status.state, RemediationState::Running);
    assert_eq!(names(&events), ["decided", "started"]);
    let RemediationEvent::Decided {
        remediation, state, ..
    } = &events[0]
    else {
        panic!("decided first");
    };
    assert_eq!(
        (*remediation, *state),
        (Some(rem.metadata.id), Some(RemediationState::Running))
    );

    // First pass: cordon and ask for the repair.
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["step:cordoned", "step:repair-requested"]);
    let now = current(&w, &rem);
    assert_eq!(now.status.step, Some(RemediationStep::Repair));
    assert!(now.status.cordoned_by_us);
    let n = w.reader.node(node.metadata.id).unwrap().unwrap();
    assert_eq!(n.status.cordoned_by, Some(Party::Provider));
    let req = repair_request(&now).unwrap();
    assert_eq!(req.action, RepairAction::RebootNode);
    assert_eq!(req.id, format!("{}/1", rem.metadata.id));
    // Waiting for the infrastructure: nothing to do.
    assert!(step(&w, &rem).await.is_empty());

    // The node goes down for the power cycle and the repair reports its steps and success.
    infra(
        &w,
        &InfraEvent::NodeReadiness {
            node: node.metadata.id,
            ready: false,
            reason: "Rebooting".into(),
        },
    )
    .await;
    report(
        &w,
        &rem,
        RepairReport::Progress {
            step: "power-cycle",
            detail: "power-cycled",
        },
    )
    .await;
    // A repeated report (a restarted driver) adds nothing.
    report(
        &w,
        &rem,
        RepairReport::Progress {
            step: "power-cycle",
            detail: "power-cycled",
        },
    )
    .await;
    report(
        &w,
        &rem,
        RepairReport::Finished {
            ok: true,
            detail: "node back",
        },
    )
    .await;
    let now = current(&w, &rem);
    assert_eq!(now.status.step, Some(RemediationStep::Verify));
    assert_eq!(
        now.status
            .timeline
            .iter()
            .filter(|t| t.what == "power-cycle")
            .count(),
        1
    );
    assert!(step(&w, &rem).await.is_empty(), "not ready yet");
    infra(
        &w,
        &InfraEvent::NodeReadiness {
            node: node.metadata.id,
            ready: true,
            reason: "KubeletReady".into(),
        },
    )
    .await;
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["step:uncordoned", "succeeded"]);
    let done = current(&w, &rem);
    assert_eq!(done.status.state, RemediationState::Succeeded);
    assert!(
        done.status.reason.contains("Ready again"),
        "{}",
        done.status.reason
    );
    let n = w.reader.node(node.metadata.id).unwrap().unwrap();
    assert_eq!(n.status.cordoned_by, None);
    assert!(repair_request(&done).is_none());
}

#[tokio::test]
async fn a_node_the_customer_cordoned_stays_cordoned() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 1).await;
    let node = &nodes[0];
    let (rem, _) = decide(
        &w,
        &c,
        node,
        decided(xid(node, 46, 1), "hf-1", RemediationAction::ResetGpu),
    )
    .await;
    step(&w, &rem).await;
    // The customer cordons it too while the provider repairs: the cordon becomes theirs.
    let n = w.reader.node(node.metadata.id).unwrap().unwrap();
    w.commit(nodes::cordon(&w.ctx(&w.admin), &n)).await;
    report(
        &w,
        &rem,
        RepairReport::Finished {
            ok: true,
            detail: "GPU 1 reset",
        },
    )
    .await;
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["succeeded"], "no uncordon");
    let n = w.reader.node(node.metadata.id).unwrap().unwrap();
    assert_eq!(n.status.cordoned_by, Some(Party::Customer));

    // A node the customer had cordoned before: the provider never cordons or uncordons it.
    let (rem, _) = decide(
        &w,
        &c,
        node,
        decided(xid(node, 46, 1), "hf-2", RemediationAction::ResetGpu),
    )
    .await;
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["step:repair-requested"]);
    assert!(!current(&w, &rem).status.cordoned_by_us);
}

#[tokio::test]
async fn failures_climb_reset_reboot_replace_and_the_replacement_takes_the_nodes_place() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 2).await;
    let node = &nodes[0];
    let (rem, _) = decide(
        &w,
        &c,
        node,
        decided(xid(node, 48, 2), "hf-1", RemediationAction::ResetGpu),
    )
    .await;
    step(&w, &rem).await;
    assert_eq!(
        repair_request(&current(&w, &rem)).unwrap().action,
        RepairAction::ResetGpu { gpu: 2 }
    );
    report(
        &w,
        &rem,
        RepairReport::Finished {
            ok: false,
            detail: "the GPU did not come back",
        },
    )
    .await;
    let r = current(&w, &rem);
    assert_eq!(
        (r.status.action, r.status.attempts, r.status.step),
        (RemediationAction::RebootNode, 2, None)
    );
    step(&w, &rem).await;
    let req = repair_request(&current(&w, &rem)).unwrap();
    assert_eq!(req.action, RepairAction::RebootNode);
    assert_eq!(
        req.id,
        format!("{}/2", rem.metadata.id),
        "a new repair id per rung"
    );

    // The reboot hangs: past its timeout the ladder climbs to replace.
    let later = OffsetDateTime::now_utc() + Duration::minutes(21);
    let events = step_at(&w, &rem, later).await;
    assert_eq!(names(&events), ["step:climbed", "started"]);
    let r = current(&w, &rem);
    assert_eq!(r.status.action, RemediationAction::ReplaceNode);
    assert!(
        r.status
            .reason
            .contains("did not finish the repair within 20 min")
    );

    // Replace: a third node is created, the old one no longer counts and is not scaled away.
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["step:replacement-requested"]);
    let r = current(&w, &rem);
    let replacement = r.status.replacement.unwrap();
    let old = w.reader.node(node.metadata.id).unwrap().unwrap();
    assert_eq!(old.status.retiring, Some(rem.metadata.id));
    assert_eq!(all_nodes(&w, c.metadata.id).len(), 3);
    for ch in reconcile_cluster(
        &w.reader,
        c.metadata.id,
        Some(&w.image_key()),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    {
        w.reader.store().commit(ch.commit).await.unwrap();
    }
    assert_eq!(
        w.reader
            .node(node.metadata.id)
            .unwrap()
            .unwrap()
            .status
            .state,
        NodeState::Ready,
        "the pool does not remove the node being replaced"
    );
    assert!(step(&w, &rem).await.is_empty(), "replacement not ready yet");

    // The replacement comes up; the old node drains and goes.
    infra(
        &w,
        &InfraEvent::NodeReadiness {
            node: replacement,
            ready: true,
            reason: "KubeletReady".into(),
        },
    )
    .await;
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["step:replacement-ready"]);
    assert_eq!(
        w.reader
            .node(node.metadata.id)
            .unwrap()
            .unwrap()
            .status
            .state,
        NodeState::Draining
    );
    settle(&w, c.metadata.id).await;
    assert!(w.reader.node(node.metadata.id).unwrap().is_none());
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["succeeded"]);
    let done = current(&w, &rem);
    assert_eq!(done.status.state, RemediationState::Succeeded);
    assert_eq!(
        done.spec.evidence,
        ["xid_total 0 -> 1 on GPU 3"],
        "evidence kept"
    );
    assert!(done.status.timeline.len() >= 6);
    let nodes: Vec<_> = all_nodes(&w, c.metadata.id)
        .into_iter()
        .map(|n| n.metadata.id)
        .collect();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.contains(&replacement));
}

#[tokio::test]
async fn a_replacement_that_fails_ends_failed_with_the_evidence_and_the_old_node_counts_again() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 1).await;
    let node = &nodes[0];
    let (rem, _) = decide(
        &w,
        &c,
        node,
        decided(xid(node, 79, 0), "hf-1", RemediationAction::ReplaceNode),
    )
    .await;
    step(&w, &rem).await;
    let replacement = current(&w, &rem).status.replacement.unwrap();
    infra(
        &w,
        &InfraEvent::NodeFailed {
            node: replacement,
            reason: "no capacity".into(),
        },
    )
    .await;
    let events = step(&w, &rem).await;
    assert_eq!(names(&events), ["failed"]);
    let RemediationEvent::Failed {
        evidence, reason, ..
    } = &events[0]
    else {
        panic!()
    };
    assert!(reason.contains("failed to provision"), "{reason}");
    assert!(evidence.iter().any(|e| e.contains("xid_total")));
    assert!(evidence.iter().any(|e| e.contains("replacement-requested")));
    let old = w.reader.node(node.metadata.id).unwrap().unwrap();
    assert_eq!(old.status.retiring, None);
    assert_eq!(
        old.status.cordoned_by,
        Some(Party::Provider),
        "a broken node stays cordoned"
    );
}

#[tokio::test]
async fn decisions_start_in_the_state_their_action_implies_and_a_running_one_absorbs_others() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 2).await;
    let (held, events) = decide(
        &w,
        &c,
        &nodes[1],
        decided(xid(&nodes[1], 79, 0), "hf-h", RemediationAction::Hold),
    )
    .await;
    assert_eq!(held.status.state, RemediationState::Held);
    assert_eq!(names(&events), ["decided", "held"]);
    let (notify, events) = decide(
        &w,
        &c,
        &nodes[1],
        decided(
            xid(&nodes[1], 13, 0),
            "hf-n",
            RemediationAction::NotifyCustomer,
        ),
    )
    .await;
    assert_eq!(notify.status.state, RemediationState::Skipped);
    assert_eq!(names(&events), ["decided"]);

    let (first, _) = decide(
        &w,
        &c,
        &nodes[0],
        decided(xid(&nodes[0], 79, 0), "hf-1", RemediationAction::RebootNode),
    )
    .await;
    let (second, events) = decide(
        &w,
        &c,
        &nodes[0],
        decided(xid(&nodes[0], 79, 1), "hf-2", RemediationAction::RebootNode),
    )
    .await;
    assert_eq!(second.status.state, RemediationState::Skipped);
    assert!(
        second
            .status
            .reason
            .contains(&first.metadata.id.to_string())
    );
    assert_eq!(names(&events), ["decided"]);

    // The same finding id is recorded once: the index refuses a second record.
    let existing = w.reader.remediations(c.metadata.id).unwrap();
    let (ch, _) = record(
        OffsetDateTime::now_utc(),
        &c,
        &nodes[0],
        &existing,
        decided(xid(&nodes[0], 79, 0), "hf-1", RemediationAction::RebootNode),
    )
    .unwrap();
    assert!(w.reader.store().commit(ch.commit).await.is_err());
    assert_eq!(
        w.reader
            .remediation_of_finding("hf-1")
            .unwrap()
            .unwrap()
            .metadata
            .id,
        first.metadata.id
    );
}

#[tokio::test]
async fn the_context_counts_repeats_in_flight_and_unhealthy_nodes() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 4).await;
    let ctx_of = |finding: &Finding, node: &Node| {
        let cluster_nodes = all_nodes(&w, c.metadata.id);
        let remediations = w.reader.remediations(c.metadata.id).unwrap();
        context(
            &Facts {
                cluster: &c,
                node,
                pool_opt_in: None,
                cluster_nodes: &cluster_nodes,
                remediations: &remediations,
                now: OffsetDateTime::now_utc(),
            },
            finding,
        )
    };
    let first = ctx_of(&xid(&nodes[0], 79, 3), &nodes[0]);
    assert!(first.remediation_allowed);
    assert_eq!(
        (
            first.xid_count_24h,
            first.pool_size,
            first.cluster_size,
            first.unhealthy_in_pool,
            first.in_flight_in_pool
        ),
        (1, 4, 4, 1, 0)
    );
    decide(
        &w,
        &c,
        &nodes[0],
        decided(xid(&nodes[0], 79, 3), "hf-1", RemediationAction::RebootNode),
    )
    .await;
    infra(
        &w,
        &InfraEvent::NodeReadiness {
            node: nodes[2].metadata.id,
            ready: false,
            reason: "KubeletStopped".into(),
        },
    )
    .await;
    // The same XID on the same GPU again counts 2; another GPU or XID starts at 1.
    assert_eq!(ctx_of(&xid(&nodes[0], 79, 3), &nodes[0]).xid_count_24h, 2);
    assert_eq!(ctx_of(&xid(&nodes[0], 79, 4), &nodes[0]).xid_count_24h, 1);
    assert_eq!(ctx_of(&xid(&nodes[0], 48, 3), &nodes[0]).xid_count_24h, 1);
    let other = ctx_of(&xid(&nodes[1], 79, 0), &nodes[1]);
    assert_eq!(other.in_flight_in_pool, 1);
    // nodes[0] (being remediated), nodes[2] (not ready) and nodes[1] itself.
    assert_eq!(
        (other.unhealthy_in_pool, other.unhealthy_in_cluster),
        (3, 3)
    );
    assert_eq!(ctx_of(&xid(&nodes[0], 79, 3), &nodes[0]).remediations_7d, 1);

    // A pool's opt-in overrides the cluster's, either way.
    let cluster_nodes = all_nodes(&w, c.metadata.id);
    for (pool_opt_in, allowed) in [(Some(false), false), (Some(true), true), (None, true)] {
        let ctx = context(
            &Facts {
                cluster: &c,
                node: &nodes[1],
                pool_opt_in,
                cluster_nodes: &cluster_nodes,
                remediations: &[],
                now: OffsetDateTime::now_utc(),
            },
            &xid(&nodes[1], 79, 0),
        );
        assert_eq!(ctx.remediation_allowed, allowed, "{pool_opt_in:?}");
    }
}

#[tokio::test]
async fn approval_mode_holds_costly_actions_for_a_decision_and_dry_run_touches_nothing() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_mode(&w, 2, RemediationMode::Approval).await;
    // A reboot waits; a GPU reset goes ahead.
    let (reboot, events) = decide(
        &w,
        &c,
        &nodes[0],
        decided(xid(&nodes[0], 79, 3), "hf-1", RemediationAction::RebootNode),
    )
    .await;
    assert_eq!(reboot.status.state, RemediationState::PendingApproval);
    assert_eq!(names(&events), ["decided"]);
    assert!(
        step(&w, &reboot).await.is_empty(),
        "nothing runs while pending"
    );
    let (reset, _) = decide(
        &w,
        &c,
        &nodes[1],
        decided(xid(&nodes[1], 46, 0), "hf-2", RemediationAction::ResetGpu),
    )
    .await;
    assert_eq!(reset.status.state, RemediationState::Running);

    // Approved: it runs like any other.
    let now = OffsetDateTime::now_utc();
    let (ch, approved) = approve(now, &current(&w, &reboot), "admin", "maintenance ok").unwrap();
    assert_eq!(names(&remediation_events(&ch)), ["started"]);
    w.reader.store().commit(ch.commit).await.unwrap();
    assert_eq!(approved.status.state, RemediationState::Running);
    assert!(approved.status.reason.contains("approved by admin"));
    assert_eq!(
        names(&step(&w, &reboot).await),
        ["step:cordoned", "step:repair-requested"]
    );
    // Only a pending remediation can be approved or rejected.
    let err = reject(now, &current(&w, &reboot), "admin", "").unwrap_err();
    assert!(err.to_string().contains("not pending-approval"), "{err}");

    // Rejected: skipped, the node untouched.
    let (replace, _) = decide(
        &w,
        &c,
        &nodes[1],
        decided(
            xid(&nodes[1], 79, 1),
            "hf-3",
            RemediationAction::ReplaceNode,
        ),
    )
    .await;
    // (nodes[1] has a running reset: the replace joins it.)
    assert_eq!(replace.status.state, RemediationState::Skipped);

    let w2 = World::new().await;
    let (c2, nodes2) = cluster_with_mode(&w2, 1, RemediationMode::Approval).await;
    let (pending, _) = decide(
        &w2,
        &c2,
        &nodes2[0],
        decided(
            xid(&nodes2[0], 79, 3),
            "hf-9",
            RemediationAction::ReplaceNode,
        ),
    )
    .await;
    let (ch, rejected) = reject(now, &pending, "admin", "we drain it ourselves").unwrap();
    w2.reader.store().commit(ch.commit).await.unwrap();
    assert_eq!(rejected.status.state, RemediationState::Skipped);
    assert!(rejected.status.reason.contains("we drain it ourselves"));
    assert_eq!(all_nodes(&w2, c2.metadata.id).len(), 1);

    // Dry-run: recorded with what would happen, final, nothing touches the node.
    let w3 = World::new().await;
    let (c3, nodes3) = cluster_with_mode(&w3, 1, RemediationMode::DryRun).await;
    let (dry, events) = decide(
        &w3,
        &c3,
        &nodes3[0],
        decided(
            xid(&nodes3[0], 79, 3),
            "hf-d",
            RemediationAction::RebootNode,
        ),
    )
    .await;
    assert_eq!(dry.status.state, RemediationState::DryRun);
    assert!(dry.status.reason.starts_with("dry-run: would reboot-node"));
    assert_eq!(names(&events), ["decided"]);
    assert!(step(&w3, &dry).await.is_empty());
    let n = w3.reader.node(nodes3[0].metadata.id).unwrap().unwrap();
    assert_eq!(n.status.cordoned_by, None);
}

#[tokio::test]
async fn a_preventive_action_waits_for_the_window_unless_the_node_is_down_or_in_dry_run() {
    let w = World::new().await;
    let (c, nodes) = cluster_with_pool(&w, 2).await;
    let opens = OffsetDateTime::now_utc() + Duration::days(2);
    let in_window = RemediationDecision {
        action: RemediationAction::ResetGpu,
        responsibility: SupportScope::Supported,
        reason: "reset the GPU in the open maintenance window".into(),
    };
    let waits = |id: &str, node: &Node| Decided {
        window: Some(Window::Wait {
            decision: in_window.clone(),
            opens,
        }),
        ..decided(xid(node, 63, 1), id, RemediationAction::None)
    };
    let (waiting, events) = decide(&w, &c, &nodes[0], waits("mw-1", &nodes[0])).await;
    assert_eq!(waiting.status.state, RemediationState::WaitingWindow);
    assert_eq!(
        waiting.spec.decision, in_window,
        "the decision is what it will do"
    );
    assert_eq!(
        waiting.status.action,
        RemediationAction::None,
        "nothing runs yet"
    );
    assert!(
        waiting
            .status
            .reason
            .contains("maintenance window opening at")
    );
    let meanwhile = waiting
        .status
        .timeline
        .iter()
        .find(|t| t.what == "meanwhile");
    assert!(
        meanwhile.is_some_and(|t| t.detail.contains("test: none")),
        "{:?}",
        waiting.status.timeline
    );
    assert_eq!(names(&events), ["decided"]);
    assert!(matches!(
        &events[0],
        RemediationEvent::Decided { state: Some(RemediationState::WaitingWindow), decision, .. }
            if decision.action == RemediationAction::ResetGpu
    ));

    // A node already out of service does not wait.
    let (bypassed, events) = decide(
        &w,
        &c,
        &nodes[1],
        Decided {
            window: Some(Window::Bypass {
                decision: in_window.clone(),
            }),
            ..decided(xid(&nodes[1], 63, 1), "mw-2", RemediationAction::None)
        },
    )
    .await;
    assert_eq!(bypassed.status.state, RemediationState::Running);
    assert_eq!(bypassed.status.action, RemediationAction::ResetGpu);
    assert!(
        bypassed
            .status
            .timeline
            .iter()
            .any(|t| t.what == "window-bypassed")
    );
    assert_eq!(names(&events), ["decided", "started"]);

    // In dry-run, what would wait is recorded and nothing else.
    let w = World::new().await;
    let (dry, nodes) = cluster_with_mode(&w, 1, RemediationMode::DryRun).await;
    let (rec, _) = decide(&w, &dry, &nodes[0], waits("mw-3", &nodes[0])).await;
    assert_eq!(rec.status.state, RemediationState::DryRun);
    assert!(
        rec.status.reason.contains("in the next maintenance window"),
        "{}",
        rec.status.reason
    );
}
