//! The fleet's state as data: instances, control planes and their pending transitions, and how
//! it is kept on disk.
//!
//! A transition in progress is a phase plus a due time (`due_ms`, Unix milliseconds, wall
//! clock). Nothing about a transition lives in a task or a timer, so a saved state restored by a
//! new process resumes every transition where it was: one already overdue completes at once.
//!
//! Invariants:
//! - An instance's internal IP is unique among live instances; it is released only when the
//!   instance is removed (terminated or failed).
//! - A control plane's replicas sit in pairwise distinct failure domains.
//! - The state file is replaced atomically (write a sibling temp file, fsync, rename), so a crash
//!   leaves either the old or the new state, never a torn one.
//! - At most one impact per (cluster, component, kind); an impact exists only while its cluster's
//!   control plane does, and is either degrading (perhaps with a mitigation under way) or
//!   mitigated.
//! - An instance runs at most one repair at a time and keeps at most [`MAX_FINISHED_REPAIRS`]
//!   finished ones (the newest); they go with the instance when it is removed.
//! - Fields added after version 1 carry `#[serde(default)]`, so older state files still load.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    net::Ipv4Addr,
    path::{Path, PathBuf},
};

use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    infra::{ImpactKind, ImpactState, RepairAction, ReplicaState},
    validation::KubeVersion,
};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Version of the state-file schema.
pub(crate) const STATE_VERSION: u32 = 1;

/// Finished repairs kept per instance (the newest), so a restarted caller can learn an outcome.
pub(crate) const MAX_FINISHED_REPAIRS: usize = 8;

/// Everything the simulated provider knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FleetState {
    /// Schema version ([`STATE_VERSION`]).
    pub version: u32,
    /// Worker instances by node id.
    pub instances: BTreeMap<NodeId, Instance>,
    /// Control planes by cluster.
    pub control_planes: BTreeMap<ClusterId, ControlPlane>,
    /// Serial of the last instance id handed out.
    pub last_serial: u64,
    /// How many upcoming node provisions fail (`fail-next-provisions`).
    pub fail_next_provisions: u32,
    /// How many upcoming repairs fail at their last step (`fail-next-repairs`).
    #[serde(default)]
    pub fail_next_repairs: u32,
    /// How many upcoming repairs stop reporting after their first step (`hang-next-repairs`).
    #[serde(default)]
    pub hang_next_repairs: u32,
    /// Customer components degrading a control plane or the fabric, in the order they started.
    #[serde(default)]
    pub impacts: Vec<Impact>,
}

impl Default for FleetState {
    fn default() -> Self {
        FleetState {
            version: STATE_VERSION,
            instances: BTreeMap::new(),
            control_planes: BTreeMap::new(),
            last_serial: 0,
            fail_next_provisions: 0,
            fail_next_repairs: 0,
            hang_next_repairs: 0,
            impacts: Vec::new(),
        }
    }
}

/// Lifecycle phase of a worker instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Phase {
    /// Being created; `NodeProvisioned` (or `NodeFailed`) at `due_ms`.
    Provisioning,
    /// Up.
    Running,
    /// Up, pods being evicted; `NodeDrained` at `due_ms`.
    Draining,
    /// Being terminated; `NodeTerminated` and removal at `due_ms`.
    Terminating,
}

impl Phase {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Provisioning => "provisioning",
            Phase::Running => "running",
            Phase::Draining => "draining",
            Phase::Terminating => "terminating",
        }
    }

    /// Whether the machine is up (its kubelet and node agent run).
    pub fn is_up(self) -> bool {
        matches!(self, Phase::Running | Phase::Draining)
    }
}

/// One worker instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub node: NodeId,
    pub name: String,
    pub project: ProjectId,
    pub cluster: ClusterId,
    pub pool: NodePoolId,
    pub region: String,
    pub instance_type: String,
    pub image_version: String,
    pub kubelet_version: KubeVersion,
    pub vpc_subnet: Ipv4Net,
    /// Provider instance id (`i-…`).
    pub instance_id: String,
    pub failure_domain: String,
    pub internal_ip: Ipv4Addr,
    pub phase: Phase,
    /// When the current transition completes (Unix ms); `None` when settled.
    pub due_ms: Option<i64>,
    /// This provisioning attempt ends in `NodeFailed`.
    pub will_fail: bool,
    /// Drained (cordoned, pods evicted) at least once.
    pub drained: bool,
    /// Last readiness reported with `NodeReadiness`.
    pub ready: bool,
    /// `node-not-ready` fault: the kubelet stopped heartbeating.
    pub kubelet_stopped: bool,
    pub gpus: Vec<GpuState>,
    pub ib_ports: Vec<IbPort>,
    /// The repair in progress.
    #[serde(default)]
    pub repair: Option<RunningRepair>,
    /// Finished repairs, oldest first, at most [`MAX_FINISHED_REPAIRS`].
    #[serde(default)]
    pub finished_repairs: Vec<FinishedRepair>,
    /// A reboot left the machine down (`fail-next-repairs`) until `node-recover` or a later
    /// successful reboot.
    #[serde(default)]
    pub stuck_down: bool,
}

impl Instance {
    /// Whether the machine is off: a reboot is power-cycling or booting it, or a failed reboot
    /// left it down. Its kubelet and node agent do not run.
    pub fn powered_off(&self) -> bool {
        self.stuck_down || self.repair.as_ref().is_some_and(|r| r.step.powered_off())
    }

    /// The readiness the node should report now.
    pub fn should_be_ready(&self) -> bool {
        self.phase.is_up()
            && !self.powered_off()
            && !self.kubelet_stopped
            && !self.gpus.iter().any(|g| g.fell_off_bus)
    }

    /// Why the node is not ready (for `NodeReadiness.reason`), or the ready reason.
    pub fn readiness_reason(&self) -> &'static str {
        if self.should_be_ready() {
            "KubeletReady"
        } else if self.repair.as_ref().is_some_and(|r| r.step.powered_off()) {
            "Rebooting"
        } else if self.stuck_down {
            "RebootFailed"
        } else if self.kubelet_stopped {
            "KubeletStopped"
        } else if self.gpus.iter().any(|g| g.fell_off_bus) {
            "GpuFellOffTheBus"
        } else {
            "InstanceNotRunning"
        }
    }

    /// `name (node-…)`, for messages.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.node)
    }

    /// The faults active on this instance, as short kebab-case tags.
    pub fn active_faults(&self) -> Vec<String> {
        let mut faults = Vec::new();
        if self.kubelet_stopped {
            faults.push("kubelet-stopped".to_owned());
        }
        for (index, gpu) in self.gpus.iter().enumerate() {
            if gpu.fell_off_bus {
                faults.push(format!("gpu{index}-fell-off-bus"));
            }
            if let Some(xid) = gpu.xid_last {
                faults.push(format!("gpu{index}-xid-{xid}"));
            }
            if let Some(temp) = gpu.thermal_c {
                faults.push(format!("gpu{index}-thermal-{temp}c"));
            }
        }
        for (index, port) in self.ib_ports.iter().enumerate() {
            if !port.up {
                faults.push(format!("ib{index}-down"));
            }
        }
        if self.stuck_down {
            faults.push("reboot-failed".to_owned());
        }
        if let Some(repair) = &self.repair {
            faults.push(match repair.action {
                RepairAction::ResetGpu { gpu } => format!("repair-reset-gpu{gpu}"),
                RepairAction::RebootNode => "repair-reboot-node".to_owned(),
            });
        }
        faults
    }
}

/// A step of a repair. Reset: `drain-gpu → reset → verify` (or `probe` alone for a GPU off
/// the bus). Reboot: `drain → power-cycle → boot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RepairStep {
    /// Evict the pods that use the GPU.
    DrainGpu,
    /// Reset the GPU.
    Reset,
    /// Check the GPU answers and is healthy.
    Verify,
    /// Look for a GPU that is off the bus before giving up (not reported as progress).
    Probe,
    /// Evict every pod.
    Drain,
    /// Power the machine off and on; it is down from here until the boot completes.
    PowerCycle,
    /// Boot up to a registered kubelet.
    Boot,
}

impl RepairStep {
    /// kebab-case name, as `RepairProgress.step` carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            RepairStep::DrainGpu => "drain-gpu",
            RepairStep::Reset => "reset",
            RepairStep::Verify => "verify",
            RepairStep::Probe => "probe",
            RepairStep::Drain => "drain",
            RepairStep::PowerCycle => "power-cycle",
            RepairStep::Boot => "boot",
        }
    }

    /// Whether the machine is off during this step.
    pub fn powered_off(self) -> bool {
        matches!(self, RepairStep::PowerCycle | RepairStep::Boot)
    }
}

/// How a running repair will end, decided when it starts (`fail-next-repairs`,
/// `hang-next-repairs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RepairFate {
    /// It does what it says.
    #[default]
    Succeed,
    /// Its last step fails.
    Fail,
    /// It never reports after its first step.
    Hang,
}

/// The repair an instance is going through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunningRepair {
    /// Idempotency key.
    pub id: String,
    pub action: RepairAction,
    pub step: RepairStep,
    /// When the step completes (Unix ms); `None` for a hung repair.
    pub due_ms: Option<i64>,
    #[serde(default)]
    pub fate: RepairFate,
    /// The step's sentence.
    pub detail: String,
}

/// A repair that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FinishedRepair {
    /// Idempotency key.
    pub id: String,
    pub action: RepairAction,
    /// Whether it repaired the node.
    pub ok: bool,
    /// The outcome's sentence.
    pub detail: String,
}

/// Counters and fault flags of one GPU (monotonic counters, as the hardware keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GpuState {
    pub uuid: String,
    pub xid_last: Option<u32>,
    pub xid_total: u64,
    pub ecc_sbe_total: u64,
    pub ecc_dbe_total: u64,
    pub remapped_rows_uncorrectable: u64,
    pub row_remap_failure: bool,
    pub nvlink_crc_errors: u64,
    pub pcie_replay: u64,
    /// XID 79: the GPU is gone from the PCIe bus until the node recovers.
    pub fell_off_bus: bool,
    /// `gpu-thermal` fault: the temperature the GPU is stuck at.
    pub thermal_c: Option<u32>,
}

/// Counters and state of one InfiniBand port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IbPort {
    pub up: bool,
    pub link_downed: u64,
    pub symbol_error: u64,
    pub excessive_buffer_overrun: u64,
    pub local_link_integrity_errors: u64,
}

impl Default for IbPort {
    fn default() -> Self {
        IbPort {
            up: true,
            link_downed: 0,
            symbol_error: 0,
            excessive_buffer_overrun: 0,
            local_link_integrity_errors: 0,
        }
    }
}

/// A customer component's impact on a cluster ([`crate::impacts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Impact {
    pub cluster: ClusterId,
    /// The customer's component (a Kubernetes-style name).
    pub component: String,
    pub kind: ImpactKind,
    /// Degrading or mitigated (a cleared impact is removed).
    pub state: ImpactState,
    /// When the provider's mitigation, under way, takes effect (Unix ms).
    #[serde(default)]
    pub mitigation_due_ms: Option<i64>,
}

/// A cluster's control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ControlPlane {
    pub cluster: ClusterId,
    pub region: String,
    /// The version every replica runs once no upgrade is in progress.
    pub version: KubeVersion,
    /// The version an upgrade in progress rolls to.
    pub target: Option<KubeVersion>,
    pub replicas: Vec<Replica>,
    /// When deletion completes (Unix ms); `Some` while being deleted.
    pub delete_due_ms: Option<i64>,
}

/// One control-plane replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Replica {
    pub name: String,
    pub failure_domain: String,
    pub state: ReplicaState,
    pub version: KubeVersion,
    /// When the current transition (provisioning, upgrade) completes.
    pub due_ms: Option<i64>,
}

/// Reads the state file; a missing file is an empty fleet.
pub(crate) fn load(path: &Path) -> Result<FleetState, SimError> {
    load_versioned(path, STATE_VERSION)
}

/// Replaces the state file atomically.
pub(crate) fn save(path: &Path, state: &FleetState) -> Result<(), SimError> {
    save_json(path, state)
}

/// Reads a simulator state file whose `version` must be `expected`; a missing file is the
/// default state. (The fleet's and the VPC's files share this.)
pub(crate) fn load_versioned<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    expected: u32,
) -> Result<T, SimError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(T::default());
        }
        Err(source) => {
            return Err(SimError::ReadState {
                path: path.to_owned(),
                source,
            });
        }
    };
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    let corrupt = |source| SimError::CorruptState {
        path: path.to_owned(),
        source,
    };
    let Version { version } = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if version != expected {
        return Err(SimError::StateVersion {
            path: path.to_owned(),
            found: version,
            expected,
        });
    }
    serde_json::from_slice(&bytes).map_err(corrupt)
}

/// Replaces a simulator state file atomically (sibling temp file, fsync, rename).
pub(crate) fn save_json<T: Serialize>(path: &Path, state: &T) -> Result<(), SimError> {
    let bytes = serde_json::to_vec_pretty(state)
        .map_err(|error| write_error(path, std::io::Error::other(error)))?;
    write_atomic(path, &bytes)
}

/// [`save_json`] without indentation, for large states (the simulated storage's outcomes).
pub(crate) fn save_json_compact<T: Serialize>(path: &Path, state: &T) -> Result<(), SimError> {
    let bytes = serde_json::to_vec(state)
        .map_err(|error| write_error(path, std::io::Error::other(error)))?;
    write_atomic(path, &bytes)
}

fn write_error(path: &Path, source: std::io::Error) -> SimError {
    SimError::WriteState {
        path: path.to_owned(),
        source,
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let write_error = |source| write_error(path, source);
    let tmp = temp_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(write_error)?;
    }
    let mut file = fs::File::create(&tmp).map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    drop(file);
    fs::rename(&tmp, path).map_err(write_error)?;
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_an_empty_fleet_and_save_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/fleet.json");
        assert_eq!(load(&path).unwrap(), FleetState::default());

        let state = FleetState {
            last_serial: 7,
            fail_next_provisions: 2,
            ..FleetState::default()
        };
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), state);
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn rejects_garbage_and_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.json");
        fs::write(&path, b"{not json").unwrap();
        assert!(matches!(load(&path), Err(SimError::CorruptState { .. })));
        fs::write(&path, br#"{"version": 99}"#).unwrap();
        assert!(matches!(
            load(&path),
            Err(SimError::StateVersion { found: 99, .. })
        ));
    }

    #[test]
    fn a_state_file_from_before_repairs_still_loads() {
        let instance = serde_json::json!({
            "node": NodeId::generate(),
            "name": "gpu-a-1",
            "project": ProjectId::generate(),
            "cluster": ClusterId::generate(),
            "pool": NodePoolId::generate(),
            "region": "us-east1",
            "instance_type": "h100-80gb-sxm-ib.8x",
            "image_version": "2026.11.0",
            "kubelet_version": "1.32",
            "vpc_subnet": "10.0.0.0/24",
            "instance_id": "i-0000000000000001",
            "failure_domain": "us-east1-a",
            "internal_ip": "10.0.0.4",
            "phase": "running",
            "due_ms": null,
            "will_fail": false,
            "drained": false,
            "ready": true,
            "kubelet_stopped": false,
            "gpus": [],
            "ib_ports": [],
        });
        let node = instance["node"].as_str().unwrap().to_owned();
        let file = serde_json::json!({
            "version": 1,
            "instances": { node.clone(): instance },
            "control_planes": {},
            "last_serial": 1,
            "fail_next_provisions": 0,
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.json");
        fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        let state = load(&path).unwrap();
        assert_eq!((state.fail_next_repairs, state.hang_next_repairs), (0, 0));
        assert!(state.impacts.is_empty());
        let instance = &state.instances[&node.parse::<NodeId>().unwrap()];
        assert!(instance.repair.is_none() && instance.finished_repairs.is_empty());
        assert!(!instance.stuck_down);
    }
}
