//! The provider's critical upgrade of one installation, or the reason it is skipped.
//!
//! The source model: the provider ships critical upgrades of the core add-ons; an add-on that
//! became the customer's (self-installed or significantly modified) is not the provider's to
//! upgrade, so it is skipped and `addon.upgrade-skipped` says so.

use accord_core::{
    DomainError,
    addon::{AddonEvent, AddonInstallation, AddonOwnership},
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx, Rendered};
use crate::trees::{ADDONS, addon_key};

/// What happened to one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Upgraded {
        from: String,
        steps: Vec<String>,
        disruptive: bool,
    },
    Skipped {
        reason: String,
    },
    /// Already at the target.
    Current,
}

/// Whether an installation is the provider's to upgrade: `Err(reason)` when it is skipped.
pub fn eligible(current: &AddonInstallation, target: &str) -> Result<bool, String> {
    if current.ownership == AddonOwnership::CustomerOwned {
        return Err(format!(
            "customer-owned ({}); the provider does not upgrade customer-owned add-ons — the customer decides when to move to {target}",
            current.ownership_reason
        ));
    }
    Ok(current.version != target)
}

/// Records the skip.
pub fn skip(current: &AddonInstallation, target: &str, reason: String) -> (Change, Outcome) {
    let mut ch = Change::in_project(current.project);
    ch.event(AddonEvent::UpgradeSkipped {
        cluster: current.cluster,
        project: current.project,
        addon: current.name.clone(),
        version: current.version.clone(),
        target: target.to_owned(),
        ownership: current.ownership,
        reason: reason.clone(),
    });
    (ch, Outcome::Skipped { reason })
}

/// Moves `current` to `rendered.version` following the plugin's plan.
pub fn upgrade(
    ctx: &Ctx,
    current: &Versioned<AddonInstallation>,
    steps: Vec<String>,
    disruptive: bool,
    rendered: Rendered,
) -> Result<(Change, Outcome), DomainError> {
    let cur = &current.value;
    let mut next = cur.clone();
    next.version = rendered.version.clone();
    next.manifests = rendered.manifests;
    next.plugin_digest = rendered.plugin_digest;
    next.generation = cur.generation + 1;
    next.updated_at = ctx.now;
    next.updated_by = ctx.actor.clone();
    let mut ch = Change::in_project(cur.project);
    ch.put(
        ADDONS,
        &addon_key(cur.cluster, &cur.name),
        &next,
        Expect::Version(current.version),
    )?;
    ch.event(AddonEvent::Upgraded {
        cluster: cur.cluster,
        project: cur.project,
        addon: cur.name.clone(),
        from: cur.version.clone(),
        to: rendered.version,
        disruptive,
        steps: steps.clone(),
        upgraded_by: ctx.actor.clone(),
    });
    Ok((
        ch,
        Outcome::Upgraded {
            from: cur.version.clone(),
            steps,
            disruptive,
        },
    ))
}
