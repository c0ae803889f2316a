//! Tests of the control-plane state machines: explicit times, no runtime.
use accord_core::infra::{Catalog, Region};
use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::{
    catalog::default_catalog,
    faults::{self, Fault},
    lifecycle::{complete_due, next_due},
    timing::Timing,
};

fn v(s: &str) -> KubeVersion {
    s.parse().unwrap()
}

/// Runs `f` with a context at `now` over `catalog`, returns its events.
fn step_in(
    catalog: &Catalog,
    state: &mut FleetState,
    rng: &mut StdRng,
    now: i64,
    f: impl FnOnce(&mut FleetState, &mut Ctx<'_>),
) -> Vec<InfraEvent> {
    let mut ctx = Ctx::new(catalog, Timing::new(1.0), rng, now);
    f(state, &mut ctx);
    ctx.events
}

/// [`step_in`] over the default catalogue.
fn step(
    state: &mut FleetState,
    rng: &mut StdRng,
    now: i64,
    f: impl FnOnce(&mut FleetState, &mut Ctx<'_>),
) -> Vec<InfraEvent> {
    step_in(&default_catalog(), state, rng, now, f)
}

/// Completes every pending transition, each at its due time; returns the events.
fn run_until_idle(state: &mut FleetState, rng: &mut StdRng) -> Vec<InfraEvent> {
    let mut events = Vec::new();
    while let Some(due) = next_due(state) {
        events.extend(step(state, rng, due, complete_due));
    }
    events
}

/// `(replica, failure domain, state, version)` of every `ReplicaChanged`.
fn replica_changes(events: &[InfraEvent]) -> Vec<(String, String, ReplicaState, KubeVersion)> {
    events
        .iter()
        .filter_map(|e| match e {
            InfraEvent::ReplicaChanged {
                replica,
                failure_domain,
                state,
                version,
                ..
            } => Some((replica.clone(), failure_domain.clone(), *state, *version)),
            _ => None,
        })
        .collect()
}

/// A running control plane at 1.31 in `region` of the default catalogue.
fn running_control_plane(state: &mut FleetState, rng: &mut StdRng, region: &str) -> ClusterId {
    let cluster = ClusterId::generate();
    let req = ControlPlaneRequest {
        cluster,
        region: region.into(),
        version: v("1.31"),
    };
    step(state, rng, 0, |s, c| {
        ensure_control_plane(s, c, req).unwrap()
    });
    run_until_idle(state, rng);
    cluster
}

fn replica_down(state: &mut FleetState, rng: &mut StdRng, cluster: ClusterId, replica: &str) {
    let fault = Fault::ReplicaDown {
        cluster,
        replica: Some(replica.into()),
    };
    step(state, rng, 0, |s, c| {
        faults::apply(s, c, fault).unwrap();
    });
}

fn domains(state: &FleetState, cluster: ClusterId) -> Vec<String> {
    state.control_planes[&cluster]
        .replicas
        .iter()
        .map(|r| r.failure_domain.clone())
        .collect()
}

#[test]
fn upgrade_waits_for_every_replica_and_rolls_one_at_a_time() {
    let mut state = FleetState::default();
    let mut rng = StdRng::seed_from_u64(3);
    let cluster = ClusterId::generate();
    let req = ControlPlaneRequest {
        cluster,
        region: "us-east1".into(),
        version: v("1.31"),
    };
    let events = step(&mut state, &mut rng, 0, |s, c| {
        ensure_control_plane(s, c, req).unwrap();
    });
    assert_eq!(events.len(), 3);
    // Upgrade requested while provisioning: nothing starts yet.
    let events = step(&mut state, &mut rng, 1, |s, c| {
        upgrade_control_plane(s, c, cluster, v("1.32")).unwrap();
    });
    assert!(events.is_empty());
    let events = run_until_idle(&mut state, &mut rng);
    let states: Vec<(String, ReplicaState, KubeVersion)> = events
        .iter()
        .filter_map(|e| match e {
            InfraEvent::ReplicaChanged {
                replica,
                state,
                version,
                ..
            } => Some((replica.clone(), *state, *version)),
            _ => None,
        })
        .collect();
    assert_eq!(states.len(), 3 + 6, "{states:?}");
    let rolled = &states[3..];
    for (i, pair) in rolled.chunks(2).enumerate() {
        let name = format!("cp-{i}");
        assert_eq!(pair[0], (name.clone(), ReplicaState::Upgrading, v("1.31")));
        assert_eq!(pair[1], (name, ReplicaState::Running, v("1.32")));
    }
    let cp = &state.control_planes[&cluster];
    assert_eq!((cp.version, cp.target), (v("1.32"), None));
    // Repeating the upgrade is a no-op; a downgrade is refused.
    let events = step(&mut state, &mut rng, 0, |s, c| {
        upgrade_control_plane(s, c, cluster, v("1.32")).unwrap();
        assert!(matches!(
            upgrade_control_plane(s, c, cluster, v("1.31")),
            Err(InfraError::Invalid(_))
        ));
    });
    assert!(events.is_empty());
}

#[test]
fn a_down_replica_is_rebuilt_under_its_name_in_a_free_domain() {
    let mut state = FleetState::default();
    let mut rng = StdRng::seed_from_u64(4);
    let cluster = running_control_plane(&mut state, &mut rng, "us-east1");
    let before = domains(&state, cluster);
    replica_down(&mut state, &mut rng, cluster, "cp-1");

    let events = step(&mut state, &mut rng, 10, |s, c| {
        replace_replica(s, c, cluster, "cp-1").unwrap();
    });
    // Three domains, three replicas: the only free one is its own.
    assert_eq!(
        replica_changes(&events),
        [(
            "cp-1".to_owned(),
            before[1].clone(),
            ReplicaState::Provisioning,
            v("1.31")
        )]
    );
    let due = state.control_planes[&cluster].replicas[1].due_ms.unwrap();
    let base = i64::try_from(Operation::ReplicaProvision.base().as_millis()).unwrap();
    assert!((due - 10 - base).abs() <= base * 15 / 100, "{due}");
    // Provisioning is not Down: a repeated request changes nothing.
    let again = step(&mut state, &mut rng, 11, |s, c| {
        replace_replica(s, c, cluster, "cp-1").unwrap();
    });
    assert!(again.is_empty(), "{again:?}");

    let events = run_until_idle(&mut state, &mut rng);
    assert_eq!(
        replica_changes(&events),
        [(
            "cp-1".to_owned(),
            before[1].clone(),
            ReplicaState::Running,
            v("1.31")
        )]
    );
    assert_eq!(domains(&state, cluster), before);
    // A running replica is never taken away.
    let events = step(&mut state, &mut rng, 0, |s, c| {
        replace_replica(s, c, cluster, "cp-0").unwrap();
    });
    assert!(events.is_empty());
    assert!(
        state.control_planes[&cluster]
            .replicas
            .iter()
            .all(|r| r.state == ReplicaState::Running)
    );
}

#[test]
fn with_a_fourth_domain_the_replacement_leaves_the_failed_one() {
    let mut catalog = default_catalog();
    catalog.regions.push(Region {
        name: "xx-four1".into(),
        failure_domains: ["a", "b", "c", "d"]
            .map(|z| format!("xx-four1-{z}"))
            .to_vec(),
    });
    let mut state = FleetState::default();
    let mut rng = StdRng::seed_from_u64(4);
    let cluster = ClusterId::generate();
    let req = ControlPlaneRequest {
        cluster,
        region: "xx-four1".into(),
        version: v("1.32"),
    };
    step_in(&catalog, &mut state, &mut rng, 0, |s, c| {
        ensure_control_plane(s, c, req).unwrap();
    });
    run_until_idle(&mut state, &mut rng);
    assert_eq!(
        domains(&state, cluster),
        ["xx-four1-a", "xx-four1-b", "xx-four1-c"]
    );
    replica_down(&mut state, &mut rng, cluster, "cp-0");
    let events = step_in(&catalog, &mut state, &mut rng, 0, |s, c| {
        replace_replica(s, c, cluster, "cp-0").unwrap();
    });
    assert_eq!(
        replica_changes(&events),
        [(
            "cp-0".to_owned(),
            "xx-four1-d".to_owned(),
            ReplicaState::Provisioning,
            v("1.32")
        )]
    );
    run_until_idle(&mut state, &mut rng);
    assert_eq!(
        domains(&state, cluster),
        ["xx-four1-d", "xx-four1-b", "xx-four1-c"],
        "distinct domains kept"
    );
}

#[test]
fn unknown_clusters_and_replicas_are_invalid() {
    let mut state = FleetState::default();
    let mut rng = StdRng::seed_from_u64(4);
    let cluster = running_control_plane(&mut state, &mut rng, "us-east1");
    let other = ClusterId::generate();
    let long = "r".repeat(300);
    let events = step(&mut state, &mut rng, 0, |s, c| {
        let err = replace_replica(s, c, other, "cp-0").unwrap_err();
        assert!(
            matches!(&err, InfraError::Invalid(m) if m.contains(&other.to_string()) && m.contains("no control plane")),
            "{err}"
        );
        let err = replace_replica(s, c, cluster, "cp-7").unwrap_err();
        assert!(
            matches!(&err, InfraError::Invalid(m) if m.contains("\"cp-7\"") && m.contains("cp-0, cp-1, cp-2")),
            "{err}"
        );
        let InfraError::Invalid(message) = replace_replica(s, c, cluster, &long).unwrap_err()
        else {
            panic!("not invalid");
        };
        assert!(
            message.contains(&format!("{:?}…", "r".repeat(64)))
                && !message.contains(&"r".repeat(65)),
            "{message}"
        );
        delete_control_plane(s, c, cluster).unwrap();
        assert!(matches!(
            replace_replica(s, c, cluster, "cp-0"),
            Err(InfraError::Invalid(m)) if m.contains("being deleted")
        ));
    });
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn a_replacement_during_a_paused_upgrade_finishes_the_upgrade() {
    let mut state = FleetState::default();
    let mut rng = StdRng::seed_from_u64(9);
    let cluster = running_control_plane(&mut state, &mut rng, "eu-iceland1");
    let events = step(&mut state, &mut rng, 0, |s, c| {
        upgrade_control_plane(s, c, cluster, v("1.32")).unwrap();
    });
    assert_eq!(replica_changes(&events)[0].2, ReplicaState::Upgrading);
    // cp-1 fails while cp-0 upgrades: the upgrade pauses after cp-0.
    replica_down(&mut state, &mut rng, cluster, "cp-1");
    let events = run_until_idle(&mut state, &mut rng);
    let changes: Vec<(String, ReplicaState, KubeVersion)> = replica_changes(&events)
        .into_iter()
        .map(|(r, _, s, v)| (r, s, v))
        .collect();
    assert_eq!(
        changes,
        [("cp-0".to_owned(), ReplicaState::Running, v("1.32"))]
    );
    assert_eq!(state.control_planes[&cluster].target, Some(v("1.32")));

    // Rebuilt at the target version; the upgrade then rolls cp-2 only.
    let events = step(&mut state, &mut rng, 0, |s, c| {
        replace_replica(s, c, cluster, "cp-1").unwrap();
    });
    let changes = replica_changes(&events);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].2, changes[0].3),
        (ReplicaState::Provisioning, v("1.32"))
    );
    let events = run_until_idle(&mut state, &mut rng);
    let changes: Vec<(String, ReplicaState, KubeVersion)> = replica_changes(&events)
        .into_iter()
        .map(|(r, _, s, v)| (r, s, v))
        .collect();
    assert_eq!(
        changes,
        [
            ("cp-1".to_owned(), ReplicaState::Running, v("1.32")),
            ("cp-2".to_owned(), ReplicaState::Upgrading, v("1.31")),
            ("cp-2".to_owned(), ReplicaState::Running, v("1.32")),
        ]
    );
    let cp = &state.control_planes[&cluster];
    assert_eq!((cp.version, cp.target), (v("1.32"), None));
    assert!(
        cp.replicas
            .iter()
            .all(|r| r.state == ReplicaState::Running && r.version == v("1.32"))
    );
    let domains: std::collections::BTreeSet<&str> = cp
        .replicas
        .iter()
        .map(|r| r.failure_domain.as_str())
        .collect();
    assert_eq!(domains.len(), 3);
}
