//! Closing a ticket (by a person, or by the platform when an incident recovers).

use accord_core::{
    DomainError,
    support::{Ticket, TicketEvent, TicketState},
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx};
use crate::trees::{INCIDENTS, TICKETS};

pub fn close(
    ctx: &Ctx,
    current: &Versioned<Ticket>,
    resolution: &str,
) -> Result<(Change, Ticket), DomainError> {
    let cur = &current.value;
    if cur.state == TicketState::Closed {
        return Err(DomainError::FailedPrecondition(format!(
            "ticket {} is already closed",
            cur.id
        )));
    }
    let mut next = cur.clone();
    next.state = TicketState::Closed;
    next.closed_at = Some(ctx.now);
    next.updated_at = ctx.now;
    next.resolution = resolution.to_owned();
    let mut ch = Change::in_project(cur.project);
    ch.put(
        TICKETS,
        &cur.id.to_string(),
        &next,
        Expect::Version(current.version),
    )?;
    if let Some(key) = &cur.incident_key {
        ch.delete(INCIDENTS, key, Expect::Any);
    }
    ch.event(TicketEvent::Closed {
        ticket: cur.id,
        project: cur.project,
        by: ctx.actor.clone(),
        resolution: resolution.to_owned(),
    });
    Ok((ch, next))
}
