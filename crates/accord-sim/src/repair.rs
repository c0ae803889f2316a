//! Repairs of running nodes ([`InfraDriver::repair_node`](accord_core::infra::InfraDriver)) as
//! plain functions over [`FleetState`], like [`crate::lifecycle`]: what a request changes now,
//! what happens when a step falls due, and the events each emits.
//!
//! | action | steps (`RepairProgress.step`, emitted as each starts) | outcome |
//! |---|---|---|
//! | `reset-gpu` | `drain-gpu` (~20 s) → `reset` (~30 s) → `verify` (~10 s) | the GPU's `xid_last` is cleared |
//! | `reset-gpu`, GPU off the bus | none (~5 s) | fails: a reset needs the device |
//! | `reboot-node` | `drain` (~30 s) → `power-cycle` (~15 s, `NodeReadiness{false, "Rebooting"}`) → `boot` (GPU ~3 min, CPU ~1 min) | kubelet running, GPUs on the bus, thermal overrides and XIDs cleared, IB ports up, `NodeReadiness{true}` |
//!
//! Every repair ends with one `RepairFinished`. A repair that cannot start (node absent, not up,
//! down after a failed reboot for a reset, another repair running, no such GPU) finishes at once
//! with `ok: false`. The one exception to "another repair running": a `reboot-node` requested
//! while a `reset-gpu` runs (or hangs) on the node supersedes it — the reset finishes with
//! `ok: false`, `"superseded by reboot <id>"`, and the reboot starts (a reboot does everything a
//! reset would, and a hung reset must not block the next rung of the caller's ladder). A second
//! reset, or anything while a reboot runs, is refused. `fail-next-repairs` makes a repair fail at its last step (a failed reboot
//! leaves the machine down: `stuck_down`); `hang-next-repairs` makes it stop after reporting its
//! first step: it then holds the node's repair slot until the node is terminated (or, for a
//! reset, until a reboot supersedes it).
//!
//! Invariants:
//! - Idempotent by id, fleet-wide: a running id changes nothing; a finished id re-emits its
//!   `RepairFinished` and redoes nothing (an id finished at once on an absent node is not kept,
//!   so it fails the same way again).
//! - One repair per instance at a time (a superseded reset finishes before the reboot starts); finished ones are kept (the newest
//!   [`MAX_FINISHED_REPAIRS`]) and go with the instance.
//! - Counters only grow: a repair clears fault *state* (XID last seen, off the bus, thermal
//!   override, link down), never a counter. A row-remap failure stays (it is recorded in the
//!   GPU's InfoROM; only replacing the GPU clears it).
//! - Messages never carry more than [`MAX_ID_IN_MESSAGE`] bytes of a repair id.

use accord_core::{
    ids::NodeId,
    infra::{InfraError, InfraEvent, ObservedRepair, RepairAction, RepairRequest},
};

use crate::{
    lifecycle::{Ctx, refresh_readiness},
    state::{
        FinishedRepair, FleetState, Instance, MAX_FINISHED_REPAIRS, RepairFate, RepairStep,
        RunningRepair,
    },
    timing::Operation,
};

/// The most bytes of a repair id a message quotes (ids are at most 253 bytes; longer ones are
/// cut).
pub(crate) const MAX_ID_IN_MESSAGE: usize = 253;

/// `id`, cut to [`MAX_ID_IN_MESSAGE`] bytes on a character boundary (`…` marks a cut).
pub(crate) fn bounded_id(id: &str) -> String {
    if id.len() <= MAX_ID_IN_MESSAGE {
        return id.to_owned();
    }
    let mut end = MAX_ID_IN_MESSAGE;
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &id[..end])
}

/// What the fleet knows of a repair id.
enum Known {
    Running,
    Finished {
        node: NodeId,
        ok: bool,
        detail: String,
    },
}

fn find(state: &FleetState, id: &str) -> Option<Known> {
    state.instances.values().find_map(|instance| {
        if instance.repair.as_ref().is_some_and(|r| r.id == id) {
            return Some(Known::Running);
        }
        instance
            .finished_repairs
            .iter()
            .find(|r| r.id == id)
            .map(|r| Known::Finished {
                node: instance.node,
                ok: r.ok,
                detail: r.detail.clone(),
            })
    })
}

/// Starts a repair, or answers for one already known by its id.
pub(crate) fn repair_node(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    req: RepairRequest,
) -> Result<(), InfraError> {
    if req.id.is_empty() {
        return Err(InfraError::Invalid(
            "a repair needs an id (its idempotency key)".to_owned(),
        ));
    }
    match find(state, &req.id) {
        Some(Known::Running) => return Ok(()),
        Some(Known::Finished { node, ok, detail }) => {
            ctx.emit(InfraEvent::RepairFinished {
                repair: req.id,
                node,
                ok,
                detail,
            });
            return Ok(());
        }
        None => {}
    }
    let Some(instance) = state.instances.get_mut(&req.node) else {
        ctx.emit(InfraEvent::RepairFinished {
            repair: req.id,
            node: req.node,
            ok: false,
            detail: format!(
                "node {} is not in the fleet; a repair needs a running node",
                req.node
            ),
        });
        return Ok(());
    };
    // A caller's ladder climbs reset → reboot after a step timeout: the reboot must not wait
    // for a reset that hangs (the reboot does everything the reset would).
    if req.action == RepairAction::RebootNode
        && instance.phase.is_up()
        && instance
            .repair
            .as_ref()
            .is_some_and(|r| matches!(r.action, RepairAction::ResetGpu { .. }))
    {
        let detail = format!("superseded by reboot {}", bounded_id(&req.id));
        finish_running(instance, ctx, false, detail);
    }
    if let Some(refusal) = refusal(instance, &req.action) {
        finish(instance, ctx, req.id, req.action, false, refusal);
        return Ok(());
    }
    let (first, fate) = match req.action {
        // The driver looks for the device before it gives up; the faults' counters are kept
        // for repairs that run their steps.
        RepairAction::ResetGpu { gpu } if off_bus(instance, gpu) => {
            (RepairStep::Probe, RepairFate::Succeed)
        }
        RepairAction::ResetGpu { .. } => (
            RepairStep::DrainGpu,
            take_fate(&mut state.hang_next_repairs, &mut state.fail_next_repairs),
        ),
        RepairAction::RebootNode => (
            RepairStep::Drain,
            take_fate(&mut state.hang_next_repairs, &mut state.fail_next_repairs),
        ),
    };
    instance.repair = Some(RunningRepair {
        id: req.id,
        action: req.action,
        step: first,
        due_ms: None,
        fate,
        detail: String::new(),
    });
    begin(instance, ctx, first);
    if fate == RepairFate::Hang
        && let Some(repair) = instance.repair.as_mut()
    {
        repair.due_ms = None;
    }
    ctx.changed = true;
    Ok(())
}

/// How the next repair that runs its steps ends: a pending hang first, then a pending failure.
fn take_fate(hang_next: &mut u32, fail_next: &mut u32) -> RepairFate {
    if *hang_next > 0 {
        *hang_next -= 1;
        RepairFate::Hang
    } else if *fail_next > 0 {
        *fail_next -= 1;
        RepairFate::Fail
    } else {
        RepairFate::Succeed
    }
}

/// Why this repair cannot start on this instance, if it cannot.
fn refusal(instance: &Instance, action: &RepairAction) -> Option<String> {
    let label = instance.label();
    if !instance.phase.is_up() {
        return Some(format!(
            "{label} is {}; a repair needs a running node",
            instance.phase.as_str()
        ));
    }
    if let Some(other) = &instance.repair {
        return Some(format!(
            "another repair ({}) is running on {label}",
            bounded_id(&other.id)
        ));
    }
    let RepairAction::ResetGpu { gpu } = *action else {
        return None;
    };
    let count = instance.gpus.len();
    if gpu_index(instance, gpu).is_none() {
        return Some(if count == 0 {
            format!("{label} has no GPUs; there is no GPU {gpu} to reset")
        } else {
            format!("{label} has {count} GPUs (indexes 0..{count}); there is no GPU {gpu}")
        });
    }
    if instance.stuck_down {
        return Some(format!(
            "{label} is down (its last power cycle did not bring it back); a GPU reset needs \
             the machine up: reboot the node"
        ));
    }
    None
}

fn gpu_index(instance: &Instance, gpu: u32) -> Option<usize> {
    usize::try_from(gpu)
        .ok()
        .filter(|index| *index < instance.gpus.len())
}

/// Whether the GPU is off the bus (or absent).
fn off_bus(instance: &Instance, gpu: u32) -> bool {
    gpu_index(instance, gpu)
        .and_then(|index| instance.gpus.get(index))
        .is_none_or(|g| g.fell_off_bus)
}

fn off_bus_sentence(instance: &Instance, gpu: u32) -> String {
    format!(
        "GPU {gpu} of {} is not on the PCIe bus: a reset needs the device; power-cycle the node",
        instance.label()
    )
}

/// The step after `step`, or `None` when `step` is the last one.
fn next_step(step: RepairStep) -> Option<RepairStep> {
    match step {
        RepairStep::DrainGpu => Some(RepairStep::Reset),
        RepairStep::Reset => Some(RepairStep::Verify),
        RepairStep::Drain => Some(RepairStep::PowerCycle),
        RepairStep::PowerCycle => Some(RepairStep::Boot),
        RepairStep::Verify | RepairStep::Probe | RepairStep::Boot => None,
    }
}

/// Starts `step` of the instance's repair: due time, sentence, `RepairProgress` (none for
/// `probe`), and the node going down for `power-cycle`.
fn begin(instance: &mut Instance, ctx: &mut Ctx<'_>, step: RepairStep) {
    let label = instance.label();
    let gpu_node = !instance.gpus.is_empty();
    let Some(repair) = instance.repair.as_mut() else {
        return;
    };
    let gpu = match repair.action {
        RepairAction::ResetGpu { gpu } => gpu,
        RepairAction::RebootNode => 0,
    };
    let (op, detail) = match step {
        RepairStep::DrainGpu => (
            Operation::GpuDrain,
            format!("evicting the pods that use GPU {gpu} of {label}"),
        ),
        RepairStep::Reset => (
            Operation::GpuReset,
            format!("resetting GPU {gpu} of {label}"),
        ),
        RepairStep::Verify => (
            Operation::GpuVerify,
            format!("verifying GPU {gpu} of {label} after the reset"),
        ),
        RepairStep::Probe => (
            Operation::GpuResetRefusal,
            format!("looking for GPU {gpu} of {label} on the PCIe bus"),
        ),
        RepairStep::Drain => (
            Operation::NodeDrain,
            format!("evicting every pod from {label}"),
        ),
        RepairStep::PowerCycle => (
            Operation::NodePowerCycle,
            format!("power-cycling {label} through its BMC"),
        ),
        RepairStep::Boot if gpu_node => (
            Operation::GpuNodeBoot,
            format!("{label} is booting (GPU driver and fabric bring-up)"),
        ),
        RepairStep::Boot => (Operation::CpuNodeBoot, format!("{label} is booting")),
    };
    repair.step = step;
    repair.due_ms = Some(ctx.due(op));
    repair.detail = detail.clone();
    ctx.changed = true;
    // A probe is the driver's own check, not a step of the repair.
    if step != RepairStep::Probe {
        let event = InfraEvent::RepairProgress {
            repair: repair.id.clone(),
            node: instance.node,
            step: step.as_str().to_owned(),
            detail,
        };
        ctx.emit(event);
    }
    if step == RepairStep::PowerCycle {
        // The machine goes down whatever the node reported before: the reason changes.
        instance.ready = false;
        ctx.emit(InfraEvent::NodeReadiness {
            node: instance.node,
            ready: false,
            reason: instance.readiness_reason().to_owned(),
        });
    }
}

/// Ends the instance's repair (running or about to start): records it and emits
/// `RepairFinished`.
fn finish(
    instance: &mut Instance,
    ctx: &mut Ctx<'_>,
    id: String,
    action: RepairAction,
    ok: bool,
    detail: String,
) {
    instance.finished_repairs.push(FinishedRepair {
        id: id.clone(),
        action,
        ok,
        detail: detail.clone(),
    });
    let excess = instance
        .finished_repairs
        .len()
        .saturating_sub(MAX_FINISHED_REPAIRS);
    instance.finished_repairs.drain(..excess);
    ctx.changed = true;
    ctx.emit(InfraEvent::RepairFinished {
        repair: id,
        node: instance.node,
        ok,
        detail,
    });
}

/// Ends the running repair, if any, with `ok`.
fn finish_running(instance: &mut Instance, ctx: &mut Ctx<'_>, ok: bool, detail: String) {
    if let Some(repair) = instance.repair.take() {
        finish(instance, ctx, repair.id, repair.action, ok, detail);
    }
}

/// The instance's repair step fell due: start the next step or finish.
pub(crate) fn complete_step(state: &mut FleetState, ctx: &mut Ctx<'_>, node: NodeId) {
    let Some(instance) = state.instances.get_mut(&node) else {
        return;
    };
    let Some(repair) = instance.repair.as_mut() else {
        return;
    };
    repair.due_ms = None;
    ctx.changed = true;
    let (action, step, fate) = (repair.action, repair.step, repair.fate);
    // A probe always fails (the GPU was off the bus when the repair started); a reset does not
    // start on a GPU that fell off the bus while its pods were drained.
    if let RepairAction::ResetGpu { gpu } = action
        && (step == RepairStep::Probe || (step == RepairStep::DrainGpu && off_bus(instance, gpu)))
    {
        let detail = off_bus_sentence(instance, gpu);
        finish_running(instance, ctx, false, detail);
        return;
    }
    if let Some(next) = next_step(step) {
        begin(instance, ctx, next);
        return;
    }
    let label = instance.label();
    match action {
        RepairAction::ResetGpu { gpu } => {
            let (ok, detail) = if off_bus(instance, gpu) {
                (
                    false,
                    format!(
                        "GPU {gpu} of {label} fell off the PCIe bus during the reset; power-cycle \
                         the node"
                    ),
                )
            } else if fate == RepairFate::Fail {
                (
                    false,
                    format!(
                        "GPU {gpu} of {label}: the GPU did not come back after the reset \
                         (simulated)"
                    ),
                )
            } else {
                if let Some(g) = gpu_index(instance, gpu).and_then(|i| instance.gpus.get_mut(i)) {
                    g.xid_last = None;
                }
                (
                    true,
                    format!(
                        "GPU {gpu} of {label} was reset and passed verification; its XID state \
                         is cleared"
                    ),
                )
            };
            finish_running(instance, ctx, ok, detail);
        }
        RepairAction::RebootNode => {
            let Some(repair) = instance.repair.take() else {
                return;
            };
            if fate == RepairFate::Fail {
                // Down it stays: NotReady until `node-recover` or a later successful reboot.
                instance.stuck_down = true;
                let detail = format!(
                    "{label}: the node did not come back after the power cycle (simulated); it \
                     stays NotReady"
                );
                finish(instance, ctx, repair.id, repair.action, false, detail);
                return;
            }
            instance.stuck_down = false;
            instance.kubelet_stopped = false;
            for gpu in &mut instance.gpus {
                gpu.fell_off_bus = false;
                gpu.thermal_c = None;
                gpu.xid_last = None;
            }
            for port in &mut instance.ib_ports {
                port.up = true;
            }
            refresh_readiness(instance, ctx);
            let detail = format!(
                "{label} rebooted: kubelet Ready, {} GPUs on the bus, {} InfiniBand ports up",
                instance.gpus.len(),
                instance.ib_ports.len()
            );
            finish(instance, ctx, repair.id, repair.action, true, detail);
        }
    }
}

/// Stops the instance's repair, if one runs, because the instance is going away.
pub(crate) fn abort_for_termination(instance: &mut Instance, ctx: &mut Ctx<'_>) {
    let Some(step) = instance.repair.as_ref().map(|r| r.step) else {
        return;
    };
    let detail = format!(
        "{} is being terminated; the repair stopped at its {} step",
        instance.label(),
        step.as_str()
    );
    finish_running(instance, ctx, false, detail);
}

/// Due times of running repairs (hung ones have none).
pub(crate) fn due(state: &FleetState) -> impl Iterator<Item = (i64, NodeId)> + '_ {
    state
        .instances
        .values()
        .filter_map(|i| Some((i.repair.as_ref()?.due_ms?, i.node)))
}

/// Every repair as the infrastructure reports it: per instance, the finished ones (oldest first)
/// then the running one.
pub(crate) fn observed(state: &FleetState) -> Vec<ObservedRepair> {
    let mut repairs = Vec::new();
    for instance in state.instances.values() {
        for r in &instance.finished_repairs {
            repairs.push(ObservedRepair {
                id: r.id.clone(),
                node: instance.node,
                action: r.action,
                ok: Some(r.ok),
                detail: r.detail.clone(),
            });
        }
        if let Some(r) = &instance.repair {
            repairs.push(ObservedRepair {
                id: r.id.clone(),
                node: instance.node,
                action: r.action,
                ok: None,
                detail: r.detail.clone(),
            });
        }
    }
    repairs
}

#[cfg(test)]
mod tests;
