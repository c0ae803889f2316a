//! Accord add-on plugin for the provider's CSI driver chart.
//!
//! Shared responsibility as the source model draws it: the provider runs the persistent-disk
//! and shared-disk (NFS) back ends and ships the CSI driver's Helm chart; the customer installs
//! and configures it, and owns StorageClass and PVC definitions. So the installer is the
//! customer, and the StorageClasses rendered here are a starting point the customer may reshape
//! freely (knob `storageClasses`). Replacing the driver images or moving the kubelet directory
//! is a significant modification: the driver becomes customer-owned.
//!
//! Renders: chart `csi-driver` (from `oci://registry.accord.dev/charts`) as a Flux
//! `HelmRepository` (type `oci`) + `HelmRelease` (controller, node plugin on every node, shared
//! disk on or off) and the StorageClasses — persistent block disk always, shared NFS disk only
//! when `storageClasses.sharedNfs.enabled` and the provider enabled NFS for the project.
//!
//! Decision — how the provider's per-project NFS gate reaches this plugin: through the
//! configuration JSON, not the WIT (changing `cluster-info` would break every plugin's ABI). The
//! addon-manager, which learns the gate from the storage service's `nfs.*` events, sets the
//! host-owned key `platform.nfsEnabled` (declared in [`settings::SCHEMA`], reference `false`)
//! in the configuration of every call it makes (validate, render, classify, plan upgrade),
//! overwriting anything there, and refuses customer values containing `platform`; it stores
//! and shows the customer's values without it. Here:
//! - `validate-config` refuses `storageClasses.sharedNfs.enabled: true` while the gate is
//!   closed, on that field, telling the customer to ask the provider ([`settings::admit`]; the
//!   addon-manager answers `FAILED_PRECONDITION` when that is the only objection);
//! - `render` leaves the NFS class (and the chart's shared disk) out while the gate is closed,
//!   so disabling NFS later re-renders without it;
//! - `classify-change` ignores `platform` (addon-kit), and upgrade plans list the NFS driver
//!   only when the customer asked for it.
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

    fn admit(merged: &Config, out: &mut Vec<Violation>) {
        settings::admit(merged, out);
    }

    fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
        render::render(cluster, version, config)
    }

    fn plan_upgrade(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
        upgrade::plan(current, target, config)
    }
}

addon_kit::export_addon!(CsiDriver);
