//! Control-plane self-healing and customer components through the `InfraDriver` trait (clock
//! factor 0: every transition is due at once; the assertions poll until it is delivered).

use std::collections::BTreeSet;

use accord_core::{
    ids::ClusterId,
    infra::{
        ImpactKind, ImpactState, InfraDriver, InfraError, InfraEvent, Mitigation, ObservedImpact,
        ReplicaState,
    },
};
use accord_sim::{Fault, SimFleet};
use accord_testkit::assert_eventually;

use crate::common::*;

fn instant() -> (SimFleet, Recorder) {
    fleet_with(config().with_clock_factor(0.0))
}

/// `(replica, failure domain, state)` of the cluster's `ReplicaChanged` events, in order.
fn replica_changes(recorder: &Recorder, cluster: ClusterId) -> Vec<(String, String, ReplicaState)> {
    recorder
        .all()
        .into_iter()
        .filter_map(|e| match e {
            InfraEvent::ReplicaChanged {
                cluster: c,
                replica,
                failure_domain,
                state,
                ..
            } if c == cluster => Some((replica, failure_domain, state)),
            _ => None,
        })
        .collect()
}

fn all_running(fleet: &SimFleet, cluster: ClusterId) -> bool {
    let replicas: Vec<_> = fleet
        .snapshot()
        .replicas
        .into_iter()
        .filter(|r| r.0 == cluster)
        .collect();
    replicas.len() == 3 && replicas.iter().all(|r| r.3 == ReplicaState::Running)
}

/// `(component, kind, state, detail)` of every `ComponentImpact`, in order.
fn impacts(recorder: &Recorder) -> Vec<(String, ImpactKind, ImpactState, String)> {
    recorder
        .all()
        .into_iter()
        .filter_map(|e| match e {
            InfraEvent::ComponentImpact {
                component,
                impact,
                state,
                detail,
                ..
            } => Some((component, impact, state, detail)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_down_replica_is_replaced_under_its_name() {
    let (fleet, recorder) = instant();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    assert_eventually!(all_running(&fleet, cluster));
    fleet
        .inject(Fault::ReplicaDown {
            cluster,
            replica: Some("cp-2".into()),
        })
        .unwrap();
    let failed_in = fleet
        .snapshot()
        .replicas
        .into_iter()
        .find(|r| r.0 == cluster && r.1 == "cp-2")
        .unwrap()
        .2;

    fleet.replace_replica(cluster, "cp-2".into()).await.unwrap();
    let cp2_changes = || {
        replica_changes(&recorder, cluster)
            .into_iter()
            .filter(|c| c.0 == "cp-2")
            .count()
    };
    assert_eventually!(cp2_changes() == 5, "{:?}", recorder.all());
    assert!(all_running(&fleet, cluster));
    let cp2: Vec<(String, ReplicaState)> = replica_changes(&recorder, cluster)
        .into_iter()
        .filter(|c| c.0 == "cp-2")
        .map(|c| (c.1, c.2))
        .collect();
    // Three domains in the region: the only one free is its own.
    assert_eq!(
        cp2,
        [
            (failed_in.clone(), ReplicaState::Provisioning),
            (failed_in.clone(), ReplicaState::Running),
            (failed_in.clone(), ReplicaState::Down),
            (failed_in.clone(), ReplicaState::Provisioning),
            (failed_in, ReplicaState::Running),
        ]
    );
    let domains: BTreeSet<String> = fleet.snapshot().replicas.into_iter().map(|r| r.2).collect();
    assert_eq!(domains.len(), 3);

    // Running replicas are left alone; unknown names and clusters are invalid.
    let before = recorder.all().len();
    fleet.replace_replica(cluster, "cp-0".into()).await.unwrap();
    assert!(matches!(
        fleet.replace_replica(cluster, "cp-9".into()).await,
        Err(InfraError::Invalid(m)) if m.contains("cp-9")
    ));
    assert!(matches!(
        fleet
            .replace_replica(ClusterId::generate(), "cp-0".into())
            .await,
        Err(InfraError::Invalid(_))
    ));
    // Fence: a later event arrives after anything the calls above could have emitted.
    fleet
        .inject(Fault::WebhookFailClosed {
            cluster,
            component: "fence".into(),
        })
        .unwrap();
    assert_eventually!(!impacts(&recorder).is_empty());
    assert_eq!(recorder.all().len(), before + 1, "{:?}", recorder.all());
}

#[tokio::test]
async fn a_webhook_failing_closed_is_bypassed_then_cleared_by_the_customer_fix() {
    let (fleet, recorder) = instant();
    let cluster = ClusterId::generate();
    fleet
        .ensure_control_plane(cp_request(cluster))
        .await
        .unwrap();
    let message = fleet
        .inject(Fault::WebhookFailClosed {
            cluster,
            component: "policy-webhook".into(),
        })
        .unwrap();
    assert!(message.contains("fails closed"), "{message}");
    assert_eventually!(impacts(&recorder).len() == 1);
    assert_eq!(impacts(&recorder)[0].2, ImpactState::Degrading);

    let wrong = fleet
        .mitigate(cluster, "policy-webhook".into(), Mitigation::IsolateTraffic)
        .await;
    assert!(
        matches!(&wrong, Err(InfraError::Invalid(m)) if m.contains("isolate-fabric-traffic") && m.contains("webhook-failing-closed")),
        "{wrong:?}"
    );
    fleet
        .mitigate(cluster, "policy-webhook".into(), Mitigation::BypassWebhook)
        .await
        .unwrap();
    assert_eventually!(impacts(&recorder).len() == 2, "{:?}", recorder.all());
    let mitigated = &impacts(&recorder)[1];
    assert_eq!(mitigated.2, ImpactState::Mitigated);
    assert_eq!(
        mitigated.3,
        "admission webhook policy-webhook bypassed at the API server (failurePolicy Ignore \
         override); the API server accepts writes again"
    );
    assert_eq!(
        fleet.snapshot().impacts,
        [ObservedImpact {
            cluster,
            component: "policy-webhook".into(),
            impact: ImpactKind::WebhookFailingClosed,
            state: ImpactState::Mitigated,
        }]
    );
    // Idempotent once mitigated.
    fleet
        .mitigate(cluster, "policy-webhook".into(), Mitigation::BypassWebhook)
        .await
        .unwrap();

    fleet
        .inject(Fault::ComponentFixed {
            cluster,
            component: "policy-webhook".into(),
        })
        .unwrap();
    assert_eventually!(impacts(&recorder).len() == 3, "{:?}", recorder.all());
    assert_eq!(impacts(&recorder)[2].2, ImpactState::Cleared);
    assert!(fleet.snapshot().impacts.is_empty());
}
