//! The remediation policies the provisioner asks: the shipped `gpu-remediation` component
//! loaded from the plugin directory, replaced at run time by a push of `policy.<name>` to the
//! plugin bucket (the kit's `plugin_watch`; a deleted push brings the shipped one back).
//!
//! Never silent: a policy that is missing, traps, times out, runs out of memory, is
//! quarantined or refuses the finding's kind is answered by the host with `escalate`
//! (Supported) naming the policy and what went wrong, so the finding still reaches humans.

use std::{path::Path, sync::Arc};

use accord_core::{
    remediation::{Finding, RemediationAction, RemediationContext, RemediationDecision},
    responsibility::SupportScope,
};
use accord_plugin_host::{HostConfig, PluginError, PluginHost, PluginKind, PluginRegistry};

/// The shipped policy, which clusters use unless they name another.
pub const DEFAULT_POLICY: &str = accord_core::cluster::DEFAULT_REMEDIATION_POLICY;

/// The shipped component's file in the plugin directory.
pub const DEFAULT_POLICY_FILE: &str = "gpu_remediation.wasm";

/// The loaded policies.
pub struct Policies {
    registry: Arc<PluginRegistry>,
    shipped: Option<Vec<u8>>,
}

impl Policies {
    /// A plugin host with `config` and the shipped policy from `plugin_dir` (compiled here:
    /// call it off the async workers).
    pub fn load(config: HostConfig, plugin_dir: &Path) -> anyhow::Result<Self> {
        let registry = Arc::new(PluginRegistry::new(Arc::new(PluginHost::new(config)?)));
        let path = plugin_dir.join(DEFAULT_POLICY_FILE);
        let wasm = std::fs::read(&path).map_err(|e| {
            anyhow::anyhow!(
                "reading the remediation policy {} (build it with `cargo xtask plugins`): {e}",
                path.display()
            )
        })?;
        let loaded = registry
            .offer_kind(PluginKind::RemediationPolicy, &wasm)
            .map_err(|e| anyhow::anyhow!("loading {}: {e}", path.display()))?;
        tracing::info!(policy = %loaded.name, version = %loaded.version, digest = %loaded.digest, "remediation policy loaded");
        Ok(Self {
            registry,
            shipped: Some(wasm),
        })
    }

    /// The registry (the hot-swap point).
    pub fn registry(&self) -> &Arc<PluginRegistry> {
        &self.registry
    }

    /// The shipped component of `name`, if it is the default policy.
    pub fn shipped(&self, name: &str) -> Option<Vec<u8>> {
        (name == DEFAULT_POLICY)
            .then(|| self.shipped.clone())
            .flatten()
    }

    /// Asks policy `name` about `finding`: its decision and `name@version`, or the host's
    /// escalation and `host` when it could not decide.
    pub async fn decide(
        &self,
        name: &str,
        finding: &Finding,
        ctx: &RemediationContext,
    ) -> (RemediationDecision, String) {
        let Some(policy) = self.registry.policy(name) else {
            return (
                escalation(&format!("no remediation policy named {name:?} is loaded")),
                "host".to_owned(),
            );
        };
        let label = format!("{}@{}", policy.info().name, policy.info().version);
        match policy.decide(finding, ctx).await {
            Ok(decision) => (decision, label),
            Err(e) => {
                let why = match &e {
                    PluginError::Unsupported(_) => format!(
                        "the remediation policy {label} cannot take this finding ({e}); \
                         rebuild it against the current policy interface"
                    ),
                    _ => format!("the remediation policy {label} failed ({e})"),
                };
                tracing::warn!(policy = %label, error = %e, "remediation policy failed; escalating");
                (escalation(&why), "host".to_owned())
            }
        }
    }
}

/// The host's answer when no policy could decide.
fn escalation(why: &str) -> RemediationDecision {
    RemediationDecision {
        action: RemediationAction::Escalate,
        responsibility: SupportScope::Supported,
        reason: format!("{why}: escalated to a supported incident, no automatic action"),
    }
}
