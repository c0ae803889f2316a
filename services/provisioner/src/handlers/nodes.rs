//! Cordon and uncordon: the customer's say over scheduling on their nodes.
//!
//! Rule: a node the provider is draining (scale-down, cycle, deletion) stays cordoned; a node
//! the customer cordoned is only ever uncordoned by the customer.

use accord_core::{
    DomainError,
    iam::Party,
    node::{Node, NodeEvent, NodeState},
};
use accord_store::Expect;

use super::Ctx;
use crate::{change::Change, trees::*};

/// Cordons a node (idempotent).
///
/// A customer who cordons a node the provider cordoned (AutoClusters repairing it) takes the
/// cordon over: the provider lifts only its own cordons, so the node stays cordoned after the
/// repair until the customer uncordons it.
pub fn cordon(ctx: &Ctx<'_>, node: &Node) -> Result<(Change, Node), DomainError> {
    let by = ctx.principal.party();
    match node.status.cordoned_by {
        None => {}
        Some(Party::Provider) if by == Party::Customer => {}
        Some(_) => return Ok((Change::none(), node.clone())),
    }
    let mut n = node.clone();
    let expect = n.metadata.touch(ctx.now, false);
    n.status.cordoned_by = Some(by);
    let mut ch = Change::in_project(n.metadata.project);
    ch.put(
        NODES,
        &node_key(n.spec.pool, n.metadata.id),
        &n,
        Expect::Version(expect),
    )?;
    ch.event(NodeEvent::Cordoned {
        node: n.metadata.id,
        cluster: n.spec.cluster,
        by,
    });
    Ok((ch, n))
}

/// Uncordons a node the caller's side cordoned.
pub fn uncordon(ctx: &Ctx<'_>, node: &Node) -> Result<(Change, Node), DomainError> {
    let Some(by) = node.status.cordoned_by else {
        return Ok((Change::none(), node.clone()));
    };
    if matches!(
        node.status.state,
        NodeState::Draining | NodeState::Terminating
    ) {
        return Err(DomainError::precondition(format!(
            "node {} is being drained for removal and stays cordoned",
            node.metadata.name
        )));
    }
    let me = ctx.principal.party();
    if by == Party::Customer && me == Party::Provider {
        return Err(DomainError::PermissionDenied(format!(
            "node {} was cordoned by the customer; only the customer uncordons it",
            node.metadata.name
        )));
    }
    let mut n = node.clone();
    let expect = n.metadata.touch(ctx.now, false);
    n.status.cordoned_by = None;
    let mut ch = Change::in_project(n.metadata.project);
    ch.put(
        NODES,
        &node_key(n.spec.pool, n.metadata.id),
        &n,
        Expect::Version(expect),
    )?;
    ch.event(NodeEvent::Uncordoned {
        node: n.metadata.id,
        cluster: n.spec.cluster,
    });
    Ok((ch, n))
}
