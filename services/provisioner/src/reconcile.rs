//! The node-pool controller: decides which nodes to create, drain and terminate so each pool
//! converges on its spec, including rolling cycles that honour `max_surge` / `max_unavailable`.
//!
//! [`plan_pool`] is pure: it looks at a pool and its nodes and returns a [`Change`]. The service
//! commits the change and then asks the infrastructure for whatever the new state implies
//! (see `service::issue_driver_ops`). Invariants:
//! - nodes that exist (any state) never exceed `count + max_surge` during a cycle;
//! - during a cycle, ready nodes never drop below `count - max_unavailable` because of us;
//! - the provider never removes a node that is not part of a scale-down, cycle or deletion.

use accord_core::{
    DomainError,
    cluster::Cluster,
    iam::Party,
    ids::{ClusterId, NodeId, NodePoolId},
    meta::{ConditionStatus, Conditions, Metadata},
    node::{Node, NodeEvent, NodeSpec, NodeState, NodeStatus},
    nodepool::{NodePool, NodePoolEvent, NodePoolPhase},
    validation::KubeVersion,
};
use accord_store::Expect;
use time::OffsetDateTime;

use accord_image::VerifyingKey;

use crate::{
    change::Change,
    images,
    rollouts::{self, Gate, PoolRollout},
    trees::*,
};

/// A node that counts towards its pool's size: provisioning, ready or not ready, and not
/// being replaced by AutoClusters (its replacement counts instead).
fn is_active(n: &Node) -> bool {
    is_up_or_coming(n) && n.status.retiring.is_none()
}

fn is_up_or_coming(n: &Node) -> bool {
    matches!(
        n.status.state,
        NodeState::Provisioning | NodeState::Ready | NodeState::NotReady
    )
}

fn is_removing(n: &Node) -> bool {
    matches!(n.status.state, NodeState::Draining | NodeState::Terminating)
}

/// A node's name: the pool's name and the last five characters of its id.
pub fn node_name(pool: &str, id: NodeId) -> String {
    let s = id.to_string();
    format!("{pool}-{}", &s[s.len() - 5..])
}

pub(crate) fn new_node(
    pool: &NodePool,
    image: &str,
    kubelet: KubeVersion,
    now: OffsetDateTime,
    ch: &mut Change,
) -> Result<NodeId, DomainError> {
    let id = NodeId::generate();
    let name = node_name(&pool.metadata.name, id);
    let node = Node {
        metadata: Metadata::new(id, &name, pool.metadata.project, now),
        spec: NodeSpec {
            cluster: pool.spec.cluster,
            pool: pool.metadata.id,
            instance_type: pool.spec.instance_type.clone(),
            image_version: image.to_owned(),
            kubelet_version: kubelet,
        },
        status: NodeStatus {
            state: NodeState::Provisioning,
            cordoned_by: None,
            failure_domain: String::new(),
            internal_ip: String::new(),
            instance_id: String::new(),
            ready_at: None,
            conditions: Conditions::default(),
            retiring: None,
        },
    };
    let key = node_key(pool.metadata.id, id);
    ch.put(NODES, &key, &node, Expect::Absent)?.put(
        NODE_INDEX,
        &id.to_string(),
        &key,
        Expect::Absent,
    )?;
    ch.event(NodeEvent::Provisioning {
        node: id,
        name,
        project: pool.metadata.project,
        cluster: pool.spec.cluster,
        pool: pool.metadata.id,
        instance_type: pool.spec.instance_type.clone(),
        image_version: image.to_owned(),
    });
    Ok(id)
}

/// Moves a node towards removal: provisioning and failed nodes terminate at once, others drain
/// first (cordoned by the provider unless the customer already cordoned them).
pub(crate) fn remove_node(
    n: &Node,
    reason: &str,
    now: OffsetDateTime,
    ch: &mut Change,
) -> Result<(), DomainError> {
    let mut next = n.clone();
    next.status.state = match n.status.state {
        NodeState::Provisioning | NodeState::Failed => NodeState::Terminating,
        _ => NodeState::Draining,
    };
    if next.status.cordoned_by.is_none() {
        next.status.cordoned_by = Some(Party::Provider);
    }
    let expect = next.metadata.touch(now, false);
    ch.put(
        NODES,
        &node_key(n.spec.pool, n.metadata.id),
        &next,
        Expect::Version(expect),
    )?;
    if next.status.state == NodeState::Draining {
        ch.event(NodeEvent::Draining {
            node: n.metadata.id,
            cluster: n.spec.cluster,
            reason: reason.to_owned(),
        });
    }
    Ok(())
}

/// Fails a node that has not booted (its image is refused), as a failed provisioning does.
fn fail_node(n: &Node, why: &str, now: OffsetDateTime, ch: &mut Change) -> Result<(), DomainError> {
    let mut next = n.clone();
    next.status.state = NodeState::Failed;
    let gen_ = next.metadata.generation;
    next.status.conditions.set(
        "Ready",
        ConditionStatus::False,
        "ImageRefused",
        why.to_owned(),
        now,
        gen_,
    );
    let expect = next.metadata.touch(now, false);
    ch.put(
        NODES,
        &node_key(n.spec.pool, n.metadata.id),
        &next,
        Expect::Version(expect),
    )?;
    ch.event(NodeEvent::Failed {
        node: n.metadata.id,
        cluster: n.spec.cluster,
        reason: why.to_owned(),
    });
    Ok(())
}

/// Order in which nodes are removed on scale-down: broken first, then not yet ready, then the
/// newest ready ones (keeping long-lived nodes and their warm caches).
fn removal_order(nodes: &mut [&Node]) {
    nodes.sort_by_key(|n| {
        let rank = match n.status.state {
            NodeState::NotReady => 0,
            NodeState::Provisioning => 1,
            _ => 2,
        };
        (rank, std::cmp::Reverse(n.metadata.id))
    });
}

fn u(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Plans one pool. `nodes` are all of the pool's nodes.
pub fn plan_pool(
    pool: &NodePool,
    nodes: &[Node],
    gate: &Gate,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    plan_from(pool, pool, nodes, gate, now)
}

/// [`plan_pool`] of `pool`, a version of `stored` changed by its rollout: the pool is written
/// when it differs from `stored`.
fn plan_from(
    stored: &NodePool,
    pool: &NodePool,
    nodes: &[Node],
    gate: &Gate,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let mut ch = Change::in_project(pool.metadata.project);
    let may_create = |wanted: u32| {
        if gate.no_new_nodes.is_some() {
            0
        } else {
            wanted
        }
    };
    // Nodes waiting to boot an image the controller refuses fail (the next pass terminates
    // them; replacements boot a bootable image only). This pass plans without them.
    let mut kept = Vec::with_capacity(nodes.len());
    for n in nodes {
        match gate.refused.iter().find(|(id, _)| *id == n.metadata.id) {
            Some((_, why)) if pool.status.phase != NodePoolPhase::Deleting => {
                fail_node(n, why, now, &mut ch)?;
            }
            _ => kept.push(n.clone()),
        }
    }
    let nodes = kept.as_slice();
    // Failed nodes are always terminated (and replaced by the count logic below).
    for n in nodes.iter().filter(|n| n.status.state == NodeState::Failed) {
        remove_node(n, "provisioning failed", now, &mut ch)?;
    }
    let removing = nodes
        .iter()
        .filter(|n| is_removing(n) || n.status.state == NodeState::Failed)
        .count();
    let active: Vec<&Node> = nodes.iter().filter(|n| is_active(n)).collect();

    if pool.status.phase == NodePoolPhase::Deleting {
        // Nodes being replaced go too: the pool they were replaced in is going away.
        for n in nodes.iter().filter(|n| is_up_or_coming(n)) {
            remove_node(n, "node pool deleted", now, &mut ch)?;
        }
        if nodes.is_empty() {
            ch.delete(
                NODEPOOLS,
                &pool_key(pool.spec.cluster, pool.metadata.id),
                Expect::Present,
            )
            .delete(
                NAMES,
                &pool_name_key(pool.spec.cluster, &pool.metadata.name),
                Expect::Any,
            );
            ch.event(NodePoolEvent::Deleted {
                pool: pool.metadata.id,
                cluster: pool.spec.cluster,
                project: pool.metadata.project,
                name: pool.metadata.name.clone(),
            });
            return Ok(ch);
        }
        let mut next = pool.clone();
        next.status.ready_nodes = u(active
            .iter()
            .filter(|n| n.status.state == NodeState::Ready)
            .count());
        next.status.total_nodes = u(nodes.len());
        write_pool_if_changed(stored, next, now, &mut ch)?;
        return Ok(ch);
    }

    let count = pool.spec.count;
    let mut next = pool.clone();
    let mut ready_now = u(active
        .iter()
        .filter(|n| n.status.state == NodeState::Ready)
        .count());
    let mut active_now = u(active.len());
    let mut removing_now = u(removing);

    if let Some(cycle) = &pool.status.cycle {
        let (image, kubelet) = (
            cycle.target_image_version.clone(),
            cycle.target_kubelet_version,
        );
        let is_new = |n: &Node| n.spec.image_version == image && n.spec.kubelet_version == kubelet;
        let new_active = u(active.iter().filter(|n| is_new(n)).count());
        let mut old: Vec<&Node> = active.iter().copied().filter(|n| !is_new(n)).collect();
        let existing = u(nodes.len());
        let max_total = count + gate.surge.unwrap_or(pool.spec.rolling_update.max_surge);
        let mut to_create = count
            .saturating_sub(new_active)
            .min(max_total.saturating_sub(existing));
        // A rollout lets only so many nodes onto the target; old ones stay for the rest.
        if let Some(limit) = gate.target_limit {
            to_create = to_create.min(limit.saturating_sub(new_active));
        }
        // A halted rollout freezes the pool where it is.
        let to_create = if gate.freeze {
            0
        } else {
            may_create(to_create)
        };
        let keep_old = if gate.freeze {
            u32::MAX
        } else {
            gate.target_limit
                .map_or(0, |limit| count.saturating_sub(limit))
        };
        for _ in 0..to_create {
            new_node(pool, &image, kubelet, now, &mut ch)?;
        }
        active_now += to_create;
        // Remove old nodes while availability allows: not-ready ones cost nothing.
        let min_available = count.saturating_sub(pool.spec.rolling_update.max_unavailable);
        let mut available = ready_now;
        removal_order(&mut old);
        let mut removed = 0u32;
        let old_total = u(old.len());
        for n in &old {
            if old_total - removed <= keep_old {
                break;
            }
            let counts = n.status.state == NodeState::Ready;
            // Never shrink below `count` nodes in total (old + new) unless replacements exist.
            if counts && available <= min_available {
                continue;
            }
            remove_node(n, "node pool cycle", now, &mut ch)?;
            removed += 1;
            if counts {
                available -= 1;
                ready_now -= 1;
            }
        }
        active_now -= removed;
        removing_now += removed;
        let old_left = u(old.len()) - removed;
        if let Some(c) = next.status.cycle.as_mut() {
            c.nodes_replaced = c.nodes_total.saturating_sub(old_left);
        }
        let new_ready = u(active
            .iter()
            .filter(|n| is_new(n) && n.status.state == NodeState::Ready)
            .count());
        if old_left == 0 && removing_now == 0 && new_ready >= count {
            next.status.cycle = None;
            ch.event(NodePoolEvent::CycleCompleted {
                pool: pool.metadata.id,
                cluster: pool.spec.cluster,
                image_version: image,
            });
        }
    } else if active_now < count {
        if let Some(why) = &gate.no_new_nodes {
            tracing::warn!(pool = %pool.metadata.id, reason = %why, "no new node: the pool's image cannot boot");
        }
        for _ in active_now..may_create(count - active_now) + active_now {
            new_node(
                pool,
                &pool.spec.image_version,
                pool.spec.kubelet_version,
                now,
                &mut ch,
            )?;
        }
        active_now += may_create(count - active_now);
    } else if active_now > count {
        let mut victims = active.clone();
        removal_order(&mut victims);
        let surplus = (active_now - count) as usize;
        for n in victims.iter().take(surplus) {
            remove_node(n, "node pool scaled down", now, &mut ch)?;
            if n.status.state == NodeState::Ready {
                ready_now -= 1;
            }
        }
        removing_now += active_now - count;
        active_now = count;
    }

    next.status.ready_nodes = ready_now;
    next.status.total_nodes = active_now + removing_now;
    let not_ready = active.iter().any(|n| n.status.state == NodeState::NotReady);
    let phase = if next.status.cycle.is_some() {
        NodePoolPhase::Cycling
    } else if ready_now == count && active_now == count && removing_now == 0 {
        NodePoolPhase::Ready
    } else if not_ready {
        NodePoolPhase::Degraded
    } else if pool.status.phase == NodePoolPhase::Provisioning {
        NodePoolPhase::Provisioning
    } else {
        NodePoolPhase::Scaling
    };
    next.status.phase = phase;
    let gen_ = next.metadata.generation;
    let (cs, reason, msg) = if phase == NodePoolPhase::Ready {
        (
            ConditionStatus::True,
            "AllNodesReady",
            format!("{ready_now}/{count} nodes ready"),
        )
    } else {
        (
            ConditionStatus::False,
            "Converging",
            format!("{ready_now}/{count} nodes ready ({})", phase.as_str()),
        )
    };
    next.status
        .conditions
        .set("Ready", cs, reason, msg, now, gen_);
    next.status.observed_generation = gen_;
    if phase == NodePoolPhase::Ready && pool.status.phase != NodePoolPhase::Ready {
        ch.event(NodePoolEvent::Ready {
            pool: pool.metadata.id,
            cluster: pool.spec.cluster,
            nodes: ready_now,
        });
    }
    write_pool_if_changed(stored, next, now, &mut ch)?;
    Ok(ch)
}

fn write_pool_if_changed(
    before: &NodePool,
    mut next: NodePool,
    now: OffsetDateTime,
    ch: &mut Change,
) -> Result<(), DomainError> {
    // Compare without the transition timestamps' message churn: conditions carry counts, so a
    // changed count is a real change.
    if &next == before {
        return Ok(());
    }
    let expect = next.metadata.resource_version;
    next.metadata.resource_version += 1;
    next.metadata.updated_at = now;
    ch.put(
        NODEPOOLS,
        &pool_key(next.spec.cluster, next.metadata.id),
        &next,
        Expect::Version(expect),
    )?;
    Ok(())
}

/// Plans one pool of a cluster; `None` when there is nothing to do or the pool is gone.
pub fn reconcile_pool(
    reader: &Reader,
    cluster: ClusterId,
    pool: NodePoolId,
    key: Option<&VerifyingKey>,
    now: OffsetDateTime,
) -> Result<Option<Change>, DomainError> {
    let Some(p) = reader.get::<NodePool>(NODEPOOLS, &pool_key(cluster, pool))? else {
        return Ok(None);
    };
    let c = reader.get::<Cluster>(CLUSTERS, &cluster.to_string())?;
    let images = images::all(reader)?;
    let ch = plan_with_images(reader, &p, c.as_ref(), &images, key, now)?;
    Ok((!ch.is_empty()).then_some(ch))
}

/// Feeds the pool's rollout, then plans it under the rollout's gate; the pool's own changes
/// (its image or cycle) and the plan land in one change.
fn plan_with_images(
    reader: &Reader,
    pool: &NodePool,
    cluster: Option<&Cluster>,
    images: &[images::KnownImage],
    key: Option<&VerifyingKey>,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let nodes = reader.nodes(pool.metadata.id)?;
    let record = PoolRollout::of(reader, pool)?;
    let mut ch = Change::in_project(pool.metadata.project);
    let (stepped, gate) =
        rollouts::step(pool, cluster, &nodes, &record, images, key, now, &mut ch)?;
    // The rollout may have changed the pool (a stopped cycle, a rollback's target): the plan
    // starts from that and writes it against the stored version.
    ch.extend(plan_from(pool, &stepped, &nodes, &gate, now)?);
    Ok(ch)
}

/// Plans every pool of a cluster, one change per pool. A deleted cluster plans nothing.
pub fn reconcile_cluster(
    reader: &Reader,
    id: ClusterId,
    key: Option<&VerifyingKey>,
    now: OffsetDateTime,
) -> Result<Vec<Change>, DomainError> {
    let Some(cluster) = reader.get::<Cluster>(CLUSTERS, &id.to_string())? else {
        return Ok(Vec::new());
    };
    let images = images::all(reader)?;
    let mut out = Vec::new();
    for pool in reader.pools(id)? {
        let ch = plan_with_images(reader, &pool, Some(&cluster), &images, key, now)?;
        if !ch.is_empty() {
            out.push(ch);
        }
    }
    Ok(out)
}
