//! Tests of `ib-link`: outages, flapping and symbol errors.

use accord_core::telemetry::{IbPortName, IbPortState, TelemetrySample};

use super::{MIN, Run, SEC, T0, with};
use crate::{CheckId, Severity, Signal, SignalValue};

const UP: IbPortState = IbPortState::Up;
const DOWN: IbPortState = IbPortState::Down;

/// Port 3 (`mlx5_3/1`) at `ts` with `state` and `link_downed`.
fn port(ts: i64, state: IbPortState, link_downed: u64) -> TelemetrySample {
    with(ts, |s| {
        s.ib_ports[3].state = state;
        s.ib_ports[3].link_downed = link_downed;
    })
}

/// (case, samples as (offset ms, state, link_downed), indexes of the samples that trip)
type OutageCase = (
    &'static str,
    &'static [(i64, IbPortState, u64)],
    &'static [usize],
);

#[test]
fn a_port_down_for_30s_is_one_critical_finding_per_outage() {
    let cases: &[OutageCase] = &[
        (
            "down 30 s, then more samples of the same outage",
            &[
                (0, UP, 0),
                (10_000, DOWN, 1),
                (20_000, DOWN, 1),
                (30_000, DOWN, 1),
                (40_000, DOWN, 1),
                (50_000, DOWN, 1),
                (120_000, DOWN, 1),
            ],
            &[4],
        ),
        (
            "down 29.999 s, then back",
            &[
                (0, UP, 0),
                (10_000, DOWN, 1),
                (39_999, DOWN, 1),
                (45_000, UP, 1),
            ],
            &[],
        ),
        (
            "two outages: one finding each",
            &[
                (0, UP, 0),
                (10_000, DOWN, 1),
                (40_000, DOWN, 1),
                (50_000, UP, 1),
                (60_000, DOWN, 2),
                (95_000, DOWN, 2),
            ],
            &[2, 5],
        ),
        (
            "back and down again between two samples: the outage starts over",
            &[
                (0, UP, 0),
                (10_000, DOWN, 1),
                (35_000, DOWN, 2),
                (60_000, DOWN, 2),
                (65_000, DOWN, 2),
            ],
            &[4],
        ),
        (
            "down in the first sample seen: the outage starts there",
            &[(0, DOWN, 5), (15_000, DOWN, 5), (30_000, DOWN, 5)],
            &[2],
        ),
    ];
    for (case, samples, trips) in cases {
        let mut run = Run::new();
        let samples: Vec<_> = samples
            .iter()
            .map(|&(at, state, downed)| port(T0 + at, state, downed))
            .collect();
        let found = run.feed_all(&samples);
        let outages: Vec<_> = found
            .iter()
            .filter(|(_, f)| f.evidence.signal == Signal::State)
            .collect();
        let at: Vec<usize> = outages.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, *trips, "{case}: {found:?}");
        for (i, f) in outages {
            assert_eq!(
                (f.check, f.severity, f.port_state),
                (CheckId::IbLink, Severity::Critical, Some(DOWN)),
                "{case}"
            );
            assert_eq!(f.port.as_ref().map(IbPortName::as_str), Some("mlx5_3/1"));
            assert_eq!(f.evidence.current.value, SignalValue::Port(DOWN));
            assert_eq!(f.evidence.current.ts_ms, samples[*i].ts_ms);
            let since = f.evidence.since_ts_ms.unwrap();
            assert!(f.evidence.current.ts_ms - since >= 30 * SEC, "{case}");
        }
    }
}

#[test]
fn three_link_drops_within_an_hour_are_flapping() {
    // Drops (link_downed +1, the port back up by the next sample) at these minutes; samples
    // every 5 minutes in between. Which sample trips.
    let cases: &[(&str, &[i64], Option<i64>)] = &[
        ("three in 40 minutes", &[1, 20, 40], Some(40)),
        ("two in an hour", &[1, 30], None),
        ("three spread over 65 minutes", &[1, 31, 66], None),
        ("two at once, one later", &[10, 10, 50], Some(50)),
    ];
    for (case, drops, trips_at) in cases {
        let mut run = Run::new();
        let mut downed = 0;
        let mut found = Vec::new();
        let mut minutes: Vec<i64> = (0..=90).step_by(5).collect();
        minutes.extend(drops.iter().copied());
        minutes.sort_unstable();
        minutes.dedup();
        for minute in minutes {
            downed += drops.iter().filter(|&&d| d == minute).count() as u64;
            let sample = port(T0 + minute * MIN, UP, downed);
            for f in run.feed(&sample) {
                found.push((minute, f));
            }
        }
        let at: Vec<i64> = found.iter().map(|(m, _)| *m).collect();
        assert_eq!(at, trips_at.iter().copied().collect::<Vec<_>>(), "{case}");
        if let Some((_, f)) = found.first() {
            assert_eq!((f.check, f.severity), (CheckId::IbLink, Severity::Warning));
            assert_eq!(f.evidence.signal, Signal::LinkDowned);
            assert_eq!(f.evidence.count, Some(3), "{case}");
            assert_eq!(f.evidence.window_ms, Some(3_600_000));
            assert_eq!(f.port_state, Some(UP));
        }
    }
}

#[test]
fn more_than_120_symbol_errors_within_an_hour_is_a_warning() {
    let errors = |ts: i64, n: u64| with(ts, |s| s.ib_ports[7].symbol_error = n);
    // (errors per 10-minute sample, expected count in the first finding)
    let cases: &[(&str, &[u64], Option<u64>)] = &[
        ("120 in an hour", &[20, 20, 20, 20, 20, 20, 0], None),
        ("121 in an hour", &[20, 20, 20, 20, 20, 21], Some(121)),
        ("steady 20 per 10 minutes for hours", &[20; 30], None),
        ("a burst", &[0, 200], Some(200)),
    ];
    for (case, per_sample, count) in cases {
        let mut run = Run::new();
        run.feed(&errors(T0, 1_000));
        let mut total = 1_000;
        let mut found = Vec::new();
        for (i, n) in per_sample.iter().enumerate() {
            total += n;
            found.extend(run.feed(&errors(T0 + (i as i64 + 1) * 10 * MIN, total)));
        }
        assert_eq!(
            found.len(),
            usize::from(count.is_some()),
            "{case}: {found:?}"
        );
        if let Some(f) = found.first() {
            assert_eq!(f.evidence.count, *count, "{case}");
            assert_eq!(f.evidence.signal, Signal::SymbolError);
            assert_eq!(f.severity, Severity::Warning);
            assert_eq!(f.port.as_ref().map(IbPortName::as_str), Some("mlx5_7/1"));
        }
    }
}

#[test]
fn ports_are_named_as_their_agent_names_them_and_a_renamed_port_is_a_new_one() {
    let named = |ts: i64, name: &str, state: IbPortState, downed: u64| {
        with(ts, |s| {
            s.ib_ports[0].name = Some(name.parse().unwrap());
            s.ib_ports[0].state = state;
            s.ib_ports[0].link_downed = downed;
        })
    };
    let mut run = Run::new();
    run.feed(&named(T0, "mlx5_bond_0/1", UP, 0));
    run.feed(&named(T0 + 10 * SEC, "mlx5_bond_0/1", DOWN, 1));
    let f = run.feed(&named(T0 + 40 * SEC, "mlx5_bond_0/1", DOWN, 1));
    assert_eq!(
        f[0].port.as_ref().map(IbPortName::as_str),
        Some("mlx5_bond_0/1")
    );
    // Another port in that position: its counters are a baseline (no flapping from 1 → 9).
    let mut run = Run::new();
    run.feed(&named(T0, "mlx5_0/1", UP, 1));
    assert!(run.feed(&named(T0 + MIN, "mlx5_9/1", UP, 9)).is_empty());
    let f = run.feed(&named(T0 + 2 * MIN, "mlx5_9/1", UP, 12));
    assert_eq!(f[0].evidence.count, Some(3));
    assert_eq!(f[0].evidence.previous.unwrap().value, SignalValue::Count(9));
}

#[test]
fn link_counter_resets_count_nothing() {
    let mut run = Run::new();
    run.feed(&port(T0, UP, 40));
    // A new instance: link_downed back to 0, then one drop — not 41 drops, not a negative.
    assert!(run.feed(&port(T0 + MIN, UP, 0)).is_empty());
    assert!(run.feed(&port(T0 + 2 * MIN, UP, 1)).is_empty());
    assert!(run.feed(&port(T0 + 3 * MIN, UP, 2)).is_empty());
    assert_eq!(run.feed(&port(T0 + 4 * MIN, UP, 3)).len(), 1);
}
