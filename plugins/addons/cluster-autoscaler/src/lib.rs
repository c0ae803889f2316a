//! Accord add-on plugin for the provider's Cluster Autoscaler build.
//!
//! Shared responsibility as the source model draws it: the provider supplies a build of the
//! Kubernetes Cluster Autoscaler that can drive Accord node pools; the customer configures the
//! bounds and deploys it. So the installer is the customer, the per-pool `min:max` bounds come
//! from the node pools themselves (not from this configuration), and the scaling behaviour
//! (scale-down timings and thresholds, expander, node-group balancing, provisioning timeout,
//! log level) is the customer's to tune while the add-on stays shared. Replacing the image (a
//! different autoscaler) or running several replicas is a significant modification.
//!
//! Renders (namespace `kube-system`, as upstream): ServiceAccount, ClusterRole and binding,
//! Role and binding for its status ConfigMap and lease, a ConfigMap with the Accord cloud config
//! (the Accord API endpoint the host passes as `platform.apiEndpoint`, the cluster's project,
//! id and region), and the Deployment with one `--nodes=min:max:pool` per autoscaled pool. The autoscaler
//! authenticates to the Accord API with a customer API key the customer puts in the Secret
//! named by `credentialsSecret` (key `api-key`): scaling pools is the customer's action.
//!
//! Codemap: [`settings`], [`releases`], [`render`], [`upgrade`].

pub mod releases;
pub mod render;
pub mod settings;
pub mod upgrade;

#[cfg(test)]
mod tests;

use addon_kit::{Addon, Cluster, Config, Field, Installer, Knob, Rendered, UpgradePlan};
use serde_json::Value;

/// Stable add-on name.
pub const NAME: &str = "cluster-autoscaler";

/// The Cluster Autoscaler add-on.
pub struct ClusterAutoscaler;

impl Addon for ClusterAutoscaler {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "The provider's Cluster Autoscaler build for Accord node \
        pools. The customer deploys it; per-pool min/max come from the node pools' autoscaling \
        bounds, scale-down and expander settings are customer knobs. Use the release whose minor \
        matches the cluster's Kubernetes minor.";
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

    fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
        render::render(cluster, version, config)
    }

    fn plan_upgrade(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String> {
        upgrade::plan(current, target, config)
    }
}

addon_kit::export_addon!(ClusterAutoscaler);
