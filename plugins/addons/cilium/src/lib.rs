//! Accord add-on plugin for Cilium, the cluster's CNI.
//!
//! The provider installs Cilium with its default configuration and owns it (Cilium is in the
//! provider's support scope). The customer's network decisions — pod CIDR and per-node mask at
//! cluster creation, network policies — are inputs, not add-on changes. The knobs a customer may
//! turn while Cilium stays shared are observability and per-pod bandwidth: Hubble, the
//! bandwidth manager, and the per-node mask chosen at creation. Changing the datapath (kube-proxy
//! replacement, routing mode, tunnel protocol, masquerading, load-balancing), the images or the
//! operator's replica count is a significant modification: Cilium becomes customer-owned.
//!
//! Renders: chart `cilium/cilium` in `kube-system` as a Flux `HelmRepository` + `HelmRelease`
//! whose values set cluster-pool IPAM carved
//! from the cluster's pod CIDR, kube-proxy replacement pointed at the cluster's API endpoint
//! (there is no kube-proxy to reach the `kubernetes` Service through).
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
pub const NAME: &str = "cilium";

/// The Cilium add-on.
pub struct Cilium;

impl Addon for Cilium {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "Cilium CNI with kube-proxy replacement and cluster-pool \
        IPAM from the cluster's pod CIDR. Installed, configured and upgraded by the provider; \
        customers may toggle Hubble and the bandwidth manager. Changing the datapath or images \
        makes it customer-owned.";
    const PLUGIN_VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INSTALLER: Installer = Installer::Provider;
    const DEFAULT_VERSION: &'static str = releases::DEFAULT;

    fn versions() -> Vec<&'static str> {
        releases::RELEASES.iter().map(|r| r.version).collect()
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

addon_kit::export_addon!(Cilium);
