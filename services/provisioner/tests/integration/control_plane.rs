//! The control plane's own health against a temporary store: a replica that went down and came
//! back (rebuilt or by itself) says how long it was down; a customer component's impact moves
//! the cluster's conditions and events through degrading → mitigated → cleared; a resync
//! replays what the store missed.

use accord_core::{
    cluster::{COND_CONTROL_PLANE_HEALTHY, COND_FABRIC_HEALTHY, Cluster, ClusterEvent},
    events::DomainEvent as _,
    infra::{
        ImpactKind, ImpactState, InfraEvent, InfraSnapshot, Mitigation, ObservedImpact,
        ReplicaState,
    },
    meta::ConditionStatus,
};
use accord_provisioner::{
    change::Event,
    handlers::{infra::on_infra_event, resync::missed_impacts},
    trees::CLUSTERS,
};
use time::OffsetDateTime;

use crate::common::World;

async fn apply(w: &World, ev: &InfraEvent) -> Vec<ClusterEvent> {
    let ch = on_infra_event(&w.reader, OffsetDateTime::now_utc(), ev).unwrap();
    let events = ch
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cluster(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    w.reader.store().commit(ch.commit).await.unwrap();
    events
}

fn stored(w: &World, c: &Cluster) -> Cluster {
    w.reader
        .get(CLUSTERS, &c.metadata.id.to_string())
        .unwrap()
        .unwrap()
}

fn replica(c: &Cluster, name: &str, state: ReplicaState) -> InfraEvent {
    InfraEvent::ReplicaChanged {
        cluster: c.metadata.id,
        replica: name.into(),
        failure_domain: "b".into(),
        state,
        version: c.spec.kubernetes_version,
    }
}

fn impact(c: &Cluster, kind: ImpactKind, state: ImpactState) -> InfraEvent {
    InfraEvent::ComponentImpact {
        cluster: c.metadata.id,
        component: "policy-webhook".into(),
        impact: kind,
        state,
        detail: format!("test {}", state.as_str()),
    }
}

#[tokio::test]
async fn a_replica_back_after_going_down_says_how_long_and_whether_it_was_rebuilt() {
    let w = World::new().await;
    let c = w.cluster("cp").await;
    for name in ["cp-0", "cp-1", "cp-2"] {
        apply(&w, &replica(&c, name, ReplicaState::Running)).await;
    }
    apply(&w, &replica(&c, "cp-1", ReplicaState::Down)).await;
    let down = stored(&w, &c);
    let r = down
        .status
        .control_plane
        .iter()
        .find(|r| r.name == "cp-1")
        .unwrap();
    assert!(r.down_since.is_some());
    // A repeated Down keeps the first time.
    apply(&w, &replica(&c, "cp-1", ReplicaState::Down)).await;
    assert_eq!(
        stored(&w, &c).status.control_plane[1].down_since,
        r.down_since
    );

    // Rebuilt by the provider: Down → Provisioning → Running.
    assert!(
        apply(&w, &replica(&c, "cp-1", ReplicaState::Provisioning))
            .await
            .iter()
            .all(|e| e.event() != "replica-recovered")
    );
    let events = apply(&w, &replica(&c, "cp-1", ReplicaState::Running)).await;
    let recovered: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ClusterEvent::ReplicaRecovered {
                replica, replaced, ..
            } => Some((replica.clone(), *replaced)),
            _ => None,
        })
        .collect();
    assert_eq!(recovered, [("cp-1".to_owned(), true)]);
    assert!(stored(&w, &c).status.control_plane[1].down_since.is_none());

    // Back by itself: Down → Running.
    apply(&w, &replica(&c, "cp-2", ReplicaState::Down)).await;
    let events = apply(&w, &replica(&c, "cp-2", ReplicaState::Running)).await;
    assert!(events.iter().any(|e| matches!(
        e,
        ClusterEvent::ReplicaRecovered {
            replaced: false,
            ..
        }
    )));
}

#[tokio::test]
async fn a_component_impact_moves_the_conditions_through_degrading_mitigated_cleared() {
    let w = World::new().await;
    let c = w.cluster("imp").await;
    let events = apply(
        &w,
        &impact(&c, ImpactKind::WebhookFailingClosed, ImpactState::Degrading),
    )
    .await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event()).collect();
    assert_eq!(kinds, ["component-impact", "condition-changed"]);
    let now = stored(&w, &c);
    let cond = now
        .status
        .conditions
        .get(COND_CONTROL_PLANE_HEALTHY)
        .unwrap();
    assert_eq!(cond.status, ConditionStatus::False);
    assert!(cond.message.contains("policy-webhook"), "{}", cond.message);
    assert_eq!(now.status.impacts.len(), 1);
    assert_eq!(now.status.impacts[0].mitigation, Mitigation::BypassWebhook);
    // A repeated report changes nothing.
    assert!(
        apply(
            &w,
            &impact(&c, ImpactKind::WebhookFailingClosed, ImpactState::Degrading)
        )
        .await
        .is_empty()
    );

    let events = apply(
        &w,
        &impact(&c, ImpactKind::WebhookFailingClosed, ImpactState::Mitigated),
    )
    .await;
    assert!(events.iter().any(|e| matches!(
        e,
        ClusterEvent::ComponentImpact {
            state: ImpactState::Mitigated,
            ..
        }
    )));
    let now = stored(&w, &c);
    let cond = now
        .status
        .conditions
        .get(COND_CONTROL_PLANE_HEALTHY)
        .unwrap();
    assert_eq!(
        (cond.status, cond.reason.as_str()),
        (ConditionStatus::True, "Mitigated")
    );
    assert!(now.status.impacts[0].mitigated_at.is_some());
    // The fabric is another condition.
    apply(
        &w,
        &impact(&c, ImpactKind::FabricSaturation, ImpactState::Degrading),
    )
    .await;
    let now = stored(&w, &c);
    assert_eq!(
        now.status
            .conditions
            .get(COND_FABRIC_HEALTHY)
            .unwrap()
            .status,
        ConditionStatus::False
    );
    assert_eq!(
        now.status
            .conditions
            .get(COND_CONTROL_PLANE_HEALTHY)
            .unwrap()
            .status,
        ConditionStatus::True
    );

    apply(
        &w,
        &impact(&c, ImpactKind::WebhookFailingClosed, ImpactState::Cleared),
    )
    .await;
    let now = stored(&w, &c);
    assert_eq!(now.status.impacts.len(), 1, "only the fabric's is left");
    let cond = now
        .status
        .conditions
        .get(COND_CONTROL_PLANE_HEALTHY)
        .unwrap();
    assert_eq!(
        (cond.status, cond.reason.as_str()),
        (ConditionStatus::True, "Healthy")
    );
    // Clearing what is not there changes nothing.
    assert!(
        apply(
            &w,
            &impact(&c, ImpactKind::WebhookFailingClosed, ImpactState::Cleared)
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn a_resync_replays_the_impacts_the_store_missed() {
    let w = World::new().await;
    let c = w.cluster("res").await;
    apply(
        &w,
        &impact(&c, ImpactKind::ApiFlood, ImpactState::Degrading),
    )
    .await;
    let snapshot = InfraSnapshot {
        impacts: vec![ObservedImpact {
            cluster: c.metadata.id,
            component: "etl-job".into(),
            impact: ImpactKind::FabricSaturation,
            state: ImpactState::Mitigated,
        }],
        ..InfraSnapshot::default()
    };
    let missed = missed_impacts(&[stored(&w, &c)], &snapshot);
    let seen: Vec<(String, ImpactState)> = missed
        .iter()
        .map(|e| match e {
            InfraEvent::ComponentImpact {
                component, state, ..
            } => (component.clone(), *state),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("etl-job".to_owned(), ImpactState::Mitigated),
            ("policy-webhook".to_owned(), ImpactState::Cleared)
        ]
    );
    for ev in &missed {
        apply(&w, ev).await;
    }
    assert!(missed_impacts(&[stored(&w, &c)], &snapshot).is_empty());
}
