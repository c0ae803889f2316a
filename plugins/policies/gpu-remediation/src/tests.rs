//! Tests of the policy through its public function [`decide`]: the catalogue row by row, the
//! node-level signals, each safety rule and their precedence, and invariants over a grid of
//! contexts.

use crate::logic::{
    Action, Context, Decision, Finding, FindingKind, Responsibility, XID_CATALOGUE, decide,
    xid_entry,
};

use Action::{Escalate, Hold, None as Nothing, NotifyCustomer, RebootNode, ReplaceNode, ResetGpu};
use Responsibility::{CustomerOwned, Supported};

/// A healthy 10-node cluster that allows remediation, nothing in flight, no window open.
fn ctx() -> Context {
    Context {
        remediation_allowed: true,
        xid_count_24h: 1,
        remediations_7d: 0,
        unhealthy_in_pool: 1,
        pool_size: 4,
        mig: false,
        in_flight_in_pool: 0,
        max_in_flight_per_pool: 1,
        unhealthy_in_cluster: 1,
        cluster_size: 10,
        max_unhealthy_percent: 50,
        in_maintenance_window: false,
    }
}

fn xid(code: u32) -> Finding {
    Finding {
        xid: Some(code),
        gpu: Some(3),
        ..Finding::new(FindingKind::GpuXid, "cl-1", "node-a")
    }
}

fn ib(state: Option<&str>) -> Finding {
    Finding {
        port: Some("mlx5_1/1".to_owned()),
        state: state.map(str::to_owned),
        ..Finding::new(FindingKind::IbLink, "cl-1", "node-a")
    }
}

fn not_ready(minutes: Option<u32>) -> Finding {
    Finding {
        minutes,
        ..Finding::new(FindingKind::NodeNotReady, "cl-1", "node-a")
    }
}

/// A finding of one of the GPU counter kinds on GPU 3, as the health checker raises it.
fn gpu(kind: FindingKind, signal: &str, severity: &str) -> Finding {
    Finding {
        gpu: Some(3),
        signal: Some(signal.to_owned()),
        severity: Some(severity.to_owned()),
        ..Finding::new(kind, "cl-1", "node-a")
    }
}

fn ecc() -> Finding {
    gpu(FindingKind::GpuEcc, "ecc_dbe_total", "critical")
}

fn rows() -> Finding {
    gpu(
        FindingKind::GpuRowRemap,
        "remapped_rows_uncorrectable",
        "warning",
    )
}

fn remap_failure() -> Finding {
    gpu(FindingKind::GpuRowRemap, "row_remap_failure", "critical")
}

fn nvlink() -> Finding {
    gpu(FindingKind::GpuNvlink, "nvlink_crc_errors", "warning")
}

fn pcie() -> Finding {
    gpu(FindingKind::GpuPcie, "pcie_replay", "warning")
}

fn thermal() -> Finding {
    Finding {
        gpu: Some(2),
        temp_c: Some(92),
        ..Finding::new(FindingKind::GpuThermal, "cl-1", "node-a")
    }
}

struct Case {
    name: &'static str,
    finding: Finding,
    ctx: Context,
    action: Action,
    responsibility: Responsibility,
    /// Fragments the reason must contain (case-sensitive).
    reason: &'static [&'static str],
}

fn case(
    name: &'static str,
    finding: Finding,
    ctx: Context,
    action: Action,
    responsibility: Responsibility,
    reason: &'static [&'static str],
) -> Case {
    Case {
        name,
        finding,
        ctx,
        action,
        responsibility,
        reason,
    }
}

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let d = decide(&c.finding, &c.ctx);
        let missing: Vec<_> = c.reason.iter().filter(|f| !d.reason.contains(*f)).collect();
        if d.action != c.action || d.responsibility != c.responsibility || !missing.is_empty() {
            failures.push(format!(
                "{}: got {} / {} / {:?}; want {} / {} containing {:?}",
                c.name, d.action, d.responsibility, d.reason, c.action, c.responsibility, c.reason
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn with(f: impl FnOnce(&mut Context)) -> Context {
    let mut c = ctx();
    f(&mut c);
    c
}

fn count(n: u32) -> Context {
    with(|c| c.xid_count_24h = n)
}

#[test]
#[rustfmt::skip]
fn xid_catalogue_first_occurrence_and_repeats() {
    let window = with(|c| c.in_maintenance_window = true);
    let mig = with(|c| c.mig = true);
    let mut cases = vec![
        case("13 first",           xid(13),  ctx(),          NotifyCustomer, CustomerOwned, &["XID 13 (", "application faulted"]),
        case("13 twice",           xid(13),  count(2),       NotifyCustomer, CustomerOwned, &["XID 13"]),
        case("13 three times",     xid(13),  count(3),       Escalate,       Supported,     &["XID 13", "diagnostics"]),
        case("31 first",           xid(31),  ctx(),          NotifyCustomer, CustomerOwned, &["XID 31 (GPU memory page fault)"]),
        case("31 three times",     xid(31),  count(3),       Escalate,       Supported,     &["XID 31", "3 times in 24 h"]),
        case("43 first",           xid(43),  ctx(),          NotifyCustomer, CustomerOwned, &["XID 43"]),
        case("43 never escalates", xid(43),  count(9),       NotifyCustomer, CustomerOwned, &["XID 43"]),
        case("45 follows",         xid(45),  ctx(),          Nothing,        Supported,     &["XID 45", "co-occurring XID"]),
        case("48 first",           xid(48),  ctx(),          ResetGpu,       Supported,     &["XID 48 (double-bit ECC error)", "reboot"]),
        case("48 repeat",          xid(48),  count(2),       ReplaceNode,    Supported,     &["XID 48", "replace the node", "RMA"]),
        case("63 outside window",  xid(63),  ctx(),          Nothing,        Supported,     &["XID 63", "next maintenance window"]),
        case("63 in window",       xid(63),  window.clone(), ResetGpu,       Supported,     &["XID 63", "reset the GPU"]),
        case("64 first",           xid(64),  ctx(),          ResetGpu,       Supported,     &["XID 64 (row remap failure)"]),
        case("64 repeat",          xid(64),  count(2),       ReplaceNode,    Supported,     &["XID 64", "replace the node"]),
        case("74 first",           xid(74),  ctx(),          ResetGpu,       Supported,     &["XID 74 (NVLink error)"]),
        case("74 repeat",          xid(74),  count(3),       ReplaceNode,    Supported,     &["XID 74", "replace the node"]),
        case("79 first",           xid(79),  ctx(),          RebootNode,     Supported,     &["XID 79 (GPU fell off the bus) on GPU 3: power-cycle the node"]),
        case("79 repeat",          xid(79),  count(2),       ReplaceNode,    Supported,     &["XID 79", "replace the node"]),
        case("92 monitor",         xid(92),  ctx(),          Nothing,        Supported,     &["XID 92", "monitor"]),
        case("94 outside window",  xid(94),  ctx(),          NotifyCustomer, CustomerOwned, &["XID 94", "restart"]),
        case("94 in window",       xid(94),  window,         ResetGpu,       Supported,     &["XID 94", "maintenance window"]),
        case("95 MIG off",         xid(95),  ctx(),          RebootNode,     Supported,     &["XID 95", "MIG off"]),
        case("95 MIG on",          xid(95),  mig,            ResetGpu,       Supported,     &["XID 95", "MIG on"]),
        case("119 first",          xid(119), ctx(),          ResetGpu,       Supported,     &["XID 119 (GSP RPC timeout)", "driver"]),
        case("119 repeat",         xid(119), count(2),       RebootNode,     Supported,     &["XID 119", "driver"]),
        case("120 first",          xid(120), ctx(),          ResetGpu,       Supported,     &["XID 120 (GSP error)", "driver"]),
        case("120 repeat",         xid(120), count(2),       RebootNode,     Supported,     &["XID 120", "driver"]),
        case("unknown XID",        xid(999), ctx(),          Escalate,       Supported,     &["XID 999 (not in the catalogue)"]),
        case("XID missing",        Finding { xid: None, ..xid(0) }, ctx(), Escalate, Supported, &["without an XID code"]),
    ];
    for code in [46, 62, 109, 136, 140, 143, 155] {
        cases.push(case("reset class first",  xid(code), ctx(),    ResetGpu,   Supported, &["reset the GPU"]));
        cases.push(case("reset class repeat", xid(code), count(2), RebootNode, Supported, &["reboot the node"]));
    }
    check(&cases);
}

#[test]
fn every_catalogue_entry_names_its_xid_in_the_reason() {
    for entry in XID_CATALOGUE {
        for n in [1, 2, 3, 5] {
            let d = decide(&xid(entry.xid), &count(n));
            let rule = format!("XID {} ({}) on GPU 3", entry.xid, entry.meaning);
            let rest = d.reason.strip_prefix(&rule).unwrap_or_default();
            assert!(
                rest.starts_with(": ") || rest.starts_with(", "),
                "XID {} ×{n}: {:?}",
                entry.xid,
                d.reason
            );
        }
    }
}

#[test]
fn catalogue_is_sorted_and_unique_for_lookup() {
    assert!(XID_CATALOGUE.windows(2).all(|w| w[0].xid < w[1].xid));
    assert!(XID_CATALOGUE.iter().all(|e| xid_entry(e.xid) == Some(e)));
    assert_eq!(xid_entry(1), None);
}

#[test]
#[rustfmt::skip]
fn infiniband_notready_and_thermal() {
    let rebooted = with(|c| c.remediations_7d = 1);
    check(&[
        case("IB down",               ib(Some("down")),    ctx(),            RebootNode,     Supported, &["InfiniBand port mlx5_1/1 is down", "reboot"]),
        case("IB DOWN",               ib(Some("DOWN")),    ctx(),            RebootNode,     Supported, &["is DOWN"]),
        case("IB errors",             ib(Some("active")),  ctx(),            RebootNode,     Supported, &["link errors (state active)"]),
        case("IB no state",           ib(None),            ctx(),            RebootNode,     Supported, &["state unknown"]),
        case("IB repeat",             ib(Some("down")),    rebooted.clone(), ReplaceNode,    Supported, &["replace the node"]),
        case("NotReady 0",            not_ready(Some(0)),  ctx(),            Nothing,        Supported, &["grace period"]),
        case("NotReady 9",            not_ready(Some(9)),  ctx(),            Nothing,        Supported, &["waiting out the 10-minute grace"]),
        case("NotReady 10",           not_ready(Some(10)), ctx(),            RebootNode,     Supported, &["NotReady for 10 min", "reboot"]),
        case("NotReady unknown",      not_ready(None),     ctx(),            Nothing,        Supported, &["grace period"]),
        case("NotReady repeat",       not_ready(Some(30)), rebooted.clone(), ReplaceNode,    Supported, &["replace"]),
        case("NotReady grace repeat", not_ready(Some(5)),  rebooted,         Nothing,        Supported, &["grace period"]),
        case("thermal",               thermal(),           ctx(),            NotifyCustomer, Supported, &["GPU 2 at 92 °C", "monitor"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn the_xid_counter_does_not_apply_to_node_signals() {
    // The 24-hour XID count is about one GPU; an IB or NotReady finding ignores it.
    let noisy = count(9);
    check(&[
        case("IB",       ib(Some("down")),    noisy.clone(), RebootNode, Supported, &["InfiniBand"]),
        case("NotReady", not_ready(Some(15)), noisy,         RebootNode, Supported, &["NotReady"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn gpu_counter_kinds_follow_the_xid_they_stand_for() {
    let window = with(|c| c.in_maintenance_window = true);
    let no_signal = |severity: &str| Finding { signal: None, ..gpu(FindingKind::GpuRowRemap, "", severity) };
    check(&[
        // gpu-ecc is XID 48: reset, replace when it comes back.
        case("ECC first",            ecc(),            ctx(),          ResetGpu,       Supported, &["Double-bit ECC errors on GPU 3 (as XID 48)", "reboot the node if the reset fails"]),
        case("ECC repeat",           ecc(),            count(2),       ReplaceNode,    Supported, &["as XID 48", "back after a reset (2 times in 24 h)", "RMA"]),
        // A failed remap is XID 64: reset, then replace; not deferred to a window.
        case("remap failure first",  remap_failure(),  ctx(),          ResetGpu,       Supported, &["Row remap failure on GPU 3 (as XID 64)"]),
        case("remap failure repeat", remap_failure(),  count(2),       ReplaceNode,    Supported, &["as XID 64", "replace the node"]),
        // Remapped rows are XID 63: nothing now, reset in the next window; a trend replaces.
        case("rows outside window",  rows(),           ctx(),          Nothing,        Supported, &["Rows remapped for uncorrectable errors on GPU 3 (as XID 63)", "nothing now", "next maintenance window"]),
        case("rows in window",       rows(),           window.clone(), ResetGpu,       Supported, &["as XID 63", "reset the GPU in the open maintenance window"]),
        case("rows trend, no window", rows(),          count(2),       Nothing,        Supported, &["back after a remap", "replace the node", "next maintenance window"]),
        case("rows trend in window", rows(),           with(|c| { c.xid_count_24h = 3; c.in_maintenance_window = true; }), ReplaceNode, Supported, &["back after a remap (3 times in 24 h)"]),
        // Without a signal, a critical row-remap finding is the failure, a warning the rows.
        case("no signal, critical",  no_signal("critical"), ctx(),     ResetGpu,       Supported, &["Row remap failure"]),
        case("no signal, warning",   no_signal("warning"),  ctx(),     Nothing,        Supported, &["Rows remapped"]),
        // gpu-nvlink is XID 74.
        case("NVLink first",         nvlink(),         ctx(),          ResetGpu,       Supported, &["NVLink CRC errors over the limit on GPU 3 (as XID 74)"]),
        case("NVLink repeat",        nvlink(),         count(3),       ReplaceNode,    Supported, &["as XID 74", "replace the node"]),
        // gpu-pcie: notify and monitor; back within 24 h, reboot in a window.
        case("PCIe first",           pcie(),           ctx(),          NotifyCustomer, Supported, &["PCIe replays over the limit on GPU 3", "monitor"]),
        case("PCIe repeat",          pcie(),           count(2),       NotifyCustomer, Supported, &["back after a warning", "transfers may be slow", "reboot the node to re-train the PCIe link at the next maintenance window"]),
        case("PCIe repeat in window", pcie(),          with(|c| { c.xid_count_24h = 2; c.in_maintenance_window = true; }), RebootNode, Supported, &["re-train the PCIe link in the open maintenance window"]),
        case("GPU unnamed",          Finding { gpu: None, ..ecc() }, ctx(), ResetGpu, Supported, &["on a GPU (as XID 48)"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn gpu_counter_kinds_obey_the_safety_rules() {
    let off = with(|c| c.remediation_allowed = false);
    let full = with(|c| c.in_flight_in_pool = 1);
    check(&[
        case("ECC not allowed",     ecc(),           off.clone(), NotifyCustomer, Supported, &["as XID 48", "not allowed", "incident opened"]),
        case("NVLink not allowed",  nvlink(),        off,         NotifyCustomer, Supported, &["not allowed"]),
        // The repeat rule counts findings of the kind on the GPU like XIDs.
        case("ECC ×5",              ecc(),           count(5),    Escalate,       Supported, &["repeat rule (seen 5 times in 24 h on this GPU, limit 5)"]),
        case("remap failure ×6",    remap_failure(), count(6),    Escalate,       Supported, &["repeat rule"]),
        case("rows ×5",             rows(),          count(5),    Escalate,       Supported, &["repeat rule"]),
        case("PCIe ×5",             pcie(),          count(5),    Escalate,       Supported, &["repeat rule"]),
        case("ECC held",            ecc(),           full.clone(), Hold,          Supported, &["held: per-pool in-flight limit"]),
        case("PCIe first not held", pcie(),          full,        NotifyCustomer, Supported, &["monitor"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn remediation_not_allowed_notifies_and_opens_an_incident() {
    let off = with(|c| c.remediation_allowed = false);
    let off_window = with(|c| {
        c.remediation_allowed = false;
        c.in_maintenance_window = true;
    });
    let why = &["not allowed", "incident opened"];
    check(&[
        case("79",                xid(79),             off.clone(), NotifyCustomer, Supported, &["XID 79", "power-cycle", "not allowed"]),
        case("46",                xid(46),             off.clone(), NotifyCustomer, Supported, why),
        case("IB",                ib(Some("down")),    off.clone(), NotifyCustomer, Supported, why),
        case("NotReady",          not_ready(Some(20)), off.clone(), NotifyCustomer, Supported, why),
        case("63 outside window", xid(63),             off.clone(), NotifyCustomer, Supported, &["next maintenance window"]),
        case("94 in window",      xid(94),             off_window,  NotifyCustomer, Supported, why),
        // Decisions that do not touch the node are unchanged.
        case("13",                xid(13),             off.clone(), NotifyCustomer, CustomerOwned, &["application faulted"]),
        case("unknown",           xid(999),            off.clone(), Escalate,       Supported, &["not in the catalogue"]),
        case("92",                xid(92),             off.clone(), Nothing,        Supported, &["monitor"]),
        case("NotReady in grace", not_ready(Some(3)),  off.clone(), Nothing,        Supported, &["grace"]),
        case("thermal",           thermal(),           off,         NotifyCustomer, Supported, &["monitor"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn repeat_rule_escalates_instead_of_another_remediation() {
    let node_worn = with(|c| c.remediations_7d = 5);
    check(&[
        case("46 ×5 beats reset",   xid(46),             count(5),          Escalate,   Supported, &["repeat rule", "5 times in 24 h"]),
        case("46 ×4 reboots",       xid(46),             count(4),          RebootNode, Supported, &["back after a reset"]),
        case("79 ×5 beats replace", xid(79),             count(5),          Escalate,   Supported, &["instead of remediating again"]),
        case("95 ×7",               xid(95),             count(7),          Escalate,   Supported, &["repeat rule"]),
        case("node ×5 in 7 days",   xid(46),             node_worn.clone(), Escalate,   Supported, &["remediated 5 times in 7 days"]),
        case("IB ×5 in 7 days",     ib(Some("down")),    node_worn.clone(), Escalate,   Supported, &["repeat rule"]),
        case("NotReady ×5",         not_ready(Some(60)), node_worn.clone(), Escalate,   Supported, &["repeat rule"]),
        case("NotReady in grace",   not_ready(Some(2)),  node_worn,         Nothing,    Supported, &["grace"]),
        case("92 ×9 stays",         xid(92),             count(9),          Nothing,    Supported, &["monitor"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn in_flight_limit_holds() {
    let full = with(|c| c.in_flight_in_pool = 1);
    let zero = with(|c| c.max_in_flight_per_pool = 0);
    let roomy = with(|c| {
        c.in_flight_in_pool = 1;
        c.max_in_flight_per_pool = 2;
    });
    check(&[
        case("79 full",        xid(79),          full.clone(), Hold,           Supported,     &["XID 79", "held: per-pool in-flight limit reached (1 running, limit 1)"]),
        case("IB full",        ib(Some("down")), full.clone(), Hold,           Supported,     &["in-flight limit"]),
        case("limit 0",        xid(46),          zero,         Hold,           Supported,     &["limit 0"]),
        case("room left",      xid(46),          roomy,        ResetGpu,       Supported,     &["reset the GPU"]),
        case("13 is not held", xid(13),          full,         NotifyCustomer, CustomerOwned, &["application faulted"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn circuit_breaker_holds() {
    let unhealthy = |n: u32, size: u32, pct: u32| {
        with(move |c| {
            c.unhealthy_in_cluster = n;
            c.cluster_size = size;
            c.max_unhealthy_percent = pct;
        })
    };
    let max = u32::MAX;
    check(&[
        case("6 of 10 > 50 %",   xid(79),          unhealthy(6, 10, 50),     Hold,       Supported, &["circuit breaker open (6 of 10 nodes unhealthy, limit 50 %)"]),
        case("5 of 10 = 50 %",   xid(79),          unhealthy(5, 10, 50),     RebootNode, Supported, &["power-cycle"]),
        case("3 of 10 > 20 %",   ib(Some("down")), unhealthy(3, 10, 20),     Hold,       Supported, &["circuit breaker"]),
        case("2 of 2",           xid(46),          unhealthy(2, 2, 50),      Hold,       Supported, &["circuit breaker"]),
        case("lone node 1 of 1", xid(46),          unhealthy(1, 1, 50),      ResetGpu,   Supported, &["reset"]),
        case("lone node, 0 %",   xid(46),          unhealthy(1, 10, 0),      ResetGpu,   Supported, &["reset"]),
        case("size 0",           xid(46),          unhealthy(2, 0, 50),      Hold,       Supported, &["circuit breaker"]),
        case("no overflow",      xid(46),          unhealthy(max, max, max), ResetGpu,   Supported, &["reset"]),
        case("escalate passes",  xid(999),         unhealthy(9, 10, 10),     Escalate,   Supported, &["not in the catalogue"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn maintenance_window_defers_preventive_resets_only() {
    // Faults that already took the GPU or node out of service act with or without a window.
    for finding in [xid(79), xid(46), xid(48), xid(95), ib(Some("down")), not_ready(Some(11))] {
        let closed = decide(&finding, &ctx());
        let open = decide(&finding, &with(|c| c.in_maintenance_window = true));
        assert!(closed.action.touches_node(), "{finding:?}: {closed:?}");
        assert_eq!(closed, open, "{finding:?}");
    }
    check(&[
        case("63 closed", xid(63), ctx(), Nothing,        Supported,     &["nothing now", "none is open"]),
        case("94 closed", xid(94), ctx(), NotifyCustomer, CustomerOwned, &["restart the affected job"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn safety_rules_apply_in_order() {
    // Every safety rule would fire; peel them off one by one.
    let everything = Context {
        remediation_allowed: false,
        xid_count_24h: 5,
        remediations_7d: 5,
        in_flight_in_pool: 1,
        max_in_flight_per_pool: 1,
        unhealthy_in_cluster: 9,
        cluster_size: 10,
        ..ctx()
    };
    let not_allowed_no_repeat = Context { xid_count_24h: 1, remediations_7d: 0, ..everything.clone() };
    let allowed = Context { remediation_allowed: true, ..everything.clone() };
    let no_repeat = Context { xid_count_24h: 1, remediations_7d: 0, ..allowed.clone() };
    let in_window = Context { in_maintenance_window: true, ..no_repeat.clone() };
    let no_in_flight = Context { in_flight_in_pool: 0, ..no_repeat.clone() };
    check(&[
        case("not allowed beats repeat",    xid(46), everything,            NotifyCustomer, Supported, &["not allowed"]),
        case("not allowed beats hold",      xid(79), not_allowed_no_repeat, NotifyCustomer, Supported, &["not allowed"]),
        case("repeat beats window",         xid(63), allowed.clone(),       Escalate,       Supported, &["repeat rule"]),
        case("repeat beats holds",          xid(46), allowed,               Escalate,       Supported, &["repeat rule"]),
        case("window beats holds",          xid(63), no_repeat.clone(),     Nothing,        Supported, &["next maintenance window"]),
        case("in flight beats breaker",     xid(46), no_repeat,             Hold,           Supported, &["in-flight limit"]),
        case("window open, in flight holds", xid(94), in_window,            Hold,           Supported, &["in-flight limit", "open maintenance window"]),
        case("breaker last",                xid(46), no_in_flight,          Hold,           Supported, &["circuit breaker"]),
    ]);
}

#[test]
fn decisions_are_deterministic() {
    let findings = [
        xid(13),
        xid(46),
        xid(63),
        xid(79),
        xid(94),
        xid(999),
        ib(Some("down")),
        not_ready(Some(12)),
        thermal(),
    ];
    let contexts = [
        ctx(),
        count(5),
        with(|c| c.in_flight_in_pool = 1),
        Context::default(),
    ];
    for f in &findings {
        for c in &contexts {
            assert_eq!(decide(f, c), decide(&f.clone(), &c.clone()), "{f:?} {c:?}");
        }
    }
}

/// Invariants over a grid of contexts for every kind of finding: no panic, a reason that starts
/// with the finding's rule, and no node-touching action when a safety rule forbids one.
#[test]
fn safety_invariants_hold_over_a_grid() {
    let mut findings: Vec<Finding> = XID_CATALOGUE.iter().map(|e| xid(e.xid)).collect();
    findings.extend([
        xid(999),
        ib(Some("down")),
        ib(Some("active")),
        not_ready(Some(9)),
        not_ready(Some(10)),
        thermal(),
        ecc(),
        rows(),
        remap_failure(),
        nvlink(),
        pcie(),
    ]);
    let mut checked = 0_u32;
    for f in &findings {
        for allowed in [false, true] {
            for xid_count_24h in [0, 1, 2, 3, 5] {
                for remediations_7d in [0, 1, 5] {
                    for (in_flight_in_pool, max_in_flight_per_pool) in
                        [(0, 1), (1, 1), (0, 0), (2, 3)]
                    {
                        for (unhealthy_in_cluster, cluster_size) in
                            [(1, 1), (2, 2), (2, 10), (6, 10), (3, 0)]
                        {
                            for max_unhealthy_percent in [0, 50, 100] {
                                for (mig, in_maintenance_window) in [(false, false), (true, true)] {
                                    let c = Context {
                                        remediation_allowed: allowed,
                                        xid_count_24h,
                                        remediations_7d,
                                        in_flight_in_pool,
                                        max_in_flight_per_pool,
                                        unhealthy_in_cluster,
                                        cluster_size,
                                        max_unhealthy_percent,
                                        mig,
                                        in_maintenance_window,
                                        ..ctx()
                                    };
                                    let d = decide(f, &c);
                                    assert_invariants(f, &c, &d);
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 10_000);
}

fn assert_invariants(f: &Finding, c: &Context, d: &Decision) {
    let ctx = || format!("{f:?} {c:?} → {d:?}");
    assert!(
        !d.reason.is_empty() && !d.reason.ends_with('.'),
        "{}",
        ctx()
    );
    let prefix = match f.kind {
        FindingKind::GpuXid => "XID ",
        FindingKind::IbLink => "InfiniBand ",
        FindingKind::NodeNotReady => "Node NotReady",
        FindingKind::GpuThermal => "Thermal",
        FindingKind::GpuEcc => "Double-bit ECC",
        FindingKind::GpuRowRemap => "Row",
        FindingKind::GpuNvlink => "NVLink",
        FindingKind::GpuPcie => "PCIe",
    };
    assert!(d.reason.starts_with(prefix), "{}", ctx());
    if d.action.touches_node() {
        assert!(c.remediation_allowed, "acted without permission: {}", ctx());
        assert!(
            c.in_flight_in_pool < c.max_in_flight_per_pool,
            "ignored the in-flight limit: {}",
            ctx()
        );
        let breaker = c.unhealthy_in_cluster > 1
            && u64::from(c.unhealthy_in_cluster) * 100
                > u64::from(c.max_unhealthy_percent) * u64::from(c.cluster_size);
        assert!(!breaker, "ignored the circuit breaker: {}", ctx());
        assert!(c.remediations_7d < 5, "ignored the repeat rule: {}", ctx());
        if f.kind.counted_per_gpu() {
            assert!(c.xid_count_24h < 5, "ignored the repeat rule: {}", ctx());
        }
    }
    if d.action == Hold {
        assert!(d.reason.contains("held: "), "{}", ctx());
    }
}
