//! Fault injection: the hardware and control-plane failures an operator (or a test) can cause,
//! and what each does to the fleet.
//!
//! A [`Fault`] is JSON with a `kind` tag, e.g. `{"kind":"gpu-xid","node":"gpu-a-1","gpu":3,
//! "xid":48}`. Node faults name the node by id (`node-01…`) or by name.
//!
//! | kind | effect |
//! |---|---|
//! | `node-not-ready` | kubelet stops: `NodeReadiness{ready:false, reason:"KubeletStopped"}` |
//! | `node-recover` | kubelet back, GPUs back on the bus, thermal overrides cleared, a machine a failed reboot left down back up: `NodeReadiness{ready:true}` |
//! | `replica-down` | a Running replica (default: the first) → `ReplicaChanged{Down}` |
//! | `replica-up` | a Down replica (default: every Down one) → `ReplicaChanged{Running}`; a paused upgrade resumes |
//! | `gpu-xid` | XID recorded on the GPU (`xid_last`, `xid_total`); 48/94/95 count an ECC DBE, 92 SBEs, 63 a remapped row, 64 a remap failure, 74 NVLink CRC errors; 79 takes the GPU off the bus and the node NotReady |
//! | `ib-link-down` / `ib-link-up` | port state in telemetry, `link_downed` and link-integrity counters incremented on down |
//! | `gpu-thermal` | GPU temperature pinned at `temp_c` (throttling at the model's slowdown temperature) |
//! | `fail-next-provisions` | the next `count` node provisions end in `NodeFailed` |
//! | `fail-next-repairs` | the next `count` repairs that start end with `RepairFinished{ok:false}` at their last step: a reset's GPU "did not come back", a reboot leaves the node down and NotReady (until `node-recover` or a later successful reboot) |
//! | `hang-next-repairs` | the next `count` repairs that start report their first step and then nothing more (they hold the node's repair slot until it is terminated, or, for a GPU reset, until a reboot supersedes it) |
//! | `webhook-fail-closed` | the customer's admission webhook `component` fails closed on `cluster`: `ComponentImpact{webhook-failing-closed, Degrading}` (the API server rejects writes the webhook does not answer) |
//! | `api-flood` | the customer's client `component` floods `cluster`'s API server: `ComponentImpact{api-flood, Degrading}` (p99 8 s, 429s) |
//! | `fabric-saturation` | the customer's workload `component` saturates `cluster`'s InfiniBand fabric: `ComponentImpact{fabric-saturation, Degrading}` |
//! | `component-fixed` | the customer fixed `component`: every impact of it on `cluster` ends, `ComponentImpact{Cleared}` (the provider's mitigation is lifted) |
//! | `firewall-drift` | (VPC) a required rule disappears from `cluster`'s VPC firewall rule set behind the service's back: the kubelet rule if present, else the first required rule (the reply and [`SimVpc::drift_log`](crate::SimVpc::drift_log) say which); nodes whose required flows it then blocks go NotReady |
//! | `fail-next-firewall-applies` | (VPC) the next `count` `apply_firewall` calls fail with `InfraError::Unavailable` |
//! | `storage-fail-next` | (storage) the next `count` storage operations (of `operation`, e.g. `copy`, when given) fail at their due time, having done nothing |
//! | `storage-hang-next` | (storage) the next `count` storage operations (of `operation` when given) never finish |
//! | `storage-corrupt-copy` | (storage) the next `count` migration copies leave the target's data different from the source's (verification then mismatches) |
//!
//! The repair counters count repairs that start their steps: one refused at once (node not up,
//! another repair running, no such GPU) or a reset of a GPU off the bus uses none. A hang is
//! used before a failure when both are set.
//!
//! The component faults (module `impacts`) need a cluster with a control plane and a
//! Kubernetes-style component name (at most 253 bytes; a refusal quotes at most 64 characters);
//! an impact that already exists is not started again (the reply says so).
//!
//! The VPC faults ([`Fault::is_network`]) are injected into a [`SimVpc`](crate::SimVpc)
//! ([`SimVpc::inject`](crate::SimVpc::inject)); a fleet alone refuses them. Likewise the
//! storage faults ([`Fault::is_storage`]) go to a [`SimStorage`](crate::SimStorage)
//! ([`SimStorage::inject`](crate::SimStorage::inject)); their `count` is at most
//! [`MAX_FAULT_COUNT`](crate::storage::MAX_FAULT_COUNT).
//!
//! Invariants: a fault never changes an instance that is not up (provisioning or terminating
//! instances answer [`SimError::NodeNotRunning`]); counters only grow; every fault returns a
//! sentence saying what happened, or an error naming what was wrong.

use accord_core::{
    ids::{ClusterId, NodeId},
    infra::{ImpactKind, InfraEvent, ReplicaState},
};
use serde::{Deserialize, Serialize};

use crate::{
    control_plane,
    error::SimError,
    impacts,
    lifecycle::{self, Ctx},
    state::{FleetState, Instance},
};

/// The hottest temperature a `gpu-thermal` fault accepts, °C.
pub const MAX_FAULT_TEMP_C: u32 = 150;

/// A failure to inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// The node's kubelet stops reporting.
    NodeNotReady {
        /// Node id or name.
        node: String,
    },
    /// The node comes back: kubelet running, GPUs on the bus, thermal overrides cleared, a
    /// machine a failed reboot left down up again.
    NodeRecover {
        /// Node id or name.
        node: String,
    },
    /// A control-plane replica goes down.
    ReplicaDown {
        /// Cluster.
        cluster: ClusterId,
        /// Replica name (`cp-0` …); default: the first Running one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    /// Down control-plane replicas come back.
    ReplicaUp {
        /// Cluster.
        cluster: ClusterId,
        /// Replica name; default: every Down one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    /// A GPU reports an XID error.
    GpuXid {
        /// Node id or name.
        node: String,
        /// GPU index on the node.
        gpu: u32,
        /// The XID.
        xid: u32,
    },
    /// An InfiniBand port loses its link.
    IbLinkDown {
        /// Node id or name.
        node: String,
        /// Port index on the node.
        port: u32,
    },
    /// An InfiniBand port's link comes back.
    IbLinkUp {
        /// Node id or name.
        node: String,
        /// Port index on the node.
        port: u32,
    },
    /// A GPU runs hot.
    GpuThermal {
        /// Node id or name.
        node: String,
        /// GPU index on the node.
        gpu: u32,
        /// The temperature it reports, °C.
        temp_c: u32,
    },
    /// The next `count` node provisions fail.
    FailNextProvisions {
        /// How many.
        count: u32,
    },
    /// The next `count` repairs fail at their last step.
    FailNextRepairs {
        /// How many.
        count: u32,
    },
    /// The next `count` repairs never report after their first step.
    HangNextRepairs {
        /// How many.
        count: u32,
    },
    /// A customer admission webhook fails closed: the API server rejects the writes it does
    /// not answer.
    WebhookFailClosed {
        /// Cluster.
        cluster: ClusterId,
        /// The webhook (a Kubernetes-style name, e.g. `policy-webhook`).
        component: String,
    },
    /// A customer client (an operator, a controller) floods the API server.
    ApiFlood {
        /// Cluster.
        cluster: ClusterId,
        /// The client (a Kubernetes-style name).
        component: String,
    },
    /// A customer workload saturates the cluster's InfiniBand fabric.
    FabricSaturation {
        /// Cluster.
        cluster: ClusterId,
        /// The workload (a Kubernetes-style name).
        component: String,
    },
    /// The customer fixed the component: every impact it has on the cluster ends.
    ComponentFixed {
        /// Cluster.
        cluster: ClusterId,
        /// The component.
        component: String,
    },
    /// (VPC) A required rule disappears from the cluster's VPC firewall rule set behind the
    /// service's back.
    FirewallDrift {
        /// Cluster.
        cluster: ClusterId,
    },
    /// (VPC) The next `count` firewall applies fail (`InfraError::Unavailable`).
    FailNextFirewallApplies {
        /// How many.
        count: u32,
    },
    /// (Storage) The next `count` storage operations fail at their due time.
    StorageFailNext {
        /// How many (at most 1000; 0 disarms).
        count: u32,
        /// Only operations of this name (`copy`, `attach-volume` …); default: any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operation: Option<String>,
    },
    /// (Storage) The next `count` storage operations never finish.
    StorageHangNext {
        /// How many (at most 1000; 0 disarms).
        count: u32,
        /// Only operations of this name; default: any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operation: Option<String>,
    },
    /// (Storage) The next `count` migration copies corrupt the target's data.
    StorageCorruptCopy {
        /// How many (at most 1000; 0 disarms).
        count: u32,
    },
}

impl Fault {
    /// Whether this is a fault of the simulated VPC (injected into a
    /// [`SimVpc`](crate::SimVpc), not the fleet).
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Fault::FirewallDrift { .. } | Fault::FailNextFirewallApplies { .. }
        )
    }

    /// Whether this is a fault of the simulated storage back ends (injected into a
    /// [`SimStorage`](crate::SimStorage), not the fleet).
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            Fault::StorageFailNext { .. }
                | Fault::StorageHangNext { .. }
                | Fault::StorageCorruptCopy { .. }
        )
    }

    /// The fault's `kind`, as written in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::NodeNotReady { .. } => "node-not-ready",
            Fault::NodeRecover { .. } => "node-recover",
            Fault::ReplicaDown { .. } => "replica-down",
            Fault::ReplicaUp { .. } => "replica-up",
            Fault::GpuXid { .. } => "gpu-xid",
            Fault::IbLinkDown { .. } => "ib-link-down",
            Fault::IbLinkUp { .. } => "ib-link-up",
            Fault::GpuThermal { .. } => "gpu-thermal",
            Fault::FailNextProvisions { .. } => "fail-next-provisions",
            Fault::FailNextRepairs { .. } => "fail-next-repairs",
            Fault::HangNextRepairs { .. } => "hang-next-repairs",
            Fault::WebhookFailClosed { .. } => "webhook-fail-closed",
            Fault::ApiFlood { .. } => "api-flood",
            Fault::FabricSaturation { .. } => "fabric-saturation",
            Fault::ComponentFixed { .. } => "component-fixed",
            Fault::FirewallDrift { .. } => "firewall-drift",
            Fault::FailNextFirewallApplies { .. } => "fail-next-firewall-applies",
            Fault::StorageFailNext { .. } => "storage-fail-next",
            Fault::StorageHangNext { .. } => "storage-hang-next",
            Fault::StorageCorruptCopy { .. } => "storage-corrupt-copy",
        }
    }
}

/// What an XID means, in a few words (NVIDIA's XID catalogue).
pub fn xid_meaning(xid: u32) -> &'static str {
    match xid {
        13 => "graphics engine exception",
        31 => "GPU memory page fault",
        43 => "GPU stopped processing",
        45 => "preemptive cleanup",
        46 => "GPU timeout",
        48 => "double-bit ECC error",
        62 => "internal micro-controller halt",
        63 => "row remap recorded",
        64 => "row remap failure",
        74 => "NVLink error",
        79 => "GPU fell off the bus",
        92 => "high single-bit ECC error rate",
        94 => "contained ECC error",
        95 => "uncontained ECC error",
        109 => "context switch timeout",
        119 => "GSP RPC timeout",
        120 => "GSP error",
        _ => "not in the catalogue",
    }
}

/// Finds a node by id or by name.
pub(crate) fn resolve_node(state: &FleetState, node: &str) -> Result<NodeId, SimError> {
    if let Ok(id) = node.parse::<NodeId>() {
        return if state.instances.contains_key(&id) {
            Ok(id)
        } else {
            Err(SimError::UnknownNode(node.to_owned()))
        };
    }
    let matches: Vec<NodeId> = state
        .instances
        .values()
        .filter(|i| i.name == node)
        .map(|i| i.node)
        .collect();
    match matches.as_slice() {
        [] => Err(SimError::UnknownNode(node.to_owned())),
        [id] => Ok(*id),
        _ => Err(SimError::AmbiguousNode {
            name: node.to_owned(),
            count: matches.len(),
        }),
    }
}

/// Looks up a node that is up, for a node fault.
fn running<'s>(state: &'s mut FleetState, node: &str) -> Result<&'s mut Instance, SimError> {
    let id = resolve_node(state, node)?;
    let instance = state
        .instances
        .get_mut(&id)
        .ok_or_else(|| SimError::UnknownNode(node.to_owned()))?;
    if !instance.phase.is_up() {
        return Err(SimError::NodeNotRunning {
            node: instance.label(),
            phase: instance.phase.as_str(),
        });
    }
    Ok(instance)
}

fn gpu_index(instance: &Instance, gpu: u32) -> Result<usize, SimError> {
    let index = usize::try_from(gpu).unwrap_or(usize::MAX);
    if index >= instance.gpus.len() {
        return Err(SimError::GpuOutOfRange {
            node: instance.label(),
            gpu,
            count: instance.gpus.len(),
        });
    }
    Ok(index)
}

fn ib_index(instance: &Instance, port: u32) -> Result<usize, SimError> {
    if instance.ib_ports.is_empty() {
        return Err(SimError::NoInfiniband {
            node: instance.label(),
            instance_type: instance.instance_type.clone(),
        });
    }
    let index = usize::try_from(port).unwrap_or(usize::MAX);
    if index >= instance.ib_ports.len() {
        return Err(SimError::IbPortOutOfRange {
            node: instance.label(),
            port,
            count: instance.ib_ports.len(),
        });
    }
    Ok(index)
}

fn readiness_note(events_before: usize, ctx: &Ctx<'_>, instance: &Instance) -> String {
    let changed = ctx.events[events_before..]
        .iter()
        .any(|e| matches!(e, InfraEvent::NodeReadiness { .. }));
    match (changed, instance.ready) {
        (true, true) => "; node is Ready again".to_owned(),
        (true, false) => format!("; node is NotReady ({})", instance.readiness_reason()),
        (false, true) => "; node stays Ready".to_owned(),
        (false, false) => format!("; node stays NotReady ({})", instance.readiness_reason()),
    }
}

/// Applies a fault; returns what happened.
pub(crate) fn apply(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    fault: Fault,
) -> Result<String, SimError> {
    let before = ctx.events.len();
    match fault {
        Fault::NodeNotReady { node } => {
            let instance = running(state, &node)?;
            instance.kubelet_stopped = true;
            ctx.changed = true;
            lifecycle::refresh_readiness(instance, ctx);
            Ok(format!(
                "kubelet on {} stopped{}",
                instance.label(),
                readiness_note(before, ctx, instance)
            ))
        }
        Fault::NodeRecover { node } => {
            let instance = running(state, &node)?;
            instance.kubelet_stopped = false;
            instance.stuck_down = false;
            for gpu in &mut instance.gpus {
                gpu.fell_off_bus = false;
                gpu.thermal_c = None;
            }
            ctx.changed = true;
            lifecycle::refresh_readiness(instance, ctx);
            Ok(format!(
                "{} recovered (kubelet running, GPUs on the bus, temperatures normal){}",
                instance.label(),
                readiness_note(before, ctx, instance)
            ))
        }
        Fault::ReplicaDown { cluster, replica } => {
            set_replica(state, ctx, cluster, replica, ReplicaState::Down)
        }
        Fault::ReplicaUp { cluster, replica } => {
            set_replica(state, ctx, cluster, replica, ReplicaState::Running)
        }
        Fault::GpuXid { node, gpu, xid } => {
            if xid == 0 {
                return Err(SimError::InvalidFault("XID 0 does not exist".to_owned()));
            }
            let instance = running(state, &node)?;
            let index = gpu_index(instance, gpu)?;
            let g = &mut instance.gpus[index];
            g.xid_last = Some(xid);
            g.xid_total += 1;
            let detail = match xid {
                48 | 94 | 95 => {
                    g.ecc_dbe_total += 1;
                    format!(", ECC DBE total {}", g.ecc_dbe_total)
                }
                92 => {
                    g.ecc_sbe_total += 250;
                    format!(", ECC SBE total {}", g.ecc_sbe_total)
                }
                63 => {
                    g.remapped_rows_uncorrectable += 1;
                    format!(
                        ", uncorrectable remapped rows {}",
                        g.remapped_rows_uncorrectable
                    )
                }
                64 => {
                    g.row_remap_failure = true;
                    ", row remap failed".to_owned()
                }
                74 => {
                    g.nvlink_crc_errors += 64;
                    format!(", NVLink CRC errors {}", g.nvlink_crc_errors)
                }
                79 => {
                    g.fell_off_bus = true;
                    ", GPU is off the bus".to_owned()
                }
                _ => String::new(),
            };
            let total = g.xid_total;
            ctx.changed = true;
            lifecycle::refresh_readiness(instance, ctx);
            Ok(format!(
                "{} GPU {gpu}: XID {xid} ({}) recorded, {total} XIDs on this GPU{detail}{}",
                instance.label(),
                xid_meaning(xid),
                readiness_note(before, ctx, instance)
            ))
        }
        Fault::IbLinkDown { node, port } => {
            let instance = running(state, &node)?;
            let index = ib_index(instance, port)?;
            let label = instance.label();
            let p = &mut instance.ib_ports[index];
            let message = if p.up {
                p.up = false;
                p.link_downed += 1;
                p.local_link_integrity_errors += 1;
                p.symbol_error += 12;
                format!(
                    "{label} IB port {port} (mlx5_{port}) is down; link_downed {}",
                    p.link_downed
                )
            } else {
                format!("{label} IB port {port} was already down")
            };
            ctx.changed = true;
            Ok(message)
        }
        Fault::IbLinkUp { node, port } => {
            let instance = running(state, &node)?;
            let index = ib_index(instance, port)?;
            let p = &mut instance.ib_ports[index];
            let message = if p.up {
                format!("{} IB port {port} was already up", instance.label())
            } else {
                p.up = true;
                format!("{} IB port {port} (mlx5_{port}) is up", instance.label())
            };
            ctx.changed = true;
            Ok(message)
        }
        Fault::GpuThermal { node, gpu, temp_c } => {
            if temp_c > MAX_FAULT_TEMP_C {
                return Err(SimError::InvalidFault(format!(
                    "temp_c {temp_c} is above {MAX_FAULT_TEMP_C} °C"
                )));
            }
            let instance = running(state, &node)?;
            let index = gpu_index(instance, gpu)?;
            instance.gpus[index].thermal_c = Some(temp_c);
            ctx.changed = true;
            Ok(format!(
                "{} GPU {gpu} now reports {temp_c} °C (node-recover clears it)",
                instance.label()
            ))
        }
        Fault::FailNextProvisions { count } => {
            state.fail_next_provisions = count;
            ctx.changed = true;
            Ok(format!("the next {count} node provisions will fail"))
        }
        Fault::FailNextRepairs { count } => {
            state.fail_next_repairs = count;
            ctx.changed = true;
            Ok(format!(
                "the next {count} node repairs will fail at their last step"
            ))
        }
        Fault::HangNextRepairs { count } => {
            state.hang_next_repairs = count;
            ctx.changed = true;
            Ok(format!(
                "the next {count} node repairs will stop reporting after their first step"
            ))
        }
        Fault::WebhookFailClosed { cluster, component } => impacts::inject(
            state,
            ctx,
            cluster,
            component,
            ImpactKind::WebhookFailingClosed,
        ),
        Fault::ApiFlood { cluster, component } => {
            impacts::inject(state, ctx, cluster, component, ImpactKind::ApiFlood)
        }
        Fault::FabricSaturation { cluster, component } => {
            impacts::inject(state, ctx, cluster, component, ImpactKind::FabricSaturation)
        }
        Fault::ComponentFixed { cluster, component } => {
            impacts::fix(state, ctx, cluster, &component)
        }
        network @ (Fault::FirewallDrift { .. } | Fault::FailNextFirewallApplies { .. }) => {
            Err(SimError::InvalidFault(format!(
                "{} is a fault of the simulated VPC, and this simulator runs no VPC",
                network.kind()
            )))
        }
        storage @ (Fault::StorageFailNext { .. }
        | Fault::StorageHangNext { .. }
        | Fault::StorageCorruptCopy { .. }) => Err(SimError::InvalidFault(format!(
            "{} is a fault of the simulated storage, and this simulator runs no storage",
            storage.kind()
        ))),
    }
}

fn set_replica(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    replica: Option<String>,
    to: ReplicaState,
) -> Result<String, SimError> {
    let cp = state
        .control_planes
        .get_mut(&cluster)
        .ok_or(SimError::UnknownCluster(cluster))?;
    let indexes: Vec<usize> = match &replica {
        Some(name) => {
            let index = cp
                .replicas
                .iter()
                .position(|r| &r.name == name)
                .ok_or_else(|| SimError::UnknownReplica {
                    cluster,
                    replica: name.clone(),
                    known: cp
                        .replicas
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            let r = &cp.replicas[index];
            if r.state == to {
                return Ok(format!(
                    "replica {} of cluster {cluster} was already {}",
                    r.name,
                    to.as_str()
                ));
            }
            if to == ReplicaState::Running && r.state != ReplicaState::Down {
                return Err(SimError::InvalidFault(format!(
                    "replica {} of cluster {cluster} is {}, not down",
                    r.name,
                    r.state.as_str()
                )));
            }
            vec![index]
        }
        // Down: the first Running replica. Up: every Down replica.
        None => {
            let from = if to == ReplicaState::Down {
                ReplicaState::Running
            } else {
                ReplicaState::Down
            };
            let matching = cp
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| r.state == from)
                .map(|(index, _)| index);
            let indexes: Vec<usize> = if to == ReplicaState::Down {
                matching.take(1).collect()
            } else {
                matching.collect()
            };
            if indexes.is_empty() {
                return Err(SimError::NoReplicaInState {
                    cluster,
                    state: from.as_str(),
                });
            }
            indexes
        }
    };
    let mut changed = Vec::with_capacity(indexes.len());
    for index in indexes {
        // A replica that goes down mid-upgrade comes back on the version it had; the upgrade
        // resumes with it once every replica is up again.
        let r = &mut cp.replicas[index];
        r.state = to;
        r.due_ms = None;
        changed.push(format!("{} ({})", r.name, r.failure_domain));
        ctx.events.push(InfraEvent::ReplicaChanged {
            cluster,
            replica: r.name.clone(),
            failure_domain: r.failure_domain.clone(),
            state: r.state,
            version: r.version,
        });
    }
    ctx.changed = true;
    control_plane::advance_upgrade(cp, ctx);
    let verb = if changed.len() == 1 { "is" } else { "are" };
    Ok(format!(
        "control-plane replica{} {} of cluster {cluster} {verb} {}",
        if changed.len() == 1 { "" } else { "s" },
        changed.join(", "),
        to.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_kebab_case_json() {
        let cluster = ClusterId::generate();
        let cases = [
            (
                Fault::GpuXid {
                    node: "gpu-1".into(),
                    gpu: 3,
                    xid: 48,
                },
                r#"{"kind":"gpu-xid","node":"gpu-1","gpu":3,"xid":48}"#.to_owned(),
            ),
            (
                Fault::ReplicaDown {
                    cluster,
                    replica: None,
                },
                format!(r#"{{"kind":"replica-down","cluster":"{cluster}"}}"#),
            ),
            (
                Fault::FailNextProvisions { count: 2 },
                r#"{"kind":"fail-next-provisions","count":2}"#.to_owned(),
            ),
            (
                Fault::FailNextRepairs { count: 1 },
                r#"{"kind":"fail-next-repairs","count":1}"#.to_owned(),
            ),
            (
                Fault::HangNextRepairs { count: 3 },
                r#"{"kind":"hang-next-repairs","count":3}"#.to_owned(),
            ),
            (
                Fault::WebhookFailClosed {
                    cluster,
                    component: "policy-webhook".into(),
                },
                format!(
                    r#"{{"kind":"webhook-fail-closed","cluster":"{cluster}","component":"policy-webhook"}}"#
                ),
            ),
            (
                Fault::ApiFlood {
                    cluster,
                    component: "noisy-operator".into(),
                },
                format!(
                    r#"{{"kind":"api-flood","cluster":"{cluster}","component":"noisy-operator"}}"#
                ),
            ),
            (
                Fault::FabricSaturation {
                    cluster,
                    component: "allreduce-bench".into(),
                },
                format!(
                    r#"{{"kind":"fabric-saturation","cluster":"{cluster}","component":"allreduce-bench"}}"#
                ),
            ),
            (
                Fault::ComponentFixed {
                    cluster,
                    component: "policy-webhook".into(),
                },
                format!(
                    r#"{{"kind":"component-fixed","cluster":"{cluster}","component":"policy-webhook"}}"#
                ),
            ),
            (
                Fault::GpuThermal {
                    node: "n".into(),
                    gpu: 0,
                    temp_c: 91,
                },
                r#"{"kind":"gpu-thermal","node":"n","gpu":0,"temp_c":91}"#.to_owned(),
            ),
            (
                Fault::FirewallDrift { cluster },
                format!(r#"{{"kind":"firewall-drift","cluster":"{cluster}"}}"#),
            ),
            (
                Fault::FailNextFirewallApplies { count: 2 },
                r#"{"kind":"fail-next-firewall-applies","count":2}"#.to_owned(),
            ),
            (
                Fault::StorageFailNext {
                    count: 2,
                    operation: Some("copy".into()),
                },
                r#"{"kind":"storage-fail-next","count":2,"operation":"copy"}"#.to_owned(),
            ),
            (
                Fault::StorageHangNext {
                    count: 1,
                    operation: None,
                },
                r#"{"kind":"storage-hang-next","count":1}"#.to_owned(),
            ),
            (
                Fault::StorageCorruptCopy { count: 3 },
                r#"{"kind":"storage-corrupt-copy","count":3}"#.to_owned(),
            ),
        ];
        for (fault, json) in cases {
            assert!(
                json.contains(&format!(r#""kind":"{}""#, fault.kind())),
                "{json}"
            );
            assert_eq!(serde_json::to_string(&fault).unwrap(), json);
            assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), fault);
        }
        let with_replica: Fault = serde_json::from_str(&format!(
            r#"{{"kind":"replica-up","cluster":"{cluster}","replica":"cp-2"}}"#
        ))
        .unwrap();
        assert_eq!(
            with_replica,
            Fault::ReplicaUp {
                cluster,
                replica: Some("cp-2".into())
            }
        );
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"meteor-strike"}"#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"gpu-xid","node":"n"}"#).is_err());
    }

    #[test]
    fn xid_meanings() {
        assert_eq!(xid_meaning(79), "GPU fell off the bus");
        assert_eq!(xid_meaning(48), "double-bit ECC error");
        assert_eq!(xid_meaning(4242), "not in the catalogue");
    }
}
