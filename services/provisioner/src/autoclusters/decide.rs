//! A policy's decision about a finding → a [`Remediation`] and its events, in one change.
//!
//! The state it starts in:
//! - an action on the node (reset, reboot, replace) → `running` with `remediation.started`,
//!   unless the node already has a running remediation (the finding joins it: `skipped`, the
//!   running one is the answer) or the finding is the node being not ready shortly after a
//!   remediation of it succeeded (the cooldown: a rebooted node was briefly not ready);
//! - `hold` → `held` with `remediation.held` (released when the policy stops holding it);
//! - anything else (none, notify-customer, escalate) → `skipped`: no node action; the decision
//!   event is what support-triage opens the incident from.
//!
//! The cluster's mode changes where a node action starts: `dry-run` records it as `dry-run`
//! (final: what would have happened, nothing done); `approval` makes reboot and replace wait in
//! `pending-approval` for [`approve`] or [`reject`] (a GPU reset goes ahead).
//!
//! Invariant: one remediation per finding id (`remediation_findings`), written in the same
//! commit; a cluster keeps its newest [`MAX_REMEDIATIONS_PER_CLUSTER`] remediations (the oldest
//! finished ones are deleted in the commit that would exceed it).

use accord_core::{
    DomainError,
    autoclusters::{
        Remediation, RemediationSpec, RemediationState, RemediationStatus, touches_node,
    },
    cluster::{Cluster, RemediationMode},
    ids::{ClusterId, RemediationId},
    meta::Metadata,
    node::Node,
    remediation::{
        Finding, FindingKind, RemediationAction, RemediationContext, RemediationDecision,
        RemediationEvent,
    },
};
use accord_store::Expect;
use time::{Duration, OffsetDateTime};

use crate::{
    change::Change,
    trees::{
        REMEDIATION_FINDINGS, REMEDIATION_INDEX, REMEDIATIONS, Reader, delete_remediation,
        put_remediation, remediation_key,
    },
};

/// Remediations kept per cluster.
pub const MAX_REMEDIATIONS_PER_CLUSTER: usize = 1000;

/// How long after a remediation of a node succeeded its not-ready findings are the
/// remediation's own doing (a reboot takes the node down) rather than a new fault.
pub const COOLDOWN: Duration = Duration::minutes(10);

/// What the policy was asked and answered.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The finding's id.
    pub finding_id: String,
    /// The finding.
    pub finding: Finding,
    /// What its check saw.
    pub evidence: Vec<String>,
    /// What the policy was told.
    pub context: RemediationContext,
    /// What it answered (or the host's escalation when it could not).
    pub decision: RemediationDecision,
    /// Which policy (`name@version`, or `host`).
    pub policy: String,
    /// What the policy would do in a maintenance window, when that differs from `decision`.
    pub window: Option<Window>,
}

/// A preventive action and the cluster's maintenance windows.
#[derive(Debug, Clone)]
pub enum Window {
    /// The policy would act in a window and none is open: the remediation waits for the
    /// window opening at `opens` (`decision` is what it will do then; the policy's answer for
    /// now is kept as what to do meanwhile).
    Wait {
        /// The policy's decision in the window.
        decision: RemediationDecision,
        /// When the next window opens.
        opens: OffsetDateTime,
    },
    /// The node is not ready: it does not wait for a window.
    Bypass {
        /// The policy's decision in the window.
        decision: RemediationDecision,
    },
}

/// Records `decided` about `node`; `existing` are remediations of the cluster that include
/// every remediation of the node (oldest first). The caller adds [`retention`].
pub fn record(
    now: OffsetDateTime,
    cluster: &Cluster,
    node: &Node,
    existing: &[Remediation],
    decided: Decided,
) -> Result<(Change, Remediation), DomainError> {
    let id = RemediationId::generate();
    let mut decided = decided;
    let (meanwhile, waits_until) = match decided.window.take() {
        Some(Window::Wait { decision, opens }) => (
            Some(std::mem::replace(&mut decided.decision, decision)),
            Some(opens),
        ),
        Some(Window::Bypass { decision }) => (
            Some(std::mem::replace(&mut decided.decision, decision)),
            None,
        ),
        None => (None, None),
    };
    let action = decided.decision.action;
    let of_node = || existing.iter().filter(|r| r.spec.node == node.metadata.id);
    let (state, reason) = if touches_node(action) {
        if let Some(running) = of_node().find(|r| r.status.state == RemediationState::Running) {
            (
                RemediationState::Skipped,
                format!(
                    "{} is already being remediated ({}, {}): this finding joins it",
                    node.metadata.name,
                    running.metadata.id,
                    running.status.action.as_str()
                ),
            )
        } else if let Some(done) = (decided.finding.kind == FindingKind::NodeNotReady)
            .then(|| {
                of_node().find(|r| {
                    r.status.state == RemediationState::Succeeded
                        && now - r.metadata.updated_at < COOLDOWN
                })
            })
            .flatten()
        {
            (
                RemediationState::Skipped,
                format!(
                    "cooldown: {} ({}) finished less than {} minutes ago; a node being \
                     repaired is briefly not ready",
                    done.metadata.id,
                    done.status.action.as_str(),
                    COOLDOWN.whole_minutes()
                ),
            )
        } else {
            match cluster.spec.autoclusters.mode {
                RemediationMode::DryRun => (
                    RemediationState::DryRun,
                    format!(
                        "dry-run: would {}{} ({}); nothing was done",
                        action.as_str(),
                        if waits_until.is_some() {
                            " in the next maintenance window"
                        } else {
                            ""
                        },
                        decided.decision.reason
                    ),
                ),
                _ if waits_until.is_some() => (
                    RemediationState::WaitingWindow,
                    format!(
                        "waits for the maintenance window opening at {}: then {} ({})",
                        waits_until.map(rfc3339).unwrap_or_default(),
                        action.as_str(),
                        decided.decision.reason
                    ),
                ),
                RemediationMode::Approval
                    if matches!(
                        action,
                        RemediationAction::RebootNode | RemediationAction::ReplaceNode
                    ) =>
                {
                    (
                        RemediationState::PendingApproval,
                        format!(
                            "{} waits for approval (accord remediation approve|reject): {}",
                            action.as_str(),
                            decided.decision.reason
                        ),
                    )
                }
                _ => (RemediationState::Running, decided.decision.reason.clone()),
            }
        }
    } else if action == RemediationAction::Hold {
        (RemediationState::Held, decided.decision.reason.clone())
    } else {
        (RemediationState::Skipped, decided.decision.reason.clone())
    };

    let mut status = RemediationStatus {
        state,
        action: if state == RemediationState::Running {
            action
        } else {
            RemediationAction::None
        },
        reason: reason.clone(),
        step: None,
        step_started_at: None,
        repair: None,
        replacement: None,
        cordoned_by_us: false,
        attempts: u32::from(state == RemediationState::Running),
        timeline: Vec::new(),
    };
    status.note(
        now,
        "decided",
        format!(
            "{} decided {} ({}): {}",
            decided.policy,
            action.as_str(),
            decided.decision.responsibility,
            decided.decision.reason
        ),
    );
    if let Some(meanwhile) = &meanwhile {
        let step = if waits_until.is_some() {
            "meanwhile"
        } else {
            "window-bypassed"
        };
        let text = if waits_until.is_some() {
            format!(
                "until then: {} ({})",
                meanwhile.action.as_str(),
                meanwhile.reason
            )
        } else {
            format!(
                "{} is not ready: {} does not wait for a maintenance window",
                node.metadata.name,
                action.as_str()
            )
        };
        status.note(now, step, text);
    }
    if state != RemediationState::Running || reason != decided.decision.reason {
        status.note(now, state.as_str(), reason.clone());
    }
    let project = cluster.metadata.project;
    let remediation = Remediation {
        metadata: Metadata::new(id, decided.finding_id.clone(), project, now),
        spec: RemediationSpec {
            cluster: cluster.metadata.id,
            pool: node.spec.pool,
            node: node.metadata.id,
            node_name: node.metadata.name.clone(),
            finding_id: decided.finding_id.clone(),
            finding: decided.finding.clone(),
            evidence: decided.evidence.clone(),
            context: decided.context,
            decision: decided.decision.clone(),
            policy: decided.policy,
        },
        status,
    };

    let key = remediation_key(cluster.metadata.id, id);
    let mut ch = Change::in_project(cluster.metadata.project);
    put_remediation(&mut ch, &remediation, Expect::Absent)?;
    ch.put(REMEDIATION_INDEX, &id.to_string(), &key, Expect::Absent)?
        .put(
            REMEDIATION_FINDINGS,
            &decided.finding_id,
            &key,
            Expect::Absent,
        )?;
    ch.event(RemediationEvent::Decided {
        finding: decided.finding,
        decision: decided.decision,
        project,
        evidence: decided.evidence,
        remediation: Some(id),
        state: Some(state),
    });
    match state {
        RemediationState::Running => {
            ch.event(RemediationEvent::Started {
                remediation: id,
                cluster: cluster.metadata.id,
                node: node.metadata.id,
                action,
            });
        }
        RemediationState::Held => {
            ch.event(RemediationEvent::Held {
                remediation: id,
                cluster: cluster.metadata.id,
                node: node.metadata.id,
                reason,
            });
        }
        _ => {}
    }
    Ok((ch, remediation))
}

/// `t` in RFC 3339 (UTC).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Deletes the oldest finished remediations of `cluster` beyond
/// [`MAX_REMEDIATIONS_PER_CLUSTER`] (counting one being added), read through the state index
/// (only those deleted are decoded). Their finding ids are forgotten with them: a finding that
/// old is not redelivered (the stream's redelivery is bounded).
pub fn retention(reader: &Reader, cluster: ClusterId, ch: &mut Change) -> Result<(), DomainError> {
    let states = reader.remediation_states(cluster)?;
    let excess = (states.len() + 1).saturating_sub(MAX_REMEDIATIONS_PER_CLUSTER);
    for (key, _) in states.iter().filter(|(_, s)| s.is_final()).take(excess) {
        if let Some(old) = reader.get(REMEDIATIONS, key)? {
            delete_remediation(ch, &old);
        }
    }
    Ok(())
}

/// Approves a remediation waiting for approval: it starts running the decided action.
pub fn approve(
    now: OffsetDateTime,
    rem: &Remediation,
    by: &str,
    note: &str,
) -> Result<(Change, Remediation), DomainError> {
    resolve_approval(now, rem, by, note, true)
}

/// Rejects a remediation waiting for approval: nothing touches the node (`skipped`).
pub fn reject(
    now: OffsetDateTime,
    rem: &Remediation,
    by: &str,
    note: &str,
) -> Result<(Change, Remediation), DomainError> {
    resolve_approval(now, rem, by, note, false)
}

fn resolve_approval(
    now: OffsetDateTime,
    rem: &Remediation,
    by: &str,
    note: &str,
    approved: bool,
) -> Result<(Change, Remediation), DomainError> {
    if rem.status.state != RemediationState::PendingApproval {
        return Err(DomainError::precondition(format!(
            "remediation {} is {}, not pending-approval",
            rem.metadata.id,
            rem.status.state.as_str()
        )));
    }
    let mut next = rem.clone();
    let action = rem.spec.decision.action;
    let said = if note.is_empty() {
        String::new()
    } else {
        format!(": {note}")
    };
    let mut ch = Change::in_project(rem.metadata.project);
    if approved {
        next.status.state = RemediationState::Running;
        next.status.action = action;
        next.status.attempts = 1;
        next.status.reason = format!("{} approved by {by}{said}", action.as_str());
        next.status
            .note(now, "approved", next.status.reason.clone());
        ch.event(RemediationEvent::Started {
            remediation: rem.metadata.id,
            cluster: rem.spec.cluster,
            node: rem.spec.node,
            action,
        });
    } else {
        next.status.state = RemediationState::Skipped;
        next.status.action = RemediationAction::None;
        next.status.reason = format!("{} rejected by {by}{said}", action.as_str());
        next.status
            .note(now, "rejected", next.status.reason.clone());
        ch.event(RemediationEvent::Step {
            remediation: rem.metadata.id,
            cluster: rem.spec.cluster,
            node: rem.spec.node,
            step: "rejected".to_owned(),
            detail: next.status.reason.clone(),
        });
    }
    let expect = next.metadata.touch(now, false);
    put_remediation(&mut ch, &next, Expect::Version(expect))?;
    Ok((ch, next))
}
