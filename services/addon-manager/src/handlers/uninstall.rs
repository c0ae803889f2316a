//! Removing an installation (the customer asked, or the cluster is gone).

use accord_core::addon::{AddonEvent, AddonInstallation};
use accord_store::{Expect, Versioned};

use super::Change;
use crate::trees::{ADDONS, addon_key};

/// Removes `current`, saying why.
pub fn uninstall(change: &mut Change, current: &Versioned<AddonInstallation>, reason: &str) {
    let cur = &current.value;
    change
        .delete(
            ADDONS,
            &addon_key(cur.cluster, &cur.name),
            Expect::Version(current.version),
        )
        .event(AddonEvent::Uninstalled {
            cluster: cur.cluster,
            project: cur.project,
            addon: cur.name.clone(),
            reason: reason.to_owned(),
        });
}
