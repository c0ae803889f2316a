//! Volumes as written ([`VolumeSpec`]) → validated ([`NewVolume`]) → records ([`Volume`]), the two
//! kinds and their limits, and per-project quotas.
//!
//! - `disk`: a persistent block disk, [`DISK_MIN_BYTES`]–[`DISK_MAX_BYTES`] in steps of
//!   [`DISK_STEP_BYTES`], at most [`DISKS_PER_NODE`] per node, attached to one node at a time.
//! - `shared`: a shared filesystem, [`SHARED_MIN_BYTES`]–[`SHARED_MAX_BYTES`] in steps of
//!   [`SHARED_STEP_BYTES`], at most [`SHARED_PER_NODE`] per node, mounted over NFS or VirtioFS.
//!   Decision: shared filesystems are multi-attach (many nodes of the volume's region at once,
//!   up to [`SHARED_MAX_ATTACHMENTS`]), as the source product's single-node-multi-writer and
//!   NFS semantics allow; a disk is single-attach.
//!
//! Invariant: a [`NewVolume`] is within its kind's range and steps, named by a DNS-1123 label
//! of at most [`MAX_NAME_CHARS`] characters; quotas count whole GiB (rounded up) and volumes.

use std::collections::BTreeSet;

use accord_core::validation::{dns_label, quote};
use serde::{Deserialize, Serialize};

use crate::error::{Errors, StorageError};
use crate::limits::{
    DISK_MAX_BYTES, DISK_MIN_BYTES, DISK_STEP_BYTES, DISKS_PER_NODE, MAX_ID_CHARS, MAX_NAME_CHARS,
    SHARED_MAX_ATTACHMENTS, SHARED_MAX_BYTES, SHARED_MIN_BYTES, SHARED_PER_NODE, SHARED_STEP_BYTES,
};
use crate::quantity::{format_quantity, gib_ceil, parse_quantity};
use crate::state::{InFlight, VolumeState};

/// What a volume is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeKind {
    /// A persistent block disk.
    Disk,
    /// A shared filesystem.
    Shared,
}

/// The size rules and node limit of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindLimits {
    /// Smallest size.
    pub min_bytes: u64,
    /// Largest size.
    pub max_bytes: u64,
    /// Sizes are whole multiples of this.
    pub step_bytes: u64,
    /// Volumes of this kind attached to one node.
    pub per_node: usize,
    /// Nodes one volume may be attached to at once.
    pub max_attachments: usize,
}

impl VolumeKind {
    /// `disk` or `shared`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "disk" => Ok(Self::Disk),
            "shared" => Ok(Self::Shared),
            _ => Err(format!(
                "{} is not a volume type: use disk or shared",
                quote(s)
            )),
        }
    }

    /// The name used on the wire and in classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disk => "disk",
            Self::Shared => "shared",
        }
    }

    /// This kind's limits.
    pub fn limits(self) -> KindLimits {
        match self {
            Self::Disk => KindLimits {
                min_bytes: DISK_MIN_BYTES,
                max_bytes: DISK_MAX_BYTES,
                step_bytes: DISK_STEP_BYTES,
                per_node: DISKS_PER_NODE,
                max_attachments: 1,
            },
            Self::Shared => KindLimits {
                min_bytes: SHARED_MIN_BYTES,
                max_bytes: SHARED_MAX_BYTES,
                step_bytes: SHARED_STEP_BYTES,
                per_node: SHARED_PER_NODE,
                max_attachments: SHARED_MAX_ATTACHMENTS,
            },
        }
    }

    /// Checks `bytes` against this kind's range and steps.
    pub fn check_size(self, bytes: u64) -> Result<(), String> {
        let l = self.limits();
        if bytes < l.min_bytes || bytes > l.max_bytes {
            return Err(format!(
                "a {} volume must be {}–{} (asked for {})",
                self.as_str(),
                format_quantity(l.min_bytes),
                format_quantity(l.max_bytes),
                format_quantity(bytes)
            ));
        }
        if !bytes.is_multiple_of(l.step_bytes) {
            return Err(format!(
                "a {} volume grows in steps of {}: {} is not a multiple",
                self.as_str(),
                format_quantity(l.step_bytes),
                format_quantity(bytes)
            ));
        }
        Ok(())
    }
}

/// How a shared filesystem is mounted on nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mount {
    /// NFS v3 (`nconnect=16`).
    Nfs,
    /// VirtioFS through the hypervisor.
    Virtiofs,
}

impl Mount {
    /// `nfs` or `virtiofs`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "nfs" => Ok(Self::Nfs),
            "virtiofs" => Ok(Self::Virtiofs),
            _ => Err(format!("{} is not a mount: use nfs or virtiofs", quote(s))),
        }
    }

    /// The name used on the wire and in classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nfs => "nfs",
            Self::Virtiofs => "virtiofs",
        }
    }
}

/// A volume as the caller wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    /// DNS-1123 label, at most [`MAX_NAME_CHARS`] characters.
    pub name: String,
    /// Owning project (id).
    pub project: String,
    /// Region the volume lives in.
    pub region: String,
    /// `disk` or `shared`.
    pub kind: String,
    /// A Kubernetes quantity (`100Gi`, `1Ti`).
    pub size: String,
    /// `nfs` or `virtiofs` for shared volumes (empty: `nfs`); must be empty for disks.
    pub mount: String,
    /// Snapshot to restore from (empty: a blank volume).
    pub source_snapshot: String,
}

/// A validated volume request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVolume {
    /// The name.
    pub name: String,
    /// The project.
    pub project: String,
    /// The region.
    pub region: String,
    /// The kind.
    pub kind: VolumeKind,
    /// Size in bytes.
    pub size_bytes: u64,
    /// The mount of a shared volume; `None` for disks.
    pub mount: Option<Mount>,
    /// The snapshot restored from.
    pub source_snapshot: Option<String>,
}

/// A volume's record: what the service stores and the transitions in [`crate::state`] change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// The name.
    pub name: String,
    /// The project.
    pub project: String,
    /// The region.
    pub region: String,
    /// The kind.
    pub kind: VolumeKind,
    /// Size in bytes.
    pub size_bytes: u64,
    /// The mount of a shared volume.
    pub mount: Option<Mount>,
    /// The snapshot restored from.
    pub source_snapshot: Option<String>,
    /// Where the volume is in its life.
    pub state: VolumeState,
    /// Nodes it is attached to (at most one for a disk).
    pub attachments: BTreeSet<String>,
    /// The back-end operation in flight, if any.
    pub in_flight: Option<InFlight>,
    /// The last failure, kept until the next success (shown as a condition).
    pub last_failure: Option<String>,
}

/// An identifier (project, region, node): non-empty, at most [`MAX_ID_CHARS`], no spaces or
/// control characters.
pub fn check_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > MAX_ID_CHARS {
        return Err(format!(
            "must be at most {MAX_ID_CHARS} characters (has {})",
            value.len()
        ));
    }
    if value
        .chars()
        .any(|c| c.is_whitespace() || accord_core::validation::is_hidden_char(c))
    {
        return Err(format!(
            "{} may not contain spaces or hidden characters",
            quote(value)
        ));
    }
    Ok(())
}

/// A volume, snapshot or plan name: a DNS-1123 label of at most [`MAX_NAME_CHARS`] characters.
pub fn check_name(name: &str) -> Result<(), String> {
    dns_label(name)
}

// `dns_label` enforces 63 characters: the limit documented here must match it.
const _: () = assert!(MAX_NAME_CHARS == 63);

/// Validates every field of `spec` (all problems at once).
pub fn validate_volume(spec: &VolumeSpec) -> Result<NewVolume, StorageError> {
    let mut errors = Errors::new();
    errors.check("volume.name", check_name(&spec.name));
    errors.check("volume.project", check_id(&spec.project));
    errors.check("volume.region", check_id(&spec.region));
    let kind = errors.check("volume.type", VolumeKind::parse(&spec.kind));
    let size = errors.check("volume.size", parse_quantity(&spec.size));
    if let (Some(kind), Some(size)) = (kind, size) {
        errors.check("volume.size", kind.check_size(size));
    }
    let mount = match (kind, spec.mount.as_str()) {
        (Some(VolumeKind::Shared), "") => Some(Mount::Nfs),
        (Some(VolumeKind::Shared), m) => errors.check("volume.mount", Mount::parse(m)),
        (_, "") => None,
        (_, _) => {
            errors.push("volume.mount", "only shared volumes have a mount");
            None
        }
    };
    let source_snapshot = match spec.source_snapshot.as_str() {
        "" => None,
        s => errors
            .check("volume.source_snapshot", check_name(s))
            .map(|()| s.to_owned()),
    };
    let (Some(kind), Some(size_bytes)) = (kind, size) else {
        return Err(errors.into_error());
    };
    errors.into_result(NewVolume {
        name: spec.name.clone(),
        project: spec.project.clone(),
        region: spec.region.clone(),
        kind,
        size_bytes,
        mount,
        source_snapshot,
    })
}

/// A project's volume quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Total provisioned size, in GiB.
    pub max_total_gib: u64,
    /// Number of volumes.
    pub max_volumes: u64,
}

impl Default for Quota {
    /// 100 TiB of disks, or one 100 TiB share, and 100 volumes.
    fn default() -> Self {
        Quota {
            max_total_gib: 100 * 1024,
            max_volumes: 100,
        }
    }
}

/// What a project uses now (volumes not yet deleted, in-flight creations included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Sum of provisioned sizes, in bytes.
    pub total_bytes: u64,
    /// Number of volumes.
    pub volumes: u64,
}

impl Usage {
    /// Usage of `volumes` (those of the project not yet deleted).
    pub fn of<'a>(volumes: impl IntoIterator<Item = &'a Volume>) -> Self {
        volumes
            .into_iter()
            .filter(|v| v.state != VolumeState::Deleted)
            .fold(Usage::default(), |u, v| {
                // An expansion under way counts at its new size: the quota holds while it runs.
                let bytes = match &v.in_flight {
                    Some(InFlight {
                        op: crate::state::Operation::Expand { to_bytes },
                        ..
                    }) => v.size_bytes.max(*to_bytes),
                    _ => v.size_bytes,
                };
                Usage {
                    total_bytes: u.total_bytes.saturating_add(bytes),
                    volumes: u.volumes.saturating_add(1),
                }
            })
    }
}

/// Whether adding `add_bytes` and `add_volumes` stays within `quota` (→ `RESOURCE_EXHAUSTED`).
pub fn check_quota(
    quota: Quota,
    usage: Usage,
    add_bytes: u64,
    add_volumes: u64,
) -> Result<(), StorageError> {
    let volumes = usage.volumes.saturating_add(add_volumes);
    if add_volumes > 0 && volumes > quota.max_volumes {
        return Err(StorageError::exhausted(
            "quota.volumes",
            format!(
                "the project may hold {} volumes and already has {}",
                quota.max_volumes, usage.volumes
            ),
        ));
    }
    let total = gib_ceil(usage.total_bytes.saturating_add(add_bytes));
    if add_bytes > 0 && total > quota.max_total_gib {
        return Err(StorageError::exhausted(
            "quota.total_gib",
            format!(
                "the project may provision {} GiB; it uses {} GiB and this needs {} GiB more",
                quota.max_total_gib,
                gib_ceil(usage.total_bytes),
                gib_ceil(add_bytes)
            ),
        ));
    }
    Ok(())
}
