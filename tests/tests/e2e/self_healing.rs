//! The control plane heals itself (the provider's part, no opt-in): a replica that goes down
//! is rebuilt without anyone acting, and a customer component that breaks the control plane is
//! contained by the provider's least invasive action while a Customer-Owned ticket names it
//! until the customer's fix ends it.

use accord_core::{cluster::ClusterEvent, events::DomainEvent as _};
use accord_e2e::{Env, cluster_id, condition, is_running, kind, wait_for};
use accord_proto::support::v1 as spb;
use serde_json::json;

/// The cluster events of the stream about `cluster`.
async fn cluster_events(env: &Env, cluster: &str) -> Vec<ClusterEvent> {
    env.events()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| kind(e).starts_with("cluster."))
        .filter_map(|e| e.decode_data::<ClusterEvent>().ok())
        .filter(|e| e.resource_id() == cluster)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_goes_down_is_rebuilt_without_anyone_acting() {
    let mut env = Env::start().await.unwrap();
    env.start_support_triage().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "cp", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();
    env.fault(json!({"kind": "replica-down", "cluster": id, "replica": "cp-1"}))
        .await
        .unwrap();
    env.wait_cluster(&admin, &id, "ControlPlaneReady=False", |c| {
        condition(c, "ControlPlaneReady").is_some_and(|k| k.status == "False")
    })
    .await
    .unwrap();
    // Nobody brings it back: the provider rebuilds it after the grace.
    let healed = env
        .wait_cluster(&admin, &id, "ControlPlaneReady=True again", is_running)
        .await
        .unwrap();
    let replicas = &healed.status.as_ref().unwrap().control_plane;
    assert_eq!(replicas.len(), 3);
    assert!(
        replicas.iter().all(|r| r.state == "running"),
        "{replicas:?}"
    );
    let mut domains: Vec<&str> = replicas.iter().map(|r| r.failure_domain.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    assert_eq!(
        domains.len(),
        3,
        "still three failure domains: {replicas:?}"
    );
    let recovered = wait_for("cluster.replica-recovered", || async {
        cluster_events(&env, &id)
            .await
            .into_iter()
            .find_map(|e| match e {
                ClusterEvent::ReplicaRecovered {
                    replica,
                    replaced,
                    down_ms,
                    ..
                } => Some((replica, replaced, down_ms)),
                _ => None,
            })
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
    .unwrap();
    assert_eq!((recovered.0.as_str(), recovered.1), ("cp-1", true));
    assert!(recovered.2 >= 1, "{recovered:?}");
    // The incident opened by the outage is closed by the recovery.
    env.wait_ticket(&id, "the control-plane incident closed", |t| {
        t.state == "closed" && t.category == i32::from(spb::Category::Supported)
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_customer_webhook_is_bypassed_and_a_customer_owned_ticket_names_it() {
    let mut env = Env::start().await.unwrap();
    env.start_support_triage().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "hooks", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();
    env.fault(json!({"kind": "webhook-fail-closed", "cluster": id, "component": "policy-webhook"}))
        .await
        .unwrap();

    // The provider bypasses the webhook: ControlPlaneHealthy is back, marked Mitigated.
    let mitigated = env
        .wait_cluster(&admin, &id, "ControlPlaneHealthy=True/Mitigated", |c| {
            condition(c, "ControlPlaneHealthy")
                .is_some_and(|k| k.status == "True" && k.reason == "Mitigated")
        })
        .await
        .unwrap();
    let k = condition(&mitigated, "ControlPlaneHealthy").unwrap();
    assert!(k.message.contains("policy-webhook"), "{k:?}");
    let states: Vec<String> = cluster_events(&env, &id)
        .await
        .into_iter()
        .filter_map(|e| match e {
            ClusterEvent::ComponentImpact {
                component, state, ..
            } if component == "policy-webhook" => Some(state.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(states, ["degrading", "mitigated"]);

    // A Customer-Owned ticket names the component, with the provider's restore done and the
    // customer notified.
    let named = |state: &'static str| {
        move |t: &spb::Ticket| {
            t.state == state
                && t.component == "policy-webhook"
                && t.evidence
                    .iter()
                    .any(|e| e.contains("restore-control-plane done"))
        }
    };
    let ticket = env
        .wait_ticket(
            &id,
            "a customer-owned ticket naming the webhook",
            named("open"),
        )
        .await
        .unwrap();
    assert_eq!(
        ticket.category,
        i32::from(spb::Category::CustomerOwned),
        "{ticket:?}"
    );
    let c = ticket.classification.as_ref().unwrap();
    for action in ["restore-control-plane", "notify-customer"] {
        assert!(c.actions.iter().any(|a| a == action), "{:?}", c.actions);
    }
    assert!(!c.checklist.is_empty());

    // The customer fixes the webhook: the bypass is lifted and the ticket closes.
    env.fault(json!({"kind": "component-fixed", "cluster": id, "component": "policy-webhook"}))
        .await
        .unwrap();
    let closed = env
        .wait_ticket(&id, "the ticket closed by the fix", named("closed"))
        .await
        .unwrap();
    assert!(
        closed.resolution.contains("fixed by the customer"),
        "{closed:?}"
    );
    env.wait_cluster(&admin, &id, "ControlPlaneHealthy=True/Healthy", |c| {
        condition(c, "ControlPlaneHealthy")
            .is_some_and(|k| k.status == "True" && k.reason == "Healthy")
    })
    .await
    .unwrap();
}
