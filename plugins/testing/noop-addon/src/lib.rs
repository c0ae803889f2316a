//! The smallest well-behaved add-on: one version, an empty reference configuration, one
//! ConfigMap per cluster. The plugin host's tests use it for the `addon` world and as "a
//! component of the wrong world" for policy loading.
//!
//! Behaviour the tests rely on:
//! - `validate-config`: valid iff the configuration is a JSON object (`{…}`); otherwise one
//!   violation on field `.`.
//! - `render`: one manifest `10-configmap.yaml` naming the cluster; an unknown version is the
//!   plugin's own error (`unknown version …`).
//! - `classify-change`: unchanged configuration → provider-managed, anything else → shared.
//! - `plan-upgrade`: one step when both versions are known; the plugin's own error otherwise.
//!
//! Invariant: this crate is test-only; it is never packaged or pushed as a real add-on.

wit_bindgen::generate!({
    world: "addon",
    path: "../../wit",
});

use accord::plugin::log::{Level, log};
use accord::plugin::types::{ClusterInfo, Violation};
use exports::accord::plugin::addon_api::{
    AddonInfo, Guest, Installer, Manifest, Ownership, UpgradePlan, Verdict,
};

const VERSION: &str = "1.0.0";

struct NoopAddon;

impl Guest for NoopAddon {
    fn describe() -> AddonInfo {
        AddonInfo {
            name: "noop-addon".to_owned(),
            description: "Renders one ConfigMap; for tests".to_owned(),
            plugin_version: "0.1.0".to_owned(),
            versions: vec![VERSION.to_owned()],
            default_version: VERSION.to_owned(),
            default_config: "{}".to_owned(),
            required_with_infiniband: false,
            installer: Installer::Provider,
            customer_knobs: vec!["replicas".to_owned()],
        }
    }

    fn validate_config(config: String) -> Vec<Violation> {
        let trimmed = config.trim();
        if trimmed.starts_with('{') && trimmed.ends_with('}') {
            Vec::new()
        } else {
            vec![Violation {
                field: ".".to_owned(),
                message: "the configuration must be a JSON object".to_owned(),
            }]
        }
    }

    fn render(
        cluster: ClusterInfo,
        version: String,
        _config: String,
    ) -> Result<Vec<Manifest>, String> {
        if version != VERSION {
            return Err(format!("unknown version {version}"));
        }
        log(
            Level::Debug,
            &format!("rendering for cluster {}", cluster.id),
        );
        Ok(vec![Manifest {
            name: "10-configmap.yaml".to_owned(),
            content: format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: noop-addon\n  namespace: kube-system\ndata:\n  cluster: {}\n  pools: \"{}\"\n",
                cluster.name,
                cluster.pools.len()
            ),
            format: "kubernetes".to_owned(),
        }])
    }

    fn classify_change(previous: String, next: String) -> Verdict {
        if previous.trim() == next.trim() {
            Verdict {
                ownership: Ownership::ProviderManaged,
                reason: "configuration unchanged".to_owned(),
            }
        } else {
            Verdict {
                ownership: Ownership::Shared,
                reason: "configuration changed".to_owned(),
            }
        }
    }

    fn plan_upgrade(
        current: String,
        target: String,
        _config: String,
    ) -> Result<UpgradePlan, String> {
        if current != VERSION || target != VERSION {
            return Err(format!("cannot upgrade from {current} to {target}"));
        }
        Ok(UpgradePlan {
            steps: vec![format!("re-apply {target}")],
            disruptive: false,
        })
    }
}

export!(NoopAddon);
