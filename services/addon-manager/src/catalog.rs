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
//!   compare equal;
//! - the top-level configuration key `platform` is the host's ([`PLATFORM`]): customer values
//!   containing it are `INVALID_ARGUMENT`; every configuration handed to a plugin whose
//!   reference declares keys under `platform` (`nfsEnabled`: the project's NFS gate;
//!   `apiEndpoint`: the Accord API clusters call) gets those [`Platform`] facts there
//!   ([`plugin_config`], the one place), overwriting anything else; stored and shown
//!   configurations never contain it;
//! - a configuration refused only because of a platform gate (it validates with every gate
//!   open) is `FAILED_PRECONDITION` with the plugin's message (ask the provider), not
//!   `INVALID_ARGUMENT`; an unchanged configuration is not refused by a gate that closed after
//!   it was accepted — the plugin renders it without the gated parts ([`refusal`]).

use std::{collections::BTreeMap, path::Path, sync::Arc};

use accord_core::{
    DomainError, FieldViolation,
    addon::{AddonInstaller, AddonManifest, AddonOwnership},
};
use accord_plugin_host::{
    AddonPlugin, HostConfig, Installer, Ownership, PluginError, PluginHost, PluginKind,
    PluginRegistry, UpgradePlan,
};
use std::sync::Mutex;

use serde_json::Value;

use crate::{handlers::Rendered, view::ClusterView};

/// The configuration key whose values the host sets (addon-kit's `entry::PLATFORM`).
pub const PLATFORM: &str = "platform";

/// What the host knows about a cluster's project and the platform that add-ons may render
/// from, handed to the plugins that declare it under [`PLATFORM`] (the WIT's `cluster-info`
/// stays as it is: changing it would break every plugin's ABI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platform {
    /// The provider's NFS gate for the project (`platform.nfsEnabled`; `crate::handlers::nfs_gate`).
    pub nfs_enabled: bool,
    /// Where the provider serves the Accord API to clusters (`platform.apiEndpoint`; the
    /// addon-manager's `api_endpoint` setting): the cluster-autoscaler's cloud provider calls it.
    pub api_endpoint: Arc<str>,
}

impl Platform {
    /// These facts with every gate open: a configuration refused under the real facts is
    /// validated again under these to tell a gate's objection from the customer's mistake.
    pub fn with_gates_open(&self) -> Platform {
        Platform {
            nfs_enabled: true,
            ..self.clone()
        }
    }

    /// The fact named `key` under [`PLATFORM`], if the host knows it.
    fn fact(&self, key: &str) -> Option<Value> {
        match key {
            NFS_ENABLED => Some(Value::Bool(self.nfs_enabled)),
            API_ENDPOINT => Some(Value::String(self.api_endpoint.to_string())),
            _ => None,
        }
    }
}

/// The NFS gate's key under [`PLATFORM`].
pub const NFS_ENABLED: &str = "nfsEnabled";

/// The Accord API endpoint's key under [`PLATFORM`].
pub const API_ENDPOINT: &str = "apiEndpoint";

/// The host-owned facts a plugin's reference configuration (`default-config`) declares under
/// [`PLATFORM`], in its order: only those are handed to it (an undeclared key would be refused
/// as unknown, e.g. by an older plugin pushed again). Empty: the plugin gets no `platform`.
pub fn platform_keys(default_config: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(default_config) {
        Ok(Value::Object(map)) => match map.get(PLATFORM) {
            Some(Value::Object(platform)) => platform.keys().cloned().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Whether a plugin's reference declares the host-owned NFS gate (its installations are
/// re-rendered when the gate moves).
pub fn declares_platform(default_config: &str) -> bool {
    platform_keys(default_config)
        .iter()
        .any(|k| k == NFS_ENABLED)
}

/// A plugin's reference configuration as customers see it (`ListAvailableAddons`): without
/// the host-owned [`PLATFORM`] key, which they cannot override. Unparseable: as it is.
pub fn customer_reference(default_config: &str) -> String {
    match serde_json::from_str::<Value>(default_config) {
        Ok(Value::Object(mut map)) if map.contains_key(PLATFORM) => {
            map.remove(PLATFORM);
            Value::Object(map).to_string()
        }
        _ => default_config.to_owned(),
    }
}

/// `config` (normalised, the customer's) as a plugin gets it: with `platform` set to the facts
/// of `platform` named by `keys` (the plugin's [`platform_keys`]), unchanged when `keys` is
/// empty. A declared key the host does not know is left out (the plugin's reference value
/// applies).
pub fn plugin_config(
    keys: &[String],
    config: &str,
    platform: &Platform,
) -> Result<String, DomainError> {
    if keys.is_empty() {
        return Ok(config.to_owned());
    }
    let bad = |m: String| DomainError::InvalidArgument(vec![FieldViolation::new("config", m)]);
    let mut value: Value =
        serde_json::from_str(config).map_err(|e| bad(format!("is not JSON: {e}")))?;
    let Some(map) = value.as_object_mut() else {
        return Err(bad("must be a JSON object of overrides".to_owned()));
    };
    let facts: serde_json::Map<String, Value> = keys
        .iter()
        .filter_map(|k| platform.fact(k).map(|v| (k.clone(), v)))
        .collect();
    map.insert(PLATFORM.to_owned(), Value::Object(facts));
    serde_json::to_string(&value).map_err(|e| bad(format!("cannot be encoded: {e}")))
}

/// What to answer for a configuration the plugin refused: `closed` are its violations under the
/// project's facts, `open` under [`Platform::with_gates_open`] (both already named `config.<path>`),
/// `unchanged` whether it is the installation's current configuration. `None`: accept it (a
/// gate closed after it was accepted; rendering leaves the gated parts out).
pub fn refusal(
    closed: Vec<FieldViolation>,
    open: &[FieldViolation],
    unchanged: bool,
) -> Option<DomainError> {
    if closed.is_empty() {
        return None;
    }
    if !open.is_empty() {
        return Some(DomainError::InvalidArgument(closed));
    }
    if unchanged {
        return None;
    }
    Some(DomainError::FailedPrecondition(
        closed
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; "),
    ))
}

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
    /// the configuration before the change ("{}" for a new installation); `platform` the
    /// facts about the cluster's project.
    pub async fn prepare(
        &self,
        plugin: &AddonPlugin,
        cluster: &ClusterView,
        version: &str,
        previous: &str,
        config: &str,
        platform: &Platform,
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
        let keys = platform_keys(&info.default_config);
        let closed = self
            .violations(plugin, &plugin_config(&keys, &config, platform)?)
            .await?;
        if !closed.is_empty() {
            let gates_open = platform.with_gates_open();
            let open = if !keys.is_empty() && *platform != gates_open {
                self.violations(plugin, &plugin_config(&keys, &config, &gates_open)?)
                    .await?
            } else {
                closed.clone()
            };
            if let Some(refused) = refusal(closed, &open, config == previous) {
                return Err(refused);
            }
        }
        let manifests = self
            .render(plugin, cluster, &version, &config, platform)
            .await?;
        let verdict = plugin
            .classify_change(
                &plugin_config(&keys, previous, platform)?,
                &plugin_config(&keys, &config, platform)?,
            )
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

    /// The plugin's objections to `config` (as the plugin gets it), named `config.<path>`.
    async fn violations(
        &self,
        plugin: &AddonPlugin,
        config: &str,
    ) -> Result<Vec<FieldViolation>, DomainError> {
        Ok(plugin
            .validate_config(config)
            .await
            .map_err(|e| plugin_failed(&plugin.info().name, e))?
            .into_iter()
            .map(|v| FieldViolation::new(format!("config.{}", v.field), v.message))
            .collect())
    }

    /// Renders `plugin` for `cluster` with the customer's `config` and the project's `platform`.
    pub async fn render(
        &self,
        plugin: &AddonPlugin,
        cluster: &ClusterView,
        version: &str,
        config: &str,
        platform: &Platform,
    ) -> Result<Vec<AddonManifest>, DomainError> {
        let plugin = &plugin.for_tenant(&cluster.project.to_string());
        let name = &plugin.info().name;
        let config = plugin_config(
            &platform_keys(&plugin.info().default_config),
            config,
            platform,
        )?;
        let rendered = plugin
            .render(&cluster.info(), version, &config)
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

impl Catalog {
    /// The plugin's plan to move `plugin` on `cluster` from `current` to `target` with the
    /// customer's `config` and the project's `platform`.
    pub async fn plan_upgrade(
        &self,
        plugin: &AddonPlugin,
        cluster: &ClusterView,
        current: &str,
        target: &str,
        config: &str,
        platform: &Platform,
    ) -> Result<UpgradePlan, DomainError> {
        let plugin = &plugin.for_tenant(&cluster.project.to_string());
        let info = plugin.info();
        let config = plugin_config(&platform_keys(&info.default_config), config, platform)?;
        plugin
            .plan_upgrade(current, target, &config)
            .await
            .map_err(|e| {
                DomainError::FailedPrecondition(format!(
                    "{} cannot move from {current} to {target} on cluster {}: {e}",
                    info.name, cluster.name
                ))
            })
    }
}

/// Overrides as a compact JSON object with sorted keys; empty means none. The customer's
/// overrides never contain [`PLATFORM`] (the host sets it).
pub fn normalise(config: &str) -> Result<String, DomainError> {
    let bad = |m: String| DomainError::InvalidArgument(vec![FieldViolation::new("config", m)]);
    if config.trim().is_empty() {
        return Ok("{}".to_owned());
    }
    let value: serde_json::Value =
        serde_json::from_str(config).map_err(|e| bad(format!("is not JSON: {e}")))?;
    let Some(map) = value.as_object() else {
        return Err(bad("must be a JSON object of overrides".to_owned()));
    };
    if map.contains_key(PLATFORM) {
        return Err(DomainError::InvalidArgument(vec![FieldViolation::new(
            format!("config.{PLATFORM}"),
            "is set by Accord (the provider's facts about the project, e.g. its NFS gate); remove it",
        )]));
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

    #[test]
    fn customers_cannot_set_the_platform_key() {
        let err = normalise(r#"{"platform": {"nfsEnabled": true}}"#).unwrap_err();
        assert!(
            matches!(&err, DomainError::InvalidArgument(v)
                if v[0].field == "config.platform" && v[0].description.contains("set by Accord")),
            "{err}"
        );
        // Only the top-level key is the host's.
        assert!(normalise(r#"{"node": {"platform": "x"}}"#).is_ok());
    }

    #[test]
    fn only_plugins_that_declare_the_gate_get_it_and_it_overwrites() {
        let csi = r#"{"storageClasses":{},"platform":{"nfsEnabled":false}}"#;
        let keys = platform_keys(csi);
        assert_eq!(keys, ["nfsEnabled"]);
        assert!(declares_platform(csi));
        assert!(!declares_platform(r#"{"driver":{"version":""}}"#));
        assert!(!declares_platform(r#"{"platform":{}}"#));
        assert!(!declares_platform(r#"{"platform":{"apiEndpoint":""}}"#));
        assert!(!declares_platform("not json"));
        assert!(platform_keys("not json").is_empty());

        let open = Platform {
            nfs_enabled: true,
            api_endpoint: "https://api.example".into(),
        };
        let config = r#"{"storageClasses":{"sharedNfs":{"enabled":true}}}"#;
        assert_eq!(plugin_config(&[], config, &open).unwrap(), config);
        let given: Value =
            serde_json::from_str(&plugin_config(&keys, config, &open).unwrap()).unwrap();
        // Only the declared facts: the csi-driver would refuse `apiEndpoint` as unknown.
        assert_eq!(given["platform"], serde_json::json!({"nfsEnabled": true}));
        assert_eq!(given["storageClasses"]["sharedNfs"]["enabled"], true);
        // Whatever is there is replaced by the host's facts.
        let given: Value = serde_json::from_str(
            &plugin_config(
                &keys,
                r#"{"platform":{"nfsEnabled":true,"x":1}}"#,
                &Platform::default(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(given["platform"], serde_json::json!({"nfsEnabled": false}));
        // Customers are shown the reference without it.
        assert_eq!(customer_reference(csi), r#"{"storageClasses":{}}"#);
        assert_eq!(customer_reference(r#"{"a":1}"#), r#"{"a":1}"#);
    }

    #[test]
    fn the_autoscaler_gets_the_platforms_api_endpoint() {
        let autoscaler = r#"{"replicas":1,"platform":{"apiEndpoint":""}}"#;
        let keys = platform_keys(autoscaler);
        assert_eq!(keys, ["apiEndpoint"]);
        let platform = Platform {
            nfs_enabled: false,
            api_endpoint: "https://api.eu1.cloud.example".into(),
        };
        let given: Value =
            serde_json::from_str(&plugin_config(&keys, "{}", &platform).unwrap()).unwrap();
        assert_eq!(
            given,
            serde_json::json!({"platform": {"apiEndpoint": "https://api.eu1.cloud.example"}})
        );
        // Opening the gates keeps the endpoint; an unknown declared key is left out.
        assert_eq!(
            platform.with_gates_open().api_endpoint,
            platform.api_endpoint
        );
        let given: Value =
            serde_json::from_str(&plugin_config(&["future".to_owned()], "{}", &platform).unwrap())
                .unwrap();
        assert_eq!(given["platform"], serde_json::json!({}));
    }

    #[test]
    fn a_gate_refuses_with_failed_precondition_and_mistakes_with_invalid_argument() {
        let gate = || {
            vec![FieldViolation::new(
                "config.storageClasses.sharedNfs.enabled",
                "NFS is not enabled for this project; ask your provider",
            )]
        };
        let typo = || {
            vec![FieldViolation::new(
                "config.node.kubeletDir",
                "not absolute",
            )]
        };
        assert!(refusal(Vec::new(), &[], false).is_none());
        // Only the gate objects: ask the provider.
        let err = refusal(gate(), &[], false).unwrap();
        assert!(
            matches!(&err, DomainError::FailedPrecondition(m)
                if m.starts_with("config.storageClasses.sharedNfs.enabled: ")
                    && m.contains("ask your provider")),
            "{err}"
        );
        // A mistake of the customer's too: fix the input first, with every violation named.
        let mut both = gate();
        both.extend(typo());
        let err = refusal(both, &typo(), false).unwrap();
        assert!(
            matches!(&err, DomainError::InvalidArgument(v) if v.len() == 2),
            "{err}"
        );
        // Accepted before the gate closed: kept (rendered without the NFS class).
        assert!(refusal(gate(), &[], true).is_none());
        assert!(matches!(
            refusal(typo(), &typo(), true),
            Some(DomainError::InvalidArgument(_))
        ));
    }
}
