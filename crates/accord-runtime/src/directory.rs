//! The read model every service that does not own projects and clusters keeps of them, so the
//! [`scope`](crate::scope) rule answers the same everywhere:
//!
//! - the project directory: project ids and names, fed by the provisioner's `project.created`
//!   events ([`on_project_event`]); tables `directory_projects` `<project>` → [`ProjectEntry`]
//!   and `directory_project_names` `<name>` → project id;
//! - [`ReadModel`]: the service's own table of cluster views (whatever each service needs to
//!   know of a cluster, as long as it knows the cluster's [`ClusterEntry`]) plus that
//!   directory, implementing [`Directory`].

use accord_core::{
    DomainError,
    events::DomainEvent,
    ids::{ClusterId, ProjectId},
    project::ProjectEvent,
};
use accord_store::{Expect, Store, Table, Versioned};
use serde::de::DeserializeOwned;

use crate::{
    change::Change,
    scope::{ClusterEntry, Directory, ProjectEntry},
};

/// Projects by id.
pub const PROJECTS: Table<ProjectEntry> = Table::new("directory_projects");
/// Project ids by name.
pub const PROJECT_NAMES: Table<ProjectId> = Table::new("directory_project_names");

/// The writes a project event implies for the directory (none for other project events).
pub fn on_project_event<E: DomainEvent>(ev: &ProjectEvent) -> Result<Change<E>, DomainError> {
    // Only writes (no events): nothing is published from this change.
    let mut ch = Change::platform();
    if let ProjectEvent::Created { project, .. } = ev {
        let entry = ProjectEntry {
            id: project.metadata.id,
            name: project.metadata.name.clone(),
        };
        let key = entry.id.to_string();
        ch.put(PROJECTS, &key, &entry, Expect::Any)?.put(
            PROJECT_NAMES,
            &entry.name,
            &entry.id,
            Expect::Any,
        )?;
    }
    Ok(ch)
}

/// A project by id.
pub fn project(store: &Store, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError> {
    Ok(PROJECTS.get(store, &id.to_string())?.map(|v| v.value))
}

/// A project by name.
pub fn project_named(store: &Store, name: &str) -> Result<Option<ProjectEntry>, DomainError> {
    match PROJECT_NAMES.get(store, name)? {
        Some(id) => project(store, id.value),
        None => Ok(None),
    }
}

/// A service's view of a cluster: whatever it keeps, with the cluster's identity.
pub trait ClusterRecord: DeserializeOwned {
    fn entry(&self) -> ClusterEntry;
}

/// A service's cluster views and the project directory, in its own store.
#[derive(Clone)]
pub struct ReadModel<V> {
    store: Store,
    clusters: Table<V>,
}

impl<V: ClusterRecord> ReadModel<V> {
    /// The read model in `store`, cluster views in `clusters`.
    pub fn new(store: Store, clusters: Table<V>) -> Self {
        Self { store, clusters }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A cluster's view with its version.
    pub fn cluster(&self, id: ClusterId) -> Result<Option<Versioned<V>>, DomainError> {
        Ok(self.clusters.get(&self.store, &id.to_string())?)
    }

    /// Every cluster view.
    pub fn clusters(&self) -> Result<Vec<V>, DomainError> {
        Ok(self.clusters.values(&self.store, "")?)
    }

    /// The view of the cluster a request names (`project`: the request's project field, empty
    /// for the key's own; `cluster`: an id or a name), once `rule` allows the caller there. The
    /// one scoping rule ([`crate::scope`]): another project's cluster answers `NOT_FOUND` like
    /// a missing one.
    pub fn authorized_cluster(
        &self,
        principal: &accord_core::iam::Principal,
        rule: &accord_core::responsibility::RpcRule,
        project: &str,
        cluster: &str,
    ) -> Result<V, DomainError> {
        let named = crate::scope::project_filter(self, principal, project)?;
        let entry = crate::scope::cluster(self, principal, named, cluster)?;
        rule.authorize_in_project(principal, entry.project)?;
        ReadModel::cluster(self, entry.id)?
            .map(|v| v.value)
            .ok_or_else(|| {
                DomainError::not_found("cluster", accord_core::error::echo(cluster.trim()))
            })
    }

    /// The project a request names (see [`crate::scope::project`]), once `rule` allows the
    /// caller there.
    pub fn authorized_project(
        &self,
        principal: &accord_core::iam::Principal,
        rule: &accord_core::responsibility::RpcRule,
        project: &str,
    ) -> Result<ProjectId, DomainError> {
        let id = crate::scope::project(self, principal, project)?;
        rule.authorize_in_project(principal, id)?;
        Ok(id)
    }
}

impl<V: ClusterRecord> Directory for ReadModel<V> {
    fn project(&self, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError> {
        project(&self.store, id)
    }

    fn project_named(&self, name: &str) -> Result<Option<ProjectEntry>, DomainError> {
        project_named(&self.store, name)
    }

    fn cluster(&self, id: ClusterId) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(ReadModel::cluster(self, id)?.map(|v| v.value.entry()))
    }

    fn cluster_named(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(self
            .clusters()?
            .iter()
            .map(ClusterRecord::entry)
            .find(|c| c.project == project && c.name == name))
    }
}
