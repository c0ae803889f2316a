//! Accord add-on plugin for the provider's CSI driver chart.
//!
//! Shared responsibility as the source model draws it: the provider runs the persistent-disk
//! and shared-disk (NFS) back ends and ships the CSI driver's Helm chart; the customer installs
//! and configures it, and owns StorageClass and PVC definitions. So the installer is the
//! customer, and the StorageClasses rendered here are a starting point the customer may reshape
//! freely (knob `storageClasses`). Replacing the driver images or moving the kubelet directory
//! is a significant modification: the driver becomes customer-owned.
//!
//! Renders: Helm values for chart `csi-driver` (controller, node plugin on every node, shared
//! disk on or off) and the StorageClasses — persistent block disk always, shared NFS disk only
//! when `storageClasses.sharedNfs.enabled` (which the storage service allows only in projects
//! where the provider enabled NFS).
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
pub const NAME: &str = "csi-driver";

/// The CSI driver add-on.
pub struct CsiDriver;

impl Addon for CsiDriver {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "The provider's CSI driver for persistent block disks and, \
        where NFS is enabled for the project, shared NFS disks. The provider ships the Helm chart; \
        the customer installs and configures it and owns StorageClass definitions. Replacing the \
        driver images makes it customer-owned.";
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

addon_kit::export_addon!(CsiDriver);
