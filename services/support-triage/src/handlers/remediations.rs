//! AutoClusters remediation events → node incidents. The provisioner runs the cluster's
//! remediation policy on every health finding and publishes `remediation.decided`, then what
//! it does about the node; these handlers turn that into the node's incident (key
//! `node/<cluster>/<node>/<kind>`, one while it is open).
//!
//! - `decided` with action `none` opens nothing (its line goes to an open incident of the node
//!   and kind, if any). Any other action (notify-customer, reset-gpu, reboot-node,
//!   replace-node, escalate, hold) opens the incident, or adds to the open one. Its category is
//!   the decision's `responsibility` **as given** (`rule_id` [`POLICY_RULE_ID`], the reason as
//!   the rule text): the policy has answered who owns the finding, and the engine's rules,
//!   which read text, answer customers' tickets instead — they would page the on-call for
//!   XID 45, 63, 92 or 94 where the policy says none, monitor or the customer's. A Supported
//!   incident pages the on-call engineer only when humans or hardware are needed (escalate,
//!   replace-node); a Customer-Owned one answers with a checklist and has no due time. A
//!   decision on an open incident raises its verdict when it asks more of the provider
//!   ([`crate::verdict::raises`]), never lowers it.
//! - `started`, `step`, `held`, `released` add a line to the incident the remediation reports
//!   to (the `remediations` tree links it when the decision lands on an incident).
//! - `succeeded` adds `remediated: <action>` and closes the incident, naming the action and the
//!   remediation.
//! - `failed` escalates: the incident (the open one, or a new one) becomes Supported and pages
//!   the on-call engineer ([`FAILED_RULE_ID`]), with the event's evidence and reason.
//!
//! Every incident carries the remediation id (in its evidence lines), the finding's evidence
//! and the decision's reason. A human override stays in force: a new machine verdict is
//! recorded beside it (`ticket.classified`) and the response target follows the category in
//! force.
//!
//! Invariant: a `decided` or `failed` event delivered twice changes the incident once (its line,
//! which names the remediation, is already there); `started`, `step`, `held` and `released`
//! may repeat a line, within the evidence bound ([`super::evidence`]).

use accord_core::{
    DomainError,
    autoclusters::RemediationState,
    ids::RemediationId,
    limits::{MAX_SHORT_TEXT_BYTES, MAX_TITLE_BYTES},
    remediation::{Finding, RemediationAction, RemediationDecision},
    responsibility::SupportScope,
    support::{Ticket, TicketEvent, TicketVerdict, sla_due},
};
use accord_store::{Expect, Versioned};

use super::{
    Change, Ctx,
    close::close,
    evidence,
    incidents::{Source, describe, hint, node_key},
    open::{NewTicket, open_with_verdict},
};
use crate::{
    trees::{REMEDIATIONS, TICKETS},
    verdict::{FAILED_RULE_ID, Given, POLICY_RULE_ID, given, raises},
    view::ClusterView,
};

/// What a Customer-Owned node incident asks the customer to check (the policy called the
/// finding the job's fault: an application-class XID and the like).
pub const CUSTOMER_CHECKLIST: &[&str] = &[
    "The job that used the GPU when the fault was reported: its logs and exit status (the evidence names the node and GPU)",
    "The kernel or library call that faulted (illegal memory access, MMU fault): reproduce it under compute-sanitizer or with CUDA_LAUNCH_BLOCKING=1",
    "Restart the job once fixed: the node stays in service, the provider does not act on it for a fault of the job",
];

/// A `remediation.decided` event.
#[derive(Debug, Clone, Copy)]
pub struct Decided<'a> {
    /// The finding decided about.
    pub finding: &'a Finding,
    /// The policy's decision.
    pub decision: &'a RemediationDecision,
    /// What the finding's check saw.
    pub evidence: &'a [String],
    /// The remediation recording it (absent in events published before it was carried).
    pub remediation: Option<RemediationId>,
    /// The state the remediation starts in.
    pub state: Option<RemediationState>,
}

/// What a remediation in progress reports.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A node action started (also when the ladder climbs).
    Started { action: RemediationAction },
    /// A step of it happened.
    Step { step: &'a str, detail: &'a str },
    /// A safety limit holds it.
    Held { reason: &'a str },
    /// The limit cleared.
    Released { reason: &'a str },
}

/// A `remediation.failed` event.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// The remediation.
    pub remediation: RemediationId,
    /// The last action tried.
    pub action: RemediationAction,
    /// The finding.
    pub finding: &'a Finding,
    /// The finding's evidence and the steps' outcomes.
    pub evidence: &'a [String],
    /// Why.
    pub reason: &'a str,
}

/// A decision: opens the node's incident with the policy's responsibility as its category
/// (action `none` opens nothing), or adds to the open one (`open_incident`, the incident of the
/// finding's node and kind); the change and the incident as written.
pub fn on_decided(
    ctx: &Ctx,
    view: &ClusterView,
    open_incident: Option<&Versioned<Ticket>>,
    d: &Decided<'_>,
    source: &Source,
) -> Result<Option<(Change, Ticket)>, DomainError> {
    let body = decided_line(d);
    // Node work follows (events to report): link the remediation to the incident.
    let follows = d
        .remediation
        .filter(|_| d.state.is_none_or(|s| !s.is_final()));
    let acts = d.decision.action != RemediationAction::None;
    if let Some(t) = open_incident {
        if d.remediation.is_some() && evidence::has(&t.value, &body) {
            return Ok(None);
        }
        let mut next = t.value.clone();
        evidence::push(&mut next.evidence, &evidence::stamped(ctx, &body));
        next.updated_at = ctx.now;
        let verdict = policy_verdict(d);
        let raised = acts && raises(&next.verdict, &verdict);
        if raised {
            set_verdict(ctx, &mut next, verdict);
        }
        let mut ch = Change::in_project(next.project);
        ch.put(
            TICKETS,
            &next.id.to_string(),
            &next,
            Expect::Version(t.version),
        )?;
        if raised {
            ch.event(classified(&next));
        }
        if let Some(r) = follows {
            ch.put(REMEDIATIONS, &r.to_string(), &next.id, Expect::Any)?;
        }
        return Ok(Some((ch, next)));
    }
    if !acts {
        return Ok(None);
    }
    let f = d.finding;
    let summary = describe(f);
    let remediation = d
        .remediation
        .map(|r| format!(" Remediation {r}."))
        .unwrap_or_default();
    let new = NewTicket {
        project: view.project,
        cluster: Some((view.id, view.name.clone())),
        title: evidence::cut(
            &format!("{summary}: {}", outcome(d.decision.action)),
            MAX_TITLE_BYTES,
        ),
        description: format!(
            "Health check on node {} of cluster {}: {summary}. The cluster's remediation policy decided {} ({}): {}.{remediation}",
            f.node,
            view.name,
            d.decision.action.as_str(),
            d.decision.responsibility,
            d.decision.reason.trim_end_matches('.'),
        ),
        component: Some(hint(f.kind).to_owned()),
        origin: source.origin(),
        context: view.context(&[]),
        evidence: [
            evidence::stamped(ctx, &body),
            evidence::stamped(ctx, &summary),
        ]
        .into_iter()
        .chain(d.evidence.iter().cloned())
        .collect(),
        incident_key: Some(node_key(f)),
    };
    let (mut ch, t) = open_with_verdict(ctx, new, policy_verdict(d))?;
    if let Some(r) = follows {
        ch.put(REMEDIATIONS, &r.to_string(), &t.id, Expect::Any)?;
    }
    Ok(Some((ch, t)))
}

/// A remediation's progress: a line on the incident it reports to (`linked`), if it is open;
/// the change and the incident as written.
pub fn on_progress(
    ctx: &Ctx,
    linked: Option<&Versioned<Ticket>>,
    remediation: RemediationId,
    p: Progress<'_>,
) -> Result<Option<(Change, Ticket)>, DomainError> {
    let Some(t) = linked else {
        return Ok(None);
    };
    let body = match p {
        Progress::Started { action } => format!(
            "AutoClusters started {} (remediation {remediation})",
            action.as_str()
        ),
        Progress::Step { step, detail } => {
            format!("AutoClusters {step} (remediation {remediation}): {detail}")
        }
        Progress::Held { reason } => {
            format!("AutoClusters held remediation {remediation}: {reason}")
        }
        Progress::Released { reason } => {
            format!("AutoClusters released remediation {remediation}: {reason}")
        }
    };
    Ok(Some(super::incidents::add_evidence(
        ctx,
        t,
        [evidence::stamped(ctx, &body)],
    )?))
}

/// A remediation that repaired (or replaced) the node: `remediated: <action>` and the incident
/// closed, naming the action and the remediation (the closed incident is returned). The
/// remediation's link goes either way.
pub fn on_succeeded(
    ctx: &Ctx,
    incident: Option<&Versioned<Ticket>>,
    remediation: RemediationId,
    action: RemediationAction,
) -> Result<(Change, Option<Ticket>), DomainError> {
    let Some(t) = incident else {
        // Only the link goes: no event, and no ticket to take a project from.
        let mut ch = Change::none();
        ch.delete(REMEDIATIONS, &remediation.to_string(), Expect::Any);
        return Ok((ch, None));
    };
    let mut next = t.clone();
    evidence::push(
        &mut next.value.evidence,
        &evidence::stamped(
            ctx,
            &format!(
                "remediated: {} (remediation {remediation})",
                action.as_str()
            ),
        ),
    );
    let (mut ch, closed) = close(
        ctx,
        &next,
        &format!(
            "remediated by AutoClusters: {} (remediation {remediation})",
            action.as_str()
        ),
    )?;
    ch.delete(REMEDIATIONS, &remediation.to_string(), Expect::Any);
    Ok((ch, Some(closed)))
}

/// A remediation that failed escalates: the incident (`incident`, the open one, or a new one)
/// becomes Supported and pages the on-call engineer, with the event's evidence, its reason and
/// the remediation id; the change and the incident as written.
pub fn on_failed(
    ctx: &Ctx,
    view: &ClusterView,
    incident: Option<&Versioned<Ticket>>,
    f: &Failure<'_>,
    source: &Source,
) -> Result<Option<(Change, Ticket)>, DomainError> {
    let body = format!(
        "AutoClusters remediation {} failed ({}): {}",
        f.remediation,
        f.action.as_str(),
        f.reason
    );
    let reason = evidence::cut(f.reason, MAX_SHORT_TEXT_BYTES);
    let verdict = given(&Given {
        category: SupportScope::Supported,
        rule_id: FAILED_RULE_ID,
        explanation: &reason,
        component: hint(f.finding.kind),
        page_on_call: true,
        notify_customer: false,
        checklist: &[],
    });
    if let Some(t) = incident {
        if evidence::has(&t.value, &body) {
            return Ok(None);
        }
        let mut ch = Change::in_project(t.value.project);
        ch.delete(REMEDIATIONS, &f.remediation.to_string(), Expect::Any);
        let mut next = t.value.clone();
        evidence::push(&mut next.evidence, &evidence::stamped(ctx, &body));
        for l in f.evidence {
            evidence::push(&mut next.evidence, l);
        }
        next.updated_at = ctx.now;
        set_verdict(ctx, &mut next, verdict);
        ch.put(
            TICKETS,
            &next.id.to_string(),
            &next,
            Expect::Version(t.version),
        )?;
        ch.event(classified(&next));
        return Ok(Some((ch, next)));
    }
    let summary = describe(f.finding);
    let new = NewTicket {
        project: view.project,
        cluster: Some((view.id, view.name.clone())),
        title: evidence::cut(
            &format!("{summary}: AutoClusters remediation failed"),
            MAX_TITLE_BYTES,
        ),
        description: format!(
            "AutoClusters could not repair node {} of cluster {} ({summary}); the last action tried was {}: {}. Remediation {}.",
            f.finding.node,
            view.name,
            f.action.as_str(),
            f.reason.trim_end_matches('.'),
            f.remediation
        ),
        component: Some(hint(f.finding.kind).to_owned()),
        origin: source.origin(),
        context: view.context(&[]),
        evidence: [
            evidence::stamped(ctx, &body),
            evidence::stamped(ctx, &summary),
        ]
        .into_iter()
        .chain(f.evidence.iter().cloned())
        .collect(),
        incident_key: Some(node_key(f.finding)),
    };
    let (mut ch, t) = open_with_verdict(ctx, new, verdict)?;
    ch.delete(REMEDIATIONS, &f.remediation.to_string(), Expect::Any);
    Ok(Some((ch, t)))
}

/// The decision's evidence line: action, responsibility, remediation, state and reason.
fn decided_line(d: &Decided<'_>) -> String {
    let remediation = d
        .remediation
        .map(|r| format!(" for remediation {r}"))
        .unwrap_or_default();
    let state = d
        .state
        .map(|s| format!(" ({})", s.as_str()))
        .unwrap_or_default();
    format!(
        "AutoClusters decided {} ({}){remediation}{state}: {}",
        d.decision.action.as_str(),
        d.decision.responsibility,
        d.decision.reason
    )
}

/// The verdict a decision gives: the policy's responsibility, its reason; the on-call engineer
/// paged only for what needs humans or touches hardware for good (escalate, replace-node).
fn policy_verdict(d: &Decided<'_>) -> TicketVerdict {
    let category = d.decision.responsibility;
    let reason = evidence::cut(&d.decision.reason, MAX_SHORT_TEXT_BYTES);
    given(&Given {
        category,
        rule_id: POLICY_RULE_ID,
        explanation: &reason,
        // The job's fault is the customer's workload; otherwise the hardware the finding is on.
        component: if category == SupportScope::CustomerOwned {
            "workloads"
        } else {
            hint(d.finding.kind)
        },
        page_on_call: matches!(
            d.decision.action,
            RemediationAction::Escalate | RemediationAction::ReplaceNode
        ),
        notify_customer: d.decision.action == RemediationAction::NotifyCustomer,
        checklist: CUSTOMER_CHECKLIST,
    })
}

/// An incident's title ending: what AutoClusters does about it.
fn outcome(action: RemediationAction) -> &'static str {
    match action {
        RemediationAction::None => "no action by AutoClusters",
        RemediationAction::NotifyCustomer => "customer notified by AutoClusters",
        RemediationAction::ResetGpu => "GPU reset by AutoClusters",
        RemediationAction::RebootNode => "node rebooted by AutoClusters",
        RemediationAction::ReplaceNode => "node replaced by AutoClusters",
        RemediationAction::Escalate => "escalated by AutoClusters",
        RemediationAction::Hold => "remediation held by AutoClusters",
    }
}

/// Records a new machine verdict on an open incident; the response target follows the category
/// in force (a human override stays) and never moves later than it was.
fn set_verdict(ctx: &Ctx, t: &mut Ticket, verdict: TicketVerdict) {
    t.verdict = verdict;
    let due = sla_due(&t.verdict, t.category(), ctx.now);
    t.sla_due = match (t.sla_due, due) {
        (Some(was), Some(now)) => Some(was.min(now)),
        (_, due) => due,
    };
}

fn classified(t: &Ticket) -> TicketEvent {
    TicketEvent::Classified {
        ticket: t.id,
        project: t.project,
        cluster: t.cluster,
        verdict: t.verdict.clone(),
        sla_due: t.sla_due,
    }
}
