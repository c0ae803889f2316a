//! Tests of the sustained conditions: `node-not-ready` and `gpu-thermal`.

use accord_core::telemetry::TelemetrySample;

use super::{MIN, Run, SEC, T0, with};
use crate::{CheckId, Severity, Signal, SignalValue};

/// A sustained check: which, how a sample shows its condition, its signal, its severity.
type Case = (CheckId, fn(&mut TelemetrySample), Signal, Severity);

const CASES: [Case; 2] = [
    (
        CheckId::NodeNotReady,
        |s| s.ready = false,
        Signal::Ready,
        Severity::Critical,
    ),
    (
        CheckId::GpuThermal,
        |s| {
            s.thermal_violation = true;
            s.gpus[5].temp_c = 91;
        },
        Signal::ThermalViolation,
        Severity::Warning,
    ),
];

/// Samples every 30 s for `minutes`; the condition holds in the minutes `[from, to)`.
fn timeline(
    set: fn(&mut TelemetrySample),
    minutes: i64,
    spans: &[(i64, i64)],
) -> Vec<TelemetrySample> {
    (0..minutes * 2)
        .map(|half| {
            let ts = T0 + half * 30 * SEC;
            let holds = spans
                .iter()
                .any(|&(from, to)| half >= from * 2 && half < to * 2);
            with(ts, |s| {
                if holds {
                    set(s);
                }
            })
        })
        .collect()
}

/// (case, spans of the condition in minutes, the sample indexes that trip)
type EpisodeCase = (String, Vec<(i64, i64)>, Vec<usize>);

/// Minutes a condition must last by default: not ready 10 (the remediation policy's grace),
/// thermal 5.
fn after_minutes(check: CheckId) -> i64 {
    if check == CheckId::NodeNotReady {
        10
    } else {
        5
    }
}

#[test]
fn a_condition_lasting_its_time_is_one_finding_per_episode() {
    for (check, set, signal, severity) in CASES {
        let a = after_minutes(check);
        let at = |i: i64| usize::try_from(i).unwrap();
        // From sample 2 (minute 1), sample 2 + 2a is `a` minutes on.
        let cases: Vec<EpisodeCase> = vec![
            ("a minute is not a fault".into(), vec![(1, 2)], vec![]),
            (
                "half a minute short, then recovered".into(),
                vec![(1, a + 1)],
                vec![],
            ),
            (
                "long enough and more: once".into(),
                vec![(1, 2 * a + 10)],
                vec![at(2 + 2 * a)],
            ),
            (
                "two episodes: once each".into(),
                vec![(1, a + 2), (a + 3, 2 * a + 4)],
                vec![at(2 + 2 * a), at(4 * a + 6)],
            ),
        ];
        for (case, spans, trips) in cases {
            let samples = timeline(set, 2 * a + 12, &spans);
            let found = Run::new().feed_all(&samples);
            let found_at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
            assert_eq!(found_at, trips, "{check}, {case}: {found:?}");
            for (i, f) in &found {
                assert_eq!((f.check, f.severity), (check, severity), "{case}");
                let e = &f.evidence;
                assert_eq!(e.signal, signal);
                assert_eq!(e.current.ts_ms, samples[*i].ts_ms);
                assert_eq!(e.since_ts_ms, Some(samples[*i - at(2 * a)].ts_ms), "{case}");
                assert_eq!(
                    e.previous.map(|r| (r.value, r.ts_ms)),
                    Some((
                        SignalValue::Flag(check != CheckId::NodeNotReady),
                        samples[*i - 1].ts_ms
                    ))
                );
            }
        }
    }
}

#[test]
fn findings_say_how_long_and_how_hot_as_the_remediation_policy_reads_them() {
    let samples = timeline(CASES[0].1, 13, &[(1, 13)]);
    let found = Run::new().feed_all(&samples);
    let finding = found[0].1.to_remediation();
    assert_eq!(
        finding.minutes,
        Some(10),
        "the policy's grace: it acts on it"
    );
    assert_eq!(finding.node, super::NODE);
    assert_eq!(finding.cluster, super::CLUSTER);
    assert_eq!(finding.signal.as_deref(), Some("ready"));
    assert_eq!(finding.severity.as_deref(), Some("critical"));

    let samples = timeline(CASES[1].1, 8, &[(0, 8)]);
    let found = Run::new().feed_all(&samples);
    let (_, f) = &found[0];
    assert_eq!(f.gpu, Some(5), "the hottest GPU");
    assert_eq!(f.evidence.temp_c, Some(91));
    assert_eq!(f.to_remediation().temp_c, Some(91));
    assert_eq!(
        f.to_remediation().signal.as_deref(),
        Some("thermal_violation")
    );
    assert_eq!(f.to_remediation().severity.as_deref(), Some("warning"));
    // Held from the first sample seen: previous sample, same episode.
    assert_eq!(f.evidence.since_ts_ms, Some(T0));
    assert_eq!(f.evidence.current.ts_ms, T0 + 5 * MIN);
}

#[test]
fn duplicates_and_late_samples_do_not_end_or_extend_an_episode() {
    let mut run = Run::new();
    let not_ready = |ts: i64| with(ts, |s| s.ready = false);
    run.feed(&with(T0, |_| {}));
    run.feed(&not_ready(T0 + MIN));
    // A late "ready" sample from before the episode changes nothing…
    assert!(run.feed(&with(T0 + 30 * SEC, |_| {})).is_empty());
    // …and a redelivered one neither.
    assert!(run.feed(&not_ready(T0 + MIN)).is_empty());
    assert!(run.feed(&not_ready(T0 + 10 * MIN)).is_empty(), "9 minutes");
    assert_eq!(run.feed(&not_ready(T0 + 11 * MIN)).len(), 1);
    assert!(run.feed(&not_ready(T0 + 11 * MIN)).is_empty());
    assert!(run.feed(&not_ready(T0 + 12 * MIN)).is_empty());
}
