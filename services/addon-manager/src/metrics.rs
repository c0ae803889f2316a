//! The addon-manager's own metrics (besides the gRPC metrics every service has):
//!
//! - `accord_addon_events_total{event}` — add-on events committed (`installed`,
//!   `ownership-changed`, `upgrade-skipped`, `install-failed` …);
//! - `accord_addon_ownership_changes_total{to}` — ownership transitions by the new ownership;
//! - `accord_addon_plugin_quarantined{addon, digest}` — 1 while an add-on plugin is quarantined,
//!   0 while it serves (read from the plugin registry at every scrape);
//! - `accord_addon_plugin_failures{addon}` — the plugin's consecutive failures right now.

use std::sync::Arc;

use accord_core::{addon::AddonEvent, events::DomainEvent as _};
use accord_plugin_host::PluginState;
use accord_runtime::metrics::Labels;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};

use crate::catalog::Catalog;

/// Labels of a plugin's series: its name and digest, read from the registry.
type PluginLabels = [(&'static str, String); 2];
/// Labels of an add-on's series: its name.
type AddonLabels = [(&'static str, String); 1];

/// Handles to the counters (cheap to clone).
#[derive(Clone, Default)]
pub struct AddonMetrics {
    /// `{event}`.
    pub events: Family<Labels<1>, Counter>,
    /// `{to}`.
    pub ownership_changes: Family<Labels<1>, Counter>,
}

impl AddonMetrics {
    /// Creates the metrics and registers them, with the plugin-state collector over `catalog`.
    pub fn register(metrics: &accord_runtime::metrics::Metrics, catalog: Arc<Catalog>) -> Self {
        metrics
            .registry_mut()
            .register_collector(Box::new(PluginStates { catalog }));
        Self {
            events: metrics.registered("accord_addon_events", "Add-on events committed, by event"),
            ownership_changes: metrics.registered(
                "accord_addon_ownership_changes",
                "Add-on ownership transitions, by the new ownership",
            ),
        }
    }

    /// Counts a committed event.
    pub fn record(&self, e: &AddonEvent) {
        self.events.get_or_create(&[("event", e.event())]).inc();
        if let AddonEvent::OwnershipChanged { to, .. } = e {
            self.ownership_changes
                .get_or_create(&[("to", to.as_str())])
                .inc();
        }
    }
}

/// Reads the plugin registry at scrape time.
struct PluginStates {
    catalog: Arc<Catalog>,
}

impl std::fmt::Debug for PluginStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PluginStates")
    }
}

impl Collector for PluginStates {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let quarantined = Family::<PluginLabels, Gauge>::default();
        let failures = Family::<AddonLabels, Gauge>::default();
        for plugin in self.catalog.available() {
            let info = plugin.info();
            quarantined
                .get_or_create(&[
                    ("addon", info.name.clone()),
                    ("digest", plugin.digest().to_owned()),
                ])
                .set(i64::from(matches!(
                    plugin.state(),
                    PluginState::Quarantined { .. }
                )));
            failures
                .get_or_create(&[("addon", info.name.clone())])
                .set(i64::from(plugin.failures()));
        }
        quarantined.encode(encoder.encode_descriptor(
            "accord_addon_plugin_quarantined",
            "1 while the add-on plugin is quarantined",
            None,
            quarantined.metric_type(),
        )?)?;
        failures.encode(encoder.encode_descriptor(
            "accord_addon_plugin_failures",
            "Consecutive failed calls of the add-on plugin",
            None,
            failures.metric_type(),
        )?)?;
        Ok(())
    }
}
