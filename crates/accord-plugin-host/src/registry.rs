//! [`PluginRegistry`]: the hot-swap point — the active remediation policies and add-ons by name.
//!
//! Plugins come in as bytes ([`PluginRegistry::offer`], from a directory with
//! [`PluginRegistry::load_dir`], or from the NATS plugin bucket via the caller — this module
//! knows nothing about NATS). An offer is compiled, checked against its world and `describe()`d
//! by [`PluginHost`] first; only then does it replace the active plugin of that name.
//!
//! Invariants:
//! - An offer that does not load never changes what is active.
//! - Replacement is atomic: the active set is an immutable snapshot behind an `Arc`, swapped
//!   whole under a short write lock (loading happens outside it). A reader sees the old or the
//!   new plugin, never neither; calls already running on the old plugin finish on it (callers
//!   hold a cheap clone).
//! - Loading is synchronous and CPU-bound: async callers run `offer`/`load_dir` on
//!   `spawn_blocking`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;

use crate::addon::AddonPlugin;
use crate::error::PluginError;
use crate::host::PluginHost;
use crate::policy::PolicyPlugin;
use crate::types::{PluginKind, PluginState};

/// What an accepted offer activated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    /// The plugin's name (from its `describe()`).
    pub name: String,
    /// Which world it implements.
    pub kind: PluginKind,
    /// The plugin's version (a policy's `version`, an add-on's `plugin-version`).
    pub version: String,
    /// SHA-256 of the component, lowercase hex.
    pub digest: String,
    /// The digest of the plugin it replaced, if there was one.
    pub replaced: Option<String>,
}

/// One active plugin, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginStatus {
    /// The plugin's name.
    pub name: String,
    /// Which world it implements.
    pub kind: PluginKind,
    /// The plugin's version.
    pub version: String,
    /// SHA-256 of the component, lowercase hex.
    pub digest: String,
    /// Active, or quarantined and why.
    pub state: PluginState,
}

#[derive(Clone, Default)]
struct Active {
    policies: BTreeMap<String, PolicyPlugin>,
    addons: BTreeMap<String, AddonPlugin>,
}

/// The active plugins by name. Share it behind an `Arc`.
pub struct PluginRegistry {
    host: Arc<PluginHost>,
    active: RwLock<Arc<Active>>,
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self.snapshot();
        f.debug_struct("PluginRegistry")
            .field("policies", &active.policies.keys().collect::<Vec<_>>())
            .field("addons", &active.addons.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PluginRegistry {
    /// An empty registry loading through `host`.
    pub fn new(host: Arc<PluginHost>) -> Self {
        Self {
            host,
            active: RwLock::new(Arc::new(Active::default())),
        }
    }

    /// The host plugins are loaded with.
    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Makes an add-on loaded by this registry's host (e.g. checked by the caller first) the
    /// active one of its name.
    pub fn activate_addon(&self, addon: AddonPlugin) -> Loaded {
        let name = addon.info().name.clone();
        let mut loaded = Loaded {
            name: name.clone(),
            kind: PluginKind::Addon,
            version: addon.info().plugin_version.clone(),
            digest: addon.digest().to_owned(),
            replaced: None,
        };
        self.swap(|active| {
            loaded.replaced = active
                .addons
                .insert(name, addon)
                .map(|old| old.digest().to_owned());
        });
        loaded
    }

    /// Validates `wasm` (kind by its exports, then a full load) and, if it loads, makes it the
    /// active plugin of its name. On error nothing changes.
    pub fn offer(&self, wasm: &[u8]) -> Result<Loaded, PluginError> {
        let kind = self.host.kind_of(wasm)?;
        self.offer_kind(kind, wasm)
    }

    /// [`offer`](Self::offer) for a component that must be of `kind`; another kind is
    /// [`PluginError::Invalid`].
    pub fn offer_kind(&self, kind: PluginKind, wasm: &[u8]) -> Result<Loaded, PluginError> {
        self.expect_kind(kind, wasm)?;
        match kind {
            PluginKind::RemediationPolicy => {
                let policy = self.host.load_policy(wasm)?;
                let name = policy.info().name.clone();
                let mut loaded = Loaded {
                    name: name.clone(),
                    kind,
                    version: policy.info().version.clone(),
                    digest: policy.digest().to_owned(),
                    replaced: None,
                };
                self.swap(|active| {
                    loaded.replaced = active
                        .policies
                        .insert(name, policy)
                        .map(|old| old.digest().to_owned());
                });
                Ok(loaded)
            }
            PluginKind::Addon => Ok(self.activate_addon(self.host.load_addon(wasm)?)),
        }
    }

    /// Loads `wasm` as a component of `kind` and asks it to describe itself, without activating
    /// it: what a push is checked with before it is stored. `replaced` names the digest of the
    /// active plugin of that name, if any.
    pub fn check_kind(&self, kind: PluginKind, wasm: &[u8]) -> Result<Loaded, PluginError> {
        self.expect_kind(kind, wasm)?;
        let active = self.snapshot();
        let (name, version, digest, replaced) = match kind {
            PluginKind::RemediationPolicy => {
                let policy = self.host.load_policy(wasm)?;
                let info = policy.info();
                let replaced = active
                    .policies
                    .get(&info.name)
                    .map(|p| p.digest().to_owned());
                (
                    info.name.clone(),
                    info.version.clone(),
                    policy.digest().to_owned(),
                    replaced,
                )
            }
            PluginKind::Addon => {
                let addon = self.host.load_addon(wasm)?;
                let info = addon.info();
                let replaced = active.addons.get(&info.name).map(|a| a.digest().to_owned());
                (
                    info.name.clone(),
                    info.plugin_version.clone(),
                    addon.digest().to_owned(),
                    replaced,
                )
            }
        };
        Ok(Loaded {
            name,
            kind,
            version,
            digest,
            replaced,
        })
    }

    /// `Invalid` unless `wasm` is a component of the world `kind` names.
    fn expect_kind(&self, kind: PluginKind, wasm: &[u8]) -> Result<(), PluginError> {
        let actual = self.host.kind_of(wasm)?;
        if actual != kind {
            return Err(PluginError::Invalid(format!(
                "expected a {} component, got a {}",
                kind_name(kind),
                kind_name(actual)
            )));
        }
        Ok(())
    }

    /// Offers every `*.wasm` file in `dir` (sorted by file name), each on its own: one bad file
    /// does not stop the others. Errors only when the directory cannot be read.
    pub fn load_dir(
        &self,
        dir: &Path,
    ) -> std::io::Result<Vec<(PathBuf, Result<Loaded, PluginError>)>> {
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "wasm") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths
            .into_iter()
            .map(|path| {
                let result = std::fs::read(&path)
                    .map_err(|err| PluginError::Invalid(format!("{}: {err}", path.display())))
                    .and_then(|wasm| self.offer(&wasm));
                (path, result)
            })
            .collect())
    }

    /// Removes the active plugin `name` of `kind`; true when there was one.
    pub fn remove(&self, kind: PluginKind, name: &str) -> bool {
        let mut removed = false;
        self.swap(|active| {
            removed = match kind {
                PluginKind::RemediationPolicy => active.policies.remove(name).is_some(),
                PluginKind::Addon => active.addons.remove(name).is_some(),
            };
        });
        removed
    }

    /// The active policy `name` (a cheap clone; it stays usable after a swap).
    pub fn policy(&self, name: &str) -> Option<PolicyPlugin> {
        self.snapshot().policies.get(name).cloned()
    }

    /// The active add-on `name` (a cheap clone; it stays usable after a swap).
    pub fn addon(&self, name: &str) -> Option<AddonPlugin> {
        self.snapshot().addons.get(name).cloned()
    }

    /// Every active plugin: policies, then add-ons, each sorted by name.
    pub fn list(&self) -> Vec<PluginStatus> {
        let active = self.snapshot();
        let policies = active.policies.values().map(|p| PluginStatus {
            name: p.info().name.clone(),
            kind: PluginKind::RemediationPolicy,
            version: p.info().version.clone(),
            digest: p.digest().to_owned(),
            state: p.state(),
        });
        let addons = active.addons.values().map(|a| PluginStatus {
            name: a.info().name.clone(),
            kind: PluginKind::Addon,
            version: a.info().plugin_version.clone(),
            digest: a.digest().to_owned(),
            state: a.state(),
        });
        policies.chain(addons).collect()
    }

    fn snapshot(&self) -> Arc<Active> {
        Arc::clone(&self.active.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Copy, change, replace — under the write lock, so concurrent swaps do not lose updates.
    fn swap(&self, change: impl FnOnce(&mut Active)) {
        let mut guard = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = Active::clone(&guard);
        change(&mut next);
        *guard = Arc::new(next);
    }
}

/// The WIT world name of a kind.
pub fn kind_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Addon => "addon",
        PluginKind::RemediationPolicy => "remediation-policy",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use accord_core::remediation::{Finding, FindingKind, RemediationContext};

    use super::*;
    use crate::config::HostConfig;

    fn plugin_dir() -> PathBuf {
        std::env::var_os("ACCORD_PLUGIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../plugins/target/wasm32-wasip2/release")
            })
    }

    fn wasm(name: &str) -> Vec<u8> {
        let path = plugin_dir().join(format!("{name}.wasm"));
        std::fs::read(&path).unwrap_or_else(|err| {
            panic!("{}: {err}; run `cargo xtask plugins` first", path.display())
        })
    }

    /// The same component with a custom section appended: still valid, another digest — a
    /// "rebuilt" plugin.
    fn rebuilt(mut wasm: Vec<u8>, tag: &str) -> Vec<u8> {
        let name = b"accord-test";
        let mut section = vec![u8::try_from(name.len()).unwrap()];
        section.extend_from_slice(name);
        section.extend_from_slice(tag.as_bytes());
        wasm.push(0); // custom section id
        wasm.push(u8::try_from(section.len()).unwrap()); // LEB128, < 128
        wasm.extend_from_slice(&section);
        wasm
    }

    fn registry(config: HostConfig) -> PluginRegistry {
        PluginRegistry::new(Arc::new(PluginHost::new(config).unwrap()))
    }

    fn config() -> HostConfig {
        HostConfig::default().with_call_timeout(Duration::from_secs(5))
    }

    fn finding(node: &str) -> Finding {
        Finding {
            kind: FindingKind::GpuXid,
            cluster: "cl-test".to_owned(),
            node: node.to_owned(),
            xid: Some(79),
            gpu: Some(0),
            port: None,
            state: None,
            minutes: None,
            temp_c: None,
            signal: None,
            severity: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_offer_replaces_the_policy_atomically() {
        let registry = registry(config());
        let original = wasm("gpu_remediation");
        let first = registry.offer(&original).unwrap();
        assert_eq!(first.name, "gpu-remediation");
        assert_eq!(first.kind, PluginKind::RemediationPolicy);
        assert_eq!(first.replaced, None);
        let old = registry.policy("gpu-remediation").unwrap();
        assert_eq!(old.digest(), first.digest);

        let second = registry.offer(&rebuilt(original, "v2")).unwrap();
        assert_ne!(second.digest, first.digest);
        assert_eq!(second.replaced.as_deref(), Some(first.digest.as_str()));
        let new = registry.policy("gpu-remediation").unwrap();
        assert_eq!(new.digest(), second.digest);

        // The old plugin a caller still holds keeps working; new lookups get the new one.
        let ctx = RemediationContext {
            remediation_allowed: true,
            ..RemediationContext::default()
        };
        let a = old.decide(&finding("n-1"), &ctx).await.unwrap();
        let b = new.decide(&finding("n-1"), &ctx).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(registry.list().len(), 1);
    }

    #[test]
    fn an_invalid_offer_keeps_the_old_plugin() {
        let registry = registry(config());
        let good = registry.offer(&wasm("gpu_remediation")).unwrap();

        let err = registry.offer(b"\0asm not really").unwrap_err();
        assert!(matches!(err, PluginError::Invalid(_)), "{err}");
        // Truncated component bytes.
        let original = wasm("gpu_remediation");
        let truncated = &original[..original.len() / 2];
        assert!(registry.offer(truncated).is_err());
        // An add-on where a policy is expected.
        let err = registry
            .offer_kind(PluginKind::RemediationPolicy, &wasm("noop_addon"))
            .unwrap_err();
        assert!(
            err.to_string().contains("expected a remediation-policy"),
            "{err}"
        );

        assert_eq!(
            registry.policy("gpu-remediation").unwrap().digest(),
            good.digest
        );
        assert!(registry.addon("noop-addon").is_none());
        assert_eq!(registry.list().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_shows_kinds_versions_and_states() {
        let registry = registry(config().with_quarantine_after(1));
        let hostile = registry.offer(&wasm("hostile_policy")).unwrap();
        let addon = registry.offer(&wasm("noop_addon")).unwrap();
        assert_eq!(addon.kind, PluginKind::Addon);
        registry.offer(&wasm("gpu_remediation")).unwrap();

        let policy = registry.policy(&hostile.name).unwrap();
        let ctx = RemediationContext::default();
        policy.decide(&finding("trap"), &ctx).await.unwrap_err();

        let list = registry.list();
        let row = |name: &str| list.iter().find(|s| s.name == name).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2].kind, PluginKind::Addon, "policies first: {list:?}");
        assert_eq!(row("gpu-remediation").state, PluginState::Active);
        assert_eq!(row(&addon.name).state, PluginState::Active);
        assert_eq!(row(&addon.name).version, addon.version);
        assert!(
            matches!(row(&hostile.name).state, PluginState::Quarantined { .. }),
            "{list:?}"
        );

        // Offering it again gives a fresh, active plugin.
        registry.offer(&wasm("hostile_policy")).unwrap();
        assert_eq!(
            registry.policy(&hostile.name).unwrap().state(),
            PluginState::Active
        );
        assert!(registry.remove(PluginKind::Addon, &addon.name));
        assert!(!registry.remove(PluginKind::Addon, &addon.name));
        assert_eq!(registry.list().len(), 2);
    }

    #[test]
    fn load_dir_loads_every_component_and_reports_bad_ones() {
        let dir = tempdir();
        std::fs::write(dir.join("gpu.wasm"), wasm("gpu_remediation")).unwrap();
        std::fs::write(dir.join("noop.wasm"), wasm("noop_addon")).unwrap();
        std::fs::write(dir.join("broken.wasm"), b"nope").unwrap();
        std::fs::write(dir.join("README.md"), b"not a plugin").unwrap();
        let registry = registry(config());
        let results = registry.load_dir(&dir).unwrap();
        let names: Vec<_> = results
            .iter()
            .map(|(p, r)| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    r.is_ok(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("broken.wasm".to_owned(), false),
                ("gpu.wasm".to_owned(), true),
                ("noop.wasm".to_owned(), true)
            ]
        );
        assert!(registry.policy("gpu-remediation").is_some());
        assert_eq!(registry.list().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "accord-registry-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
