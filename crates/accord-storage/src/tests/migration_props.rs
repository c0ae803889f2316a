//! The migration state machine's invariants, proven over random sequences of restarts (the
//! in-memory action and undelivered results are lost), duplicated and late results, step
//! failures, corrupted copies and rollback requests, against a simulated executor that keeps the contract of `migration::machine` (an attempt's
//! first outcome is final; deletes retry under one key until they succeed):
//! - the source is released only after a matching verification and a successful cut-over, and
//!   never once the target was discarded; the target is never discarded after a cut-over;
//! - at most one copy succeeds;
//! - resuming (`Proceed`) from a stored state issues the same key again;
//! - afterwards, a fault-free run from the stored state finishes: `done` when nothing failed,
//!   nothing was corrupted and no rollback was asked; `rolled-back` once a rollback began.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::migration::{
    Action, Checksum, MigrationPlan, MigrationState as S, Observation as O, PlannedVolume, Step,
    StepKey, next, progress,
};

const SOURCE: Checksum = Checksum([1; 32]);
const CORRUPT: Checksum = Checksum([2; 32]);

#[derive(Debug, Clone)]
enum Event {
    Proceed,
    Execute { fail: bool },
    Deliver,
    Crash,
    Duplicate(usize),
    Rollback,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => Just(Event::Proceed),
        4 => any::<bool>().prop_map(|f| Event::Execute { fail: f }),
        4 => Just(Event::Deliver),
        2 => Just(Event::Crash),
        1 => any::<usize>().prop_map(Event::Duplicate),
        1 => Just(Event::Rollback),
    ]
}

/// The runner (stored state, in-memory work and inbox) and the executor's durable record.
#[derive(Default)]
struct World {
    volume: String,
    stored: Option<S>,
    outstanding: Option<StepKey>,
    inbox: Vec<O>,
    history: Vec<O>,
    corrupt: bool,
    // executor
    outcomes: HashMap<StepKey, O>,
    copies_succeeded: u32,
    cut_over: bool,
    released: bool,
    discarded: bool,
    // what the machine accepted
    verified_ok: bool,
    failures_injected: bool,
    rollback_asked: bool,
}

impl World {
    fn state(&self) -> S {
        self.stored.clone().unwrap_or(S::Pending)
    }

    fn apply(&mut self, observation: &O) {
        let (state, action) = next("plan", &self.volume, self.state(), observation);
        if matches!(state, S::Verified { .. }) {
            self.verified_ok = true;
        }
        if let Action::Perform(key) = action {
            assert_eq!(
                (key.plan.as_str(), key.volume.as_str()),
                ("plan", &*self.volume)
            );
            self.outstanding = Some(key);
        }
        self.stored = Some(state);
    }

    fn execute(&mut self, fail: bool) {
        let Some(key) = self.outstanding.take() else {
            return;
        };
        let result = if let Some(cached) = self.outcomes.get(&key) {
            cached.clone()
        } else if fail {
            self.failures_injected = true;
            let failed = O::StepFailed { step: key.step };
            // The contract: an attempt's first outcome is final; deletes retry under one key.
            if !matches!(key.step, Step::ReleaseSource | Step::DiscardTarget) {
                self.outcomes.insert(key, failed.clone());
            }
            failed
        } else {
            let result = match key.step {
                Step::Copy { .. } => {
                    self.copies_succeeded += 1;
                    O::CopySucceeded {
                        step: key.step,
                        bytes: 42,
                    }
                }
                Step::Verify { .. } => O::Checksums {
                    step: key.step,
                    source: SOURCE,
                    target: if self.corrupt { CORRUPT } else { SOURCE },
                },
                Step::CutOver { .. } => {
                    assert!(self.verified_ok, "cut over before a matching verification");
                    assert!(!self.discarded, "cut over to a discarded target");
                    self.cut_over = true;
                    O::StepSucceeded { step: key.step }
                }
                Step::ReleaseSource => {
                    assert!(self.verified_ok, "source released before verification");
                    assert!(self.cut_over, "source released before the cut-over");
                    assert!(!self.discarded, "source released after a rollback");
                    self.released = true;
                    O::StepSucceeded { step: key.step }
                }
                Step::DiscardTarget => {
                    assert!(!self.cut_over, "target discarded after the cut-over");
                    self.discarded = true;
                    O::StepSucceeded { step: key.step }
                }
            };
            self.outcomes.insert(key, result.clone());
            result
        };
        self.history.push(result.clone());
        self.inbox.push(result);
    }

    fn step(&mut self, event: &Event) {
        match event {
            Event::Proceed => self.apply(&O::Proceed),
            Event::Execute { fail } => self.execute(*fail),
            Event::Deliver => {
                if !self.inbox.is_empty() {
                    let observation = self.inbox.remove(0);
                    self.apply(&observation);
                }
            }
            Event::Crash => {
                self.outstanding = None;
                self.inbox.clear();
            }
            Event::Duplicate(i) => {
                if !self.history.is_empty() {
                    let observation = self.history[i % self.history.len()].clone();
                    self.apply(&observation);
                }
            }
            Event::Rollback => {
                self.rollback_asked = true;
                self.apply(&O::RollbackRequested);
            }
        }
        assert!(self.copies_succeeded <= 1, "copied twice");
        assert!(!(self.cut_over && self.discarded));
        if self.corrupt {
            assert!(!self.cut_over, "a corrupted copy was cut over");
        }
        if matches!(self.state(), S::Done { .. }) {
            assert!(self.released);
        }
    }

    /// Runs without faults from the stored state (after a restart) until nothing is left.
    fn finish(&mut self) {
        self.outstanding = None;
        self.inbox.clear();
        for _ in 0..64 {
            if self.state().is_terminal() {
                break;
            }
            self.step(&Event::Proceed);
            self.step(&Event::Execute { fail: false });
            while !self.inbox.is_empty() {
                self.step(&Event::Deliver);
            }
        }
    }
}

fn any_state() -> impl Strategy<Value = S> {
    let sum = Just(SOURCE);
    prop_oneof![
        Just(S::Pending),
        (1u8..4).prop_map(|attempt| S::Copying { attempt }),
        any::<u64>().prop_map(|bytes| S::Copied { bytes }),
        (1u8..4, any::<u64>()).prop_map(|(attempt, bytes)| S::Verifying { attempt, bytes }),
        (sum, any::<u64>()).prop_map(|(checksum, bytes)| S::Verified { checksum, bytes }),
        (1u8..4, any::<u64>()).prop_map(|(attempt, bytes)| S::CuttingOver { attempt, bytes }),
        any::<u64>().prop_map(|bytes| S::Releasing { bytes }),
        any::<u64>().prop_map(|bytes| S::Done { bytes }),
        Just(S::RollingBack),
        Just(S::RolledBack),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn crashes_duplicates_failures_and_rollbacks_never_break_the_invariants(
        events in prop::collection::vec(event(), 0..120),
        corrupt in prop::bool::weighted(0.2),
    ) {
        let mut world = World { volume: "vol".into(), corrupt, ..World::default() };
        for event in &events {
            world.step(event);
        }
        let began_rollback = matches!(world.state(), S::RollingBack | S::RolledBack);
        world.finish();
        let end = world.state();
        prop_assert!(end.is_terminal(), "stuck in {end:?}");
        if began_rollback {
            prop_assert_eq!(&end, &S::RolledBack);
        }
        if !world.failures_injected && !corrupt && !world.rollback_asked {
            prop_assert_eq!(&end, &S::Done { bytes: 42 });
        }
        if matches!(end, S::Done { .. }) {
            prop_assert!(world.released && world.copies_succeeded == 1);
        }
        if end == S::RolledBack {
            prop_assert!(!world.cut_over && !world.released);
        }
    }

    #[test]
    fn resuming_any_stored_state_is_idempotent(state in any_state()) {
        let first = next("p", "v", state, &O::Proceed);
        let second = next("p", "v", first.0.clone(), &O::Proceed);
        prop_assert_eq!(first, second);
    }
}

/// A plan of `n` volumes in batches of 2, one [`World`] per volume.
fn plan_worlds(n: usize) -> (MigrationPlan, Vec<World>) {
    let volumes: Vec<PlannedVolume> = (0..n)
        .map(|i| PlannedVolume {
            name: format!("v{i}"),
            size_bytes: 1,
            batch: i / 2,
        })
        .collect();
    let worlds = volumes
        .iter()
        .map(|v| World {
            volume: v.name.clone(),
            ..World::default()
        })
        .collect();
    let plan = MigrationPlan {
        name: "plan".into(),
        project: "p1".into(),
        batch_size: 2,
        volumes,
    };
    (plan, worlds)
}

/// The runner's tick: proceed the current batch's volumes; verified ones only when the whole
/// batch may cut over.
fn tick(plan: &MigrationPlan, worlds: &mut [World]) {
    let states = worlds
        .iter()
        .map(|w| (w.volume.clone(), w.state()))
        .collect();
    let p = progress(plan, &states);
    let Some(batch) = p.current_batch else {
        return;
    };
    for (v, world) in plan.volumes.iter().zip(worlds.iter_mut()) {
        if v.batch == batch && (p.ready_to_cut_over || !matches!(world.state(), S::Verified { .. }))
        {
            world.step(&Event::Proceed);
        }
    }
}

/// Batches run in order and cut over together.
fn check_batches(plan: &MigrationPlan, worlds: &[World]) {
    for (v, world) in plan.volumes.iter().zip(worlds) {
        let state = world.state();
        if state != S::Pending {
            for (earlier, other) in plan.volumes.iter().zip(worlds) {
                if earlier.batch < v.batch {
                    assert!(
                        other.state().is_terminal(),
                        "batch {} started early",
                        v.batch
                    );
                }
            }
        }
        if matches!(
            state,
            S::CuttingOver { .. } | S::Releasing { .. } | S::Done { .. }
        ) {
            for (peer, other) in plan.volumes.iter().zip(worlds) {
                if peer.batch == v.batch {
                    assert!(
                        matches!(
                            other.state(),
                            S::Verified { .. }
                                | S::CuttingOver { .. }
                                | S::Releasing { .. }
                                | S::Done { .. }
                                | S::Failed { .. }
                        ),
                        "batch {} cut over before {} was verified",
                        v.batch,
                        peer.name
                    );
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum PlanEvent {
    Tick,
    Execute(usize, bool),
    Deliver(usize),
    Duplicate(usize, usize),
    KillAll,
}

fn plan_event() -> impl Strategy<Value = PlanEvent> {
    prop_oneof![
        3 => Just(PlanEvent::Tick),
        4 => (any::<usize>(), prop::bool::weighted(0.15)).prop_map(|(i, f)| PlanEvent::Execute(i, f)),
        4 => any::<usize>().prop_map(PlanEvent::Deliver),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| PlanEvent::Duplicate(i, j)),
        1 => Just(PlanEvent::KillAll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A kill -9 anywhere in a batch (every in-memory action and result lost at once) resumes
    /// from the stored states: batches stay in order and cut over together, nothing is copied
    /// twice, no source is released early, and a fault-free run afterwards finishes the plan.
    #[test]
    fn a_plan_survives_kills_mid_batch(events in prop::collection::vec(plan_event(), 0..200)) {
        let (plan, mut worlds) = plan_worlds(5);
        let n = worlds.len();
        for event in &events {
            match event {
                PlanEvent::Tick => tick(&plan, &mut worlds),
                PlanEvent::Execute(i, fail) => worlds[i % n].step(&Event::Execute { fail: *fail }),
                PlanEvent::Deliver(i) => worlds[i % n].step(&Event::Deliver),
                PlanEvent::Duplicate(i, j) => worlds[i % n].step(&Event::Duplicate(*j)),
                PlanEvent::KillAll => worlds.iter_mut().for_each(|w| w.step(&Event::Crash)),
            }
            check_batches(&plan, &worlds);
        }
        worlds.iter_mut().for_each(|w| w.step(&Event::Crash));
        for _ in 0..64 {
            tick(&plan, &mut worlds);
            for w in worlds.iter_mut() {
                w.step(&Event::Execute { fail: false });
                while !w.inbox.is_empty() {
                    w.step(&Event::Deliver);
                }
            }
            check_batches(&plan, &worlds);
        }
        for w in &worlds {
            prop_assert!(w.state().is_terminal(), "{} stuck in {:?}", w.volume, w.state());
            if !w.failures_injected {
                prop_assert_eq!(w.state(), S::Done { bytes: 42 });
            }
        }
    }
}
