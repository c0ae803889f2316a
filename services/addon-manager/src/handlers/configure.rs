//! A configuration change and the ownership it implies.
//!
//! The add-on's plugin judges the new overrides against its reference configuration; the
//! installation's source sets a floor ([`super::install::ownership`]). A change of ownership is
//! its own event, with the reason, beside `addon.config-changed`.

use accord_core::{
    DomainError,
    addon::{AddonEvent, AddonInstallation, AddonSource},
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx, Rendered, install::ownership};
use crate::trees::{ADDONS, addon_key};

/// Applies `rendered` (the new configuration, validated and rendered by the plugin) to
/// `current`. `expected_generation` 0 skips the concurrency check.
pub fn configure(
    ctx: &Ctx,
    current: &Versioned<AddonInstallation>,
    expected_generation: u64,
    rendered: Rendered,
) -> Result<(Change, AddonInstallation), DomainError> {
    let cur = &current.value;
    if cur.source == AddonSource::SelfManaged {
        return Err(DomainError::FailedPrecondition(format!(
            "{} on this cluster is the customer's own installation; its configuration is not managed here (uninstall the record and install the provider's add-on to have it managed)",
            cur.name
        )));
    }
    if expected_generation != 0 && expected_generation != cur.generation {
        return Err(DomainError::Aborted(format!(
            "{} changed since you read it (generation {} now, you sent {expected_generation}); read it again",
            cur.name, cur.generation
        )));
    }
    let (owner, reason) = ownership(cur.source, cur.installer, Some(rendered.verdict));
    let mut next = cur.clone();
    next.config = rendered.config;
    next.manifests = rendered.manifests;
    next.plugin_digest = rendered.plugin_digest;
    next.ownership = owner;
    next.ownership_reason = reason.clone();
    next.updated_at = ctx.now;
    next.updated_by = ctx.actor.clone();
    let mut ch = Change::in_project(cur.project);
    if next.config == cur.config && next.ownership == cur.ownership {
        // Nothing the customer asked for changed (manifests may have, e.g. a newer plugin).
        if next.manifests != cur.manifests {
            ch.put(
                ADDONS,
                &addon_key(cur.cluster, &cur.name),
                &next,
                Expect::Version(current.version),
            )?;
        }
        let out = if ch.is_empty() { cur.clone() } else { next };
        return Ok((ch, out));
    }
    next.generation = cur.generation + 1;
    ch.put(
        ADDONS,
        &addon_key(cur.cluster, &cur.name),
        &next,
        Expect::Version(current.version),
    )?;
    ch.event(AddonEvent::ConfigChanged {
        cluster: cur.cluster,
        project: cur.project,
        addon: cur.name.clone(),
        config: next.config.clone(),
        ownership: owner,
        reason: reason.clone(),
        changed_by: ctx.actor.clone(),
    });
    if owner != cur.ownership {
        ch.event(AddonEvent::OwnershipChanged {
            cluster: cur.cluster,
            project: cur.project,
            addon: cur.name.clone(),
            from: cur.ownership,
            to: owner,
            reason,
        });
    }
    Ok((ch, next))
}
