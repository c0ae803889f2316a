//! The read model of clusters (name, project) and their pools' names, from the provisioner's
//! `cluster.*` and `nodepool.*` events. A deleted cluster's view goes, and its findings with it.
//!
//! Invariant: applying the same event twice leaves the same view (redeliveries are harmless).

use accord_core::{DomainError, cluster::ClusterEvent, ids::ClusterId, nodepool::NodePoolEvent};
use accord_store::{Expect, Versioned};

use super::Change;
use crate::{
    trees::{CLUSTERS, FINDINGS},
    view::ClusterView,
};

/// The provisioner's cluster and pool events, as the telemetry service takes them.
#[derive(Debug, Clone)]
pub enum Input {
    Cluster(ClusterEvent),
    NodePool(NodePoolEvent),
}

/// Which cluster's view an input may change, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Its name or its pools.
    View(ClusterId),
    /// It is gone: its view, its findings and its nodes' state go too.
    Deleted(ClusterId),
}

impl Target {
    /// The cluster.
    pub fn cluster(self) -> ClusterId {
        match self {
            Target::View(id) | Target::Deleted(id) => id,
        }
    }
}

/// What `input` is about (`None`: nothing the view keeps).
pub fn target(input: &Input) -> Option<Target> {
    match input {
        Input::Cluster(ev) => match ev {
            ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster } => {
                Some(Target::View(cluster.metadata.id))
            }
            ClusterEvent::Deleted { cluster, .. } => Some(Target::Deleted(*cluster)),
            _ => None,
        },
        Input::NodePool(ev) => match ev {
            NodePoolEvent::Created { pool, .. } | NodePoolEvent::Updated { pool } => {
                Some(Target::View(pool.spec.cluster))
            }
            NodePoolEvent::Deleted { cluster, .. } => Some(Target::View(*cluster)),
            _ => None,
        },
    }
}

/// The change `input` makes to the stored view; `finding_keys` are the keys of the cluster's
/// stored findings (deleted with a deleted cluster). `None`: nothing to record.
pub fn apply(
    stored: Option<&Versioned<ClusterView>>,
    finding_keys: &[String],
    input: &Input,
) -> Result<Option<Change>, DomainError> {
    let expect = stored.map_or(Expect::Absent, |v| Expect::Version(v.version));
    let current = stored.map(|v| &v.value);
    let next = match input {
        Input::Cluster(ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster }) => {
            let mut view = current.cloned().unwrap_or_else(|| ClusterView {
                id: cluster.metadata.id,
                name: String::new(),
                project: cluster.metadata.project,
                pools: Default::default(),
            });
            view.name.clone_from(&cluster.metadata.name);
            view
        }
        Input::Cluster(ClusterEvent::Deleted {
            cluster, project, ..
        }) => {
            if stored.is_none() && finding_keys.is_empty() {
                return Ok(None);
            }
            let mut ch = Change::in_project(*project);
            ch.delete(CLUSTERS, &cluster.to_string(), expect);
            for key in finding_keys {
                ch.delete(FINDINGS, key, Expect::Any);
            }
            return Ok(Some(ch));
        }
        Input::NodePool(NodePoolEvent::Created { pool, .. } | NodePoolEvent::Updated { pool }) => {
            let Some(mut view) = current.cloned() else {
                return Ok(None);
            };
            view.pools
                .insert(pool.metadata.id, pool.metadata.name.clone());
            view
        }
        Input::NodePool(NodePoolEvent::Deleted { pool, .. }) => {
            let Some(mut view) = current.cloned() else {
                return Ok(None);
            };
            view.pools.remove(pool);
            view
        }
        Input::Cluster(_) | Input::NodePool(_) => return Ok(None),
    };
    if current == Some(&next) {
        return Ok(None);
    }
    let mut ch = Change::in_project(next.project);
    ch.put(CLUSTERS, &next.id.to_string(), &next, expect)?;
    Ok(Some(ch))
}
