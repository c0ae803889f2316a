//! Tests of per-node verdicts and of the memory each node keeps.

use accord_core::telemetry::IbPortState;

use super::{MIN, Run, SEC, T0, node, with};
use crate::{CheckId, Verdict, node::sizes};

fn verdict(run: &Run, check: CheckId) -> Verdict {
    run.checker
        .verdicts(&node())
        .unwrap()
        .checks
        .iter()
        .find(|v| v.check == check)
        .unwrap()
        .verdict
}

#[test]
fn verdicts_are_unknown_until_a_delta_then_follow_findings() {
    let mut run = Run::new();
    assert!(run.checker.verdicts(&node()).is_none());
    run.feed(&with(T0, |_| {}));
    let v = run.checker.verdicts(&node()).unwrap();
    assert_eq!(v.checks.len(), 8);
    assert!(v.checks.iter().all(|c| c.verdict == Verdict::Unknown));
    assert_eq!(v.last_ts_ms, T0);

    run.feed(&with(T0 + 30 * SEC, |_| {}));
    let v = run.checker.verdicts(&node()).unwrap();
    assert!(v.checks.iter().all(|c| c.verdict == Verdict::Pass), "{v:?}");

    // An event: critical for an hour of sample time after it, then passing again.
    let xid = |ts: i64| {
        with(ts, |s| {
            s.gpus[3].xid_total = 1;
            s.gpus[3].xid_last = Some(79);
        })
    };
    run.feed(&xid(T0 + MIN));
    assert_eq!(verdict(&run, CheckId::GpuXid), Verdict::Critical);
    assert_eq!(verdict(&run, CheckId::GpuEcc), Verdict::Pass);
    run.feed(&xid(T0 + 60 * MIN));
    assert_eq!(verdict(&run, CheckId::GpuXid), Verdict::Critical);
    run.feed(&xid(T0 + 61 * MIN));
    assert_eq!(verdict(&run, CheckId::GpuXid), Verdict::Pass);

    // A condition: critical while it lasts (once tripped), passing when it ends.
    let down = |ts: i64, state| with(ts, |s| s.ib_ports[2].state = state);
    run.feed(&down(T0 + 62 * MIN, IbPortState::Down));
    assert_eq!(
        verdict(&run, CheckId::IbLink),
        Verdict::Pass,
        "not 30 s yet"
    );
    run.feed(&down(T0 + 63 * MIN, IbPortState::Down));
    assert_eq!(verdict(&run, CheckId::IbLink), Verdict::Critical);
    run.feed(&down(T0 + 64 * MIN, IbPortState::Up));
    assert_eq!(verdict(&run, CheckId::IbLink), Verdict::Pass);

    // A remap failure is critical while the flag is set, and passes once the GPU was reset;
    // rows remapped meanwhile (an event) keep the check at warning for the hold.
    let failing = |ts: i64, on: bool, rows: u64| {
        with(ts, |s| {
            s.gpus[6].row_remap_failure = on;
            s.gpus[6].remapped_rows_uncorrectable = rows;
        })
    };
    run.feed(&failing(T0 + 64 * MIN + 10 * SEC, true, 0));
    assert_eq!(verdict(&run, CheckId::GpuRowRemap), Verdict::Critical);
    run.feed(&failing(T0 + 64 * MIN + 20 * SEC, false, 0));
    assert_eq!(verdict(&run, CheckId::GpuRowRemap), Verdict::Pass);
    run.feed(&failing(T0 + 64 * MIN + 30 * SEC, false, 1));
    assert_eq!(verdict(&run, CheckId::GpuRowRemap), Verdict::Warning);

    // An info XID is an INFO verdict.
    run.feed(&with(T0 + 65 * MIN, |s| {
        s.gpus[0].xid_total = 1;
        s.gpus[0].xid_last = Some(43);
    }));
    assert_eq!(verdict(&run, CheckId::GpuXid), Verdict::Info);

    assert!(run.checker.forget(&node()));
    assert!(run.checker.verdicts(&node()).is_none());
}

#[test]
fn silent_nodes_can_be_forgotten() {
    let mut run = Run::new();
    run.feed(&with(T0, |_| {}));
    let other = with(T0 + 10 * MIN, |s| {
        s.node = "node-01jd6v3xq5n8c7m2k4p9r0s1t5".parse().unwrap();
    });
    run.feed(&other);
    assert_eq!(run.checker.nodes(), 2);
    assert_eq!(run.checker.forget_silent(T0 + 5 * MIN), 1);
    assert!(run.checker.verdicts(&node()).is_none());
    assert!(run.checker.verdicts(&other.node).is_some());
}

#[test]
fn state_per_node_is_small_and_does_not_grow() {
    // The budget the `node` module documents.
    let (node_bytes, gpu_bytes, port_bytes) = sizes();
    assert!(node_bytes <= 352, "NodeState: {node_bytes} bytes");
    assert!(gpu_bytes <= 200, "GpuState: {gpu_bytes} bytes");
    assert!(port_bytes <= 184, "PortState: {port_bytes} bytes");

    // Hours of busy samples: the state of the node is the same size (fixed windows, one
    // previous value per counter), and the per-device vectors track the sample's devices.
    let mut run = Run::new();
    for i in 0..2_000u64 {
        let ts = T0 + i as i64 * 10 * SEC;
        run.feed(&with(ts, |s| {
            for g in &mut s.gpus {
                g.nvlink_crc_errors = i * 7;
                g.xid_total = i / 100;
                g.xid_last = Some(13);
            }
            for p in &mut s.ib_ports {
                p.symbol_error = i;
                p.link_downed = i / 50;
            }
        }));
    }
    assert_eq!(run.checker.nodes(), 1);
    let shrunk = with(T0 + 30_000 * SEC, |s| {
        s.gpus.truncate(2);
        s.ib_ports.clear();
    });
    run.feed(&shrunk);
    let v = run.checker.verdicts(&node()).unwrap();
    assert_eq!(v.checks.len(), 8);
}
