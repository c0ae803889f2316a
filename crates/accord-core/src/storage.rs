//! The facts the storage-csi service publishes: volumes (`volume.*`), their snapshots
//! (`snapshot.*`), the customer's StorageClasses (`storageclass.*`), the provider's per-project
//! NFS gate (`nfs.*`) and VirtioFS → NFS migrations (`migration.*`).
//!
//! Volumes travel as names, kinds and sizes in bytes: the storage model itself belongs to the
//! storage engine (`accord-storage`), which depends on this crate, not the other way round.
//! Every event names its project, so consumers (the addon-manager follows `nfs.*`) and, later,
//! bus permissions can scope it.

use serde::{Deserialize, Serialize};

use crate::{
    events::DomainEvent,
    ids::{ClusterId, MigrationId, ProjectId, SnapshotId, VolumeId},
};

/// Facts about storage; see each variant for its subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum StorageEvent {
    /// A volume was asked for (`volume.created`); the back end is creating it.
    VolumeCreated {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        /// `disk` or `shared`.
        kind: String,
        size_bytes: u64,
        /// `nfs` or `virtiofs` for shared volumes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount: Option<String>,
        /// The snapshot it is restored from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_snapshot: Option<SnapshotId>,
    },
    /// The back end created it (`volume.available`).
    VolumeAvailable {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
    },
    /// Attached to (or mounted on) a node (`volume.attached`).
    VolumeAttached {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        node: String,
    },
    /// Detached from a node (`volume.detached`).
    VolumeDetached {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        node: String,
    },
    /// Grew to `size_bytes` (`volume.expanded`).
    VolumeExpanded {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        size_bytes: u64,
    },
    /// Deleted by the back end (`volume.deleted`).
    VolumeDeleted {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
    },
    /// A back-end operation failed or timed out (`volume.operation-failed`); the volume's
    /// `last_failure` and state say where it is left.
    VolumeOperationFailed {
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        /// `create`, `attach`, `detach`, `expand` or `delete`.
        operation: String,
        reason: String,
        /// The state the volume is left in.
        state: String,
    },
    /// A snapshot was asked for (`snapshot.created`).
    SnapshotCreated {
        snapshot: SnapshotId,
        volume: VolumeId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        size_bytes: u64,
    },
    /// The snapshot is ready to restore from (`snapshot.ready`).
    SnapshotReady {
        snapshot: SnapshotId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
    },
    /// Taking the snapshot failed (`snapshot.failed`).
    SnapshotFailed {
        snapshot: SnapshotId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        reason: String,
    },
    /// The snapshot was deleted (`snapshot.deleted`).
    SnapshotDeleted {
        snapshot: SnapshotId,
        cluster: ClusterId,
        project: ProjectId,
        name: String,
    },
    /// The customer defined a StorageClass (`storageclass.created`).
    StorageClassCreated {
        cluster: ClusterId,
        project: ProjectId,
        name: String,
        /// `disk` or `shared`.
        volume_type: String,
        /// Whether the CSI driver serving it is installed in the cluster.
        driver_installed: bool,
    },
    /// The customer deleted a StorageClass (`storageclass.deleted`).
    StorageClassDeleted {
        cluster: ClusterId,
        project: ProjectId,
        name: String,
    },
    /// The provider enabled NFS for the project, or switched how its shared filesystems
    /// mount (`nfs.enabled`).
    NfsEnabled {
        project: ProjectId,
        /// Who (the operator's principal).
        by: String,
        reason: String,
        /// How the project's shared filesystems mount now: `nfs` or `virtiofs` (empty in
        /// events published before it was carried: `nfs`).
        #[serde(default)]
        mount: String,
    },
    /// The provider disabled NFS for the project (`nfs.disabled`).
    NfsDisabled {
        project: ProjectId,
        by: String,
        reason: String,
    },
    /// The customer planned a migration (`migration.planned`).
    MigrationPlanned {
        migration: MigrationId,
        project: ProjectId,
        name: String,
        volumes: u64,
        batches: u64,
        bytes: u64,
        /// The dry run's expected duration.
        estimated_seconds: u64,
    },
    /// The customer started it (`migration.started`).
    MigrationStarted {
        migration: MigrationId,
        project: ProjectId,
        name: String,
    },
    /// One volume moved to another state (`migration.volume-progressed`).
    MigrationVolumeProgressed {
        migration: MigrationId,
        project: ProjectId,
        /// The volume's name.
        volume: String,
        /// Its migration state (`copying`, `verified`, `done`, `failed` …).
        state: String,
    },
    /// The customer asked to roll back (`migration.rollback-requested`).
    MigrationRollbackRequested {
        migration: MigrationId,
        project: ProjectId,
        name: String,
        by: String,
    },
    /// Every volume reached an end state (`migration.finished`).
    MigrationFinished {
        migration: MigrationId,
        project: ProjectId,
        name: String,
        done: u64,
        failed: u64,
        rolled_back: u64,
    },
}

impl StorageEvent {
    /// The project the event belongs to.
    pub fn project(&self) -> ProjectId {
        match self {
            Self::VolumeCreated { project, .. }
            | Self::VolumeAvailable { project, .. }
            | Self::VolumeAttached { project, .. }
            | Self::VolumeDetached { project, .. }
            | Self::VolumeExpanded { project, .. }
            | Self::VolumeDeleted { project, .. }
            | Self::VolumeOperationFailed { project, .. }
            | Self::SnapshotCreated { project, .. }
            | Self::SnapshotReady { project, .. }
            | Self::SnapshotFailed { project, .. }
            | Self::SnapshotDeleted { project, .. }
            | Self::StorageClassCreated { project, .. }
            | Self::StorageClassDeleted { project, .. }
            | Self::NfsEnabled { project, .. }
            | Self::NfsDisabled { project, .. }
            | Self::MigrationPlanned { project, .. }
            | Self::MigrationStarted { project, .. }
            | Self::MigrationVolumeProgressed { project, .. }
            | Self::MigrationRollbackRequested { project, .. }
            | Self::MigrationFinished { project, .. } => *project,
        }
    }
}

impl DomainEvent for StorageEvent {
    fn resource(&self) -> &'static str {
        match self {
            Self::VolumeCreated { .. }
            | Self::VolumeAvailable { .. }
            | Self::VolumeAttached { .. }
            | Self::VolumeDetached { .. }
            | Self::VolumeExpanded { .. }
            | Self::VolumeDeleted { .. }
            | Self::VolumeOperationFailed { .. } => "volume",
            Self::SnapshotCreated { .. }
            | Self::SnapshotReady { .. }
            | Self::SnapshotFailed { .. }
            | Self::SnapshotDeleted { .. } => "snapshot",
            Self::StorageClassCreated { .. } | Self::StorageClassDeleted { .. } => "storageclass",
            Self::NfsEnabled { .. } | Self::NfsDisabled { .. } => "nfs",
            Self::MigrationPlanned { .. }
            | Self::MigrationStarted { .. }
            | Self::MigrationVolumeProgressed { .. }
            | Self::MigrationRollbackRequested { .. }
            | Self::MigrationFinished { .. } => "migration",
        }
    }

    fn event(&self) -> &'static str {
        match self {
            Self::VolumeCreated { .. } => "created",
            Self::VolumeAvailable { .. } => "available",
            Self::VolumeAttached { .. } => "attached",
            Self::VolumeDetached { .. } => "detached",
            Self::VolumeExpanded { .. } => "expanded",
            Self::VolumeDeleted { .. } => "deleted",
            Self::VolumeOperationFailed { .. } => "operation-failed",
            Self::SnapshotCreated { .. } => "created",
            Self::SnapshotReady { .. } => "ready",
            Self::SnapshotFailed { .. } => "failed",
            Self::SnapshotDeleted { .. } => "deleted",
            Self::StorageClassCreated { .. } => "created",
            Self::StorageClassDeleted { .. } => "deleted",
            Self::NfsEnabled { .. } => "enabled",
            Self::NfsDisabled { .. } => "disabled",
            Self::MigrationPlanned { .. } => "planned",
            Self::MigrationStarted { .. } => "started",
            Self::MigrationVolumeProgressed { .. } => "volume-progressed",
            Self::MigrationRollbackRequested { .. } => "rollback-requested",
            Self::MigrationFinished { .. } => "finished",
        }
    }

    /// The volume's, snapshot's or migration's id; a StorageClass's is `<cluster>_<name>`
    /// (class names are DNS subdomains: dots become `-`, so the pair is one subject token);
    /// the NFS gate's is the project's.
    fn resource_id(&self) -> String {
        match self {
            Self::VolumeCreated { volume, .. }
            | Self::VolumeAvailable { volume, .. }
            | Self::VolumeAttached { volume, .. }
            | Self::VolumeDetached { volume, .. }
            | Self::VolumeExpanded { volume, .. }
            | Self::VolumeDeleted { volume, .. }
            | Self::VolumeOperationFailed { volume, .. } => volume.to_string(),
            Self::SnapshotCreated { snapshot, .. }
            | Self::SnapshotReady { snapshot, .. }
            | Self::SnapshotFailed { snapshot, .. }
            | Self::SnapshotDeleted { snapshot, .. } => snapshot.to_string(),
            Self::StorageClassCreated { cluster, name, .. }
            | Self::StorageClassDeleted { cluster, name, .. } => {
                format!("{cluster}_{}", name.replace('.', "-"))
            }
            Self::NfsEnabled { project, .. } | Self::NfsDisabled { project, .. } => {
                project.to_string()
            }
            Self::MigrationPlanned { migration, .. }
            | Self::MigrationStarted { migration, .. }
            | Self::MigrationVolumeProgressed { migration, .. }
            | Self::MigrationRollbackRequested { migration, .. }
            | Self::MigrationFinished { migration, .. } => migration.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfs_events_are_about_the_project_and_round_trip() {
        let project = ProjectId::generate();
        let ev = StorageEvent::NfsEnabled {
            project,
            by: "operator".into(),
            reason: "ticket 42".into(),
            mount: "nfs".into(),
        };
        assert_eq!((ev.resource(), ev.event()), ("nfs", "enabled"));
        assert_eq!(ev.resource_id(), project.to_string());
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["event"], "nfs-enabled");
        assert_eq!(serde_json::from_value::<StorageEvent>(json).unwrap(), ev);
    }

    #[test]
    fn class_ids_are_one_subject_token() {
        let ev = StorageEvent::StorageClassDeleted {
            cluster: ClusterId::generate(),
            project: ProjectId::generate(),
            name: "fast.disks".into(),
        };
        assert!(!ev.resource_id().contains('.'));
    }
}
