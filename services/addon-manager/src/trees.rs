//! The addon-manager's store layout and typed reads over it.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`]: the read model of the provisioner's clusters and
//!   pools (written only from the provisioner's events);
//! - `addons` `<cluster>/<addon>` → [`AddonInstallation`];
//! - `pending_installs` `<cluster>/<addon>` → [`PendingInstall`]: an automatic install that
//!   failed and is being retried (`crate::handlers::auto_install`); never beside an
//!   installation of the same add-on (the commit that installs it deletes the record);
//! - `nfs` `<project>` → [`NfsGate`]: the provider's NFS gate of a project, from the storage
//!   service's `nfs.*` events (written only by `crate::handlers::nfs_gate`; absent: disabled);
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariant: only the addon-manager opens this store; it is the single writer of add-on
//! installations.

use accord_core::{
    DomainError,
    addon::{AddonInstallation, PendingInstall},
    ids::{ClusterId, ProjectId},
};
use accord_runtime::directory::ReadModel;
use accord_store::{Store, Table, Versioned};

use crate::{handlers::nfs_gate::NfsGate, view::ClusterView};

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const ADDONS: Table<AddonInstallation> = Table::new("addons");
pub const PENDING_INSTALLS: Table<PendingInstall> = Table::new("pending_installs");
pub const NFS: Table<NfsGate> = Table::new("nfs");

/// Key of an installation.
pub fn addon_key(cluster: ClusterId, addon: &str) -> String {
    format!("{cluster}/{addon}")
}

/// Typed reads: the kit's read model of clusters and projects; installation reads in
/// [`Installations`].
pub type Reader = ReadModel<ClusterView>;

/// The addon-manager's read model in `store`.
pub fn reader(store: Store) -> Reader {
    ReadModel::new(store, CLUSTERS)
}

/// Installation reads over the read model's store.
pub trait Installations {
    fn addon(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<AddonInstallation>>, DomainError>;
    /// A cluster's installations, by name.
    fn addons_of(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError>;
    /// Every installation of one add-on, across clusters.
    fn installations_of(
        &self,
        addon: &str,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError>;
    /// Every installation in `project`, across its clusters.
    fn installations_in(
        &self,
        project: ProjectId,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError>;
    /// The pending automatic install of `name` on `cluster`.
    fn pending(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<PendingInstall>>, DomainError>;
    /// A cluster's pending automatic installs, by name.
    fn pending_of(&self, cluster: ClusterId)
    -> Result<Vec<Versioned<PendingInstall>>, DomainError>;
    /// Every pending automatic install, across clusters.
    fn all_pending(&self) -> Result<Vec<PendingInstall>, DomainError>;
    /// The project's NFS gate as last announced (absent: never enabled).
    fn nfs_gate(&self, project: ProjectId) -> Result<Option<Versioned<NfsGate>>, DomainError>;
}

impl Installations for Reader {
    fn addon(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS.get(self.store(), &addon_key(cluster, name))?)
    }

    fn addons_of(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS
            .list(self.store(), &format!("{cluster}/"))?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn installations_of(
        &self,
        addon: &str,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS
            .list(self.store(), "")?
            .into_iter()
            .filter(|(_, v)| v.value.name == addon)
            .map(|(_, v)| v)
            .collect())
    }

    fn installations_in(
        &self,
        project: ProjectId,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS
            .list(self.store(), "")?
            .into_iter()
            .filter(|(_, v)| v.value.project == project)
            .map(|(_, v)| v)
            .collect())
    }

    fn pending(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<PendingInstall>>, DomainError> {
        Ok(PENDING_INSTALLS.get(self.store(), &addon_key(cluster, name))?)
    }

    fn pending_of(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<PendingInstall>>, DomainError> {
        Ok(PENDING_INSTALLS
            .list(self.store(), &format!("{cluster}/"))?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn all_pending(&self) -> Result<Vec<PendingInstall>, DomainError> {
        Ok(PENDING_INSTALLS.values(self.store(), "")?)
    }

    fn nfs_gate(&self, project: ProjectId) -> Result<Option<Versioned<NfsGate>>, DomainError> {
        Ok(NFS.get(self.store(), &project.to_string())?)
    }
}
