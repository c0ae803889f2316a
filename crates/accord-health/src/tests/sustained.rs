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
type EpisodeCase = (&'static str, &'static [(i64, i64)], &'static [usize]);

#[test]
fn a_condition_lasting_5_minutes_is_one_finding_per_episode() {
    for (check, set, signal, severity) in CASES {
        let cases: &[EpisodeCase] = &[
            ("a minute is not a fault", &[(1, 2)], &[]),
            ("4.5 minutes, then recovered", &[(1, 6)], &[]),
            // From sample 2 (minute 1): sample 12 (minute 6) is 5 minutes on.
            ("5 minutes and more: once", &[(1, 20)], &[12]),
            ("two episodes: once each", &[(1, 7), (8, 14)], &[12, 26]),
        ];
        for (case, spans, trips) in cases {
            let samples = timeline(set, 22, spans);
            let found = Run::new().feed_all(&samples);
            let at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
            assert_eq!(at, *trips, "{check}, {case}: {found:?}");
            for (i, f) in &found {
                assert_eq!((f.check, f.severity), (check, severity), "{case}");
                let e = &f.evidence;
                assert_eq!(e.signal, signal);
                assert_eq!(e.current.ts_ms, samples[*i].ts_ms);
                assert_eq!(e.since_ts_ms, Some(samples[*i - 10].ts_ms), "{case}");
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
    let samples = timeline(CASES[0].1, 8, &[(1, 8)]);
    let found = Run::new().feed_all(&samples);
    let finding = found[0].1.to_remediation();
    assert_eq!(finding.minutes, Some(5));
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
    assert_eq!(run.feed(&not_ready(T0 + 6 * MIN)).len(), 1);
    assert!(run.feed(&not_ready(T0 + 6 * MIN)).is_empty());
    assert!(run.feed(&not_ready(T0 + 7 * MIN)).is_empty());
}
