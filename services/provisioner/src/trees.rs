//! The provisioner's store layout and typed reads over it.
//!
//! Trees (all values JSON, versioned by the store):
//! - `projects` `<project>` → [`Project`]; `users` `<user>` → [`User`];
//!   `members` `<project>/<user>` → [`Member`]; `apikeys` `<key>` → [`ApiKeyRecord`]
//! - `clusters` `<cluster>` → [`Cluster`]; `cluster_cas` `<cluster>` → [`ClusterCa`]
//! - `nodepools` `<cluster>/<pool>` → [`NodePool`]
//! - `nodes` `<pool>/<node>` → [`Node`]; `node_index` `<node>` → `<pool>/<node>`
//! - `remediations` `<cluster>/<remediation>` → [`Remediation`]; `remediation_index`
//!   `<remediation>` → its key; `remediation_findings` `<finding id>` → its key (one
//!   remediation per finding)
//! - `names` `project/<name>`, `user/<name>`, `cluster/<project>/<name>`, `pool/<cluster>/<name>`
//!   → id: uniqueness of names, written in the same commit as the resource.
//!
//! Invariant: only the provisioner opens this store (single writer of every kind above).

use accord_core::{
    DomainError,
    autoclusters::{Remediation, RemediationState},
    cluster::Cluster,
    ids::{ClusterId, Id, IdKind, NodeId, NodePoolId, ProjectId, RemediationId, UserId},
    node::Node,
    nodepool::NodePool,
    project::{ApiKeyRecord, Member, Project, User},
};
use accord_runtime::scope::{ClusterEntry, Directory, ProjectEntry};
use accord_store::{Store, StoreError, Table};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub const PROJECTS: Table<Project> = Table::new("projects");
pub const USERS: Table<User> = Table::new("users");
pub const MEMBERS: Table<Member> = Table::new("members");
pub const APIKEYS: Table<ApiKeyRecord> = Table::new("apikeys");
pub const CLUSTERS: Table<Cluster> = Table::new("clusters");
pub const CLUSTER_CAS: Table<ClusterCa> = Table::new("cluster_cas");
pub const NODEPOOLS: Table<NodePool> = Table::new("nodepools");
pub const NODES: Table<Node> = Table::new("nodes");
/// `<node>` → `<pool>/<node>` (the node's key in [`NODES`]).
pub const NODE_INDEX: Table<String> = Table::new("node_index");
pub const REMEDIATIONS: Table<Remediation> = Table::new("remediations");
/// `<remediation>` → `<cluster>/<remediation>` (its key in [`REMEDIATIONS`]).
pub const REMEDIATION_INDEX: Table<String> = Table::new("remediation_index");
/// `<finding id>` → `<cluster>/<remediation>`: a finding is remediated at most once.
pub const REMEDIATION_FINDINGS: Table<String> = Table::new("remediation_findings");
/// `<cluster>/<remediation>` → its state: which remediations are open and how many a cluster
/// has, without decoding them (written with every remediation by [`put_remediation`]).
pub const REMEDIATION_STATES: Table<RemediationState> = Table::new("remediation_states");
/// `<node>/<remediation>` → `<cluster>/<remediation>`: a node's remediations.
pub const NODE_REMEDIATIONS: Table<String> = Table::new("node_remediations");
/// Uniqueness keys (`project/<name>` …) → the id (as text) of the resource holding the name.
pub const NAMES: Table<String> = Table::new("names");

/// A cluster's certificate authority (kept by the provisioner, never returned in full).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterCa {
    /// CA certificate, PEM.
    pub cert_pem: String,
    /// CA private key, PEM (PKCS#8).
    pub key_pem: String,
}

pub fn member_key(project: ProjectId, user: UserId) -> String {
    format!("{project}/{user}")
}
pub fn pool_key(cluster: ClusterId, pool: NodePoolId) -> String {
    format!("{cluster}/{pool}")
}
pub fn node_key(pool: NodePoolId, node: NodeId) -> String {
    format!("{pool}/{node}")
}
pub fn remediation_key(cluster: ClusterId, id: RemediationId) -> String {
    format!("{cluster}/{id}")
}

/// Writes `rem` with its state and node index entries (every remediation write goes through
/// here, so the indexes never disagree with it).
pub fn put_remediation(
    ch: &mut crate::change::Change,
    rem: &Remediation,
    expect: accord_store::Expect,
) -> Result<(), DomainError> {
    let key = remediation_key(rem.spec.cluster, rem.metadata.id);
    ch.put(REMEDIATIONS, &key, rem, expect)?;
    ch.put(
        REMEDIATION_STATES,
        &key,
        &rem.status.state,
        accord_store::Expect::Any,
    )?;
    ch.put(
        NODE_REMEDIATIONS,
        &format!("{}/{}", rem.spec.node, rem.metadata.id),
        &key,
        accord_store::Expect::Any,
    )?;
    Ok(())
}

/// Deletes `rem` and every index entry of it.
pub fn delete_remediation(ch: &mut crate::change::Change, rem: &Remediation) {
    let key = remediation_key(rem.spec.cluster, rem.metadata.id);
    ch.delete(REMEDIATIONS, &key, accord_store::Expect::Any)
        .delete(REMEDIATION_STATES, &key, accord_store::Expect::Any)
        .delete(
            NODE_REMEDIATIONS,
            &format!("{}/{}", rem.spec.node, rem.metadata.id),
            accord_store::Expect::Any,
        )
        .delete(
            REMEDIATION_INDEX,
            &rem.metadata.id.to_string(),
            accord_store::Expect::Any,
        )
        .delete(
            REMEDIATION_FINDINGS,
            &rem.spec.finding_id,
            accord_store::Expect::Any,
        );
}
pub fn project_name_key(name: &str) -> String {
    format!("project/{name}")
}
pub fn user_name_key(name: &str) -> String {
    format!("user/{name}")
}
pub fn cluster_name_key(project: ProjectId, name: &str) -> String {
    format!("cluster/{project}/{name}")
}
pub fn pool_name_key(cluster: ClusterId, name: &str) -> String {
    format!("pool/{cluster}/{name}")
}

/// Store errors are never the caller's fault.
pub fn internal(e: StoreError) -> DomainError {
    e.into_domain()
}

/// Typed reads over the provisioner's store.
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

    pub fn get<T: DeserializeOwned>(
        &self,
        table: Table<T>,
        key: &str,
    ) -> Result<Option<T>, DomainError> {
        Ok(table.get(&self.store, key)?.map(|v| v.value))
    }

    pub fn list<T: DeserializeOwned>(
        &self,
        table: Table<T>,
        prefix: &str,
    ) -> Result<Vec<T>, DomainError> {
        Ok(table.values(&self.store, prefix)?)
    }

    fn name<K: IdKind>(&self, key: &str) -> Result<Option<Id<K>>, DomainError> {
        match self.get(NAMES, key)? {
            Some(id) => id.parse().map(Some).map_err(|e| {
                DomainError::internal(format!("names/{key} holds a malformed id: {e}"))
            }),
            None => Ok(None),
        }
    }

    pub fn name_taken(&self, key: &str) -> Result<bool, DomainError> {
        Ok(self.get(NAMES, key)?.is_some())
    }

    pub fn project(&self, id: ProjectId) -> Result<Project, DomainError> {
        self.get(PROJECTS, &id.to_string())?
            .ok_or_else(|| DomainError::not_found("project", id))
    }

    pub fn projects(&self) -> Result<Vec<Project>, DomainError> {
        self.list(PROJECTS, "")
    }

    pub fn user_by_name(&self, name: &str) -> Result<Option<User>, DomainError> {
        match self.name::<accord_core::ids::UserKind>(&user_name_key(name))? {
            Some(id) => self.get(USERS, &id.to_string()),
            None => Ok(None),
        }
    }

    pub fn member(&self, project: ProjectId, user: UserId) -> Result<Option<Member>, DomainError> {
        self.get(MEMBERS, &member_key(project, user))
    }

    pub fn members(&self, project: ProjectId) -> Result<Vec<Member>, DomainError> {
        self.list(MEMBERS, &format!("{project}/"))
    }

    pub fn api_key(
        &self,
        id: accord_core::ids::ApiKeyId,
    ) -> Result<Option<ApiKeyRecord>, DomainError> {
        self.get(APIKEYS, &id.to_string())
    }

    pub fn api_keys(&self, project: ProjectId) -> Result<Vec<ApiKeyRecord>, DomainError> {
        Ok(self
            .list::<ApiKeyRecord>(APIKEYS, "")?
            .into_iter()
            .filter(|k| k.project == Some(project))
            .collect())
    }

    pub fn cluster(&self, id: ClusterId) -> Result<Cluster, DomainError> {
        self.get(CLUSTERS, &id.to_string())?
            .ok_or_else(|| DomainError::not_found("cluster", id))
    }

    /// A cluster of `project` by id or name (the kit's scoping rule: any other cluster is
    /// `NOT_FOUND`, whether or not it exists).
    pub fn cluster_ref(&self, project: ProjectId, r: &str) -> Result<Cluster, DomainError> {
        let entry = accord_runtime::scope::cluster_in(self, project, r)?;
        self.cluster(entry.id)
    }

    pub fn clusters(&self, project: Option<ProjectId>) -> Result<Vec<Cluster>, DomainError> {
        Ok(self
            .list::<Cluster>(CLUSTERS, "")?
            .into_iter()
            .filter(|c| project.is_none_or(|p| c.metadata.project == p))
            .collect())
    }

    pub fn cluster_ca(&self, id: ClusterId) -> Result<ClusterCa, DomainError> {
        self.get(CLUSTER_CAS, &id.to_string())?
            .ok_or_else(|| DomainError::internal(format!("cluster {id} has no CA")))
    }

    pub fn pool(&self, cluster: ClusterId, id: NodePoolId) -> Result<NodePool, DomainError> {
        self.get(NODEPOOLS, &pool_key(cluster, id))?
            .ok_or_else(|| DomainError::not_found("node pool", id))
    }

    /// A pool of `cluster` by id or name.
    pub fn pool_ref(&self, cluster: ClusterId, r: &str) -> Result<NodePool, DomainError> {
        if r.is_empty() {
            return Err(DomainError::invalid("node_pool", "name or id is required"));
        }
        let id = match r.parse::<NodePoolId>() {
            Ok(id) => id,
            Err(_) => self
                .name(&pool_name_key(cluster, r))?
                .ok_or_else(|| DomainError::not_found("node pool", r))?,
        };
        self.pool(cluster, id)
    }

    pub fn pools(&self, cluster: ClusterId) -> Result<Vec<NodePool>, DomainError> {
        self.list(NODEPOOLS, &format!("{cluster}/"))
    }

    /// Whether a cluster still has node pools (reads at most one).
    pub fn has_pools(&self, cluster: ClusterId) -> Result<bool, DomainError> {
        Ok(!self
            .store
            .list_page::<serde_json::Value>(NODEPOOLS.name(), &format!("{cluster}/"), None, 1)
            .map_err(internal)?
            .is_empty())
    }

    pub fn all_pools(&self) -> Result<Vec<NodePool>, DomainError> {
        self.list(NODEPOOLS, "")
    }

    pub fn nodes(&self, pool: NodePoolId) -> Result<Vec<Node>, DomainError> {
        self.list(NODES, &format!("{pool}/"))
    }

    pub fn node(&self, id: NodeId) -> Result<Option<Node>, DomainError> {
        match self.get(NODE_INDEX, &id.to_string())? {
            Some(key) => self.get(NODES, &key),
            None => Ok(None),
        }
    }

    /// A node of `cluster` by id or name.
    pub fn node_ref(&self, cluster: ClusterId, r: &str) -> Result<Node, DomainError> {
        let found = match r.parse::<NodeId>() {
            Ok(id) => self.node(id)?,
            Err(_) => {
                let mut hit = None;
                for pool in self.pools(cluster)? {
                    if let Some(n) = self
                        .nodes(pool.metadata.id)?
                        .into_iter()
                        .find(|n| n.metadata.name == r)
                    {
                        hit = Some(n);
                        break;
                    }
                }
                hit
            }
        };
        match found {
            Some(n) if n.spec.cluster == cluster => Ok(n),
            _ => Err(DomainError::not_found("node", r)),
        }
    }

    /// A cluster's remediations, oldest first.
    pub fn remediations(&self, cluster: ClusterId) -> Result<Vec<Remediation>, DomainError> {
        self.list(REMEDIATIONS, &format!("{cluster}/"))
    }

    /// A cluster's remediations that are not finished, oldest first (read through the state
    /// index: finished ones are not decoded).
    pub fn open_remediations(&self, cluster: ClusterId) -> Result<Vec<Remediation>, DomainError> {
        let mut out = Vec::new();
        for (key, state) in REMEDIATION_STATES.list(&self.store, &format!("{cluster}/"))? {
            if !state.value.is_final()
                && let Some(rem) = self.get(REMEDIATIONS, &key)?
            {
                out.push(rem);
            }
        }
        Ok(out)
    }

    /// A node's remediations, oldest first.
    pub fn node_remediations(&self, node: NodeId) -> Result<Vec<Remediation>, DomainError> {
        let mut out = Vec::new();
        for key in self.list(NODE_REMEDIATIONS, &format!("{node}/"))? {
            if let Some(rem) = self.get(REMEDIATIONS, &key)? {
                out.push(rem);
            }
        }
        Ok(out)
    }

    /// The states of a cluster's remediations by key, oldest first.
    pub fn remediation_states(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<(String, RemediationState)>, DomainError> {
        Ok(REMEDIATION_STATES
            .list(&self.store, &format!("{cluster}/"))?
            .into_iter()
            .map(|(k, v)| (k, v.value))
            .collect())
    }

    /// A remediation by id.
    pub fn remediation(&self, id: RemediationId) -> Result<Option<Remediation>, DomainError> {
        match self.get(REMEDIATION_INDEX, &id.to_string())? {
            Some(key) => self.get(REMEDIATIONS, &key),
            None => Ok(None),
        }
    }

    /// The remediation of a finding, if one was recorded.
    pub fn remediation_of_finding(
        &self,
        finding_id: &str,
    ) -> Result<Option<Remediation>, DomainError> {
        match self.get(REMEDIATION_FINDINGS, finding_id)? {
            Some(key) => self.get(REMEDIATIONS, &key),
            None => Ok(None),
        }
    }

    /// GPUs requested by every pool of a project (count × GPUs per instance), skipping `except`.
    pub fn gpus_requested(
        &self,
        project: ProjectId,
        catalog: &accord_core::infra::Catalog,
        except: Option<NodePoolId>,
    ) -> Result<u32, DomainError> {
        let mut total = 0u32;
        for c in self.clusters(Some(project))? {
            for p in self.pools(c.metadata.id)? {
                if Some(p.metadata.id) == except {
                    continue;
                }
                let gpus = catalog
                    .instance_type(&p.spec.instance_type)
                    .map_or(0, |t| t.gpu_count);
                total = total.saturating_add(p.spec.count.saturating_mul(gpus));
            }
        }
        Ok(total)
    }
}

impl Directory for Reader {
    fn project(&self, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError> {
        Ok(self.get(PROJECTS, &id.to_string())?.map(|p| ProjectEntry {
            id: p.metadata.id,
            name: p.metadata.name,
        }))
    }

    fn project_named(&self, name: &str) -> Result<Option<ProjectEntry>, DomainError> {
        match self.name::<accord_core::ids::ProjectKind>(&project_name_key(name))? {
            Some(id) => Directory::project(self, id),
            None => Ok(None),
        }
    }

    fn cluster(&self, id: ClusterId) -> Result<Option<ClusterEntry>, DomainError> {
        Ok(self.get(CLUSTERS, &id.to_string())?.map(|c| ClusterEntry {
            id: c.metadata.id,
            name: c.metadata.name,
            project: c.metadata.project,
        }))
    }

    fn cluster_named(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<ClusterEntry>, DomainError> {
        match self.name::<accord_core::ids::ClusterKind>(&cluster_name_key(project, name))? {
            Some(id) => Directory::cluster(self, id),
            None => Ok(None),
        }
    }
}
