//! A support engineer's override of the machine's category, kept with who and why.

use accord_core::{
    DomainError,
    responsibility::SupportScope,
    support::{Ticket, TicketEvent, TicketOverride, sla_due},
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx};
use crate::trees::TICKETS;

pub fn reclassify(
    ctx: &Ctx,
    current: &Versioned<Ticket>,
    category: SupportScope,
    reason: &str,
) -> Result<(Change, Ticket), DomainError> {
    if reason.trim().is_empty() {
        return Err(DomainError::invalid(
            "reason",
            "is required: say why the category changes (it is kept with the ticket)",
        ));
    }
    let cur = &current.value;
    let mut next = cur.clone();
    let from = cur.category();
    next.override_ = Some(TicketOverride {
        category,
        by: ctx.actor.clone(),
        reason: reason.to_owned(),
        at: ctx.now,
    });
    next.sla_due = sla_due(&cur.verdict, category, cur.created_at);
    next.updated_at = ctx.now;
    let mut ch = Change::in_project(cur.project);
    ch.put(
        TICKETS,
        &cur.id.to_string(),
        &next,
        Expect::Version(current.version),
    )?;
    ch.event(TicketEvent::Reclassified {
        ticket: cur.id,
        project: cur.project,
        from,
        to: category,
        by: ctx.actor.clone(),
        reason: reason.to_owned(),
    });
    Ok((ch, next))
}
