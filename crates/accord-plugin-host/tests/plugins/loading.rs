//! Loading: world checks, `describe()`, digests, `kind_of`, refusals.

use accord_plugin_host::{PluginError, PluginKind, PluginState, PolicyInterface};
use sha2::{Digest, Sha256};

use crate::support::{GPU_REMEDIATION, HOSTILE_POLICY, NOOP_ADDON, host, wasm};

#[test]
fn a_policy_loads_with_its_description_and_digest() {
    let bytes = wasm(HOSTILE_POLICY);
    let policy = host().load_policy(&bytes).unwrap();
    assert_eq!(policy.info().name, "hostile-policy");
    assert_eq!(policy.info().version, "0.1.0");
    assert_eq!(policy.digest(), hex::encode(Sha256::digest(&bytes)));
    assert_eq!(policy.state(), PluginState::Active);
    assert_eq!(policy.failures(), 0);
}

#[test]
fn an_addon_loads_with_its_description() {
    let addon = host().load_addon(&wasm(NOOP_ADDON)).unwrap();
    let info = addon.info();
    assert_eq!(info.name, "noop-addon");
    assert_eq!(info.versions, ["1.0.0"]);
    assert_eq!(info.default_version, "1.0.0");
    assert_eq!(info.default_config, "{}");
}

#[test]
fn kind_of_tells_the_worlds_apart() {
    let host = host();
    // Policies of both supported versions: 0.1.0 (hostile) and 0.2.0 (the shipped one).
    for name in [HOSTILE_POLICY, GPU_REMEDIATION] {
        assert_eq!(
            host.kind_of(&wasm(name)).unwrap(),
            PluginKind::RemediationPolicy,
            "{name}"
        );
    }
    assert_eq!(host.kind_of(&wasm(NOOP_ADDON)).unwrap(), PluginKind::Addon);
}

#[test]
fn policies_of_both_versions_load_and_say_which() {
    let host = host();
    let old = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let new = host.load_policy(&wasm(GPU_REMEDIATION)).unwrap();
    assert_eq!(old.interface(), PolicyInterface::V0_1);
    assert_eq!(new.interface(), PolicyInterface::V0_2);
    assert_eq!(new.info().name, "gpu-remediation");
    assert_eq!(new.interface().as_str(), "accord:plugin@0.2.0");
}

#[test]
fn a_component_of_the_wrong_world_is_invalid() {
    let host = host();
    let err = host.load_policy(&wasm(NOOP_ADDON)).unwrap_err();
    assert!(
        matches!(&err, PluginError::Invalid(msg) if msg.contains("policy-api")),
        "{err}"
    );
    let err = host.load_addon(&wasm(HOSTILE_POLICY)).unwrap_err();
    assert!(
        matches!(&err, PluginError::Invalid(msg) if msg.contains("addon-api")),
        "{err}"
    );
}

#[test]
fn garbage_and_core_modules_are_invalid() {
    let host = host();
    let garbage = b"this is not webassembly at all".as_slice();
    // A valid but empty *core module*: WebAssembly, but not a component.
    let core_module = b"\0asm\x01\0\0\0".as_slice();
    for bytes in [garbage, core_module, &[]] {
        for err in [
            host.load_policy(bytes).map(drop).unwrap_err(),
            host.load_addon(bytes).map(drop).unwrap_err(),
            host.kind_of(bytes).map(drop).unwrap_err(),
        ] {
            assert!(matches!(err, PluginError::Invalid(_)), "{err}");
        }
    }
}

#[test]
fn one_host_loads_many_plugins_and_the_same_bytes_twice() {
    let host = host();
    let a = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let b = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let addon = host.load_addon(&wasm(NOOP_ADDON)).unwrap();
    assert_eq!(a.digest(), b.digest());
    assert_ne!(a.digest(), addon.digest());
}

/// Every component in the plugin directory (the real add-ons and policies included) is one of
/// the two worlds and loads as that kind: its imports fit and its `describe()` is sane.
#[test]
fn every_built_component_loads_as_its_kind() {
    let host = host();
    let mut seen = Vec::new();
    let dir = crate::support::plugin_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}; run `cargo xtask plugins` first", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "wasm") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let name = match host.kind_of(&bytes) {
            Ok(PluginKind::RemediationPolicy) => {
                host.load_policy(&bytes).map(|p| p.info().name.clone())
            }
            Ok(PluginKind::Addon) => host.load_addon(&bytes).map(|a| a.info().name.clone()),
            Err(err) => Err(err),
        };
        match name {
            Ok(name) => seen.push(name),
            Err(err) => panic!("{}: {err}", path.display()),
        }
    }
    assert!(seen.contains(&"hostile-policy".to_owned()), "{seen:?}");
    assert!(seen.contains(&"noop-addon".to_owned()), "{seen:?}");
}
