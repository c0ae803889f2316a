//! [`PolicyPlugin`]: a loaded remediation policy.
//!
//! Invariants:
//! - `decide` is a pure function call into a fresh instance: no state carries over between
//!   calls, so concurrent calls on clones are independent.
//! - A quarantined policy answers every call with `PluginError::Quarantined` without running.

use std::fmt;
use std::sync::Arc;

use accord_core::remediation::{Finding, RemediationContext, RemediationDecision};

use crate::bindings::policy::RemediationPolicyPre;
use crate::call::Loaded;
use crate::convert;
use crate::error::PluginError;
use crate::store::CallState;
use crate::types::{PluginState, PolicyInfo};

/// A loaded remediation policy. Cloning is cheap and clones share quarantine state.
#[derive(Clone)]
pub struct PolicyPlugin {
    inner: Arc<Inner>,
}

struct Inner {
    loaded: Loaded<RemediationPolicyPre<CallState>>,
    info: PolicyInfo,
}

impl PolicyPlugin {
    pub(crate) fn new(loaded: Loaded<RemediationPolicyPre<CallState>>, info: PolicyInfo) -> Self {
        Self {
            inner: Arc::new(Inner { loaded, info }),
        }
    }

    /// What the policy said about itself at load.
    pub fn info(&self) -> &PolicyInfo {
        &self.inner.info
    }

    /// SHA-256 of the component, lowercase hex.
    pub fn digest(&self) -> &str {
        &self.inner.loaded.digest
    }

    /// Asks the policy what to do about `finding`. A finding the policy interface cannot carry
    /// (a kind newer than it) is [`PluginError::Unsupported`] without a call.
    pub async fn decide(
        &self,
        finding: &Finding,
        ctx: &RemediationContext,
    ) -> Result<RemediationDecision, PluginError> {
        let finding = convert::finding_to_wit(finding)?;
        let ctx = convert::context_to_wit(ctx);
        let decision = self
            .inner
            .loaded
            .call("decide", None, |policy, mut store| async move {
                policy
                    .accord_plugin_policy_api()
                    .call_decide(&mut store, &finding, ctx)
                    .await
            })
            .await?;
        Ok(convert::decision_from_wit(decision))
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

impl fmt::Debug for PolicyPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyPlugin")
            .field("info", &self.inner.info)
            .field("digest", &self.digest())
            .field("state", &self.state())
            .field("failures", &self.failures())
            .finish()
    }
}
