//! Accord add-on plugin for container registry token rotation.
//!
//! Shared responsibility as the source model draws it: the provider runs the container registry
//! and ships the rotation CronJob; the customer installs and configures it (which registry,
//! how often, which namespaces get the pull secret) and owns repositories and image push/pull.
//! So the installer is the customer and those settings are knobs; running a different rotator
//! image is a significant modification.
//!
//! Renders: the `accord-registry` Namespace, a ServiceAccount, a Role/RoleBinding to read the
//! customer's API-key Secret there, a Role/RoleBinding per target namespace limited to the one
//! pull Secret (and, if asked, the `default` ServiceAccount's `imagePullSecrets`), and the
//! CronJob. The API-key Secret itself is the customer's to create (key `api-key`).
//!
//! Codemap: [`settings`], [`releases`], [`render`], [`upgrade`].

pub mod releases;
pub mod render;
pub mod settings;
pub mod upgrade;

#[cfg(test)]
mod tests;

use addon_kit::{Addon, Cluster, Config, Field, Installer, Knob, Rendered, UpgradePlan, Violation};
use serde_json::Value;

/// Stable add-on name.
pub const NAME: &str = "registry-token-rotator";

/// The registry token rotator add-on.
pub struct RegistryTokenRotator;

impl Addon for RegistryTokenRotator {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "Rotates short-lived container registry tokens into \
        image pull Secrets on a schedule (CronJob). The provider ships it; the customer installs \
        it and chooses the registry, schedule and target namespaces. Replacing the rotator image \
        makes it customer-owned.";
    const PLUGIN_VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INSTALLER: Installer = Installer::Customer;
    const DEFAULT_VERSION: &'static str = releases::DEFAULT;

    fn versions() -> Vec<&'static str> {
        releases::RELEASES.to_vec()
    }

    fn schema() -> &'static [Field] {
        settings::SCHEMA
    }

    fn knobs() -> &'static [Knob] {
        settings::KNOBS
    }

    fn reference() -> Value {
        settings::reference()
    }

    fn check(merged: &Config, out: &mut Vec<Violation>) {
        settings::check(merged, out);
    }

    fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
        render::render(cluster, version, config)
    }

    fn plan_upgrade(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
        upgrade::plan(current, target, config)
    }
}

addon_kit::export_addon!(RegistryTokenRotator);
