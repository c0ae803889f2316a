//! The read model of clusters and their add-ons' ownership, from the provisioner's cluster
//! events and the addon-manager's add-on events.
//!
//! Invariant: applying the same event twice leaves the same view.

use accord_core::{
    addon::{AddonEvent, AddonSource},
    cluster::ClusterEvent,
};
use accord_store::{Expect, Versioned};

use super::Change;
use crate::{
    trees::CLUSTERS,
    view::{AddonState, ClusterView},
};

/// The change `ev` makes to the stored view (`None`: nothing to record).
pub fn on_cluster(
    stored: Option<&Versioned<ClusterView>>,
    ev: &ClusterEvent,
) -> Result<Option<Change>, accord_core::DomainError> {
    let expect = stored.map_or(Expect::Absent, |v| Expect::Version(v.version));
    let ch = match ev {
        ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster } => {
            let mut view = stored
                .map(|v| v.value.clone())
                .unwrap_or_else(|| ClusterView {
                    id: cluster.metadata.id,
                    name: cluster.metadata.name.clone(),
                    project: cluster.metadata.project,
                    addons: Default::default(),
                });
            view.name = cluster.metadata.name.clone();
            if stored.is_some_and(|v| v.value == view) {
                return Ok(None);
            }
            let mut ch = Change::in_project(view.project);
            ch.put(CLUSTERS, &view.id.to_string(), &view, expect)?;
            ch
        }
        ClusterEvent::Deleted { cluster, .. } => {
            let Some(v) = stored else {
                return Ok(None);
            };
            let mut ch = Change::in_project(v.value.project);
            ch.delete(CLUSTERS, &cluster.to_string(), expect);
            ch
        }
        _ => return Ok(None),
    };
    Ok(Some(ch))
}

/// The change an add-on event makes to its cluster's view.
pub fn on_addon(
    stored: Option<&Versioned<ClusterView>>,
    ev: &AddonEvent,
) -> Result<Option<Change>, accord_core::DomainError> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    let mut view = stored.value.clone();
    match ev {
        AddonEvent::Installed { installation: i } => {
            view.addons.insert(
                i.name.clone(),
                AddonState {
                    ownership: i.ownership,
                    reason: i.ownership_reason.clone(),
                    self_managed: i.source == AddonSource::SelfManaged,
                },
            );
        }
        AddonEvent::OwnershipChanged {
            addon, to, reason, ..
        } => {
            let entry = view.addons.entry(addon.clone()).or_insert(AddonState {
                ownership: *to,
                reason: String::new(),
                self_managed: false,
            });
            entry.ownership = *to;
            entry.reason = reason.clone();
        }
        AddonEvent::ConfigChanged {
            addon,
            ownership,
            reason,
            ..
        } => {
            if let Some(entry) = view.addons.get_mut(addon) {
                entry.ownership = *ownership;
                entry.reason = reason.clone();
            }
        }
        AddonEvent::Uninstalled { addon, .. } => {
            view.addons.remove(addon);
        }
        AddonEvent::Upgraded { .. }
        | AddonEvent::UpgradeSkipped { .. }
        | AddonEvent::InstallFailed { .. } => return Ok(None),
    }
    if view == stored.value {
        return Ok(None);
    }
    let mut ch = Change::in_project(view.project);
    ch.put(
        CLUSTERS,
        &view.id.to_string(),
        &view,
        Expect::Version(stored.version),
    )?;
    Ok(Some(ch))
}
