//! Opening a ticket: classify it with its context (or take the verdict it was given), set the
//! response target, record it.

use accord_core::{
    DomainError,
    error::Violations,
    ids::{ClusterId, ProjectId, TicketId},
    limits,
    responsibility::SupportScope,
    support::{
        Ticket, TicketContext, TicketEvent, TicketOrigin, TicketState, TicketVerdict, sla_due,
    },
};
use accord_store::Expect;

use super::{Change, Ctx, evidence};
use crate::{
    classify::RuleSet,
    trees::{INCIDENTS, TICKETS},
    verdict::classify,
};

/// What a new ticket says.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub project: ProjectId,
    pub cluster: Option<(ClusterId, String)>,
    pub title: String,
    pub description: String,
    pub component: Option<String>,
    pub origin: TicketOrigin,
    pub context: TicketContext,
    pub evidence: Vec<String>,
    pub incident_key: Option<String>,
}

/// Checks what a customer filed: a title is required, and title and description are held to
/// the platform's limits (`accord_core::limits`; the gRPC edge checks every field before any
/// work, this keeps the handler safe for any caller).
pub fn validate(title: &str, description: &str) -> Result<(), DomainError> {
    let mut v = Violations::new();
    if title.trim().is_empty() {
        v.add("title", "is required");
    }
    limits::text(&mut v, "title", title, limits::MAX_TITLE_BYTES);
    limits::text(
        &mut v,
        "description",
        description,
        limits::MAX_DESCRIPTION_BYTES,
    );
    v.into_result()
}

/// Opens and classifies a ticket.
pub fn open(ctx: &Ctx, rules: &RuleSet, new: NewTicket) -> Result<(Change, Ticket), DomainError> {
    let mut t = draft(ctx, new);
    t.verdict = classify(rules, &t);
    record(ctx, t)
}

/// Opens a ticket with a verdict it was given, not classified by the engine: a node incident
/// whose owner the cluster's remediation policy has answered ([`crate::verdict::given`]). The
/// response target follows from the verdict as for any ticket.
pub fn open_with_verdict(
    ctx: &Ctx,
    new: NewTicket,
    verdict: TicketVerdict,
) -> Result<(Change, Ticket), DomainError> {
    let mut t = draft(ctx, new);
    t.verdict = verdict;
    record(ctx, t)
}

/// The ticket `new` describes, not yet classified (its evidence held to
/// [`evidence::MAX_EVIDENCE_LINES`]).
fn draft(ctx: &Ctx, new: NewTicket) -> Ticket {
    Ticket {
        id: TicketId::generate(),
        project: new.project,
        cluster: new.cluster.as_ref().map(|(id, _)| *id),
        cluster_name: new.cluster.map(|(_, name)| name).unwrap_or_default(),
        title: new.title,
        description: new.description,
        component: new.component.filter(|c| !c.trim().is_empty()),
        origin: new.origin,
        context: new.context,
        evidence: evidence::bounded(new.evidence),
        verdict: TicketVerdict {
            category: SupportScope::BestEffort,
            layer: None,
            component: None,
            rule_id: String::new(),
            rule_text: String::new(),
            actions: vec![],
            checklist: vec![],
            confidence: 0.0,
            needs_review: true,
        },
        override_: None,
        state: TicketState::Open,
        sla_due: None,
        incident_key: new.incident_key,
        created_at: ctx.now,
        updated_at: ctx.now,
        closed_at: None,
        resolution: String::new(),
    }
}

/// Sets the response target of a classified ticket and records it (and its incident key).
fn record(ctx: &Ctx, mut t: Ticket) -> Result<(Change, Ticket), DomainError> {
    t.sla_due = sla_due(&t.verdict, t.verdict.category, ctx.now);
    let mut ch = Change::in_project(t.project);
    ch.put(TICKETS, &t.id.to_string(), &t, Expect::Absent)?;
    if let Some(key) = &t.incident_key {
        ch.put(INCIDENTS, key, &t.id, Expect::Absent)?;
    }
    ch.event(TicketEvent::Opened {
        ticket: Box::new(t.clone()),
    })
    .event(TicketEvent::Classified {
        ticket: t.id,
        project: t.project,
        cluster: t.cluster,
        verdict: t.verdict.clone(),
        sla_due: t.sla_due,
    });
    Ok((ch, t))
}
