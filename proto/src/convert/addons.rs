//! Domain add-on installations and pending automatic installs → `accord.addons.v1` messages.

use accord_core::addon::{AddonInstallation, AddonManifest, AddonOwnership, PendingInstall};

use crate::{addons::v1 as pb, convert::provisioner::ts};

/// The wire enum of an ownership.
pub fn ownership(o: AddonOwnership) -> pb::Ownership {
    match o {
        AddonOwnership::ProviderManaged => pb::Ownership::ProviderManaged,
        AddonOwnership::Shared => pb::Ownership::Shared,
        AddonOwnership::CustomerOwned => pb::Ownership::CustomerOwned,
    }
}

/// The domain ownership of a wire enum value (`None` for unspecified or unknown values).
pub fn ownership_from(value: i32) -> Option<AddonOwnership> {
    match pb::Ownership::try_from(value).ok()? {
        pb::Ownership::ProviderManaged => Some(AddonOwnership::ProviderManaged),
        pb::Ownership::Shared => Some(AddonOwnership::Shared),
        pb::Ownership::CustomerOwned => Some(AddonOwnership::CustomerOwned),
        pb::Ownership::Unspecified => None,
    }
}

fn manifest(m: &AddonManifest) -> pb::Manifest {
    pb::Manifest {
        name: m.name.clone(),
        format: m.format.clone(),
        content: m.content.clone(),
    }
}

/// An installation on the wire; `cluster_name` comes from the service's view of the cluster.
pub fn installation(i: &AddonInstallation, cluster_name: &str) -> pb::AddonInstallation {
    pb::AddonInstallation {
        cluster_id: i.cluster.to_string(),
        cluster_name: cluster_name.to_owned(),
        project: i.project.to_string(),
        name: i.name.clone(),
        version: i.version.clone(),
        config: i.config.clone(),
        ownership: ownership(i.ownership).into(),
        ownership_reason: i.ownership_reason.clone(),
        source: i.source.as_str().to_owned(),
        installer: i.installer.as_str().to_owned(),
        manifests: i.manifests.iter().map(manifest).collect(),
        plugin_digest: i.plugin_digest.clone(),
        generation: i.generation,
        created_at: Some(ts(i.created_at)),
        updated_at: Some(ts(i.updated_at)),
        updated_by: i.updated_by.clone(),
    }
}

/// A pending automatic install on the wire; `cluster_name` comes from the service's view.
pub fn pending(p: &PendingInstall, cluster_name: &str) -> pb::PendingInstall {
    pb::PendingInstall {
        cluster_id: p.cluster.to_string(),
        cluster_name: cluster_name.to_owned(),
        project: p.project.to_string(),
        name: p.name.clone(),
        source: p.source.as_str().to_owned(),
        attempts: p.attempts,
        last_error: p.last_error.clone(),
        first_failed_at: Some(ts(p.first_failed_at)),
        last_failed_at: Some(ts(p.last_failed_at)),
        next_attempt_at: Some(ts(p.next_attempt_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_round_trips_through_the_wire_enum() {
        for o in [
            AddonOwnership::ProviderManaged,
            AddonOwnership::Shared,
            AddonOwnership::CustomerOwned,
        ] {
            assert_eq!(ownership_from(ownership(o).into()), Some(o));
        }
        assert_eq!(ownership_from(0), None);
        assert_eq!(ownership_from(42), None);
    }
}
