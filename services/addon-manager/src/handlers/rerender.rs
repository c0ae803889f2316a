//! New manifests for an unchanged installation after its cluster changed (Kubernetes version,
//! node pools, autoscaling bounds). Not an event: the installation's version, configuration and
//! ownership stay as they are; `GetAddon` shows the new manifests.

use accord_core::{
    DomainError,
    addon::{AddonInstallation, AddonManifest},
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx};
use crate::trees::{ADDONS, addon_key};

/// The change storing `manifests` (from `digest`), or `None` when nothing differs.
pub fn rerender(
    ctx: &Ctx,
    current: &Versioned<AddonInstallation>,
    manifests: Vec<AddonManifest>,
    digest: String,
) -> Result<Option<Change>, DomainError> {
    let cur = &current.value;
    if cur.manifests == manifests && cur.plugin_digest == digest {
        return Ok(None);
    }
    let mut next = cur.clone();
    next.manifests = manifests;
    next.plugin_digest = digest;
    next.updated_at = ctx.now;
    let mut ch = Change::in_project(cur.project);
    ch.put(
        ADDONS,
        &addon_key(cur.cluster, &cur.name),
        &next,
        Expect::Version(current.version),
    )?;
    Ok(Some(ch))
}
