//! The rollout engine's tests: wave targets, policy bounds, scenarios (a wave soaks, a
//! timeout halts and disables, a rollback returns every node), and property tests of the
//! module's invariants over random policies, pools and observation sequences.

use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use time::macros::datetime;

use super::Strategy;
use super::*;

const T0: OffsetDateTime = datetime!(2026-12-04 02:00:00 UTC);

fn node(n: u64) -> NodeId {
    format!("node-{n:026}").parse().unwrap()
}

fn revision(revision: Revision, image: &str, active_nodes: u32) -> PoolRevision {
    PoolRevision {
        revision,
        image: image.into(),
        driver: "550.90.07".into(),
        kubernetes: "1.30.5".into(),
        active_nodes,
        disabled: false,
    }
}

fn waves(percentages: &[u8], max_unavailable: u32) -> RolloutPolicy {
    RolloutPolicy {
        strategy: Strategy::Waves {
            percentages: percentages.to_vec(),
        },
        soak: Duration::minutes(10),
        max_unavailable,
        only_in_windows: false,
        ready_timeout: Duration::minutes(15),
    }
}

fn begin(policy: &RolloutPolicy, nodes: u32) -> (RolloutState, Vec<Action>) {
    start(
        policy,
        revision(1, "2026.11.2", nodes),
        revision(2, "2026.12.1", 0),
        T0,
        true,
    )
    .unwrap()
}

/// A fake service: makes every pending replacement Ready (fresh node ids from `next_id`).
fn land_all(
    policy: &RolloutPolicy,
    mut s: RolloutState,
    next_id: &mut u64,
    log: &mut Vec<Action>,
) -> RolloutState {
    while let Some(p) = s.pending.first().copied() {
        *next_id += 1;
        let (n, a) = next(
            policy,
            s,
            Observation::NodeReady {
                node: node(*next_id),
                revision: p.to,
            },
        );
        s = n;
        log.extend(a);
    }
    s
}

fn tick(
    policy: &RolloutPolicy,
    s: RolloutState,
    by: Duration,
    log: &mut Vec<Action>,
) -> RolloutState {
    let now = s.now + by;
    let (s, a) = next(policy, s, Observation::Tick { now });
    log.extend(a);
    s
}

#[test]
fn wave_targets_round_up_and_drop_repeats() {
    let p = waves(&[1, 5, 10, 25, 50, 100], 1);
    assert_eq!(p.wave_targets(100), [1, 5, 10, 25, 50, 100]);
    assert_eq!(p.wave_targets(10), [1, 3, 5, 10]);
    assert_eq!(p.wave_targets(1), [1]);
    assert!(p.wave_targets(0).is_empty());
    let b = RolloutPolicy {
        strategy: Strategy::Batches { size: 30 },
        ..waves(&[100], 1)
    };
    assert_eq!(b.wave_targets(100), [30, 60, 90, 100]);
    assert_eq!(b.wave_targets(7), [7]);
}

#[test]
fn policy_bounds_name_the_field() {
    let err = |p: RolloutPolicy| p.validate().unwrap_err().to_string();
    assert!(err(waves(&[5, 1, 100], 1)).starts_with("strategy.waves.percentages"));
    assert!(err(waves(&[0, 100], 1)).starts_with("strategy.waves.percentages"));
    assert!(err(waves(&[1, 50], 1)).contains("must end at 100"));
    assert!(err(waves(&[100], 0)).starts_with("max_unavailable"));
    assert!(
        err(RolloutPolicy {
            strategy: Strategy::Batches { size: 0 },
            ..waves(&[100], 1)
        })
        .starts_with("strategy.batches.size")
    );
    assert!(
        err(RolloutPolicy {
            ready_timeout: Duration::seconds(1),
            ..waves(&[100], 1)
        })
        .starts_with("ready_timeout")
    );
    assert!(RolloutPolicy::default().validate().is_ok());
    let same = start(
        &RolloutPolicy::default(),
        revision(1, "a", 3),
        revision(1, "a", 0),
        T0,
        true,
    );
    assert!(same.is_err());
}

#[test]
fn policy_reads_from_json_with_seconds() {
    let p: RolloutPolicy = serde_json::from_str(
        r#"{"strategy":{"waves":{"percentages":[1,5,10,25,50,100]}},"soak_seconds":1800,
            "max_unavailable":2,"only_in_windows":true,"ready_timeout_seconds":900}"#,
    )
    .unwrap();
    assert_eq!(p.soak, Duration::minutes(30));
    assert_eq!(p.ready_timeout, Duration::minutes(15));
    assert!(p.validate().is_ok());
}

#[test]
fn a_wave_replaces_then_soaks_then_the_next_starts() {
    let p = waves(&[10, 100], 2);
    let (s, a) = begin(&p, 20);
    assert_eq!(s.waves, [2, 20]);
    assert_eq!(
        a,
        [Action::ReplaceNodes {
            count: 2,
            to_revision: 2
        }]
    );
    let (mut id, mut log) = (0, Vec::new());
    let s = land_all(&p, s, &mut id, &mut log);
    assert!(log.is_empty(), "no more nodes in the first wave: {log:?}");
    assert_eq!(s.phase, Phase::Soaking { since: T0 });
    let s = tick(&p, s, Duration::minutes(9), &mut log);
    assert!(matches!(s.phase, Phase::Soaking { .. }) && log.is_empty());
    let s = tick(&p, s, Duration::minutes(1), &mut log);
    assert_eq!((s.phase.clone(), s.wave), (Phase::Running, 1));
    assert_eq!(s.wave_started_at, [T0, T0 + Duration::minutes(10)]);
    assert_eq!(
        log,
        [Action::ReplaceNodes {
            count: 2,
            to_revision: 2
        }]
    );
}

#[test]
fn closed_windows_hold_new_replacements_but_not_a_rollback() {
    let p = RolloutPolicy {
        only_in_windows: true,
        ..waves(&[50, 100], 1)
    };
    let (s, a) = start(&p, revision(1, "a", 4), revision(2, "b", 0), T0, false).unwrap();
    assert!(a.is_empty());
    let (s, a) = next(&p, s, Observation::Window { open: true });
    assert_eq!(a.len(), 1);
    let (s, a) = next(&p, s, Observation::Window { open: false });
    assert!(a.is_empty());
    let (mut id, mut log) = (0, Vec::new());
    let s = land_all(&p, s, &mut id, &mut log);
    assert!(log.is_empty(), "window closed: {log:?}");
    let (s, a) = next(&p, s, Observation::RollbackRequested);
    assert!(a.contains(&Action::ReplaceNodes {
        count: 1,
        to_revision: 1
    }));
    let s = land_all(&p, s, &mut id, &mut log);
    assert_eq!(s.phase, Phase::RolledBack);
    assert_eq!(s.from.active_nodes, 4);
}

#[test]
fn a_node_not_ready_in_time_halts_and_disables_the_revision() {
    let p = waves(&[25, 100], 2);
    let (s, _) = begin(&p, 8);
    let mut log = Vec::new();
    let s = tick(&p, s, Duration::minutes(15), &mut log);
    assert_eq!(
        log,
        [
            Action::Halt {
                reason: HaltReason::NotReady {
                    waited_seconds: 900
                }
            },
            Action::DisableRevision { revision: 2 }
        ]
    );
    assert!(s.to.disabled);
    assert_eq!((s.failed, s.from.active_nodes), (2, 6));
    // Nothing more moves towards the halted revision, whatever happens.
    let s = tick(&p, s, Duration::hours(1), &mut log);
    let (s, a) = next(&p, s, Observation::Window { open: true });
    assert!(a.is_empty() && log.len() == 2);
    // One command rolls back: the failed nodes first.
    let (s, a) = next(&p, s, Observation::RollbackRequested);
    assert_eq!(
        a,
        [Action::ReplaceNodes {
            count: 2,
            to_revision: 1
        }]
    );
    let mut id = 0;
    let s = land_all(&p, s, &mut id, &mut log);
    assert_eq!(s.phase, Phase::RolledBack);
    assert_eq!(
        (s.from.active_nodes, s.to.active_nodes, s.failed),
        (8, 0, 0)
    );
}

#[test]
fn a_critical_finding_on_a_new_node_halts_during_the_soak() {
    let p = waves(&[50, 100], 1);
    let (s, _) = begin(&p, 2);
    let (s, _) = next(
        &p,
        s,
        Observation::NodeReady {
            node: node(7),
            revision: 2,
        },
    );
    assert!(matches!(s.phase, Phase::Soaking { .. }));
    // A finding on a node of the old revision is not the rollout's business.
    let (s, a) = next(
        &p,
        s,
        Observation::CriticalFinding {
            node: node(99),
            kind: "xid-79".into(),
        },
    );
    assert!(a.is_empty());
    let long = "x".repeat(10_000);
    let (s, a) = next(
        &p,
        s,
        Observation::CriticalFinding {
            node: node(7),
            kind: long,
        },
    );
    assert_eq!(a.len(), 2);
    let Phase::Halted {
        reason: HaltReason::CriticalFinding { node: n, kind },
    } = &s.phase
    else {
        panic!("{:?}", s.phase)
    };
    assert_eq!(*n, node(7));
    assert!(kind.len() < 100, "the kind is bounded: {}", kind.len());
}

#[test]
fn repeated_reports_change_nothing() {
    let p = waves(&[100], 2);
    let (s, _) = begin(&p, 4);
    let ready = Observation::NodeReady {
        node: node(1),
        revision: 2,
    };
    let (s, _) = next(&p, s, ready.clone());
    let (again, a) = next(&p, s.clone(), ready);
    assert_eq!(again, s);
    assert!(a.is_empty());
    let failed = Observation::NodeFailed {
        node: node(1),
        revision: 2,
        reason: "kubelet crashloop".into(),
    };
    let (s, a) = next(&p, s, failed.clone());
    assert_eq!(a.len(), 2);
    let (again, a) = next(&p, s.clone(), failed);
    assert_eq!(again, s);
    assert!(a.is_empty());
}

#[test]
fn a_hundred_node_pool_completes_with_the_default_waves() {
    let p = RolloutPolicy {
        max_unavailable: 3,
        ..RolloutPolicy::default()
    };
    let (mut s, a) = begin(&p, 100);
    let (mut id, mut log) = (0, a);
    for _ in 0..1_000 {
        if s.is_finished() {
            break;
        }
        s = land_all(&p, s, &mut id, &mut log);
        s = tick(&p, s, Duration::minutes(5), &mut log);
    }
    assert_eq!(s.phase, Phase::Completed);
    assert_eq!((s.to.active_nodes, s.from.active_nodes), (100, 0));
    assert_eq!(s.wave_started_at.len(), 6);
    let replaced: u32 = log
        .iter()
        .map(|a| match a {
            Action::ReplaceNodes { count, .. } => *count,
            other => panic!("unexpected {other:?}"),
        })
        .sum();
    assert_eq!(replaced, 100);
}

// ---- properties ----

/// What the fake world does in one step.
#[derive(Debug, Clone)]
enum Step {
    Tick(i64),
    ReadyOldest,
    FailOldest,
    FailReady(usize),
    Finding(usize),
    Window(bool),
    Rollback,
    Repeat,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    prop_oneof![
        4 => (1i64..1_200).prop_map(Step::Tick),
        6 => Just(Step::ReadyOldest),
        1 => Just(Step::FailOldest),
        1 => any::<usize>().prop_map(Step::FailReady),
        1 => any::<usize>().prop_map(Step::Finding),
        1 => any::<bool>().prop_map(Step::Window),
        1 => Just(Step::Rollback),
        1 => Just(Step::Repeat),
    ]
}

fn policy() -> impl proptest::strategy::Strategy<Value = RolloutPolicy> {
    let strategy = prop_oneof![
        (1u32..40).prop_map(|size| Strategy::Batches { size }),
        proptest::collection::btree_set(1u8..100, 0..6).prop_map(|set| {
            let mut percentages: Vec<u8> = set.into_iter().collect();
            percentages.push(100);
            Strategy::Waves { percentages }
        }),
    ];
    (strategy, 0i64..3_600, 1u32..6, any::<bool>(), 60i64..3_600).prop_map(
        |(strategy, soak, max_unavailable, only_in_windows, timeout)| RolloutPolicy {
            strategy,
            soak: Duration::seconds(soak),
            max_unavailable,
            only_in_windows,
            ready_timeout: Duration::seconds(timeout),
        },
    )
}

/// Turns a step into an observation against the current state (the fake service only reports
/// nodes the engine asked for, plus noise the engine must tolerate).
fn observe(s: &RolloutState, step: &Step, id: &mut u64, last: &Observation) -> Observation {
    let ready_on_new: Vec<NodeId> = s
        .ready_nodes
        .iter()
        .filter(|(_, r)| **r == s.to.revision)
        .map(|(n, _)| *n)
        .collect();
    let pick = |i: usize| ready_on_new.get(i % ready_on_new.len().max(1)).copied();
    match step {
        Step::Tick(secs) => Observation::Tick {
            now: s.now + Duration::seconds(*secs),
        },
        Step::ReadyOldest | Step::FailOldest => {
            *id += 1;
            let revision = s.pending.first().map_or(s.to.revision, |p| p.to);
            if matches!(step, Step::ReadyOldest) {
                Observation::NodeReady {
                    node: node(*id),
                    revision,
                }
            } else {
                Observation::NodeFailed {
                    node: node(*id),
                    revision,
                    reason: "did not join".into(),
                }
            }
        }
        Step::FailReady(i) => Observation::NodeFailed {
            node: pick(*i).unwrap_or(node(0)),
            revision: s.to.revision,
            reason: "NotReady".into(),
        },
        Step::Finding(i) => Observation::CriticalFinding {
            node: pick(*i).unwrap_or(node(0)),
            kind: "xid-79".into(),
        },
        Step::Window(open) => Observation::Window { open: *open },
        Step::Rollback => Observation::RollbackRequested,
        Step::Repeat => last.clone(),
    }
}

fn check_invariants(
    policy: &RolloutPolicy,
    before: &RolloutState,
    after: &RolloutState,
    actions: &[Action],
) -> Result<(), TestCaseError> {
    let split = after.from.active_nodes + after.to.active_nodes + after.unavailable();
    prop_assert_eq!(split, after.total, "node split");
    prop_assert!(
        after.pending.len() <= policy.max_unavailable as usize,
        "{} in replacement > max_unavailable {}",
        after.pending.len(),
        policy.max_unavailable
    );
    let moved_forward: u32 = actions
        .iter()
        .filter_map(|a| match a {
            Action::ReplaceNodes { count, to_revision } if *to_revision == before.to.revision => {
                Some(*count)
            }
            _ => None,
        })
        .sum();
    if moved_forward > 0 {
        prop_assert!(
            !before.to.disabled && !after.to.disabled,
            "moved to a halted revision"
        );
        // Starting replacements never takes the pool past max_unavailable.
        prop_assert!(
            after.unavailable() <= policy.max_unavailable,
            "started {} leaving {} unavailable",
            moved_forward,
            after.unavailable()
        );
    }
    if matches!(after.phase, Phase::Halted { .. }) {
        prop_assert!(after.to.disabled, "halted without disabling the revision");
    }
    if before.to.disabled {
        prop_assert!(after.to.disabled, "a disabled revision came back");
    }
    prop_assert!(after.wave >= before.wave, "wave went back");
    prop_assert!(after.waves == before.waves);
    prop_assert!(after.wave_started_at.len() >= before.wave_started_at.len());
    if forward(&before.phase) && forward(&after.phase) {
        let progress = |s: &RolloutState| s.to.active_nodes + s.pending_to(s.to.revision);
        prop_assert!(
            progress(after) >= progress(before),
            "forward progress went back"
        );
    }
    prop_assert!(after.now >= before.now);
    Ok(())
}

proptest! {
    // No regression files: the failing input is printed.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_under_any_observations(
        policy in policy(),
        nodes in 0u32..60,
        window in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..200),
    ) {
        let (mut s, first) = start(
            &policy, revision(1, "a", nodes), revision(2, "b", 0), T0, window,
        ).unwrap();
        let empty = RolloutState { pending: Vec::new(), ..s.clone() };
        check_invariants(&policy, &empty, &s, &first)?;
        let (mut id, mut last) = (0, Observation::Window { open: window });
        for st in &steps {
            let obs = observe(&s, st, &mut id, &last);
            let (after, actions) = next(&policy, s.clone(), obs.clone());
            check_invariants(&policy, &s, &after, &actions)?;
            s = after;
            last = obs;
        }
    }

    #[test]
    fn a_rollback_ends_with_every_node_on_the_previous_revision(
        policy in policy(),
        nodes in 0u32..60,
        steps in proptest::collection::vec(step(), 0..120),
    ) {
        let (mut s, _) = start(
            &policy, revision(1, "a", nodes), revision(2, "b", 0), T0, true,
        ).unwrap();
        let (mut id, mut last) = (0, Observation::Window { open: true });
        for st in &steps {
            let obs = observe(&s, st, &mut id, &last);
            s = next(&policy, s, obs.clone()).0;
            last = obs;
        }
        let (after, actions) = next(&policy, s.clone(), Observation::RollbackRequested);
        check_invariants(&policy, &s, &after, &actions)?;
        s = after;
        // The service lands every replacement; windows stay closed (a rollback ignores them).
        s = next(&policy, s, Observation::Window { open: false }).0;
        let mut log = Vec::new();
        for _ in 0..(2 * nodes + 10) {
            if s.phase == Phase::RolledBack {
                break;
            }
            s = land_all(&policy, s, &mut id, &mut log);
        }
        prop_assert_eq!(&s.phase, &Phase::RolledBack);
        prop_assert_eq!(s.from.active_nodes, nodes);
        prop_assert_eq!((s.to.active_nodes, s.failed, s.pending.len()), (0, 0, 0));
        prop_assert!(s.to.disabled);
        prop_assert!(log.iter().all(|a| matches!(
            a,
            Action::ReplaceNodes { to_revision: 1, count } if *count <= policy.max_unavailable
        )), "{:?}", log);
    }

    #[test]
    fn a_hundred_node_pool_completes_without_failures(policy in policy(), slow in 0i64..600) {
        let (mut s, first) = start(
            &policy, revision(1, "a", 100), revision(2, "b", 0), T0, true,
        ).unwrap();
        let (mut id, mut log) = (0, first);
        for _ in 0..2_000 {
            if s.is_finished() {
                break;
            }
            // New nodes become Ready within the timeout; the clock moves by up to the soak.
            s = tick(&policy, s, Duration::seconds(slow.min(policy.ready_timeout.whole_seconds() - 1)), &mut log);
            s = land_all(&policy, s, &mut id, &mut log);
            s = tick(&policy, s, policy.soak.max(Duration::seconds(1)), &mut log);
        }
        prop_assert_eq!(&s.phase, &Phase::Completed);
        prop_assert_eq!((s.to.active_nodes, s.from.active_nodes), (100, 0));
        prop_assert_eq!(s.wave + 1, s.waves.len());
        prop_assert_eq!(s.wave_started_at.len(), s.waves.len());
        prop_assert!(log.iter().all(|a| matches!(
            a,
            Action::ReplaceNodes { to_revision: 2, count } if *count <= policy.max_unavailable
        )), "{:?}", log);
        prop_assert!(s.waves.windows(2).all(|w| w[0] < w[1]));
    }
}
