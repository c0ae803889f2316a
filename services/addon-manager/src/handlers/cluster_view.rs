//! The read model of clusters and pools, updated from the provisioner's events, and what each
//! update asks of the add-ons.
//!
//! Invariant: applying the same event twice leaves the same view (redeliveries are harmless).

use accord_core::{cluster::ClusterEvent, ids::ClusterId, nodepool::NodePoolEvent};
use accord_store::{Expect, Versioned};

use super::{Change, nfs_gate::GateChange};
use crate::{
    trees::CLUSTERS,
    view::{ClusterView, PoolView},
};

/// An event the addon-manager acts on: the provisioner's clusters and pools, and the storage
/// service's NFS gate.
#[derive(Debug, Clone)]
pub enum Input {
    Cluster(ClusterEvent),
    NodePool(NodePoolEvent),
    /// `nfs.enabled` / `nfs.disabled` ([`super::nfs_gate`]).
    NfsGate(GateChange),
    /// Another event of a consumed resource that nothing here acts on.
    Ignored,
}

impl Input {
    /// The cluster the event is about.
    pub fn cluster(&self) -> Option<ClusterId> {
        match self {
            Input::Cluster(
                ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster },
            ) => Some(cluster.metadata.id),
            Input::Cluster(
                ClusterEvent::Upgraded { cluster, .. } | ClusterEvent::Deleted { cluster, .. },
            ) => Some(*cluster),
            Input::Cluster(_) => None,
            Input::NodePool(
                NodePoolEvent::Created { pool, .. } | NodePoolEvent::Updated { pool },
            ) => Some(pool.spec.cluster),
            Input::NodePool(
                NodePoolEvent::Scaled { cluster, .. } | NodePoolEvent::Deleted { cluster, .. },
            ) => Some(*cluster),
            Input::NodePool(_) | Input::NfsGate(_) | Input::Ignored => None,
        }
    }
}

/// What the add-ons must do after a view update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effect {
    /// A new cluster: install what it opted into.
    pub install_opted_in: bool,
    /// The cluster has an InfiniBand pool now: the Network Operator is required.
    pub needs_infiniband: bool,
    /// Rendering inputs changed: refresh every installation's manifests.
    pub rerender: bool,
    /// The cluster is gone: remove every installation.
    pub deleted: bool,
}

/// Applies `input` to the stored view. `None`: nothing to do (an event this service ignores,
/// or about a cluster it never saw and that needs no view).
pub fn apply(
    stored: Option<&Versioned<ClusterView>>,
    input: &Input,
) -> Result<Option<(Change, ClusterView, Effect)>, accord_core::DomainError> {
    let expect = stored.map_or(Expect::Absent, |v| Expect::Version(v.version));
    let mut effect = Effect::default();
    let view = match (input, stored) {
        (Input::Cluster(ClusterEvent::Created { cluster }), None) => {
            effect.install_opted_in = true;
            ClusterView::from_cluster(cluster)
        }
        // A redelivered creation: the opted-in add-ons may not all be installed yet.
        (Input::Cluster(ClusterEvent::Created { .. }), Some(v)) => {
            effect.install_opted_in = true;
            v.value.clone()
        }
        (Input::Cluster(ClusterEvent::Updated { cluster }), Some(v)) => {
            let mut view = v.value.clone();
            view.api_endpoint = cluster.status.api_endpoint.clone();
            view
        }
        (Input::Cluster(ClusterEvent::Updated { cluster }), None) => {
            ClusterView::from_cluster(cluster)
        }
        (Input::Cluster(ClusterEvent::Upgraded { version, .. }), Some(v)) => {
            let mut view = v.value.clone();
            let version = version.to_string();
            if view.kubernetes_version == version {
                return Ok(None);
            }
            view.kubernetes_version = version;
            effect.rerender = true;
            view
        }
        (Input::Cluster(ClusterEvent::Deleted { .. }), Some(v)) => {
            let mut ch = Change::in_project(v.value.project);
            ch.delete(CLUSTERS, &v.value.id.to_string(), expect);
            effect.deleted = true;
            return Ok(Some((ch, v.value.clone(), effect)));
        }
        (
            Input::NodePool(NodePoolEvent::Created {
                pool,
                gpus_per_node,
                infiniband,
                gpu_model,
            }),
            Some(v),
        ) => {
            let mut view = v.value.clone();
            let pv = PoolView::from_pool(pool, *gpus_per_node, gpu_model, *infiniband);
            if view.pools.get(&pool.metadata.id) == Some(&pv) {
                // Redelivered: make sure its consequences happened.
                effect.needs_infiniband = view.has_infiniband();
                return Ok(Some((Change::in_project(view.project), view, effect)));
            }
            view.pools.insert(pool.metadata.id, pv);
            effect.needs_infiniband = view.has_infiniband();
            effect.rerender = true;
            view
        }
        (Input::NodePool(NodePoolEvent::Updated { pool }), Some(v)) => {
            let mut view = v.value.clone();
            let Some(pv) = view.pools.get_mut(&pool.metadata.id) else {
                return Ok(None);
            };
            let before = pv.clone();
            pv.update_from(pool);
            if *pv == before {
                return Ok(None);
            }
            effect.rerender = true;
            view
        }
        (Input::NodePool(NodePoolEvent::Scaled { pool, to, .. }), Some(v)) => {
            let mut view = v.value.clone();
            let Some(pv) = view.pools.get_mut(pool) else {
                return Ok(None);
            };
            if pv.count == *to {
                return Ok(None);
            }
            pv.count = *to;
            effect.rerender = true;
            view
        }
        (Input::NodePool(NodePoolEvent::Deleted { pool, .. }), Some(v)) => {
            let mut view = v.value.clone();
            if view.pools.remove(pool).is_none() {
                return Ok(None);
            }
            effect.rerender = true;
            view
        }
        _ => return Ok(None),
    };
    let mut ch = Change::in_project(view.project);
    ch.put(CLUSTERS, &view.id.to_string(), &view, expect)?;
    Ok(Some((ch, view, effect)))
}
