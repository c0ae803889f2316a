//! A pool's revisions and its opt-in rollout (the customer's: the source says applying image
//! updates is theirs, by cycling node pools).
//!
//! [`POOL_ROLLOUTS`] (one record per pool, written only by the provisioner in the same commit
//! as the pool) keeps what the pool ran — its revisions: image, driver, kubelet, disabled —,
//! its rollout policy, and the rollout in progress as the image engine's state machine
//! (`accord_image::rollout`). A cycle of a pool with a policy starts a rollout; each reconcile
//! pass feeds it what happened (nodes Ready or failed on the new revision, time, the cluster's
//! maintenance window) and turns its actions into the pool planner's [`Gate`]: how many
//! nodes may be on the target so far. A halt freezes the pool where it is and disables the
//! new revision; a rollback moves every node back to the previous revision (a plain cycle to
//! it). Withdrawn images stop a cycle at a safe point: no new node on them, the pool's image
//! goes back to the one it ran before.

use std::collections::BTreeSet;

use accord_core::{
    DomainError,
    cluster::Cluster,
    node::{Node, NodeState},
    nodepool::{NodePool, NodePoolEvent},
};
use accord_image::{
    VerifyingKey,
    rollout::{
        self, Action, HaltReason, Observation, Phase, PoolRevision, RolloutPolicy, RolloutState,
    },
};
use accord_store::{Expect, Table};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    change::Change,
    images::{self, KnownImage},
    trees::Reader,
};

/// Revisions, policy and rollout of each pool, by pool id.
pub const POOL_ROLLOUTS: Table<PoolRollout> = Table::new("pool_rollouts");

/// Revisions kept per pool (the oldest go first; the current and previous always stay).
pub const MAX_REVISIONS: usize = 10;

/// A pool's revisions, policy and rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRollout {
    #[serde(default)]
    pub policy: Option<RolloutPolicy>,
    /// Oldest first; `active_nodes` is filled in when shown.
    #[serde(default)]
    pub revisions: Vec<PoolRevision>,
    /// The rollout in progress, or the last one.
    #[serde(default)]
    pub state: Option<RolloutState>,
    /// Nodes the rollout lets onto its target so far (the sum of its replacements).
    #[serde(default)]
    pub granted: u32,
}

impl PoolRollout {
    /// The record of `pool` (empty when it has none yet).
    pub fn of(reader: &Reader, pool: &NodePool) -> Result<Self, DomainError> {
        Ok(reader
            .get(POOL_ROLLOUTS, &pool.metadata.id.to_string())?
            .unwrap_or_default())
    }

    /// Puts the record in `ch`.
    pub fn write(&self, pool: &NodePool, ch: &mut Change) -> Result<(), DomainError> {
        ch.put(
            POOL_ROLLOUTS,
            &pool.metadata.id.to_string(),
            self,
            Expect::Any,
        )?;
        Ok(())
    }

    /// The revision of (image, kubelet), recorded when new.
    pub fn revision_for(&mut self, image: &str, driver: &str, kubernetes: &str) -> PoolRevision {
        if let Some(r) = self
            .revisions
            .iter()
            .find(|r| r.image == image && r.kubernetes == kubernetes)
        {
            return r.clone();
        }
        let next = self.revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
        let r = PoolRevision {
            revision: next,
            image: image.to_owned(),
            driver: driver.to_owned(),
            kubernetes: kubernetes.to_owned(),
            active_nodes: 0,
            disabled: false,
        };
        self.revisions.push(r.clone());
        // Trim the oldest enabled revision that is not one of the last two (disabled ones are
        // kept: they must stay refused).
        while self.revisions.len() > MAX_REVISIONS {
            let keep_from = self.revisions.len().saturating_sub(2);
            match self.revisions[..keep_from].iter().position(|r| !r.disabled) {
                Some(i) => {
                    self.revisions.remove(i);
                }
                None => break,
            }
        }
        r
    }

    /// Marks `revision` disabled.
    pub fn disable(&mut self, revision: u32) {
        for r in &mut self.revisions {
            if r.revision == revision {
                r.disabled = true;
            }
        }
    }

    /// Whether a rollout is moving nodes (a halted one waits for a rollback or a new cycle).
    pub fn running(&self) -> bool {
        self.state.as_ref().is_some_and(|s| {
            matches!(
                s.phase,
                Phase::Running | Phase::Soaking { .. } | Phase::RollingBack
            )
        })
    }
}

/// What the pool planner may do this pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gate {
    /// Most nodes on the cycle's target (a rollout's grant); `None`: no limit.
    pub target_limit: Option<u32>,
    /// Why no new node may be created (the image is withdrawn or fails verification).
    pub no_new_nodes: Option<String>,
    /// Nodes above the count during a rollout: its policy's `max_unavailable` replacements run
    /// at once (`None`: the pool's `max_surge`).
    pub surge: Option<u32>,
    /// A halted rollout: no node is created on the target and no old node is removed.
    pub freeze: bool,
    /// Provisioning nodes whose image would be refused at boot (withdrawn, failing
    /// verification, unknown), with why: the planner fails them instead of leaving them
    /// waiting for a boot that never comes.
    pub refused: Vec<(accord_core::ids::NodeId, String)>,
}

/// The driver version of an image of the pool's branch (empty when unknown).
pub fn driver_of(images: &[KnownImage], image: &str, branch: &str) -> String {
    images::resolve(images, image, branch)
        .map(|i| i.facts.driver_version.clone())
        .unwrap_or_default()
}

fn on(node: &Node, rev: &PoolRevision) -> bool {
    node.spec.image_version == rev.image && node.spec.kubelet_version.to_string() == rev.kubernetes
}

fn alive(n: &Node) -> bool {
    !matches!(n.status.state, NodeState::Draining | NodeState::Terminating)
}

/// Feeds the pool's rollout what happened and applies its actions; returns the pool (its
/// image and cycle possibly changed), the planner's gate, and writes/events into `ch`.
#[allow(clippy::too_many_arguments)]
pub fn step(
    pool: &NodePool,
    cluster: Option<&Cluster>,
    nodes: &[Node],
    record: &PoolRollout,
    images: &[KnownImage],
    key: Option<&VerifyingKey>,
    now: OffsetDateTime,
    ch: &mut Change,
) -> Result<(NodePool, Gate), DomainError> {
    let mut pool = pool.clone();
    let mut rec = record.clone();
    let mut gate = Gate::default();
    let branch = pool.spec.driver_branch.clone();

    // A cycle whose target can no longer boot stops at a safe point: nodes already moved stay;
    // the pool goes back to the image it ran before (when that one still boots).
    if let Some(cycle) = pool.status.cycle.clone() {
        let target = images::resolve(images, &cycle.target_image_version, &branch);
        let refusal = match target {
            Some(t) => images::bootable(t, key).err(),
            None => Some(format!(
                "image {} is not a published image of driver branch {branch}",
                cycle.target_image_version
            )),
        };
        if let Some(reason) = refusal {
            let previous = previous_image(&rec, nodes, &cycle.target_image_version);
            pool.status.cycle = None;
            if let Some(prev) = previous {
                pool.spec.image_version = prev;
            }
            if let Some(state) = rec.state.as_mut().filter(|s| !s.is_finished()) {
                state.phase = Phase::Halted {
                    reason: HaltReason::ImageUnusable {
                        reason: reason.clone(),
                    },
                };
            }
            ch.event(NodePoolEvent::CycleStopped {
                pool: pool.metadata.id,
                cluster: pool.spec.cluster,
                image_version: cycle.target_image_version.clone(),
                reason: reason.clone(),
            });
            rec.write(&pool, ch)?;
        }
    }

    // New nodes boot only a bootable image; nodes waiting to boot a refused one fail.
    let check = |image: &str| match images::resolve(images, image, &branch) {
        Some(img) => images::bootable(img, key).err(),
        None => Some(format!(
            "image {image} is not a published image of driver branch {branch}"
        )),
    };
    gate.no_new_nodes = check(&pool.spec.image_version);
    for n in nodes
        .iter()
        .filter(|n| n.status.state == NodeState::Provisioning)
    {
        if let Some(why) = check(&n.spec.image_version) {
            gate.refused.push((n.metadata.id, why));
        }
    }

    let Some(policy) = rec.policy.clone() else {
        return Ok((pool, gate));
    };
    let Some(mut state) = rec.state.clone().filter(|s| !s.is_finished()) else {
        return Ok((pool, gate));
    };
    gate.surge = Some(
        policy
            .max_unavailable
            .max(pool.spec.rolling_update.max_surge),
    );
    let window_open = window_open(&policy, cluster, now);
    let mut actions = Vec::new();
    let feed = |state: RolloutState, o: Observation, actions: &mut Vec<Action>| {
        let (s, a) = rollout::next(&policy, state, o);
        actions.extend(a);
        s
    };
    if window_open != state.window_open {
        state = feed(
            state,
            Observation::Window { open: window_open },
            &mut actions,
        );
    }
    state = feed(state, Observation::Tick { now }, &mut actions);
    let seen: BTreeSet<_> = state.ready_nodes.keys().copied().collect();
    // Only the nodes the rollout itself created are its news: new-revision nodes created since
    // it started, while it moves forward (a rollback's end is decided below from the nodes).
    let started = state.wave_started_at.first().copied().unwrap_or(now);
    let moving = forward(&state.phase);
    for n in nodes
        .iter()
        .filter(|n| moving && alive(n) && n.metadata.created_at >= started)
    {
        let id = n.metadata.id;
        if !on(n, &state.to) {
            continue;
        }
        let revision = state.to.revision;
        match n.status.state {
            NodeState::Ready if !seen.contains(&id) => {
                state = feed(
                    state,
                    Observation::NodeReady { node: id, revision },
                    &mut actions,
                );
            }
            NodeState::Failed if !state.failed_nodes.contains(&id) => {
                let reason = n
                    .status
                    .conditions
                    .get("Ready")
                    .map(|c| c.message.clone())
                    .unwrap_or_else(|| "provisioning failed".into());
                state = feed(
                    state,
                    Observation::NodeFailed {
                        node: id,
                        revision,
                        reason,
                    },
                    &mut actions,
                );
            }
            _ => {}
        }
    }
    apply_actions(&mut pool, &mut rec, &state, actions, ch);
    match state.phase {
        Phase::RollingBack | Phase::RolledBack => {
            // Back to the previous revision: a plain cycle to it.
            if pool.spec.image_version != state.from.image {
                pool.spec.image_version = state.from.image.clone();
                if let Some(c) = pool.status.cycle.as_mut() {
                    c.target_image_version = state.from.image.clone();
                }
                ch.event(NodePoolEvent::RollbackStarted {
                    pool: pool.metadata.id,
                    cluster: pool.spec.cluster,
                    image_version: state.from.image.clone(),
                });
            }
            if pool.status.cycle.is_none() && state.phase == Phase::RollingBack {
                let back = nodes
                    .iter()
                    .filter(|n| alive(n))
                    .all(|n| on(n, &state.from));
                if back {
                    state.phase = Phase::RolledBack;
                }
            }
        }
        Phase::Halted { .. } => gate.freeze = true,
        _ => gate.target_limit = Some(rec.granted),
    }
    rec.state = Some(state);
    if &rec != record {
        rec.write(&pool, ch)?;
    }
    Ok((pool, gate))
}

/// A critical finding about `node`: when the node runs the new revision of its pool's rollout,
/// the rollout halts and disables that revision.
pub fn on_critical_finding(
    reader: &Reader,
    node: &Node,
    kind: &str,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let mut ch = Change::in_project(node.metadata.project);
    let Ok(pool) = reader.pool(node.spec.cluster, node.spec.pool) else {
        return Ok(ch);
    };
    let record = PoolRollout::of(reader, &pool)?;
    let (Some(policy), Some(state)) = (record.policy.clone(), record.state.clone()) else {
        return Ok(ch);
    };
    if state.is_finished() || !on(node, &state.to) {
        return Ok(ch);
    }
    let mut rec = record.clone();
    let (state, mut actions) = rollout::next(&policy, state, Observation::Tick { now });
    let (state, more) = rollout::next(
        &policy,
        state,
        Observation::CriticalFinding {
            node: node.metadata.id,
            kind: kind.to_owned(),
        },
    );
    actions.extend(more);
    let mut pool = pool;
    apply_actions(&mut pool, &mut rec, &state, actions, &mut ch);
    rec.state = Some(state);
    if rec != record {
        rec.write(&pool, &mut ch)?;
    }
    Ok(ch)
}

fn forward(phase: &Phase) -> bool {
    matches!(phase, Phase::Running | Phase::Soaking { .. })
}

fn apply_actions(
    pool: &mut NodePool,
    rec: &mut PoolRollout,
    state: &RolloutState,
    actions: Vec<Action>,
    ch: &mut Change,
) {
    for a in actions {
        match a {
            Action::ReplaceNodes { count, to_revision } => {
                if to_revision == state.to.revision {
                    rec.granted = rec.granted.saturating_add(count);
                }
            }
            Action::Halt { reason } => {
                ch.event(NodePoolEvent::CycleStopped {
                    pool: pool.metadata.id,
                    cluster: pool.spec.cluster,
                    image_version: state.to.image.clone(),
                    reason: halt_text(&reason),
                });
            }
            Action::DisableRevision { revision } => {
                rec.disable(revision);
                ch.event(NodePoolEvent::RevisionDisabled {
                    pool: pool.metadata.id,
                    cluster: pool.spec.cluster,
                    revision,
                    image_version: state.to.image.clone(),
                    reason: match &state.phase {
                        Phase::Halted { reason } => halt_text(reason),
                        _ => "rolled back".into(),
                    },
                });
            }
        }
    }
}

/// A halt's reason in words.
pub fn halt_text(reason: &HaltReason) -> String {
    match reason {
        HaltReason::NotReady { waited_seconds } => {
            format!("a new node was not Ready after {waited_seconds}s")
        }
        HaltReason::NodeFailed { node, reason } => format!("node {node} failed: {reason}"),
        HaltReason::CriticalFinding { node, kind } => {
            format!("node {node} raised a critical finding ({kind})")
        }
        HaltReason::RollbackRequested => "rollback requested".into(),
        HaltReason::ImageUnusable { reason } => reason.clone(),
    }
}

/// Whether the policy may replace nodes now.
pub fn window_open(policy: &RolloutPolicy, cluster: Option<&Cluster>, now: OffsetDateTime) -> bool {
    !policy.only_in_windows || cluster.is_some_and(|c| c.spec.autoclusters.maintenance.open_at(now))
}

/// The image the pool ran before moving to `target`: its previous revision, else what most of
/// its other nodes run.
fn previous_image(rec: &PoolRollout, nodes: &[Node], target: &str) -> Option<String> {
    if let Some(s) = rec.state.as_ref().filter(|s| s.to.image == target) {
        return Some(s.from.image.clone());
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for n in nodes
        .iter()
        .filter(|n| alive(n) && n.spec.image_version != target)
    {
        *counts.entry(n.spec.image_version.as_str()).or_default() += 1;
    }
    if let Some((img, _)) = counts.into_iter().max_by_key(|(_, c)| *c) {
        return Some(img.to_owned());
    }
    rec.revisions
        .iter()
        .rev()
        .find(|r| r.image != target)
        .map(|r| r.image.clone())
}
