//! The size limits of every `accord.addons.v1` request (`accord_core::limits`), checked at the
//! gRPC edge before anything else — in particular before a plugin runs: input over a limit is
//! the caller's error and never reaches (or counts against) a shared add-on plugin.

use accord_core::{
    DomainError,
    error::Violations,
    limits::{self, MAX_CONFIG_BYTES, MAX_ITEMS, MAX_REF_BYTES, MAX_SHORT_TEXT_BYTES},
};
use accord_proto::addons::v1 as pb;

/// A request whose sizes can be checked.
pub trait Bounded {
    fn check(&self, v: &mut Violations);

    /// `INVALID_ARGUMENT` naming every field over its limit.
    fn bounded(&self) -> Result<(), DomainError> {
        let mut v = Violations::new();
        self.check(&mut v);
        v.into_result()
    }
}

fn refs(v: &mut Violations, fields: &[(&str, &str)]) {
    for (field, value) in fields {
        limits::text(v, field, value, MAX_REF_BYTES);
    }
}

impl Bounded for pb::InstallAddonRequest {
    fn check(&self, v: &mut Violations) {
        refs(
            v,
            &[
                ("cluster", &self.cluster),
                ("name", &self.name),
                ("version", &self.version),
            ],
        );
        limits::text(v, "config", &self.config, MAX_CONFIG_BYTES);
    }
}

impl Bounded for pb::GetAddonRequest {
    fn check(&self, v: &mut Violations) {
        refs(v, &[("cluster", &self.cluster), ("name", &self.name)]);
    }
}

impl Bounded for pb::ListAddonsRequest {
    fn check(&self, v: &mut Violations) {
        refs(v, &[("cluster", &self.cluster)]);
    }
}

impl Bounded for pb::UpdateAddonConfigRequest {
    fn check(&self, v: &mut Violations) {
        refs(v, &[("cluster", &self.cluster), ("name", &self.name)]);
        limits::text(v, "config", &self.config, MAX_CONFIG_BYTES);
    }
}

impl Bounded for pb::UninstallAddonRequest {
    fn check(&self, v: &mut Violations) {
        refs(v, &[("cluster", &self.cluster), ("name", &self.name)]);
    }
}

impl Bounded for pb::UpgradeAddonRequest {
    fn check(&self, v: &mut Violations) {
        refs(
            v,
            &[
                ("name", &self.name),
                ("target_version", &self.target_version),
            ],
        );
        limits::text_items(v, "clusters", &self.clusters, MAX_ITEMS, MAX_REF_BYTES);
        limits::text(v, "reason", &self.reason, MAX_SHORT_TEXT_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<(), DomainError>) -> String {
        match result {
            Err(DomainError::InvalidArgument(v)) => {
                assert!(v[0].description.len() < 100, "{}", v[0].description);
                v[0].field.clone()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversized_configs_and_references_are_refused_naming_the_field() {
        let big = "x".repeat(MAX_CONFIG_BYTES + 1);
        let update = pb::UpdateAddonConfigRequest {
            config: big.clone(),
            ..Default::default()
        };
        assert_eq!(field_of(update.bounded()), "config");
        let install = pb::InstallAddonRequest {
            config: big,
            ..Default::default()
        };
        assert_eq!(field_of(install.bounded()), "config");
        let get = pb::GetAddonRequest {
            name: "n".repeat(MAX_REF_BYTES + 1),
            ..Default::default()
        };
        assert_eq!(field_of(get.bounded()), "name");
        let upgrade = pb::UpgradeAddonRequest {
            clusters: vec!["c".into(); MAX_ITEMS + 1],
            ..Default::default()
        };
        assert_eq!(field_of(upgrade.bounded()), "clusters");
        let at_limit = pb::UpdateAddonConfigRequest {
            config: "x".repeat(MAX_CONFIG_BYTES),
            ..Default::default()
        };
        assert!(at_limit.bounded().is_ok());
    }
}
