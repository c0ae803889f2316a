//! The addon-manager's store layout and typed reads over it.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`]: the read model of the provisioner's clusters and
//!   pools (written only from the provisioner's events);
//! - `addons` `<cluster>/<addon>` → [`AddonInstallation`].
//!
//! Invariant: only the addon-manager opens this store; it is the single writer of add-on
//! installations.

use accord_core::{
    DomainError,
    addon::AddonInstallation,
    iam::Principal,
    ids::{ClusterId, ProjectId},
};
use accord_store::{Store, StoreError, Versioned};

use crate::view::ClusterView;

pub const CLUSTERS: &str = "clusters";
pub const ADDONS: &str = "addons";

/// Key of an installation.
pub fn addon_key(cluster: ClusterId, addon: &str) -> String {
    format!("{cluster}/{addon}")
}

/// Store errors are never the caller's fault (a version conflict is a retryable race).
pub fn internal(e: StoreError) -> DomainError {
    e.into_domain()
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
        self.store.get(CLUSTERS, &id.to_string()).map_err(internal)
    }

    pub fn clusters(&self) -> Result<Vec<ClusterView>, DomainError> {
        Ok(self
            .store
            .list::<ClusterView>(CLUSTERS, "")
            .map_err(internal)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect())
    }

    pub fn addon(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<AddonInstallation>>, DomainError> {
        self.store
            .get(ADDONS, &addon_key(cluster, name))
            .map_err(internal)
    }

    /// A cluster's installations, by name.
    pub fn addons_of(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(self
            .store
            .list::<AddonInstallation>(ADDONS, &format!("{cluster}/"))
            .map_err(internal)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Every installation of one add-on, across clusters.
    pub fn installations_of(
        &self,
        addon: &str,
    ) -> Result<Vec<Versioned<AddonInstallation>>, DomainError> {
        Ok(self
            .store
            .list::<AddonInstallation>(ADDONS, "")
            .map_err(internal)?
            .into_iter()
            .filter(|(_, v)| v.value.name == addon)
            .map(|(_, v)| v)
            .collect())
    }

    /// Resolves `cluster` (an id, or a name inside the caller's project) for `principal`.
    /// Operators must use ids (names are only unique inside a project). Not-found hides
    /// other projects' clusters.
    pub fn resolve_cluster(
        &self,
        principal: &Principal,
        cluster: &str,
    ) -> Result<ClusterView, DomainError> {
        let not_found = || DomainError::NotFound {
            kind: "cluster",
            id: cluster.to_owned(),
        };
        if cluster.is_empty() {
            return Err(DomainError::InvalidArgument(vec![
                accord_core::FieldViolation::new("cluster", "is required (an id or a name)"),
            ]));
        }
        if let Ok(id) = cluster.parse::<ClusterId>() {
            return self.cluster(id)?.map(|v| v.value).ok_or_else(not_found);
        }
        let project: ProjectId = match principal {
            Principal::Customer { project, .. } => *project,
            Principal::ProviderOperator { .. } => {
                return Err(DomainError::InvalidArgument(vec![
                    accord_core::FieldViolation::new(
                        "cluster",
                        "provider operators name clusters by id (names are unique only inside a project)",
                    ),
                ]));
            }
        };
        self.clusters()?
            .into_iter()
            .find(|c| c.project == project && c.name == cluster)
            .ok_or_else(not_found)
    }
}
