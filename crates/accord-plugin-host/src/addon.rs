//! [`AddonPlugin`]: a loaded add-on.
//!
//! Invariants:
//! - Every call runs in a fresh instance; the add-on's own errors (`render` and `plan-upgrade`
//!   return a WIT `result`) come back as `PluginError::Returned` and do not count as failures.
//! - A quarantined add-on answers every call with `PluginError::Quarantined` without running.

use std::fmt;
use std::sync::Arc;

use crate::bindings::addon::AddonPre;
use crate::call::Loaded;
use crate::convert;
use crate::error::PluginError;
use crate::store::CallState;
use crate::types::{
    AddonInfo, ClusterInfo, Manifest, PluginState, UpgradePlan, Verdict, Violation,
};

/// A loaded add-on. Cloning is cheap and clones share quarantine state.
///
/// Calls made through [`AddonPlugin::for_tenant`] are attributed to that tenant: faults on one
/// tenant's input quarantine the add-on for that tenant only (see `health`).
#[derive(Clone)]
pub struct AddonPlugin {
    inner: Arc<Inner>,
    caller: Option<Arc<str>>,
}

struct Inner {
    loaded: Loaded<AddonPre<CallState>>,
    info: AddonInfo,
}

impl AddonPlugin {
    pub(crate) fn new(loaded: Loaded<AddonPre<CallState>>, info: AddonInfo) -> Self {
        Self {
            inner: Arc::new(Inner { loaded, info }),
            caller: None,
        }
    }

    /// The same add-on, its calls attributed to `tenant` (e.g. the project id).
    pub fn for_tenant(&self, tenant: &str) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            caller: Some(tenant.into()),
        }
    }

    /// What the add-on said about itself at load.
    pub fn info(&self) -> &AddonInfo {
        &self.inner.info
    }

    /// SHA-256 of the component, lowercase hex.
    pub fn digest(&self) -> &str {
        &self.inner.loaded.digest
    }

    /// Checks a configuration (JSON); an empty list means valid.
    pub async fn validate_config(&self, config: &str) -> Result<Vec<Violation>, PluginError> {
        let violations = self
            .inner
            .loaded
            .call(
                "validate-config",
                self.caller.as_deref(),
                |addon, mut store| async move {
                    addon
                        .accord_plugin_addon_api()
                        .call_validate_config(&mut store, config)
                        .await
                },
            )
            .await?;
        Ok(violations
            .into_iter()
            .map(convert::violation_from_wit)
            .collect())
    }

    /// Renders the manifests for a cluster, add-on version and configuration.
    pub async fn render(
        &self,
        cluster: &ClusterInfo,
        version: &str,
        config: &str,
    ) -> Result<Vec<Manifest>, PluginError> {
        let cluster = convert::cluster_to_wit(cluster);
        let rendered = self
            .inner
            .loaded
            .call(
                "render",
                self.caller.as_deref(),
                |addon, mut store| async move {
                    addon
                        .accord_plugin_addon_api()
                        .call_render(&mut store, &cluster, version, config)
                        .await
                },
            )
            .await?
            .map_err(PluginError::Returned)?;
        Ok(rendered
            .into_iter()
            .map(convert::manifest_from_wit)
            .collect())
    }

    /// Judges a configuration change against the reference configuration.
    pub async fn classify_change(
        &self,
        previous: &str,
        next: &str,
    ) -> Result<Verdict, PluginError> {
        let verdict = self
            .inner
            .loaded
            .call(
                "classify-change",
                self.caller.as_deref(),
                |addon, mut store| async move {
                    addon
                        .accord_plugin_addon_api()
                        .call_classify_change(&mut store, previous, next)
                        .await
                },
            )
            .await?;
        Ok(convert::verdict_from_wit(verdict))
    }

    /// Plans an upgrade between two add-on versions.
    pub async fn plan_upgrade(
        &self,
        current: &str,
        target: &str,
        config: &str,
    ) -> Result<UpgradePlan, PluginError> {
        let plan = self
            .inner
            .loaded
            .call(
                "plan-upgrade",
                self.caller.as_deref(),
                |addon, mut store| async move {
                    addon
                        .accord_plugin_addon_api()
                        .call_plan_upgrade(&mut store, current, target, config)
                        .await
                },
            )
            .await?
            .map_err(PluginError::Returned)?;
        Ok(convert::plan_from_wit(plan))
    }

    /// Active, or quarantined with the reason.
    pub fn state(&self) -> PluginState {
        self.inner.loaded.health.state()
    }

    /// Consecutive failed calls so far (0 after any completed call).
    pub fn failures(&self) -> u32 {
        self.inner.loaded.health.failures()
    }
}

impl fmt::Debug for AddonPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddonPlugin")
            .field("name", &self.inner.info.name)
            .field("plugin_version", &self.inner.info.plugin_version)
            .field("digest", &self.digest())
            .field("state", &self.state())
            .field("failures", &self.failures())
            .finish()
    }
}
