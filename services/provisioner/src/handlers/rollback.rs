//! Rolling a pool back to its previous revision (`RollbackNodePool`, the customer's: applying
//! or undoing an image update is theirs). With a rollout under way (or just completed) the
//! rollout's state machine rolls back and disables the new revision; without one, a plain
//! cycle to the previous revision, the current one disabled.

use accord_core::{
    DomainError,
    cluster::Cluster,
    nodepool::{CycleState, NodePool, NodePoolEvent, NodePoolPhase},
};
use accord_store::Expect;

use super::{
    Ctx,
    nodepools::{check_cycle_room, live, not_deleting},
};
use crate::{change::Change, trees::*};

/// Moves every node back to the pool's previous revision and disables the current one: with
/// a rollout, the rollout rolls back; without, a plain cycle to the previous revision.
pub fn rollback_pool(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    pool: &NodePool,
    rv: u64,
) -> Result<(Change, NodePool), DomainError> {
    use accord_image::rollout::{self, Observation};
    pool.metadata.check_version(rv)?;
    live(cluster)?;
    not_deleting(pool)?;
    let mut rec = crate::rollouts::PoolRollout::of(ctx.reader, pool)?;
    let current = pool.spec.kubelet_version.to_string();
    let (from, to) = match rec.state.clone() {
        // The rollout that brought the pool to its current image.
        Some(s)
            if !matches!(s.phase, rollout::Phase::RolledBack)
                && s.to.image == pool.spec.image_version
                && s.to.kubernetes == current =>
        {
            (s.from.clone(), s.to.clone())
        }
        _ => {
            let cur = rec
                .revisions
                .iter()
                .find(|r| r.image == pool.spec.image_version && r.kubernetes == current)
                .cloned();
            let prev = cur.as_ref().and_then(|c| {
                rec.revisions
                    .iter()
                    .filter(|r| r.revision < c.revision && !r.disabled)
                    .max_by_key(|r| r.revision)
                    .cloned()
            });
            match (prev, cur) {
                (Some(p), Some(c)) => (p, c),
                _ => {
                    return Err(DomainError::precondition(format!(
                        "node pool {} has no previous revision to roll back to",
                        pool.metadata.name
                    )));
                }
            }
        }
    };
    let images = crate::images::all(ctx.reader)?;
    if let Some(reason) = crate::images::resolve(&images, &from.image, &pool.spec.driver_branch)
        .and_then(|i| accord_image::update_required(&i.record))
    {
        return Err(DomainError::precondition(format!(
            "the previous image {} was withdrawn ({reason}); cycle to a newer image instead",
            from.image
        )));
    }
    // The rollback surges like a cycle: the same quota and address checks.
    check_cycle_room(ctx, cluster, pool, rec.policy.as_ref())?;
    let mut p = pool.clone();
    let expect = p.metadata.touch(ctx.now, true);
    let kubelet = from.kubernetes.parse().unwrap_or(pool.spec.kubelet_version);
    p.spec.image_version = from.image.clone();
    p.spec.kubelet_version = kubelet;
    p.status.phase = NodePoolPhase::Cycling;
    let nodes = ctx.reader.nodes(pool.metadata.id)?;
    let old = nodes
        .iter()
        .filter(|n| n.spec.image_version != from.image || n.spec.kubelet_version != kubelet)
        .count();
    p.status.cycle = Some(CycleState {
        target_image_version: from.image.clone(),
        target_kubelet_version: kubelet,
        nodes_replaced: 0,
        nodes_total: u32::try_from(old).unwrap_or(u32::MAX),
        started_at: ctx.now,
    });
    let mut ch = Change::in_project(pool.metadata.project);
    match (rec.policy.clone(), rec.state.take()) {
        (Some(policy), Some(state))
            if !state.is_finished() || state.phase == rollout::Phase::Completed =>
        {
            let (state, actions) = rollout::next(&policy, state, Observation::RollbackRequested);
            for a in actions {
                if let rollout::Action::DisableRevision { revision } = a {
                    rec.disable(revision);
                }
            }
            rec.state = Some(state);
        }
        (_, state) => {
            rec.state = state;
            rec.disable(to.revision);
        }
    }
    rec.disable(to.revision);
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    rec.write(&p, &mut ch)?;
    ch.event(NodePoolEvent::RevisionDisabled {
        pool: p.metadata.id,
        cluster: p.spec.cluster,
        revision: to.revision,
        image_version: to.image.clone(),
        reason: "rolled back by the customer".into(),
    });
    ch.event(NodePoolEvent::RollbackStarted {
        pool: p.metadata.id,
        cluster: p.spec.cluster,
        image_version: from.image.clone(),
    });
    Ok((ch, p))
}
