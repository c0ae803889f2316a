//! storage-csi's store layout and typed reads.
//!
//! Trees (values JSON, versioned by the store); keys start with the project so a project's
//! usage and a cluster's resources are prefix scans:
//! - `clusters` `<cluster>` → [`ClusterView`] (read model from events);
//! - `volumes` `<project>/<cluster>/<name>` → [`StoredVolume`];
//! - `snapshots` `<project>/<cluster>/<name>` → [`StoredSnapshot`];
//! - `classes` `<project>/<cluster>/<name>` → [`StoredClass`];
//! - `nfs` `<project>` → [`NfsGate`] (absent: disabled, never changed);
//! - `migrations` `<project>/<migration>` → [`StoredMigration`];
//! - `migration_volumes` `<migration>/<cluster>/<name>` → [`MigrationVolume`]: one volume's
//!   migration state, written after every step;
//! - `busy` `volume/<volume key>` | `snapshot/<snapshot key>` → `()`: the records with a
//!   back-end operation outstanding, written in the same commit as the record
//!   ([`crate::handlers::put_volume`] …), so the reconciler visits only those;
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariants: only storage-csi opens this store; it is the single writer of volumes, snapshots,
//! StorageClasses, NFS gates and migrations; a volume or snapshot has a `busy` entry exactly when
//! it has an operation outstanding.

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    ids::{ClusterId, MigrationId, ProjectId, SnapshotId, VolumeId},
};
use accord_runtime::directory::ReadModel;
use accord_storage::{
    NfsGate, Snapshot, StorageClass, Volume,
    migration::{Estimate, MigrationPlan, MigrationState},
};
use accord_store::{Store, Table, Versioned};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::view::ClusterView;

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const VOLUMES: Table<StoredVolume> = Table::new("volumes");
pub const SNAPSHOTS: Table<StoredSnapshot> = Table::new("snapshots");
pub const CLASSES: Table<StoredClass> = Table::new("classes");
pub const NFS: Table<NfsGate> = Table::new("nfs");
pub const MIGRATIONS: Table<StoredMigration> = Table::new("migrations");
pub const MIGRATION_VOLUMES: Table<MigrationVolume> = Table::new("migration_volumes");
pub const BUSY: Table<()> = Table::new("busy");

/// A volume: the engine's record plus who it belongs to and its back-end name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVolume {
    pub id: VolumeId,
    pub cluster: ClusterId,
    pub project: ProjectId,
    /// The engine's record (its `project` is the project id, its `region` the cluster's).
    pub volume: Volume,
    /// The back end's name for its data: the id, or the NFS copy after a migration cut over.
    pub backend: String,
    /// Grows with every operation started, so each has its own back-end key.
    pub op_seq: u64,
    /// The snapshot it is restored from (its back-end name).
    #[serde(default)]
    pub source_snapshot_id: Option<SnapshotId>,
    /// The migration moving it, while one runs (expand and delete wait for it).
    #[serde(default)]
    pub migration: Option<MigrationId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

impl StoredVolume {
    /// The back-end key of the operation in flight.
    pub fn op_key(&self) -> String {
        format!("volume/{}/{}", self.id, self.op_seq)
    }
}

/// A snapshot with its owner and back-end names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSnapshot {
    pub id: SnapshotId,
    pub cluster: ClusterId,
    pub project: ProjectId,
    pub snapshot: Snapshot,
    /// The back-end name of the volume it was taken of.
    pub source_backend: String,
    /// Being deleted.
    #[serde(default)]
    pub deleting: bool,
    /// Deletions asked so far (each is its own back-end operation).
    #[serde(default)]
    pub delete_attempts: u32,
    /// When the current deletion was asked (the back end's clock).
    #[serde(default)]
    pub delete_started_at_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// A customer's StorageClass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClass {
    pub cluster: ClusterId,
    pub project: ProjectId,
    pub class: StorageClass,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// Where a migration is as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationPhase {
    /// Planned, not started.
    Planned,
    /// Running batch after batch.
    Running,
    /// A rollback was asked: volumes not cut over are being rolled back.
    RollingBack,
    /// Every volume reached an end state.
    Finished,
}

impl MigrationPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Running => "running",
            Self::RollingBack => "rolling-back",
            Self::Finished => "finished",
        }
    }
}

/// A planned volume's identity (the plan names volumes `<cluster name>/<volume name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRef {
    pub volume: VolumeId,
    pub cluster: ClusterId,
    /// The volume's name in its cluster.
    pub name: String,
    /// The volume's back-end name when planned (the copy's source).
    pub source: String,
}

/// A migration plan and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMigration {
    pub id: MigrationId,
    pub project: ProjectId,
    pub plan: MigrationPlan,
    /// Planned name → the volume.
    pub refs: BTreeMap<String, PlannedRef>,
    pub estimate: Estimate,
    pub phase: MigrationPhase,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// One volume's migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationVolume {
    pub state: MigrationState,
    /// The back end's reason for the last failed step, if any.
    #[serde(default)]
    pub failure: Option<String>,
    /// Failed attempts at the current release or discard (each retry is a new back-end key).
    #[serde(default)]
    pub retries: u32,
}

/// Key of a resource of a cluster.
pub fn key(project: ProjectId, cluster: ClusterId, name: &str) -> String {
    format!("{project}/{cluster}/{name}")
}

/// Key of a migration.
pub fn migration_key(project: ProjectId, id: MigrationId) -> String {
    format!("{project}/{id}")
}

/// Key of a migration's volume (`planned` is `<cluster name>/<volume name>`).
pub fn migration_volume_key(id: MigrationId, planned: &str) -> String {
    format!("{id}/{planned}")
}

/// Typed reads: the kit's read model of clusters and projects.
pub type Reader = ReadModel<ClusterView>;

/// storage-csi's read model in `store`.
pub fn reader(store: Store) -> Reader {
    ReadModel::new(store, CLUSTERS)
}

/// Reads of storage-csi's own records over the read model's store.
pub trait Records {
    fn volume(
        &self,
        project: ProjectId,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredVolume>>, DomainError>;
    /// A cluster's volumes, by name.
    fn cluster_volumes(
        &self,
        project: ProjectId,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<StoredVolume>>, DomainError>;
    /// A project's volumes.
    fn project_volumes(&self, project: ProjectId) -> Result<Vec<StoredVolume>, DomainError>;
    /// Every volume (the reconciler).
    fn all_volumes(&self) -> Result<Vec<(String, Versioned<StoredVolume>)>, DomainError>;
    fn snapshot(
        &self,
        project: ProjectId,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredSnapshot>>, DomainError>;
    fn cluster_snapshots(
        &self,
        project: ProjectId,
        cluster: ClusterId,
    ) -> Result<Vec<StoredSnapshot>, DomainError>;
    fn all_snapshots(&self) -> Result<Vec<(String, Versioned<StoredSnapshot>)>, DomainError>;
    fn class(
        &self,
        project: ProjectId,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredClass>>, DomainError>;
    fn cluster_classes(
        &self,
        project: ProjectId,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<StoredClass>>, DomainError>;
    fn project_classes(&self, project: ProjectId) -> Result<Vec<StoredClass>, DomainError>;
    /// The project's NFS gate (disabled when never changed).
    fn nfs(&self, project: ProjectId) -> Result<Versioned<NfsGate>, DomainError>;
    fn migration(
        &self,
        project: ProjectId,
        id: MigrationId,
    ) -> Result<Option<Versioned<StoredMigration>>, DomainError>;
    fn project_migrations(&self, project: ProjectId) -> Result<Vec<StoredMigration>, DomainError>;
    fn all_migrations(&self) -> Result<Vec<StoredMigration>, DomainError>;
    /// A migration's volume states by planned name.
    fn migration_volumes(
        &self,
        id: MigrationId,
    ) -> Result<BTreeMap<String, Versioned<MigrationVolume>>, DomainError>;
}

impl Records for Reader {
    fn volume(
        &self,
        project: ProjectId,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredVolume>>, DomainError> {
        Ok(VOLUMES.get(self.store(), &key(project, cluster, name))?)
    }

    fn cluster_volumes(
        &self,
        project: ProjectId,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<StoredVolume>>, DomainError> {
        let prefix = format!("{project}/{cluster}/");
        Ok(VOLUMES
            .list(self.store(), &prefix)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn project_volumes(&self, project: ProjectId) -> Result<Vec<StoredVolume>, DomainError> {
        Ok(VOLUMES.values(self.store(), &format!("{project}/"))?)
    }

    fn all_volumes(&self) -> Result<Vec<(String, Versioned<StoredVolume>)>, DomainError> {
        Ok(VOLUMES.list(self.store(), "")?)
    }

    fn snapshot(
        &self,
        project: ProjectId,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredSnapshot>>, DomainError> {
        Ok(SNAPSHOTS.get(self.store(), &key(project, cluster, name))?)
    }

    fn cluster_snapshots(
        &self,
        project: ProjectId,
        cluster: ClusterId,
    ) -> Result<Vec<StoredSnapshot>, DomainError> {
        Ok(SNAPSHOTS.values(self.store(), &format!("{project}/{cluster}/"))?)
    }

    fn all_snapshots(&self) -> Result<Vec<(String, Versioned<StoredSnapshot>)>, DomainError> {
        Ok(SNAPSHOTS.list(self.store(), "")?)
    }

    fn class(
        &self,
        project: ProjectId,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredClass>>, DomainError> {
        Ok(CLASSES.get(self.store(), &key(project, cluster, name))?)
    }

    fn cluster_classes(
        &self,
        project: ProjectId,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<StoredClass>>, DomainError> {
        let prefix = format!("{project}/{cluster}/");
        Ok(CLASSES
            .list(self.store(), &prefix)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn project_classes(&self, project: ProjectId) -> Result<Vec<StoredClass>, DomainError> {
        Ok(CLASSES.values(self.store(), &format!("{project}/"))?)
    }

    fn nfs(&self, project: ProjectId) -> Result<Versioned<NfsGate>, DomainError> {
        Ok(NFS
            .get(self.store(), &project.to_string())?
            .unwrap_or_else(|| Versioned {
                version: 0,
                value: NfsGate::new(project.to_string()),
            }))
    }

    fn migration(
        &self,
        project: ProjectId,
        id: MigrationId,
    ) -> Result<Option<Versioned<StoredMigration>>, DomainError> {
        Ok(MIGRATIONS.get(self.store(), &migration_key(project, id))?)
    }

    fn project_migrations(&self, project: ProjectId) -> Result<Vec<StoredMigration>, DomainError> {
        Ok(MIGRATIONS.values(self.store(), &format!("{project}/"))?)
    }

    fn all_migrations(&self) -> Result<Vec<StoredMigration>, DomainError> {
        Ok(MIGRATIONS.values(self.store(), "")?)
    }

    fn migration_volumes(
        &self,
        id: MigrationId,
    ) -> Result<BTreeMap<String, Versioned<MigrationVolume>>, DomainError> {
        let prefix = format!("{id}/");
        Ok(MIGRATION_VOLUMES
            .list(self.store(), &prefix)?
            .into_iter()
            .map(|(k, v)| (k.strip_prefix(&prefix).unwrap_or(&k).to_owned(), v))
            .collect())
    }
}
