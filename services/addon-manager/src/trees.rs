//! The addon-manager's store layout and typed reads over it.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`]: the read model of the provisioner's clusters and
//!   pools (written only from the provisioner's events);
//! - `addons` `<cluster>/<addon>` → [`AddonInstallation`];
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariant: only the addon-manager opens this store; it is the single writer of add-on
//! installations.

use accord_core::{
    DomainError,
    addon::AddonInstallation,
    ids::{ClusterId, ProjectId},
};
use accord_runtime::scope::{ClusterEntry, Directory, ProjectEntry};
use accord_store::{Store, Table, Versioned};

use crate::view::ClusterView;

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const ADDONS: Table<AddonInstallation> = Table::new("addons");

/// Key of an installation.
pub fn addon_key(cluster: ClusterId, addon: &str) -> String {
    format!("{cluster}/{addon}")
}

/// Typed reads.
#[derive(Clone)]
pub struct Reader {
    store: Store,
}

impl Reader {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn cluster(&self, id: ClusterId) -> Result<Option<Versioned<ClusterView>>, DomainError> {
        Ok(CLUSTERS.get(&self.store, &id.to_string())?)
    }

    pub fn clusters(&self) -> Result<Vec<ClusterView>, DomainError> {
        Ok(CLUSTERS.values(&self.store, "")?)
    }

    pub fn addon(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS.get(&self.store, &addon_key(cluster, name))?)
    }

    /// A cluster's installations, by name.
    pub fn addons_of(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS
            .list(&self.store, &format!("{cluster}/"))?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Every installation of one add-on, across clusters.
    pub fn installations_of(
        &self,
        addon: &str,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(ADDONS
            .list(&self.store, "")?
            .into_iter()
            .filter(|(_, v)| v.value.name == addon)
            .map(|(_, v)| v)
            .collect())
    }
}

impl Directory for Reader {
    fn project(&self, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError> {
        accord_runtime::directory::project(&self.store, id)
    }

    fn project_named(&self, name: &str) -> Result<Option<ProjectEntry>, DomainError> {
        accord_runtime::directory::project_named(&self.store, name)
    }

    fn cluster(&self, id: ClusterId) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(Reader::cluster(self, id)?.map(|v| v.value.entry()))
    }

    fn cluster_named(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(self
            .clusters()?
            .into_iter()
            .find(|c| c.project == project && c.name == name)
            .map(|c| c.entry()))
    }
}
