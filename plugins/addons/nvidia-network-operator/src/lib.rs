//! Accord add-on plugin for the NVIDIA Network Operator.
//!
//! Required on clusters with InfiniBand pools: it loads the DOCA-OFED driver and exposes RDMA
//! devices to pods, which GPUDirect RDMA and NCCL over InfiniBand need. The provider installs
//! it and ships critical upgrades from a reference configuration; customers may pin the OFED
//! driver version, pace driver upgrades, size the shared RDMA resource and add tolerations while
//! it stays shared. Dropping the provider's OFED driver or device plugin, replacing images or
//! stopping automatic driver upgrades makes it customer-owned.
//!
//! Renders: the `nvidia-network-operator` Namespace (Pod Security `privileged`), chart
//! `nvidia/network-operator` as a Flux `HelmRepository` + `HelmRelease` (operator only — the
//! pinned charts deploy no NicClusterPolicy themselves; NFD and SR-IOV off), and
//! — only when the cluster has InfiniBand pools — the cluster-scoped `NicClusterPolicy`
//! (`mellanox.com/v1alpha1`) pinned to those pools by the `accord.dev/pool` label.
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
pub const NAME: &str = "nvidia-network-operator";

/// The NVIDIA Network Operator add-on.
pub struct NetworkOperator;

impl Addon for NetworkOperator {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "NVIDIA Network Operator: DOCA-OFED driver and RDMA shared \
        device plugin on InfiniBand nodes (NicClusterPolicy). Required with InfiniBand instance \
        types; installed and upgraded by the provider from a reference configuration. Customers \
        may pin the OFED version, pace driver upgrades, size the RDMA resource and add \
        tolerations; removing the driver or device plugin or replacing images makes it \
        customer-owned.";
    const PLUGIN_VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INSTALLER: Installer = Installer::Provider;
    const REQUIRED_WITH_INFINIBAND: bool = true;
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

addon_kit::export_addon!(NetworkOperator);
