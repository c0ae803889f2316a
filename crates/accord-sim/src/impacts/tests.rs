//! Tests of component impacts and mitigations: explicit times, no runtime.
use accord_core::infra::{Catalog, ControlPlaneRequest};
use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::{
    catalog::default_catalog,
    control_plane::{delete_control_plane, ensure_control_plane},
    faults::{self, Fault},
    lifecycle::{complete_due, next_due, snapshot},
    state,
    timing::Timing,
};

/// The state machines driven by hand: real durations (clock factor 1), explicit time.
struct World {
    state: FleetState,
    rng: StdRng,
    catalog: Catalog,
    now: i64,
}

impl World {
    /// A world with one running control plane.
    fn new() -> (Self, ClusterId) {
        let mut w = World {
            state: FleetState::default(),
            rng: StdRng::seed_from_u64(21),
            catalog: default_catalog(),
            now: 1_000_000,
        };
        let cluster = ClusterId::generate();
        let req = ControlPlaneRequest {
            cluster,
            region: "us-east1".into(),
            version: "1.32".parse().unwrap(),
        };
        w.with(|s, c| ensure_control_plane(s, c, req)).0.unwrap();
        w.run_until_idle();
        (w, cluster)
    }

    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut FleetState, &mut Ctx<'_>) -> T,
    ) -> (T, Vec<InfraEvent>) {
        let mut ctx = Ctx::new(&self.catalog, Timing::new(1.0), &mut self.rng, self.now);
        let value = f(&mut self.state, &mut ctx);
        (value, ctx.events)
    }

    fn run_until_idle(&mut self) -> Vec<InfraEvent> {
        let mut events = Vec::new();
        while let Some(due) = next_due(&self.state) {
            self.now = self.now.max(due);
            events.extend(self.with(complete_due).1);
        }
        events
    }

    fn inject(&mut self, fault: Fault) -> (Result<String, SimError>, Vec<InfraEvent>) {
        self.with(|s, c| faults::apply(s, c, fault))
    }

    fn mitigate(
        &mut self,
        cluster: ClusterId,
        component: &str,
        mitigation: Mitigation,
    ) -> (Result<(), InfraError>, Vec<InfraEvent>) {
        self.with(|s, c| mitigate(s, c, cluster, component, mitigation))
    }

    fn impact(&self, component: &str, kind: ImpactKind) -> &Impact {
        self.state
            .impacts
            .iter()
            .find(|i| i.component == component && i.kind == kind)
            .unwrap()
    }
}

fn fault(kind: ImpactKind, cluster: ClusterId, component: &str) -> Fault {
    let component = component.to_owned();
    match kind {
        ImpactKind::WebhookFailingClosed => Fault::WebhookFailClosed { cluster, component },
        ImpactKind::ApiFlood => Fault::ApiFlood { cluster, component },
        ImpactKind::FabricSaturation => Fault::FabricSaturation { cluster, component },
    }
}

/// `(component, kind, state, detail)` of every `ComponentImpact`.
fn impacts(events: &[InfraEvent]) -> Vec<(String, ImpactKind, ImpactState, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            InfraEvent::ComponentImpact {
                component,
                impact,
                state,
                detail,
                ..
            } => Some((component.clone(), *impact, *state, detail.clone())),
            _ => None,
        })
        .collect()
}

/// Each kind: component, the `Degrading` and `Mitigated` sentences, the mitigation's base delay.
fn cases() -> [(ImpactKind, &'static str, &'static str, &'static str, i64); 3] {
    [
        (
            ImpactKind::WebhookFailingClosed,
            "policy-webhook",
            "admission webhook policy-webhook fails closed: the API server rejects writes it \
             does not answer (timeouts after 10 s)",
            "admission webhook policy-webhook bypassed at the API server (failurePolicy Ignore \
             override); the API server accepts writes again",
            5_000,
        ),
        (
            ImpactKind::ApiFlood,
            "noisy-operator",
            "client noisy-operator floods the API server: p99 latency 8 s, requests rejected \
             with 429",
            "client noisy-operator throttled with API Priority and Fairness (its own low \
             priority level); API latency is back to baseline",
            5_000,
        ),
        (
            ImpactKind::FabricSaturation,
            "allreduce-bench",
            "workload allreduce-bench saturates the InfiniBand fabric: congestion on every port \
             of the cluster",
            "fabric traffic of workload allreduce-bench isolated (rate-limited to its share on \
             every InfiniBand port of the cluster); the fabric is no longer congested",
            20_000,
        ),
    ]
}

#[test]
fn each_impact_degrades_is_mitigated_after_its_delay_and_clears_when_fixed() {
    for (kind, component, degrading, mitigated, base_ms) in cases() {
        let (mut w, cluster) = World::new();
        let (message, events) = w.inject(fault(kind, cluster, component));
        let message = message.unwrap();
        assert_eq!(
            impacts(&events),
            [(
                component.to_owned(),
                kind,
                ImpactState::Degrading,
                degrading.to_owned()
            )]
        );
        assert!(
            message.starts_with(degrading) && message.contains(kind.mitigation().as_str()),
            "{message}"
        );
        let observed = snapshot(&w.state).impacts;
        assert_eq!(
            observed,
            [ObservedImpact {
                cluster,
                component: component.to_owned(),
                impact: kind,
                state: ImpactState::Degrading,
            }]
        );

        // A mitigation of another kind is invalid and names both.
        let wrong = ImpactKind::ALL
            .into_iter()
            .find(|k| *k != kind)
            .unwrap()
            .mitigation();
        let (result, events) = w.mitigate(cluster, component, wrong);
        let Err(InfraError::Invalid(why)) = result else {
            panic!("{kind:?}: {result:?}");
        };
        assert!(
            why.contains(wrong.as_str())
                && why.contains(kind.as_str())
                && why.contains(kind.mitigation().as_str()),
            "{why}"
        );
        assert!(events.is_empty());

        // The right one takes effect after its delay.
        let (result, events) = w.mitigate(cluster, component, kind.mitigation());
        result.unwrap();
        assert!(events.is_empty(), "nothing at once: {events:?}");
        let due = w.impact(component, kind).mitigation_due_ms.unwrap();
        assert!(
            (due - w.now - base_ms).abs() <= base_ms * 15 / 100,
            "{kind:?}: {}",
            due - w.now
        );
        // Repeated while under way: the same due time.
        w.mitigate(cluster, component, kind.mitigation()).0.unwrap();
        assert_eq!(w.impact(component, kind).mitigation_due_ms, Some(due));

        let events = w.run_until_idle();
        assert_eq!(w.now, due);
        assert_eq!(
            impacts(&events),
            [(
                component.to_owned(),
                kind,
                ImpactState::Mitigated,
                mitigated.to_owned()
            )]
        );
        assert_eq!(snapshot(&w.state).impacts[0].state, ImpactState::Mitigated);
        // Repeated once mitigated: nothing.
        let (result, events) = w.mitigate(cluster, component, kind.mitigation());
        result.unwrap();
        assert!(events.is_empty() && next_due(&w.state).is_none());

        // The customer's fix ends it.
        let (message, events) = w.inject(Fault::ComponentFixed {
            cluster,
            component: component.to_owned(),
        });
        let message = message.unwrap();
        let cleared = impacts(&events);
        assert_eq!(cleared.len(), 1, "{cleared:?}");
        assert_eq!((cleared[0].1, cleared[0].2), (kind, ImpactState::Cleared));
        assert!(
            cleared[0]
                .3
                .ends_with("fixed by the customer; the provider's mitigation is lifted"),
            "{}",
            cleared[0].3
        );
        assert!(message.contains(kind.as_str()), "{message}");
        assert!(snapshot(&w.state).impacts.is_empty());
        // Gone: a late mitigation changes nothing.
        let (result, events) = w.mitigate(cluster, component, kind.mitigation());
        result.unwrap();
        assert!(events.is_empty() && w.state.impacts.is_empty());
    }
}

#[test]
fn one_impact_per_component_and_kind() {
    let (mut w, cluster) = World::new();
    w.inject(fault(ImpactKind::ApiFlood, cluster, "op"))
        .0
        .unwrap();
    let (message, events) = w.inject(fault(ImpactKind::ApiFlood, cluster, "op"));
    assert!(
        message.unwrap().contains("already has impact api-flood"),
        "nothing changed"
    );
    assert!(events.is_empty());
    // Another kind of the same component is another impact; the mitigation picks by kind.
    w.inject(fault(ImpactKind::WebhookFailingClosed, cluster, "op"))
        .0
        .unwrap();
    assert_eq!(w.state.impacts.len(), 2);
    w.mitigate(cluster, "op", Mitigation::ThrottleClient)
        .0
        .unwrap();
    let events = w.run_until_idle();
    assert_eq!(impacts(&events)[0].1, ImpactKind::ApiFlood);
    assert_eq!(
        w.impact("op", ImpactKind::WebhookFailingClosed).state,
        ImpactState::Degrading
    );
    // Fabric isolation fits neither: the error names both impacts.
    let Err(InfraError::Invalid(why)) = w.mitigate(cluster, "op", Mitigation::IsolateTraffic).0
    else {
        panic!("not invalid");
    };
    assert!(
        why.contains("api-flood") && why.contains("webhook-failing-closed"),
        "{why}"
    );
    // A fix clears both, the degrading one without a mitigation to lift.
    let (message, events) = w.inject(Fault::ComponentFixed {
        cluster,
        component: "op".into(),
    });
    let cleared = impacts(&events);
    assert_eq!(cleared.len(), 2);
    assert!(cleared.iter().all(|c| c.2 == ImpactState::Cleared));
    assert!(
        cleared[1]
            .3
            .ends_with("fixed by the customer; the API server accepts writes again"),
        "{cleared:?}"
    );
    assert!(
        message
            .unwrap()
            .contains("api-flood (was mitigated), webhook-failing-closed (was degrading)")
    );
    // Fixed again: nothing to clear.
    let (message, events) = w.inject(Fault::ComponentFixed {
        cluster,
        component: "op".into(),
    });
    assert!(message.unwrap().contains("nothing changed") && events.is_empty());
}

#[test]
fn a_fix_while_the_mitigation_is_under_way_cancels_it() {
    let (mut w, cluster) = World::new();
    w.inject(fault(ImpactKind::FabricSaturation, cluster, "job-7"))
        .0
        .unwrap();
    w.mitigate(cluster, "job-7", Mitigation::IsolateTraffic)
        .0
        .unwrap();
    let (_, events) = w.inject(Fault::ComponentFixed {
        cluster,
        component: "job-7".into(),
    });
    assert!(impacts(&events)[0].3.contains("under way is cancelled"));
    assert!(next_due(&w.state).is_none());
    assert!(w.run_until_idle().is_empty(), "no Mitigated after the fix");
}

#[test]
fn bad_names_and_clusters_without_a_control_plane_are_refused() {
    let (mut w, cluster) = World::new();
    let long = "a".repeat(254);
    for (name, why) in [
        ("", "is empty"),
        (long.as_str(), "254 bytes long; the limit is 253"),
        ("Policy_Webhook", "only lowercase letters"),
        ("-webhook", "must start and end"),
        ("webhook.", "must start and end"),
    ] {
        let (result, events) = w.inject(fault(ImpactKind::ApiFlood, cluster, name));
        let Err(SimError::InvalidFault(message)) = result else {
            panic!("{name:?}: {result:?}");
        };
        assert!(message.contains(why), "{message}");
        assert!(message.len() < 200, "bounded: {message}");
        assert!(events.is_empty());
        assert!(matches!(
            w.mitigate(cluster, name, Mitigation::ThrottleClient).0,
            Err(InfraError::Invalid(_))
        ));
    }
    assert_eq!(quoted(&"é".repeat(100)), format!("{:?}…", "é".repeat(64)));
    let none = ClusterId::generate();
    let (result, _) = w.inject(fault(ImpactKind::WebhookFailingClosed, none, "hook"));
    assert!(
        matches!(&result, Err(SimError::UnknownCluster(c)) if *c == none),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(message.contains(&none.to_string()), "{message}");
    assert!(
        w.inject(Fault::ComponentFixed {
            cluster: none,
            component: "hook".into()
        })
        .0
        .is_err()
    );
    // A mitigation for a cluster without impacts changes nothing.
    assert!(
        w.mitigate(none, "hook", Mitigation::BypassWebhook)
            .0
            .is_ok()
    );
    assert!(w.state.impacts.is_empty());
}

#[test]
fn deleting_the_control_plane_removes_its_impacts() {
    let (mut w, cluster) = World::new();
    // A second control plane in the same world.
    let other = ClusterId::generate();
    let req = ControlPlaneRequest {
        cluster: other,
        region: "us-east1".into(),
        version: "1.32".parse().unwrap(),
    };
    w.with(|s, c| ensure_control_plane(s, c, req)).0.unwrap();
    w.run_until_idle();
    w.inject(fault(ImpactKind::WebhookFailingClosed, cluster, "hook"))
        .0
        .unwrap();
    w.inject(fault(ImpactKind::ApiFlood, other, "op"))
        .0
        .unwrap();
    w.mitigate(cluster, "hook", Mitigation::BypassWebhook)
        .0
        .unwrap();
    w.with(|s, c| delete_control_plane(s, c, cluster))
        .0
        .unwrap();
    // While it is being deleted the impact stays, and no new one starts.
    assert!(
        w.inject(fault(ImpactKind::ApiFlood, cluster, "op"))
            .0
            .is_err()
    );
    w.run_until_idle();
    let observed = snapshot(&w.state).impacts;
    assert_eq!(observed.len(), 1, "{observed:?}");
    assert_eq!(observed[0].cluster, other);
}

#[test]
fn a_saved_state_mid_mitigation_resumes_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let (mut w, cluster) = World::new();
    w.inject(fault(ImpactKind::WebhookFailingClosed, cluster, "hook"))
        .0
        .unwrap();
    w.mitigate(cluster, "hook", Mitigation::BypassWebhook)
        .0
        .unwrap();
    state::save(&path, &w.state).unwrap();

    let (mut resumed, _) = World::new();
    resumed.state = state::load(&path).unwrap();
    assert_eq!(resumed.state, w.state);
    resumed.now = w.now;
    assert_eq!(snapshot(&resumed.state).impacts.len(), 1);
    let events = resumed.run_until_idle();
    assert_eq!(impacts(&events)[0].2, ImpactState::Mitigated);
    assert_eq!(
        snapshot(&resumed.state).impacts[0].state,
        ImpactState::Mitigated
    );
}

/// A fleet restarted on a state file saved mid-mitigation (its due time long past) finishes it.
#[tokio::test]
async fn a_new_fleet_on_a_state_file_saved_mid_mitigation_finishes_it() {
    use std::sync::{Arc, Mutex};

    use accord_core::infra::InfraDriver;

    use crate::fleet::{SimConfig, SimFleet};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let (mut w, cluster) = World::new();
    w.inject(fault(ImpactKind::ApiFlood, cluster, "op"))
        .0
        .unwrap();
    w.mitigate(cluster, "op", Mitigation::ThrottleClient)
        .0
        .unwrap();
    state::save(&path, &w.state).unwrap();

    let fleet = SimFleet::new(
        SimConfig::default()
            .with_clock_factor(0.0)
            .with_state_file(&path),
    )
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    fleet.subscribe(Arc::new(move |e| sink.lock().unwrap().push(e)));
    accord_testkit::assert_eventually!(
        !impacts(&events.lock().unwrap()).is_empty(),
        "{:?}",
        events.lock().unwrap()
    );
    let events = impacts(&events.lock().unwrap());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].1, events[0].2),
        (ImpactKind::ApiFlood, ImpactState::Mitigated)
    );
    assert_eq!(fleet.snapshot().impacts[0].state, ImpactState::Mitigated);
    drop(fleet);
    let saved = state::load(&path).unwrap();
    assert_eq!(saved.impacts[0].state, ImpactState::Mitigated);
    assert_eq!(saved.impacts[0].mitigation_due_ms, None);
}
