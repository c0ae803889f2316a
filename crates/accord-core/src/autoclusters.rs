//! AutoClusters remediations (written only by the provisioner, the owner of nodes): what the
//! cluster's remediation policy decided about one health finding, and how carrying it out went.
//!
//! A remediation is created once per finding (its key is the finding's id, so a redelivered
//! finding never starts a second one) and is never silent: every decision is recorded, including
//! "nothing", "tell the customer" and "held by a safety limit".
//!
//! States: `running` (the action is being carried out) → `succeeded` | `failed`; `held` (a
//! safety limit — per-pool in flight, circuit breaker — says wait; released when it clears);
//! `skipped` (the decision needs no node action: none, notify-customer, escalate, or remediation
//! is not allowed); `pending-approval`, `waiting-window` and `dry-run` are the states of the
//! approval, maintenance-window and dry-run modes.
//!
//! The ladder: a `reset-gpu` that fails climbs to `reboot-node`, a `reboot-node` that fails to
//! `replace-node`, a `replace-node` that fails ends `failed` (and support-triage escalates).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    ids::{ClusterId, NodeId, NodePoolId, RemediationId},
    meta::Metadata,
    remediation::{Finding, RemediationAction, RemediationContext, RemediationDecision},
};

/// Where a remediation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationState {
    /// Waits for `accord remediation approve|reject` (approval mode, costly actions).
    PendingApproval,
    /// Waits for the cluster's next maintenance window.
    WaitingWindow,
    /// A safety limit says wait; the reason says which.
    Held,
    /// Dry-run mode: recorded what would happen, did nothing.
    DryRun,
    /// Being carried out.
    Running,
    /// Done; the node is healthy (or replaced).
    Succeeded,
    /// Every rung of the ladder failed, or the node went away.
    Failed,
    /// No node action (none, notify-customer, escalate, not allowed, rejected).
    Skipped,
}

impl RemediationState {
    /// Every state, in declaration order.
    pub const ALL: [RemediationState; 8] = [
        RemediationState::PendingApproval,
        RemediationState::WaitingWindow,
        RemediationState::Held,
        RemediationState::DryRun,
        RemediationState::Running,
        RemediationState::Succeeded,
        RemediationState::Failed,
        RemediationState::Skipped,
    ];

    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationState::PendingApproval => "pending-approval",
            RemediationState::WaitingWindow => "waiting-window",
            RemediationState::Held => "held",
            RemediationState::DryRun => "dry-run",
            RemediationState::Running => "running",
            RemediationState::Succeeded => "succeeded",
            RemediationState::Failed => "failed",
            RemediationState::Skipped => "skipped",
        }
    }

    /// Whether nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RemediationState::Succeeded
                | RemediationState::Failed
                | RemediationState::Skipped
                | RemediationState::DryRun
        )
    }
}

/// One step of carrying out an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationStep {
    /// A repair runs in the infrastructure (reset the GPU, or drain and power-cycle the node).
    Repair,
    /// The repair reported success; waiting for the node to report Ready.
    Verify,
    /// A replacement node is being provisioned in the same pool.
    ProvisionReplacement,
    /// The replaced node is being drained and terminated.
    RetireNode,
}

impl RemediationStep {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationStep::Repair => "repair",
            RemediationStep::Verify => "verify",
            RemediationStep::ProvisionReplacement => "provision-replacement",
            RemediationStep::RetireNode => "retire-node",
        }
    }
}

/// One line of a remediation's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What, as a short kebab-case tag (`decided`, `cordoned`, `power-cycle`, `held` …).
    pub what: String,
    /// The sentence.
    pub detail: String,
}

/// A remediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// Metadata; the name is the finding's id.
    pub metadata: Metadata<RemediationId>,
    /// What was decided, and on what grounds (immutable).
    pub spec: RemediationSpec,
    /// How it goes.
    pub status: RemediationStatus,
}

/// What was decided about which finding, and on what grounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationSpec {
    /// Cluster.
    pub cluster: ClusterId,
    /// Pool of the node.
    pub pool: NodePoolId,
    /// Node.
    pub node: NodeId,
    /// Node name.
    pub node_name: String,
    /// The finding's id (`hf-…`, or the event's id for findings without one).
    pub finding_id: String,
    /// The finding.
    pub finding: Finding,
    /// What the finding's check saw (kept for RMA once the node is gone).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// What the policy was told.
    pub context: RemediationContext,
    /// The policy's decision.
    pub decision: RemediationDecision,
    /// The policy that decided (`name@version`), or `host` when none could.
    pub policy: String,
}

/// How a remediation goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationStatus {
    /// Where it stands.
    pub state: RemediationState,
    /// The rung being carried out (the decision's action, or higher after a failure).
    pub action: RemediationAction,
    /// Why it is in this state, in a sentence.
    pub reason: String,
    /// The step in progress (`running` only).
    #[serde(default)]
    pub step: Option<RemediationStep>,
    /// When the step in progress started.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub step_started_at: Option<OffsetDateTime>,
    /// The repair running in the infrastructure (its idempotency key).
    #[serde(default)]
    pub repair: Option<String>,
    /// The replacement node (`replace-node`).
    #[serde(default)]
    pub replacement: Option<NodeId>,
    /// Whether the provider cordoned the node (and so uncordons it): never a customer's cordon.
    #[serde(default)]
    pub cordoned_by_us: bool,
    /// Rungs tried so far (1 for the first).
    #[serde(default)]
    pub attempts: u32,
    /// What happened, oldest first (bounded: see [`MAX_TIMELINE`]).
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

/// Most timeline entries kept per remediation (the first ones and the newest are kept).
pub const MAX_TIMELINE: usize = 64;

impl RemediationStatus {
    /// Appends a timeline entry, keeping at most [`MAX_TIMELINE`] (the first eight and the
    /// newest).
    pub fn note(&mut self, at: OffsetDateTime, what: &str, detail: impl Into<String>) {
        if self.timeline.len() >= MAX_TIMELINE {
            self.timeline.remove(8);
        }
        self.timeline.push(TimelineEntry {
            at,
            what: what.to_owned(),
            detail: detail.into(),
        });
    }
}

/// Whether an action changes the node (and so runs, waits or is held).
pub fn touches_node(action: RemediationAction) -> bool {
    matches!(
        action,
        RemediationAction::ResetGpu
            | RemediationAction::RebootNode
            | RemediationAction::ReplaceNode
    )
}

/// The next rung of the ladder after `action` failed: reset → reboot → replace → none.
pub fn next_rung(action: RemediationAction) -> Option<RemediationAction> {
    match action {
        RemediationAction::ResetGpu => Some(RemediationAction::RebootNode),
        RemediationAction::RebootNode => Some(RemediationAction::ReplaceNode),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_spell_as_in_json_and_the_ladder_climbs_to_replace() {
        for state in RemediationState::ALL {
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::json!(state.as_str())
            );
        }
        assert_eq!(
            next_rung(RemediationAction::ResetGpu),
            Some(RemediationAction::RebootNode)
        );
        assert_eq!(
            next_rung(RemediationAction::RebootNode),
            Some(RemediationAction::ReplaceNode)
        );
        assert_eq!(next_rung(RemediationAction::ReplaceNode), None);
        assert!(!touches_node(RemediationAction::Escalate));
    }

    #[test]
    fn the_timeline_keeps_its_beginning_and_its_newest_entries() {
        let mut s = RemediationStatus {
            state: RemediationState::Running,
            action: RemediationAction::RebootNode,
            reason: String::new(),
            step: None,
            step_started_at: None,
            repair: None,
            replacement: None,
            cordoned_by_us: false,
            attempts: 1,
            timeline: Vec::new(),
        };
        let t = OffsetDateTime::UNIX_EPOCH;
        for i in 0..200 {
            s.note(t, "step", format!("{i}"));
        }
        assert_eq!(s.timeline.len(), MAX_TIMELINE);
        assert_eq!(s.timeline[0].detail, "0");
        assert_eq!(s.timeline[7].detail, "7");
        assert_eq!(s.timeline.last().unwrap().detail, "199");
    }
}
