//! [`PolicyPlugin`]: a loaded remediation policy, of either supported version of the policy
//! world ([`PolicyInterface`]).
//!
//! Invariants:
//! - A policy built against `accord:plugin@0.1.0` is called exactly as before 0.2.0 existed
//!   (ports as HCA indexes); a finding kind that version lacks is refused with
//!   [`PluginError::Unsupported`] before any call — the host never answers in the policy's
//!   name, and the refusal does not count towards quarantine.
//! - `decide` is a pure function call into a fresh instance: no state carries over between
//!   calls, so concurrent calls on clones are independent.
//! - A quarantined policy answers every call with `PluginError::Quarantined` without running.

use std::fmt;
use std::sync::Arc;

use accord_core::remediation::{Finding, RemediationContext, RemediationDecision};

use crate::bindings::{policy_v01, policy_v02};
use crate::call::Loaded;
use crate::convert::{v01, v02};
use crate::error::PluginError;
use crate::store::CallState;
use crate::types::{PluginState, PolicyInfo, PolicyInterface};

/// A loaded remediation policy. Cloning is cheap and clones share quarantine state.
#[derive(Clone)]
pub struct PolicyPlugin {
    inner: Arc<Inner>,
}

struct Inner {
    world: PolicyWorld,
    info: PolicyInfo,
}

/// The loaded component, by the version of the world it exports.
pub(crate) enum PolicyWorld {
    V01(Loaded<policy_v01::RemediationPolicyPre<CallState>>),
    V02(Loaded<policy_v02::RemediationPolicyPre<CallState>>),
}

impl PolicyPlugin {
    pub(crate) fn new(world: PolicyWorld, info: PolicyInfo) -> Self {
        Self {
            inner: Arc::new(Inner { world, info }),
        }
    }

    /// The version of the policy world the component was built against.
    pub fn interface(&self) -> PolicyInterface {
        match &self.inner.world {
            PolicyWorld::V01(_) => PolicyInterface::V0_1,
            PolicyWorld::V02(_) => PolicyInterface::V0_2,
        }
    }

    /// What the policy said about itself at load.
    pub fn info(&self) -> &PolicyInfo {
        &self.inner.info
    }

    /// SHA-256 of the component, lowercase hex.
    pub fn digest(&self) -> &str {
        match &self.inner.world {
            PolicyWorld::V01(loaded) => &loaded.digest,
            PolicyWorld::V02(loaded) => &loaded.digest,
        }
    }

    /// Asks the policy what to do about `finding`. A policy of `accord:plugin@0.1.0` gets the
    /// finding in that version's terms (a named port as its HCA index), and a kind that version
    /// lacks is [`PluginError::Unsupported`] without a call.
    pub async fn decide(
        &self,
        finding: &Finding,
        ctx: &RemediationContext,
    ) -> Result<RemediationDecision, PluginError> {
        match &self.inner.world {
            PolicyWorld::V02(loaded) => {
                let finding = v02::finding_to_wit(finding);
                let ctx = v02::context_to_wit(ctx);
                let decision = loaded
                    .call("decide", None, |policy, mut store| async move {
                        policy
                            .accord_plugin_policy_api()
                            .call_decide(&mut store, &finding, ctx)
                            .await
                    })
                    .await?;
                Ok(v02::decision_from_wit(decision))
            }
            PolicyWorld::V01(loaded) => {
                let finding = v01::finding_to_wit(finding)?;
                let ctx = v01::context_to_wit(ctx);
                let decision = loaded
                    .call("decide", None, |policy, mut store| async move {
                        policy
                            .accord_plugin_policy_api()
                            .call_decide(&mut store, &finding, ctx)
                            .await
                    })
                    .await?;
                Ok(v01::decision_from_wit(decision))
            }
        }
    }

    /// Active, or quarantined with the reason.
    pub fn state(&self) -> PluginState {
        match &self.inner.world {
            PolicyWorld::V01(loaded) => loaded.health.state(),
            PolicyWorld::V02(loaded) => loaded.health.state(),
        }
    }

    /// Consecutive failed calls so far (0 after any completed call).
    pub fn failures(&self) -> u32 {
        match &self.inner.world {
            PolicyWorld::V01(loaded) => loaded.health.failures(),
            PolicyWorld::V02(loaded) => loaded.health.failures(),
        }
    }
}

impl fmt::Debug for PolicyPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyPlugin")
            .field("info", &self.inner.info)
            .field("interface", &self.interface())
            .field("digest", &self.digest())
            .field("state", &self.state())
            .field("failures", &self.failures())
            .finish()
    }
}
