//! [`PluginHost`]: compiles components, checks them against their world, and hands out loaded
//! plugins.
//!
//! Worlds: `addon` (`accord:plugin@0.1.0`) and `remediation-policy` in each version of
//! [`PolicyInterface`] (`@0.2.0`, and `@0.1.0` for policies built before it). A component's
//! world and version are read from the interface it exports.
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
use crate::bindings::{policy_v01, policy_v02};
use crate::call::{Loaded, Runtime, call_at_load};
use crate::config::HostConfig;
use crate::convert;
use crate::engine::new_engine;
use crate::error::PluginError;
use crate::linker;
use crate::policy::{PolicyPlugin, PolicyWorld};
use crate::store::CallState;
use crate::types::{AddonInfo, PluginKind, PolicyInfo, PolicyInterface};

/// Export names (without version) of each world's interface.
const POLICY_API: &str = "accord:plugin/policy-api@";
const ADDON_API: &str = "accord:plugin/addon-api@";
/// The add-on interface the host loads (the one version there is).
const ADDON_API_V01: &str = "accord:plugin/addon-api@0.1.0";

/// Longest text accepted in a `describe()` field that is not free prose.
const MAX_VERSION_LEN: usize = 64;

/// Loads plugins. One per process is enough; it is cheap to share behind an `Arc`.
pub struct PluginHost {
    runtime: Arc<Runtime>,
    policy_v02_linker: Linker<CallState>,
    policy_v01_linker: Linker<CallState>,
    addon_linker: Linker<CallState>,
}

impl PluginHost {
    /// An engine with epoch interruption and (by default) the pooling allocator, its epoch
    /// ticker, and one linker per world.
    pub fn new(config: HostConfig) -> Result<Self, PluginError> {
        config.validate()?;
        let engine = new_engine(&config)?;
        let policy_v02_linker = linker::policy_v02(&engine)
            .map_err(|err| PluginError::Engine(format!("policy 0.2.0 linker: {err:#}")))?;
        let policy_v01_linker = linker::policy_v01(&engine)
            .map_err(|err| PluginError::Engine(format!("policy 0.1.0 linker: {err:#}")))?;
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
            policy_v02_linker,
            policy_v01_linker,
            addon_linker,
        })
    }

    /// The limits plugin calls run under.
    pub fn config(&self) -> &HostConfig {
        &self.runtime.config
    }

    /// Compiles and checks a remediation policy of either supported version (told by the
    /// interface it exports) and calls its `describe()`.
    pub fn load_policy(&self, wasm: &[u8]) -> Result<PolicyPlugin, PluginError> {
        let digest = digest(wasm);
        let component = self.compile(wasm)?;
        let interface = self.policy_interface(&component)?;
        let linker = match interface {
            PolicyInterface::V0_1 => &self.policy_v01_linker,
            PolicyInterface::V0_2 => &self.policy_v02_linker,
        };
        let pre = linker.instantiate_pre(&component).map_err(|err| {
            imports_do_not_fit(&format!("remediation-policy ({interface})"), &err)
        })?;
        let not_a_policy = |err: wasmtime::Error| {
            PluginError::Invalid(format!(
                "not a remediation policy: it does not export {} as that world defines it \
                 ({err:#})",
                interface.export_name()
            ))
        };
        let (world, info) = match interface {
            PolicyInterface::V0_1 => {
                let pre = policy_v01::RemediationPolicyPre::new(pre).map_err(not_a_policy)?;
                let info = call_at_load(&self.runtime, &pre, |policy, mut store| async move {
                    policy
                        .accord_plugin_policy_api()
                        .call_describe(&mut store)
                        .await
                })
                .map_err(describe_failed)?;
                let info = convert::v01::policy_info_from_wit(info);
                check_policy_info(&info)?;
                let loaded = Loaded::new(Arc::clone(&self.runtime), pre, &info.name, digest);
                (PolicyWorld::V01(loaded), info)
            }
            PolicyInterface::V0_2 => {
                let pre = policy_v02::RemediationPolicyPre::new(pre).map_err(not_a_policy)?;
                let info = call_at_load(&self.runtime, &pre, |policy, mut store| async move {
                    policy
                        .accord_plugin_policy_api()
                        .call_describe(&mut store)
                        .await
                })
                .map_err(describe_failed)?;
                let info = convert::v02::policy_info_from_wit(info);
                check_policy_info(&info)?;
                let loaded = Loaded::new(Arc::clone(&self.runtime), pre, &info.name, digest);
                (PolicyWorld::V02(loaded), info)
            }
        };
        Ok(PolicyPlugin::new(world, info))
    }

    /// The policy version a component exports, or why it is not a policy the host loads.
    fn policy_interface(&self, component: &Component) -> Result<PolicyInterface, PluginError> {
        let exports = export_names(&self.runtime.engine, component);
        let mut found = PolicyInterface::ALL
            .into_iter()
            .filter(|v| exports.iter().any(|name| name == v.export_name()));
        match (found.next(), found.next()) {
            (Some(interface), None) => Ok(interface),
            (Some(_), Some(_)) => Err(PluginError::Invalid(
                "the component exports more than one version of accord:plugin/policy-api"
                    .to_owned(),
            )),
            (None, _) => Err(PluginError::Invalid(not_supported(
                "not a remediation policy",
                &exports,
                POLICY_API,
                &supported_policy_exports(),
            ))),
        }
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
                "not an add-on: it does not export {ADDON_API_V01} ({err:#})"
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

    /// Which world a component implements, by its exports (compiles it; runs nothing). Every
    /// supported version counts: the add-on interface of `accord:plugin@0.1.0` and the policy
    /// interface of each [`PolicyInterface`]; an export of another version of either is
    /// `Invalid`, naming the versions the host loads.
    pub fn kind_of(&self, wasm: &[u8]) -> Result<PluginKind, PluginError> {
        let component = self.compile(wasm)?;
        let exports = export_names(&self.runtime.engine, &component);
        let policies = supported_policy_exports();
        let is_policy = exports.iter().any(|n| policies.contains(&n.as_str()));
        let is_addon = exports.iter().any(|n| n == ADDON_API_V01);
        match (is_policy, is_addon) {
            (true, false) => Ok(PluginKind::RemediationPolicy),
            (false, true) => Ok(PluginKind::Addon),
            (true, true) => Err(PluginError::Invalid(
                "the component exports both the add-on and the remediation-policy interface"
                    .to_owned(),
            )),
            (false, false) if exports.iter().any(|n| n.starts_with(POLICY_API)) => {
                Err(PluginError::Invalid(not_supported(
                    "an unsupported remediation policy",
                    &exports,
                    POLICY_API,
                    &policies,
                )))
            }
            (false, false) if exports.iter().any(|n| n.starts_with(ADDON_API)) => {
                Err(PluginError::Invalid(not_supported(
                    "an unsupported add-on",
                    &exports,
                    ADDON_API,
                    &[ADDON_API_V01],
                )))
            }
            (false, false) => Err(PluginError::Invalid(
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

/// The names of a component's exports.
fn export_names(engine: &wasmtime::Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The policy interfaces the host loads, oldest first.
fn supported_policy_exports() -> [&'static str; 2] {
    PolicyInterface::ALL.map(PolicyInterface::export_name)
}

/// `<what>: it exports <the versions of interface it has>; the host loads <supported>`. Export
/// names come from the component: cut, so an error never carries unbounded input.
fn not_supported(what: &str, exports: &[String], interface: &str, supported: &[&str]) -> String {
    let has: Vec<&str> = exports
        .iter()
        .filter(|n| n.starts_with(interface))
        .take(4)
        .map(|n| {
            n.char_indices()
                .nth(80)
                .and_then(|(end, _)| n.get(..end))
                .unwrap_or(n)
        })
        .collect();
    let has = if has.is_empty() {
        format!("it does not export {interface}…")
    } else {
        format!("it exports {}", has.join(", "))
    };
    format!("{what}: {has}; the host loads {}", supported.join(", "))
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
    fn other_versions_are_named_beside_the_supported_ones() {
        let exports = [
            "wasi:cli/run@0.2.0".to_owned(),
            "accord:plugin/policy-api@0.3.0".to_owned(),
        ];
        let message = not_supported(
            "an unsupported remediation policy",
            &exports,
            POLICY_API,
            &supported_policy_exports(),
        );
        assert_eq!(
            message,
            "an unsupported remediation policy: it exports accord:plugin/policy-api@0.3.0; the \
             host loads accord:plugin/policy-api@0.1.0, accord:plugin/policy-api@0.2.0"
        );
        let message = not_supported("not a remediation policy", &exports[..1], POLICY_API, &[]);
        assert!(
            message.contains("it does not export accord:plugin/policy-api@…"),
            "{message}"
        );
    }

    #[test]
    fn digests_are_lowercase_sha256_hex() {
        assert_eq!(
            digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
