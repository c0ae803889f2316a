//! The add-on catalogue: the loaded add-on plugins (shipped ones from a directory, replaced at
//! run time by pushes to the `ACCORD_PLUGINS` bucket, see `accord_runtime::plugin_watch`) and the plugin
//! work every handler needs — version check, configuration validation, rendering and the
//! ownership verdict — turned into domain results ([`Rendered`]) and domain errors.
//!
//! Invariants:
//! - a plugin failure (timeout, trap, quarantine) is `UNAVAILABLE` for the caller and changes
//!   nothing; a configuration the plugin rejects is `INVALID_ARGUMENT` naming each field as
//!   `config.<path>`;
//! - configurations are stored normalised (compact JSON, keys sorted), so equal overrides
//!   compare equal.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use accord_core::{
    DomainError, FieldViolation,
    addon::{AddonInstaller, AddonManifest, AddonOwnership},
};
use accord_plugin_host::{
    AddonPlugin, HostConfig, Installer, Ownership, PluginError, PluginHost, PluginKind,
    PluginRegistry,
};
use std::sync::Mutex;

use crate::{handlers::Rendered, view::ClusterView};

/// The loaded add-on plugins.
pub struct Catalog {
    registry: Arc<PluginRegistry>,
    /// Shipped components by add-on name: what a deleted push falls back to.
    shipped: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl Catalog {
    /// An empty catalogue with its own plugin host.
    pub fn new(config: HostConfig) -> Result<Self, PluginError> {
        Ok(Self {
            registry: Arc::new(PluginRegistry::new(Arc::new(PluginHost::new(config)?))),
            shipped: Mutex::new(BTreeMap::new()),
        })
    }

    /// The registry (hot-swap point).
    pub fn registry(&self) -> &Arc<PluginRegistry> {
        &self.registry
    }

    /// Loads the add-on components in `dir` whose names are in `allowed` (other kinds and
    /// names are ignored: the build directory also holds test components); returns the names
    /// loaded. A file that fails is logged and skipped.
    pub fn load_dir(&self, dir: &Path, allowed: &[String]) -> std::io::Result<Vec<String>> {
        let mut loaded = Vec::new();
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let wasm = std::fs::read(&path)?;
            match self.registry.host().kind_of(&wasm) {
                Ok(PluginKind::Addon) => {}
                Ok(PluginKind::RemediationPolicy) => continue,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "not a plugin; skipped");
                    continue;
                }
            }
            // Load once; activate only the shipped names.
            match self.registry.host().load_addon(&wasm) {
                Ok(a) if !allowed.iter().any(|n| *n == a.info().name) => {
                    tracing::debug!(path = %path.display(), addon = %a.info().name, "not a shipped add-on; skipped");
                }
                Ok(a) => {
                    let l = self.registry.activate_addon(a);
                    tracing::info!(addon = %l.name, version = %l.version, digest = %l.digest, "add-on plugin loaded");
                    self.shipped
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(l.name.clone(), wasm);
                    loaded.push(l.name);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "add-on plugin refused")
                }
            }
        }
        Ok(loaded)
    }

    /// The shipped component of `name`, if any.
    pub fn shipped(&self, name: &str) -> Option<Vec<u8>> {
        self.shipped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The active plugin of `name`.
    pub fn addon(&self, name: &str) -> Result<AddonPlugin, DomainError> {
        self.registry.addon(name).ok_or_else(|| {
            let known = self.names().join(", ");
            DomainError::InvalidArgument(vec![FieldViolation::new(
                "name",
                format!("no add-on named {name:?} (available: {known})"),
            )])
        })
    }

    /// Names of the active add-on plugins, sorted.
    pub fn names(&self) -> Vec<String> {
        self.registry
            .list()
            .into_iter()
            .filter(|s| s.kind == PluginKind::Addon)
            .map(|s| s.name)
            .collect()
    }

    /// Every active add-on plugin, sorted by name.
    pub fn available(&self) -> Vec<AddonPlugin> {
        self.names()
            .iter()
            .filter_map(|n| self.registry.addon(n))
            .collect()
    }

    /// Everything a handler needs to install, reconfigure or upgrade `plugin` on `cluster` at
    /// `version` (empty: the default) with `config` (overrides; empty: none). `previous` is
    /// the configuration before the change ("{}" for a new installation).
    pub async fn prepare(
        &self,
        plugin: &AddonPlugin,
        cluster: &ClusterView,
        version: &str,
        previous: &str,
        config: &str,
    ) -> Result<Rendered, DomainError> {
        // Faults on this cluster's input count against its tenant, not the shared plugin.
        let plugin = &plugin.for_tenant(&cluster.project.to_string());
        let info = plugin.info();
        let version = if version.is_empty() {
            info.default_version.clone()
        } else if info.versions.iter().any(|v| v == version) {
            version.to_owned()
        } else {
            return Err(DomainError::InvalidArgument(vec![FieldViolation::new(
                "version",
                format!(
                    "{} has no version {version:?} (available: {})",
                    info.name,
                    info.versions.join(", ")
                ),
            )]));
        };
        let config = normalise(config)?;
        let violations = plugin
            .validate_config(&config)
            .await
            .map_err(|e| plugin_failed(&info.name, e))?;
        if !violations.is_empty() {
            return Err(DomainError::InvalidArgument(
                violations
                    .into_iter()
                    .map(|v| FieldViolation::new(format!("config.{}", v.field), v.message))
                    .collect(),
            ));
        }
        let manifests = self.render(plugin, cluster, &version, &config).await?;
        let verdict = plugin
            .classify_change(previous, &config)
            .await
            .map_err(|e| plugin_failed(&info.name, e))?;
        Ok(Rendered {
            version,
            config,
            manifests,
            plugin_digest: plugin.digest().to_owned(),
            installer: installer(info.installer),
            verdict: (ownership(verdict.ownership), verdict.reason),
        })
    }

    /// Renders `plugin` for `cluster`.
    pub async fn render(
        &self,
        plugin: &AddonPlugin,
        cluster: &ClusterView,
        version: &str,
        config: &str,
    ) -> Result<Vec<AddonManifest>, DomainError> {
        let plugin = &plugin.for_tenant(&cluster.project.to_string());
        let name = &plugin.info().name;
        let rendered = plugin
            .render(&cluster.info(), version, config)
            .await
            .map_err(|e| match e {
                PluginError::Returned(msg) => DomainError::FailedPrecondition(format!(
                    "{name} {version} cannot be rendered for cluster {}: {msg}",
                    cluster.name
                )),
                other => plugin_failed(name, other),
            })?;
        Ok(rendered
            .into_iter()
            .map(|m| AddonManifest {
                name: m.name,
                format: m.format,
                content: m.content,
            })
            .collect())
    }
}

/// Overrides as a compact JSON object with sorted keys; empty means none.
pub fn normalise(config: &str) -> Result<String, DomainError> {
    let bad = |m: String| DomainError::InvalidArgument(vec![FieldViolation::new("config", m)]);
    if config.trim().is_empty() {
        return Ok("{}".to_owned());
    }
    let value: serde_json::Value =
        serde_json::from_str(config).map_err(|e| bad(format!("is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(bad("must be a JSON object of overrides".to_owned()));
    }
    serde_json::to_string(&value).map_err(|e| bad(format!("cannot be encoded: {e}")))
}

fn plugin_failed(name: &str, e: PluginError) -> DomainError {
    DomainError::Unavailable(format!("the {name} add-on plugin failed: {e}"))
}

/// The domain installer of a plugin's declaration.
pub fn installer(i: Installer) -> AddonInstaller {
    match i {
        Installer::Provider => AddonInstaller::Provider,
        Installer::Customer => AddonInstaller::Customer,
    }
}

fn ownership(o: Ownership) -> AddonOwnership {
    match o {
        Ownership::ProviderManaged => AddonOwnership::ProviderManaged,
        Ownership::Shared => AddonOwnership::Shared,
        Ownership::CustomerOwned => AddonOwnership::CustomerOwned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_normalised() {
        assert_eq!(normalise("").unwrap(), "{}");
        assert_eq!(normalise("  ").unwrap(), "{}");
        assert_eq!(
            normalise(r#"{ "b": 1, "a": {"y": 2, "x": 1} }"#).unwrap(),
            r#"{"a":{"x":1,"y":2},"b":1}"#
        );
        for bad in ["[1]", "3", "{", "\"x\""] {
            let err = normalise(bad).unwrap_err();
            assert!(
                matches!(&err, DomainError::InvalidArgument(v) if v[0].field == "config"),
                "{bad}: {err}"
            );
        }
    }
}
