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

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    net::Ipv4Addr,
    path::{Path, PathBuf},
};

use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    infra::ReplicaState,
    validation::KubeVersion,
};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Version of the state-file schema.
pub(crate) const STATE_VERSION: u32 = 1;

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
}

impl Default for FleetState {
    fn default() -> Self {
        FleetState {
            version: STATE_VERSION,
            instances: BTreeMap::new(),
            control_planes: BTreeMap::new(),
            last_serial: 0,
            fail_next_provisions: 0,
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
}

impl Instance {
    /// The readiness the node should report now.
    pub fn should_be_ready(&self) -> bool {
        self.phase.is_up() && !self.kubelet_stopped && !self.gpus.iter().any(|g| g.fell_off_bus)
    }

    /// Why the node is not ready (for `NodeReadiness.reason`), or the ready reason.
    pub fn readiness_reason(&self) -> &'static str {
        if self.should_be_ready() {
            "KubeletReady"
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
        faults
    }
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
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FleetState::default());
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
    if version != STATE_VERSION {
        return Err(SimError::StateVersion {
            path: path.to_owned(),
            found: version,
            expected: STATE_VERSION,
        });
    }
    serde_json::from_slice(&bytes).map_err(corrupt)
}

/// Replaces the state file atomically.
pub(crate) fn save(path: &Path, state: &FleetState) -> Result<(), SimError> {
    let write_error = |source| SimError::WriteState {
        path: path.to_owned(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(state)
        .map_err(|error| write_error(std::io::Error::other(error)))?;
    let tmp = temp_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(write_error)?;
    }
    let mut file = fs::File::create(&tmp).map_err(write_error)?;
    file.write_all(&bytes).map_err(write_error)?;
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
}
