//! The read model of clusters, from the provisioner's `cluster.*` and `node.*` events and the
//! addon-manager's `addon.*` events:
//!
//! - a cluster created: its view (name, project, region); deleted: marked `deleting` (its
//!   volumes stay the customer's until they delete them, as disks outlive the machines that
//!   used them);
//! - a node provisioning: known by name, not Ready; Ready / NotReady: its readiness; terminated:
//!   forgotten (attachments to it stay until detached);
//! - the `csi-driver` add-on installed or uninstalled: the cluster's driver install state.
//!
//! Invariant: applying the same event twice leaves the same state (no second write).

use accord_core::{addon::AddonEvent, cluster::ClusterEvent, node::NodeEvent};
use accord_store::{Expect, Versioned};

use super::Change;
use crate::{
    trees::CLUSTERS,
    view::{ClusterView, NodeView},
};

/// The add-on whose installation serves StorageClasses.
pub const CSI_DRIVER_ADDON: &str = "csi-driver";

fn put(stored: Option<&Versioned<ClusterView>>, next: &ClusterView) -> Option<Change> {
    if stored.is_some_and(|s| s.value == *next) {
        return None;
    }
    let mut ch = Change::in_project(next.project);
    let expect = stored.map_or(Expect::Absent, |s| Expect::Version(s.version));
    ch.put(CLUSTERS, &next.id.to_string(), next, expect).ok()?;
    Some(ch)
}

/// The change a cluster event makes.
pub fn on_cluster(stored: Option<&Versioned<ClusterView>>, ev: &ClusterEvent) -> Option<Change> {
    match ev {
        ClusterEvent::Created { cluster } => {
            if stored.is_some() {
                return None;
            }
            put(
                None,
                &ClusterView {
                    id: cluster.metadata.id,
                    name: cluster.metadata.name.clone(),
                    project: cluster.metadata.project,
                    region: cluster.spec.region.clone(),
                    nodes: Default::default(),
                    csi_driver_installed: false,
                    deleting: false,
                },
            )
        }
        ClusterEvent::Deleted { .. } => {
            let s = stored?;
            let mut next = s.value.clone();
            next.deleting = true;
            next.nodes.clear();
            put(Some(s), &next)
        }
        _ => None,
    }
}

/// The change a node event makes.
pub fn on_node(stored: Option<&Versioned<ClusterView>>, ev: &NodeEvent) -> Option<Change> {
    let s = stored?;
    let mut next = s.value.clone();
    match ev {
        NodeEvent::Provisioning { node, name, .. } => {
            next.nodes.entry(*node).or_insert_with(|| NodeView {
                name: name.clone(),
                ready: false,
            });
        }
        NodeEvent::Ready { node, .. } => {
            if let Some(n) = next.nodes.get_mut(node) {
                n.ready = true;
            }
        }
        NodeEvent::NotReady { node, .. } | NodeEvent::Failed { node, .. } => {
            if let Some(n) = next.nodes.get_mut(node) {
                n.ready = false;
            }
        }
        NodeEvent::Terminated { node, .. } => {
            next.nodes.remove(node);
        }
        _ => return None,
    }
    put(Some(s), &next)
}

/// The change an add-on event makes (only the CSI driver's matter).
pub fn on_addon(stored: Option<&Versioned<ClusterView>>, ev: &AddonEvent) -> Option<Change> {
    let s = stored?;
    let installed = match ev {
        AddonEvent::Installed { installation } if installation.name == CSI_DRIVER_ADDON => true,
        AddonEvent::Uninstalled { addon, .. } if addon == CSI_DRIVER_ADDON => false,
        _ => return None,
    };
    let mut next = s.value.clone();
    next.csi_driver_installed = installed;
    put(Some(s), &next)
}
