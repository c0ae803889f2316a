//! A new installation.

use accord_core::{
    DomainError,
    addon::{AddonEvent, AddonInstallation, AddonInstaller, AddonOwnership, AddonSource},
};
use accord_store::Expect;

use super::{Change, Ctx, Rendered};
use crate::{
    trees::{ADDONS, addon_key},
    view::ClusterView,
};

/// What is being installed: a rendered provider add-on, or a customer's own installation.
#[derive(Debug, Clone)]
pub enum Installing {
    /// Rendered by the plugin (opted in, requested or required).
    Rendered(Rendered),
    /// The customer runs it themselves; only the add-on's name, installer and version are known.
    SelfManaged {
        installer: AddonInstaller,
        version: String,
    },
}

/// Installs `name` on `cluster`. Fails with `ALREADY_EXISTS` when it is installed.
pub fn install(
    ctx: &Ctx,
    cluster: &ClusterView,
    existing: Option<&AddonInstallation>,
    name: &str,
    source: AddonSource,
    what: Installing,
) -> Result<(Change, AddonInstallation), DomainError> {
    if existing.is_some() {
        return Err(DomainError::AlreadyExists {
            kind: "add-on installation",
            name: format!("{name} on cluster {}", cluster.name),
        });
    }
    let (installer, version, config, manifests, digest, verdict) = match what {
        Installing::Rendered(r) => (
            r.installer,
            r.version,
            r.config,
            r.manifests,
            r.plugin_digest,
            Some(r.verdict),
        ),
        Installing::SelfManaged { installer, version } => (
            installer,
            version,
            "{}".to_owned(),
            Vec::new(),
            String::new(),
            None,
        ),
    };
    let source = if verdict.is_none() {
        AddonSource::SelfManaged
    } else {
        source
    };
    let (ownership, reason) = ownership(source, installer, verdict);
    let installation = AddonInstallation {
        cluster: cluster.id,
        project: cluster.project,
        name: name.to_owned(),
        version,
        config,
        ownership,
        ownership_reason: reason,
        source,
        installer,
        manifests,
        plugin_digest: digest,
        generation: 1,
        created_at: ctx.now,
        updated_at: ctx.now,
        updated_by: ctx.actor.clone(),
    };
    let mut ch = Change::in_project(cluster.project);
    ch.put(
        ADDONS,
        &addon_key(cluster.id, name),
        &installation,
        Expect::Absent,
    )?;
    let mut announced = installation.clone();
    announced.manifests.clear();
    ch.event(AddonEvent::Installed {
        installation: Box::new(announced),
    });
    Ok((ch, installation))
}

/// The ownership of an installation: the plugin's verdict on its configuration, never weaker
/// than what its source and installer imply.
pub fn ownership(
    source: AddonSource,
    installer: AddonInstaller,
    verdict: Option<(AddonOwnership, String)>,
) -> (AddonOwnership, String) {
    let (floor, floor_reason) = source.floor(installer);
    match verdict {
        None => (floor, floor_reason.to_owned()),
        Some((o, reason)) if o >= floor => (o, reason),
        Some((_, reason)) => (floor, format!("{floor_reason}; {reason}")),
    }
}
