//! Tests of the repair state machines: explicit times, no runtime.
use accord_core::{
    ids::{ClusterId, NodePoolId, ProjectId},
    infra::{Catalog, NodeRequest},
};
use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::{
    catalog::default_catalog,
    faults::{self, Fault},
    lifecycle::{complete_due, next_due, provision_node, snapshot, terminate_node},
    state,
    timing::Timing,
};

const H100: &str = "h100-80gb-sxm-ib.8x";
const CPU: &str = "c1a.16x";

/// The fleet's state machines driven by hand: real durations (clock factor 1), explicit
/// time.
struct World {
    state: FleetState,
    rng: StdRng,
    catalog: Catalog,
    now: i64,
}

impl World {
    fn new() -> Self {
        World {
            state: FleetState::default(),
            rng: StdRng::seed_from_u64(11),
            catalog: default_catalog(),
            now: 1_000_000,
        }
    }

    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut FleetState, &mut Ctx<'_>) -> T,
    ) -> (T, Vec<InfraEvent>) {
        let mut ctx = Ctx::new(&self.catalog, Timing::new(1.0), &mut self.rng, self.now);
        let value = f(&mut self.state, &mut ctx);
        (value, ctx.events)
    }

    /// A node that is up and Ready.
    fn node(&mut self, instance_type: &str, name: &str) -> NodeId {
        let req = request(instance_type, name);
        let node = req.node;
        self.with(|s, c| provision_node(s, c, req)).0.unwrap();
        self.run_until_idle();
        assert!(self.state.instances[&node].ready);
        node
    }

    /// Completes what falls due next, at its due time.
    fn advance(&mut self) -> Vec<InfraEvent> {
        let Some(due) = next_due(&self.state) else {
            return Vec::new();
        };
        self.now = self.now.max(due);
        self.with(complete_due).1
    }

    fn run_until_idle(&mut self) -> Vec<InfraEvent> {
        let mut events = Vec::new();
        while next_due(&self.state).is_some() {
            events.extend(self.advance());
        }
        events
    }

    /// Requests a repair; returns what the request emitted.
    fn repair(&mut self, id: &str, node: NodeId, action: RepairAction) -> Vec<InfraEvent> {
        let req = RepairRequest {
            id: id.to_owned(),
            node,
            action,
        };
        let (result, events) = self.with(|s, c| repair_node(s, c, req));
        result.unwrap();
        events
    }

    fn inject(&mut self, fault: Fault) -> String {
        self.with(|s, c| faults::apply(s, c, fault)).0.unwrap()
    }

    fn instance(&self, node: NodeId) -> &Instance {
        &self.state.instances[&node]
    }

    /// How long the running repair's current step takes, ms.
    fn step_ms(&self, node: NodeId) -> i64 {
        self.instance(node).repair.as_ref().unwrap().due_ms.unwrap() - self.now
    }
}

fn request(instance_type: &str, name: &str) -> NodeRequest {
    NodeRequest {
        node: NodeId::generate(),
        name: name.to_owned(),
        project: ProjectId::generate(),
        cluster: ClusterId::generate(),
        pool: NodePoolId::generate(),
        region: "us-east1".into(),
        vpc_subnet: "10.9.0.0/24".parse().unwrap(),
        instance_type: instance_type.into(),
        image_version: "2026.11.0".into(),
        kubelet_version: "1.32".parse().unwrap(),
    }
}

/// Events as short strings: `drain-gpu`, `ready=false Rebooting`, `ok=true …`.
fn brief(events: &[InfraEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            InfraEvent::RepairProgress { step, .. } => step.clone(),
            InfraEvent::RepairFinished { ok, detail, .. } => format!("ok={ok} {detail}"),
            InfraEvent::NodeReadiness { ready, reason, .. } => {
                format!("ready={ready} {reason}")
            }
            other => format!("{other:?}"),
        })
        .collect()
}

fn finished(events: &[InfraEvent]) -> Vec<(String, bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            InfraEvent::RepairFinished {
                repair, ok, detail, ..
            } => Some((repair.clone(), *ok, detail.clone())),
            _ => None,
        })
        .collect()
}

/// Whether `ms` is `base_s` seconds give or take the jitter.
fn about(ms: i64, base_s: i64) -> bool {
    let base = base_s * 1000;
    (base * 85 / 100..=base * 115 / 100).contains(&ms)
}

fn xid(node: &str, gpu: u32, xid: u32) -> Fault {
    Fault::GpuXid {
        node: node.into(),
        gpu,
        xid,
    }
}

#[test]
fn a_gpu_reset_drains_resets_verifies_and_clears_the_xid() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(xid("gpu-1", 3, 48));
    let reset = RepairAction::ResetGpu { gpu: 3 };

    let events = w.repair("r1", node, reset);
    assert_eq!(brief(&events), ["drain-gpu"]);
    assert!(about(w.step_ms(node), 20), "{}", w.step_ms(node));
    assert!(
        w.instance(node)
            .active_faults()
            .contains(&"repair-reset-gpu3".to_owned())
    );
    let observed = snapshot(&w.state).repairs;
    assert_eq!(observed.len(), 1);
    assert_eq!((observed[0].ok, observed[0].action), (None, reset));
    assert!(
        observed[0].detail.contains("GPU 3"),
        "{}",
        observed[0].detail
    );

    assert_eq!(brief(&w.advance()), ["reset"]);
    assert!(about(w.step_ms(node), 30), "{}", w.step_ms(node));
    assert_eq!(brief(&w.advance()), ["verify"]);
    assert!(about(w.step_ms(node), 10), "{}", w.step_ms(node));
    let events = w.advance();
    let done = finished(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    assert!(
        done[0].1 && done[0].2.contains("passed verification"),
        "{done:?}"
    );
    assert!(next_due(&w.state).is_none());

    let instance = w.instance(node);
    let gpu = &instance.gpus[3];
    assert_eq!(gpu.xid_last, None, "a reset clears the XID state");
    assert_eq!((gpu.xid_total, gpu.ecc_dbe_total), (1, 1), "counters stay");
    assert!(instance.repair.is_none() && instance.ready);
    assert_eq!(instance.active_faults(), Vec::<String>::new());
    let observed = snapshot(&w.state).repairs;
    assert_eq!(observed.len(), 1);
    assert_eq!(observed[0].ok, Some(true));
}

#[test]
fn a_reset_of_a_gpu_off_the_bus_fails_and_says_why() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(xid("gpu-1", 3, 79));
    let start = w.now;
    let events = w.repair("r1", node, RepairAction::ResetGpu { gpu: 3 });
    assert!(events.is_empty(), "no step is reported: {events:?}");
    assert!(about(w.step_ms(node), 5), "{}", w.step_ms(node));
    let events = w.advance();
    assert!(about(w.now - start, 5));
    let done = finished(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    assert!(!done[0].1);
    assert!(
        done[0].2.contains("GPU 3")
            && done[0].2.contains("not on the PCIe bus")
            && done[0].2.contains("power-cycle the node"),
        "{}",
        done[0].2
    );
    assert!(w.instance(node).gpus[3].fell_off_bus, "nothing changed");
}

#[test]
fn a_reset_of_a_gpu_the_node_lacks_fails_at_once() {
    let mut w = World::new();
    let gpu_node = w.node(H100, "gpu-1");
    let cpu_node = w.node(CPU, "cpu-1");
    let events = w.repair("r1", gpu_node, RepairAction::ResetGpu { gpu: 8 });
    let done = finished(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    assert!(!done[0].1);
    assert!(
        done[0].2.contains("no GPU 8") && done[0].2.contains("8 GPUs"),
        "{}",
        done[0].2
    );
    let events = w.repair("r2", cpu_node, RepairAction::ResetGpu { gpu: 0 });
    assert!(finished(&events)[0].2.contains("has no GPUs"), "{events:?}");
    assert!(next_due(&w.state).is_none());
}

#[test]
fn a_reboot_brings_an_xid_79_node_back_ready_with_its_gpus_on_the_bus() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(xid("gpu-1", 7, 79));
    w.inject(Fault::GpuThermal {
        node: "gpu-1".into(),
        gpu: 1,
        temp_c: 96,
    });
    w.inject(Fault::IbLinkDown {
        node: "gpu-1".into(),
        port: 2,
    });
    w.inject(Fault::NodeNotReady {
        node: "gpu-1".into(),
    });
    assert!(!w.instance(node).ready);

    let mut events = w.repair("r1", node, RepairAction::RebootNode);
    assert!(about(w.step_ms(node), 30), "drain {}", w.step_ms(node));
    events.extend(w.advance());
    assert!(
        about(w.step_ms(node), 15),
        "power-cycle {}",
        w.step_ms(node)
    );
    assert!(w.instance(node).powered_off());
    events.extend(w.advance());
    assert!(about(w.step_ms(node), 180), "boot {}", w.step_ms(node));
    events.extend(w.advance());
    assert!(next_due(&w.state).is_none());
    let brief = brief(&events);
    assert_eq!(brief.len(), 6, "{brief:?}");
    assert_eq!(
        brief[..5],
        [
            "drain",
            "power-cycle",
            "ready=false Rebooting",
            "boot",
            "ready=true KubeletReady"
        ]
    );
    assert!(brief[5].starts_with("ok=true "), "{brief:?}");

    let instance = w.instance(node);
    assert!(instance.ready && !instance.kubelet_stopped && !instance.powered_off());
    assert!(
        instance
            .gpus
            .iter()
            .all(|g| !g.fell_off_bus && g.thermal_c.is_none())
    );
    assert!(instance.ib_ports.iter().all(|p| p.up));
    assert_eq!(instance.gpus[7].xid_total, 1, "counters stay");
    assert_eq!(instance.ib_ports[2].link_downed, 1, "counters stay");
    assert_eq!(instance.active_faults(), Vec::<String>::new());
}

#[test]
fn a_cpu_node_boots_in_about_a_minute() {
    let mut w = World::new();
    let node = w.node(CPU, "cpu-1");
    w.repair("r1", node, RepairAction::RebootNode);
    w.advance();
    w.advance();
    assert_eq!(
        w.instance(node).repair.as_ref().unwrap().step,
        RepairStep::Boot
    );
    assert!(about(w.step_ms(node), 60), "{}", w.step_ms(node));
    let events = w.run_until_idle();
    assert!(finished(&events)[0].1, "{events:?}");
}

#[test]
fn the_same_id_is_one_repair_and_a_finished_id_reports_its_outcome_again() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    let reset = RepairAction::ResetGpu { gpu: 0 };
    assert_eq!(brief(&w.repair("r1", node, reset)), ["drain-gpu"]);
    let due = w.instance(node).repair.as_ref().unwrap().due_ms;
    assert!(w.repair("r1", node, reset).is_empty());
    assert!(w.repair("r1", node, RepairAction::RebootNode).is_empty());
    assert_eq!(w.instance(node).repair.as_ref().unwrap().due_ms, due);
    let events = w.run_until_idle();
    assert_eq!(finished(&events).len(), 1);

    // A new XID after the reset: asking for the finished id again must not reset again.
    w.inject(xid("gpu-1", 0, 48));
    let again = w.repair("r1", node, reset);
    assert_eq!(finished(&again), finished(&events), "the same outcome");
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(w.instance(node).repair.is_none());
    assert!(next_due(&w.state).is_none());
    assert_eq!(w.instance(node).gpus[0].xid_last, Some(48));
    assert_eq!(w.instance(node).finished_repairs.len(), 1);
}

#[test]
fn a_second_repair_while_one_runs_is_refused() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    let long = "x".repeat(400);
    w.repair(&long, node, RepairAction::RebootNode);
    let events = w.repair("r2", node, RepairAction::ResetGpu { gpu: 1 });
    let done = finished(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    let (id, ok, detail) = &done[0];
    assert_eq!((id.as_str(), *ok), ("r2", false));
    assert!(
        detail.starts_with(&format!("another repair ({}…)", "x".repeat(253)))
            && detail.ends_with(&format!("is running on {}", w.instance(node).label())),
        "{detail}"
    );
    // The first one goes on and succeeds.
    let events = w.run_until_idle();
    assert_eq!(finished(&events)[0].0, long);
    assert!(finished(&events)[0].1);
    assert_eq!(bounded_id("añb"), "añb");
    let multibyte = "é".repeat(200);
    assert!(bounded_id(&multibyte).len() <= MAX_ID_IN_MESSAGE + "…".len());
}

#[test]
fn a_reboot_supersedes_a_running_or_hung_reset() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(xid("gpu-1", 2, 48));
    // A hung reset: it reported its first step and holds the slot.
    w.inject(Fault::HangNextRepairs { count: 1 });
    assert_eq!(
        brief(&w.repair("r1", node, RepairAction::ResetGpu { gpu: 2 })),
        ["drain-gpu"]
    );
    assert!(next_due(&w.state).is_none());
    // A second reset is still refused.
    let events = w.repair("r2", node, RepairAction::ResetGpu { gpu: 2 });
    assert!(
        finished(&events)[0].2.contains("another repair (r1)"),
        "{events:?}"
    );
    // The reboot ends the reset, then starts.
    let long = "b".repeat(300);
    let events = w.repair(&long, node, RepairAction::RebootNode);
    let brief_events = brief(&events);
    assert_eq!(
        brief_events,
        [
            format!("ok=false superseded by reboot {}…", "b".repeat(253)),
            "drain".to_owned()
        ]
    );
    assert_eq!(finished(&events)[0].0, "r1");
    assert_eq!(
        w.instance(node).repair.as_ref().unwrap().action,
        RepairAction::RebootNode
    );
    // Anything while the reboot runs is refused, a reboot too.
    for (id, action) in [
        ("r3", RepairAction::ResetGpu { gpu: 0 }),
        ("r4", RepairAction::RebootNode),
    ] {
        let events = w.repair(id, node, action);
        let done = finished(&events);
        assert_eq!((done[0].0.as_str(), done[0].1), (id, false));
        assert!(done[0].2.contains("another repair (bbb"), "{done:?}");
    }
    let events = w.run_until_idle();
    let done = finished(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    assert_eq!((done[0].0.as_str(), done[0].1), (long.as_str(), true));
    assert_eq!(w.instance(node).gpus[2].xid_last, None);
    // Its outcome is recorded: the reset asked again reports it was superseded.
    let again = w.repair("r1", node, RepairAction::ResetGpu { gpu: 2 });
    assert!(finished(&again)[0].2.starts_with("superseded by reboot"));

    // A reset that runs its steps (not hung) is superseded the same way.
    let events = {
        w.repair("r5", node, RepairAction::ResetGpu { gpu: 1 });
        w.advance();
        w.repair("r6", node, RepairAction::RebootNode)
    };
    assert_eq!(
        brief(&events),
        ["ok=false superseded by reboot r6", "drain"]
    );
}

#[test]
fn fail_next_repairs_fail_at_the_last_step() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    let message = w.inject(Fault::FailNextRepairs { count: 2 });
    assert!(message.contains("next 2"), "{message}");
    w.inject(xid("gpu-1", 2, 48));

    // Refusals use none of the count.
    w.repair("bad", node, RepairAction::ResetGpu { gpu: 99 });
    assert_eq!(w.state.fail_next_repairs, 2);

    let mut events = w.repair("r1", node, RepairAction::ResetGpu { gpu: 2 });
    events.extend(w.run_until_idle());
    assert_eq!(brief(&events)[..3], ["drain-gpu", "reset", "verify"]);
    let done = finished(&events);
    assert!(!done[0].1);
    assert!(
        done[0]
            .2
            .contains("the GPU did not come back after the reset (simulated)"),
        "{}",
        done[0].2
    );
    assert_eq!(w.instance(node).gpus[2].xid_last, Some(48), "not reset");

    let mut events = w.repair("r2", node, RepairAction::RebootNode);
    events.extend(w.run_until_idle());
    let brief = brief(&events);
    assert_eq!(
        brief[..4],
        ["drain", "power-cycle", "ready=false Rebooting", "boot"]
    );
    assert_eq!(
        brief.len(),
        5,
        "no readiness after the failed boot: {brief:?}"
    );
    let done = finished(&events);
    assert!(!done[0].1);
    assert!(
        done[0]
            .2
            .contains("the node did not come back after the power cycle (simulated)"),
        "{}",
        done[0].2
    );
    let instance = w.instance(node);
    assert!(!instance.ready && instance.powered_off());
    assert_eq!(instance.readiness_reason(), "RebootFailed");
    assert!(
        instance
            .active_faults()
            .contains(&"reboot-failed".to_owned())
    );
    assert_eq!(w.state.fail_next_repairs, 0);

    // A GPU reset cannot help a machine that is down.
    let events = w.repair("r3", node, RepairAction::ResetGpu { gpu: 2 });
    assert!(
        finished(&events)[0].2.contains("reboot the node"),
        "{events:?}"
    );

    // node-recover brings it back.
    let message = w.inject(Fault::NodeRecover {
        node: "gpu-1".into(),
    });
    assert!(message.contains("Ready again"), "{message}");
    assert!(w.instance(node).ready);
}

#[test]
fn a_later_reboot_brings_back_a_node_a_failed_reboot_left_down() {
    let mut w = World::new();
    let node = w.node(CPU, "cpu-1");
    w.inject(Fault::FailNextRepairs { count: 1 });
    w.repair("r1", node, RepairAction::RebootNode);
    w.run_until_idle();
    assert!(w.instance(node).stuck_down);
    let mut events = w.repair("r2", node, RepairAction::RebootNode);
    events.extend(w.run_until_idle());
    assert!(finished(&events)[0].1, "{events:?}");
    assert!(brief(&events).contains(&"ready=true KubeletReady".to_owned()));
    assert!(!w.instance(node).stuck_down && w.instance(node).ready);
}

#[test]
fn hang_next_repairs_report_their_first_step_and_nothing_more() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(Fault::FailNextRepairs { count: 1 });
    let message = w.inject(Fault::HangNextRepairs { count: 1 });
    assert!(message.contains("next 1"), "{message}");
    let events = w.repair("r1", node, RepairAction::RebootNode);
    assert_eq!(brief(&events), ["drain"]);
    assert!(next_due(&w.state).is_none(), "nothing falls due");
    assert!(w.run_until_idle().is_empty());
    assert_eq!(
        (w.state.hang_next_repairs, w.state.fail_next_repairs),
        (0, 1),
        "a hang is used first"
    );
    let observed = snapshot(&w.state).repairs;
    assert_eq!(observed[0].ok, None);
    // It holds the node's repair slot …
    let events = w.repair("r2", node, RepairAction::RebootNode);
    assert!(finished(&events)[0].2.contains("another repair (r1)"));
    // … until the node is terminated.
    let (_, events) = w.with(|s, c| terminate_node(s, c, node));
    let done = finished(&events);
    assert_eq!(done[0].0, "r1");
    assert!(
        !done[0].1 && done[0].2.contains("being terminated"),
        "{done:?}"
    );
    w.run_until_idle();
    assert!(
        snapshot(&w.state).repairs.is_empty(),
        "gone with the instance"
    );
}

#[test]
fn a_repair_of_a_node_that_is_not_up_fails_at_once() {
    let mut w = World::new();
    let up = w.node(CPU, "cpu-1");
    // Provisioning.
    let req = request(CPU, "cpu-2");
    let provisioning = req.node;
    w.with(|s, c| provision_node(s, c, req)).0.unwrap();
    let events = w.repair("r1", provisioning, RepairAction::RebootNode);
    let done = finished(&events);
    assert_eq!(done.len(), 1);
    assert!(
        !done[0].1 && done[0].2.contains("is provisioning"),
        "{done:?}"
    );
    // Absent.
    let absent = NodeId::generate();
    let events = w.repair("r2", absent, RepairAction::RebootNode);
    assert!(
        finished(&events)[0].2.contains("not in the fleet"),
        "{events:?}"
    );
    // Terminating.
    w.with(|s, c| terminate_node(s, c, up));
    let events = w.repair("r3", up, RepairAction::ResetGpu { gpu: 0 });
    assert!(
        finished(&events)[0].2.contains("is terminating"),
        "{events:?}"
    );
    assert!(w.state.instances.values().all(|i| i.repair.is_none()));
    // An empty id is refused outright.
    let req = RepairRequest {
        id: String::new(),
        node: absent,
        action: RepairAction::RebootNode,
    };
    let (result, events) = w.with(|s, c| repair_node(s, c, req));
    assert!(matches!(result, Err(InfraError::Invalid(_))) && events.is_empty());
}

#[test]
fn finished_repairs_are_bounded_per_instance() {
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    for i in 0..12 {
        w.repair(&format!("r{i}"), node, RepairAction::ResetGpu { gpu: 0 });
        w.run_until_idle();
    }
    let ids: Vec<String> = snapshot(&w.state)
        .repairs
        .into_iter()
        .map(|r| r.id)
        .collect();
    let expected: Vec<String> = (4..12).map(|i| format!("r{i}")).collect();
    assert_eq!(ids, expected);
}

#[test]
fn a_saved_state_mid_repair_resumes_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(xid("gpu-1", 4, 79));
    w.repair("r1", node, RepairAction::RebootNode);
    w.advance();
    assert_eq!(
        w.instance(node).repair.as_ref().unwrap().step,
        RepairStep::PowerCycle
    );
    state::save(&path, &w.state).unwrap();

    let mut resumed = World::new();
    resumed.state = state::load(&path).unwrap();
    assert_eq!(resumed.state, w.state);
    resumed.now = w.now;
    let events = resumed.run_until_idle();
    let brief = brief(&events);
    assert_eq!(brief[..2], ["boot", "ready=true KubeletReady"], "{brief:?}");
    assert!(brief[2].starts_with("ok=true"), "{brief:?}");
    assert!(!resumed.instance(node).gpus[4].fell_off_bus);
}

/// A fleet restarted on a state file saved mid-reboot (its times long past, as after a long
/// outage) finishes the reboot and reports it.
#[tokio::test]
async fn a_new_fleet_on_a_state_file_saved_mid_repair_finishes_the_repair() {
    use std::sync::{Arc, Mutex};

    use accord_core::infra::InfraDriver;

    use crate::fleet::{SimConfig, SimFleet};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.json");
    let mut w = World::new();
    let node = w.node(H100, "gpu-1");
    w.inject(xid("gpu-1", 4, 79));
    w.repair("r1", node, RepairAction::RebootNode);
    w.advance();
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
        !finished(&events.lock().unwrap()).is_empty(),
        "{:?}",
        events.lock().unwrap()
    );
    let events = events.lock().unwrap().clone();
    let brief = brief(&events);
    assert_eq!(brief[..2], ["boot", "ready=true KubeletReady"], "{brief:?}");
    assert!(brief[2].starts_with("ok=true"), "{brief:?}");
    let snapshot = fleet.snapshot();
    assert_eq!(snapshot.nodes, [(node, true)]);
    assert_eq!(snapshot.repairs[0].ok, Some(true));
    // Saved: a third fleet knows the outcome without redoing anything.
    drop(fleet);
    let saved = state::load(&path).unwrap();
    assert!(saved.instances[&node].repair.is_none());
    assert!(saved.instances[&node].finished_repairs[0].ok);
}
