//! [`PluginHost`]: compiles components, checks them against their world, and hands out loaded
//! plugins.
//!
//! Invariants:
//! - A plugin is handed out only after it compiled, its imports fit the world's linker, it
//!   exports the world's interface and its `describe()` answered sensibly within the limits;
//!   anything else is `PluginError::Invalid`.
//! - Loading compiles once and caches the `InstancePre`; calls only instantiate.
//! - Loading is synchronous and CPU-bound (compilation): async callers run it on
//!   `spawn_blocking`.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};

use crate::addon::AddonPlugin;
use crate::bindings::addon::AddonPre;
use crate::bindings::policy::RemediationPolicyPre;
use crate::call::{Loaded, Runtime, call_at_load};
use crate::config::HostConfig;
use crate::convert;
use crate::engine::new_engine;
use crate::error::PluginError;
use crate::linker;
use crate::policy::PolicyPlugin;
use crate::store::CallState;
use crate::types::{AddonInfo, PluginKind, PolicyInfo};

/// Export names (without version) that identify each world.
const POLICY_API: &str = "accord:plugin/policy-api@";
const ADDON_API: &str = "accord:plugin/addon-api@";

/// Longest text accepted in a `describe()` field that is not free prose.
const MAX_VERSION_LEN: usize = 64;

/// Loads plugins. One per process is enough; it is cheap to share behind an `Arc`.
pub struct PluginHost {
    runtime: Arc<Runtime>,
    policy_linker: Linker<CallState>,
    addon_linker: Linker<CallState>,
}

impl PluginHost {
    /// An engine with epoch interruption and (by default) the pooling allocator, its epoch
    /// ticker, and one linker per world.
    pub fn new(config: HostConfig) -> Result<Self, PluginError> {
        config.validate()?;
        let engine = new_engine(&config)?;
        let policy_linker = linker::policy(&engine)
            .map_err(|err| PluginError::Engine(format!("policy linker: {err:#}")))?;
        let addon_linker = linker::addon(&engine)
            .map_err(|err| PluginError::Engine(format!("addon linker: {err:#}")))?;
        let permits =
            Semaphore::new(usize::try_from(config.max_concurrent_calls).unwrap_or(usize::MAX));
        Ok(Self {
            runtime: Arc::new(Runtime {
                engine,
                config,
                permits,
            }),
            policy_linker,
            addon_linker,
        })
    }

    /// The limits plugin calls run under.
    pub fn config(&self) -> &HostConfig {
        &self.runtime.config
    }

    /// Compiles and checks a remediation policy and calls its `describe()`.
    pub fn load_policy(&self, wasm: &[u8]) -> Result<PolicyPlugin, PluginError> {
        let digest = digest(wasm);
        let component = self.compile(wasm)?;
        let pre = self
            .policy_linker
            .instantiate_pre(&component)
            .map_err(|err| imports_do_not_fit("remediation-policy", &err))?;
        let pre = RemediationPolicyPre::new(pre).map_err(|err| {
            PluginError::Invalid(format!(
                "not a remediation policy: it does not export accord:plugin/policy-api@0.1.0 \
                 ({err:#})"
            ))
        })?;
        let info = call_at_load(&self.runtime, &pre, |policy, mut store| async move {
            policy
                .accord_plugin_policy_api()
                .call_describe(&mut store)
                .await
        })
        .map_err(describe_failed)?;
        let info = convert::policy_info_from_wit(info);
        check_policy_info(&info)?;
        let loaded = Loaded::new(Arc::clone(&self.runtime), pre, &info.name, digest);
        Ok(PolicyPlugin::new(loaded, info))
    }

    /// Compiles and checks an add-on and calls its `describe()`.
    pub fn load_addon(&self, wasm: &[u8]) -> Result<AddonPlugin, PluginError> {
        let digest = digest(wasm);
        let component = self.compile(wasm)?;
        let pre = self
            .addon_linker
            .instantiate_pre(&component)
            .map_err(|err| imports_do_not_fit("addon", &err))?;
        let pre = AddonPre::new(pre).map_err(|err| {
            PluginError::Invalid(format!(
                "not an add-on: it does not export accord:plugin/addon-api@0.1.0 ({err:#})"
            ))
        })?;
        let info = call_at_load(&self.runtime, &pre, |addon, mut store| async move {
            addon
                .accord_plugin_addon_api()
                .call_describe(&mut store)
                .await
        })
        .map_err(describe_failed)?;
        let info = convert::addon_info_from_wit(info);
        check_addon_info(&info)?;
        let loaded = Loaded::new(Arc::clone(&self.runtime), pre, &info.name, digest);
        Ok(AddonPlugin::new(loaded, info))
    }

    /// Which world a component implements, by its exports (compiles it; runs nothing).
    pub fn kind_of(&self, wasm: &[u8]) -> Result<PluginKind, PluginError> {
        let component = self.compile(wasm)?;
        let ty = component.component_type();
        let mut kinds = ty.exports(&self.runtime.engine).filter_map(|(name, _)| {
            if name.starts_with(POLICY_API) {
                Some(PluginKind::RemediationPolicy)
            } else if name.starts_with(ADDON_API) {
                Some(PluginKind::Addon)
            } else {
                None
            }
        });
        match (kinds.next(), kinds.next()) {
            (Some(kind), None) => Ok(kind),
            (Some(_), Some(_)) => Err(PluginError::Invalid(
                "the component exports both the add-on and the remediation-policy interface"
                    .to_owned(),
            )),
            (None, _) => Err(PluginError::Invalid(
                "the component exports neither accord:plugin/addon-api nor \
                 accord:plugin/policy-api"
                    .to_owned(),
            )),
        }
    }

    fn compile(&self, wasm: &[u8]) -> Result<Component, PluginError> {
        Component::new(&self.runtime.engine, wasm).map_err(|err| {
            PluginError::Invalid(format!("not a usable WebAssembly component: {err:#}"))
        })
    }
}

impl fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.runtime.config)
            .finish_non_exhaustive()
    }
}

fn digest(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

fn imports_do_not_fit(world: &str, err: &wasmtime::Error) -> PluginError {
    PluginError::Invalid(format!(
        "the component's imports do not fit the {world} world: {err:#}"
    ))
}

fn describe_failed(err: PluginError) -> PluginError {
    match err {
        PluginError::Engine(_) => err,
        err => PluginError::Invalid(format!("describe() failed: {err}")),
    }
}

fn check_policy_info(info: &PolicyInfo) -> Result<(), PluginError> {
    check_name(&info.name)?;
    check_version("version", &info.version)
}

fn check_addon_info(info: &AddonInfo) -> Result<(), PluginError> {
    check_name(&info.name)?;
    check_version("plugin-version", &info.plugin_version)?;
    if info.versions.is_empty() {
        return Err(insane("versions", "lists no add-on versions"));
    }
    for version in &info.versions {
        check_version("versions", version)?;
    }
    if !info.versions.contains(&info.default_version) {
        return Err(insane(
            "default-version",
            &format!("{:?} is not one of versions", info.default_version),
        ));
    }
    match serde_json::from_str::<serde_json::Value>(&info.default_config) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(insane("default-config", "is not a JSON object")),
        Err(err) => Err(insane(
            "default-config",
            &format!("is not valid JSON: {err}"),
        )),
    }
}

fn check_name(name: &str) -> Result<(), PluginError> {
    accord_core::validation::dns_label(name).map_err(|err| insane("name", &err))
}

fn check_version(field: &str, version: &str) -> Result<(), PluginError> {
    if version.is_empty()
        || version.len() > MAX_VERSION_LEN
        || !version.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(insane(
            field,
            &format!(
                "{version:?} must be 1–{MAX_VERSION_LEN} printable ASCII characters without spaces"
            ),
        ));
    }
    Ok(())
}

fn insane(field: &str, problem: &str) -> PluginError {
    PluginError::Invalid(format!("describe(): {field} {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addon_info() -> AddonInfo {
        AddonInfo {
            name: "nvidia-gpu-operator".into(),
            description: "GPU operator".into(),
            plugin_version: "0.1.0".into(),
            versions: vec!["v25.3.0".into()],
            default_version: "v25.3.0".into(),
            default_config: r#"{"driver":{"enabled":true}}"#.into(),
            required_with_infiniband: false,
            installer: crate::types::Installer::Provider,
            customer_knobs: vec![],
        }
    }

    #[test]
    fn sane_descriptions_pass() {
        check_addon_info(&addon_info()).unwrap();
        check_policy_info(&PolicyInfo {
            name: "gpu-remediation".into(),
            version: "0.1.0".into(),
        })
        .unwrap();
    }

    #[test]
    fn insane_descriptions_name_the_field() {
        type Break = fn(&mut AddonInfo);
        let cases: [(Break, &str); 5] = [
            (|i| i.name = "Not A Name".into(), "name"),
            (|i| i.plugin_version = String::new(), "plugin-version"),
            (|i| i.versions.clear(), "versions"),
            (|i| i.default_version = "v1".into(), "default-version"),
            (|i| i.default_config = "[1]".into(), "default-config"),
        ];
        for (break_it, field) in cases {
            let mut info = addon_info();
            break_it(&mut info);
            let err = check_addon_info(&info).unwrap_err();
            assert!(
                matches!(&err, PluginError::Invalid(msg) if msg.contains(field)),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn digests_are_lowercase_sha256_hex() {
        assert_eq!(
            digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
