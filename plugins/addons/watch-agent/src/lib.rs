//! Accord add-on plugin for the watch agent, which collects a subset of node-level logs.
//!
//! Shared responsibility as the source model draws it: installing the watch agent is the
//! customer's choice ("if you install it"), and once installed the provider collects and manages
//! the node-level logs it ships — kubelet, container runtime and kernel messages (where GPU XID
//! and InfiniBand errors appear), not application logs, which stay the customer's to aggregate.
//! So the installer is the customer, while the collection itself is provider-managed: customers
//! may add journald units, set the log level and size the agent; dropping the provider's
//! sources or replacing the image is a significant modification.
//!
//! Renders: the `accord-watch` Namespace (Pod Security `privileged`: the agent reads the host
//! journal through hostPath), ServiceAccount, read-only ClusterRole on nodes and binding, the
//! agent ConfigMap, and the DaemonSet (every node, tainted GPU nodes included). The agent
//! authenticates to the provider's log intake with a projected ServiceAccount token (audience
//! `logs.accord.dev`), so no long-lived secret is involved.
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
pub const NAME: &str = "watch-agent";

/// The watch agent add-on.
pub struct WatchAgent;

impl Addon for WatchAgent {
    const NAME: &'static str = NAME;
    const DESCRIPTION: &'static str = "The provider's watch agent: a DaemonSet that ships a \
        subset of node-level logs (kubelet, container runtime, kernel) to the provider, who \
        collects and manages them once the customer installs it. Customers may add journald \
        units, set the log level and resources; dropping the provider's sources or replacing the \
        image makes it customer-owned.";
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

addon_kit::export_addon!(WatchAgent);
