//! Tests of the GPU checks: `gpu-xid`, `gpu-ecc`, `gpu-row-remap`, `gpu-nvlink`, `gpu-pcie`.

use accord_core::telemetry::GpuSample;

use super::{MIN, Run, SEC, T0, with};
use crate::{CheckId, Observation, Severity, Signal, SignalValue};

/// A GPU counter check: which, how a sample sets its counter on GPU 3, the severity expected.
type CounterCase = (CheckId, Signal, fn(&mut GpuSample, u64), Severity);

const COUNTERS: [CounterCase; 3] = [
    (
        CheckId::GpuXid,
        Signal::XidTotal,
        |g, v| {
            g.xid_total = v;
            g.xid_last = Some(79);
        },
        Severity::Critical,
    ),
    (
        CheckId::GpuEcc,
        Signal::EccDbeTotal,
        |g, v| g.ecc_dbe_total = v,
        Severity::Critical,
    ),
    (
        CheckId::GpuRowRemap,
        Signal::RemappedRowsUncorrectable,
        |g, v| g.remapped_rows_uncorrectable = v,
        Severity::Warning,
    ),
];

#[test]
fn counters_trip_on_growth_and_never_on_reset_duplicate_or_out_of_order() {
    for (check, signal, set, severity) in COUNTERS {
        let at = |ts: i64, v: u64| with(ts, |s| set(&mut s.gpus[3], v));
        let mut run = Run::new();
        // A first sample that already counts errors is a baseline, not a finding.
        assert!(run.feed(&at(T0, 2)).is_empty(), "{check}");
        assert!(
            run.feed(&at(T0 + 30 * SEC, 2)).is_empty(),
            "{check}: unchanged"
        );

        let found = run.feed(&at(T0 + 60 * SEC, 3));
        assert_eq!(found.len(), 1, "{check}: {found:?}");
        let f = &found[0];
        assert_eq!(
            (f.check, f.kind, f.severity),
            (check, check.kind(), severity)
        );
        assert_eq!(f.gpu, Some(3));
        assert_eq!(f.evidence.signal, signal);
        let prev = f.evidence.previous.unwrap();
        assert_eq!(
            (prev.value, prev.ts_ms),
            (SignalValue::Count(2), T0 + 30 * SEC)
        );
        assert_eq!(
            (f.evidence.current.value, f.evidence.current.ts_ms),
            (SignalValue::Count(3), T0 + 60 * SEC)
        );
        assert_eq!(f.evidence.count, Some(1));

        // The same sample again, and an older one with a higher count: ignored.
        let (o, found) = run.observe(&at(T0 + 60 * SEC, 3));
        assert_eq!((o, found.len()), (Observation::Duplicate, 0), "{check}");
        let (o, found) = run.observe(&at(T0 + 45 * SEC, 9));
        assert_eq!((o, found.len()), (Observation::OutOfOrder, 0), "{check}");
        assert!(
            run.feed(&at(T0 + 90 * SEC, 3)).is_empty(),
            "{check}: steady"
        );

        // A replaced instance counts from 0: a reset, nothing found, and the new count is the
        // baseline the next growth is measured from.
        assert!(
            run.feed(&at(T0 + 120 * SEC, 0)).is_empty(),
            "{check}: reset"
        );
        let found = run.feed(&at(T0 + 150 * SEC, 2));
        assert_eq!(found.len(), 1, "{check}");
        assert_eq!(found[0].evidence.count, Some(2));
        assert_eq!(
            found[0].evidence.previous.unwrap().value,
            SignalValue::Count(0)
        );
    }
}

#[test]
fn a_new_gpu_in_a_slot_is_a_baseline_not_a_growth() {
    for (check, _, set, _) in COUNTERS {
        let mut run = Run::new();
        run.feed(&with(T0, |s| set(&mut s.gpus[5], 1)));
        let replaced = with(T0 + 30 * SEC, |s| {
            s.gpus[5].uuid = "GPU-replacement".into();
            set(&mut s.gpus[5], 7);
        });
        assert!(run.feed(&replaced).is_empty(), "{check}");
        let grown = with(T0 + 60 * SEC, |s| {
            s.gpus[5].uuid = "GPU-replacement".into();
            set(&mut s.gpus[5], 8);
        });
        assert_eq!(run.feed(&grown)[0].evidence.count, Some(1), "{check}");
    }
}

#[test]
fn every_xid_increase_is_one_finding_with_the_last_xid_and_how_many_arrived() {
    let xid = |ts: i64, total: u64, last: Option<u32>| {
        with(ts, |s| {
            s.gpus[2].xid_total = total;
            s.gpus[2].xid_last = last;
        })
    };
    let mut run = Run::new();
    run.feed(&xid(T0, 0, None));
    let f = run.feed(&xid(T0 + 30 * SEC, 1, Some(13)));
    assert_eq!((f[0].xid, f[0].severity), (Some(13), Severity::Warning));
    // The gauge still says 13, the count did not move: nothing (no sticky gauge).
    assert!(run.feed(&xid(T0 + 60 * SEC, 1, Some(13))).is_empty());
    // The same XID twice more: one finding carrying both.
    let f = run.feed(&xid(T0 + 90 * SEC, 3, Some(13)));
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].xid, f[0].evidence.count), (Some(13), Some(2)));
    // A count that grew with no XID reported is unknown, hence critical.
    let f = run.feed(&xid(T0 + 120 * SEC, 4, None));
    assert_eq!((f[0].xid, f[0].severity), (None, Severity::Critical));
}

#[test]
fn xid_severities_follow_the_catalogue() {
    let cases = [
        (13, Severity::Warning),
        (31, Severity::Warning),
        (43, Severity::Info),
        (45, Severity::Info),
        (48, Severity::Critical),
        (63, Severity::Info),
        (64, Severity::Critical),
        (74, Severity::Critical),
        (79, Severity::Critical),
        (92, Severity::Info),
        (94, Severity::Warning),
        (95, Severity::Critical),
        (999, Severity::Critical),
    ];
    for (code, severity) in cases {
        let mut run = Run::new();
        run.feed(&with(T0, |_| {}));
        let f = run.feed(&with(T0 + 30 * SEC, |s| {
            s.gpus[0].xid_total = 1;
            s.gpus[0].xid_last = Some(code);
        }));
        assert_eq!(
            (f[0].xid, f[0].severity),
            (Some(code), severity),
            "XID {code}"
        );
    }
}

#[test]
fn a_row_remap_failure_is_one_critical_finding_per_episode() {
    let failing = |ts: i64, on: bool| with(ts, |s| s.gpus[6].row_remap_failure = on);
    let mut run = Run::new();
    assert!(run.feed(&failing(T0, false)).is_empty());
    let first = run.feed(&failing(T0 + 30 * SEC, true));
    assert_eq!(first.len(), 1);
    let f = &first[0];
    assert_eq!(
        (f.check, f.severity, f.gpu),
        (CheckId::GpuRowRemap, Severity::Critical, Some(6))
    );
    assert_eq!(f.evidence.signal, Signal::RowRemapFailure);
    assert_eq!(f.evidence.previous.unwrap().value, SignalValue::Flag(false));
    assert_eq!(f.evidence.since_ts_ms, Some(T0 + 30 * SEC));
    for i in 2..10 {
        assert!(
            run.feed(&failing(T0 + i * 30 * SEC, true)).is_empty(),
            "sample {i}"
        );
    }
    // The GPU was reset: the episode ends; failing again is a new episode.
    assert!(run.feed(&failing(T0 + 10 * 30 * SEC, false)).is_empty());
    let again = run.feed(&failing(T0 + 11 * 30 * SEC, true));
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].id, first[0].id);
}

/// A per-minute rate check: which, how a sample sets its counter on GPU 1.
type RateCase = (CheckId, Signal, fn(&mut GpuSample, u64));

const RATES: [RateCase; 2] = [
    (CheckId::GpuNvlink, Signal::NvlinkCrcErrors, |g, v| {
        g.nvlink_crc_errors = v
    }),
    (CheckId::GpuPcie, Signal::PcieReplay, |g, v| {
        g.pcie_replay = v
    }),
];

#[test]
fn rates_trip_above_100_per_minute_once_until_they_fall_back() {
    for (check, signal, set) in RATES {
        let at = |ts: i64, v: u64| with(ts, |s| set(&mut s.gpus[1], v));
        let mut run = Run::new();
        // Samples every 30 s: the window holds the last two increments.
        let values = [0, 50, 100, 151, 202, 202, 303, 200, 260];
        let found: Vec<_> = run
            .feed_all(
                &values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| at(T0 + i as i64 * 30 * SEC, v))
                    .collect::<Vec<_>>(),
            )
            .into_iter()
            .map(|(i, f)| (i, f.evidence.count, f.severity, f.id))
            .collect();
        // 100 in a minute is not over the limit (sample 2); 50 + 51 = 101 is (3); still over at
        // 102 (4): no second finding; back to 51 (5) re-arms; 101 again (6) trips again. A reset
        // (7) and 60 after it (8) count nothing negative.
        assert_eq!(found.len(), 2, "{check}: {found:?}");
        assert_eq!(
            (found[0].0, found[0].1, found[0].2),
            (3, Some(101), Severity::Warning),
            "{check}"
        );
        assert_eq!((found[1].0, found[1].1), (6, Some(101)), "{check}");
        assert_ne!(found[0].3, found[1].3);

        let mut run = Run::new();
        run.feed(&at(T0, 0));
        let f = run.feed(&at(T0 + 30 * SEC, 101));
        assert_eq!(f[0].check, check);
        assert_eq!(f[0].evidence.signal, signal);
        assert_eq!(f[0].evidence.window_ms, Some(60_000));
        assert_eq!(f[0].gpu, Some(1));
    }
}

#[test]
fn after_a_long_gap_only_the_windows_share_counts() {
    let at = |ts: i64, v: u64| with(ts, |s| s.gpus[4].nvlink_crc_errors = v);
    let mut run = Run::new();
    run.feed(&at(T0, 0));
    // 600 errors over 10 minutes is 60 a minute.
    assert!(run.feed(&at(T0 + 10 * MIN, 600)).is_empty());
    // 1210 over the next 10 minutes is 121 a minute.
    let f = run.feed(&at(T0 + 20 * MIN, 1810));
    assert_eq!(f[0].evidence.count, Some(121));
}
