//! Accord add-on plugin for the NVIDIA GPU Operator.
//!
//! The provider installs the operator on every cluster that opts in and ships its critical
//! upgrades; the provider also publishes a reference configuration the customer may tune
//! (driver version, MIG strategy, extra tolerations …) while the add-on stays shared. Turning a
//! core operand off, pointing the operator or driver at other images, or stopping automatic
//! driver upgrades is a significant modification: the add-on becomes customer-owned.
//!
//! Renders: the `gpu-operator` Namespace (Pod Security `privileged`: the driver and toolkit
//! need the host) and chart `nvidia/gpu-operator` as a Flux `HelmRepository` + `HelmRelease`
//! whose values set the driver, container
//! toolkit, device plugin, DCGM exporter, GFD, MIG manager, NFD; tolerations for tainted GPU
//! nodes; GPUDirect RDMA when the cluster has InfiniBand pools; the operator itself preferring
//! CPU pools).
//!
//! Codemap: [`settings`] (schema, knobs, reference), [`releases`] (catalogue), [`render`],
//! [`upgrade`].

pub mod releases;
pub mod render;
pub mod settings;
pub mod upgrade;

#[cfg(test)]
mod tests;

use addon_kit::{Addon, Cluster, Config, Field, Installer, Knob, Rendered, UpgradePlan, Violation};
use serde_json::Value;

/// Stable add-on name.
pub const NAME: &str = "nvidia-gpu-operator";

/// The NVIDIA GPU Operator add-on.
pub struct GpuOperator;

impl Addon for GpuOperator {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "NVIDIA GPU Operator: GPU driver, container toolkit, device \
        plugin, DCGM exporter, GPU feature discovery and MIG manager on GPU nodes. Installed and \
        upgraded by the provider from a reference configuration; customers may tune the driver \
        version, MIG strategy, driver-upgrade pacing and add tolerations. Disabling a core \
        operand or replacing images makes it customer-owned.";
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

addon_kit::export_addon!(GpuOperator);
