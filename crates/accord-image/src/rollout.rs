//! The per-pool rollout policy engine, pure: a node pool moves from one revision (image, driver,
//! Kubernetes version) to the next under a customer's opt-in policy, and [`next`] says, for each
//! [`Observation`], what the state becomes and which [`Action`]s the service carries out.
//!
//! A policy replaces nodes in waves — fixed-size batches or cumulative percentages such as
//! `[1, 5, 10, 25, 50, 100]` — at most `max_unavailable` at a time, optionally only while a
//! maintenance window is open (the service says so with [`Observation::Window`]; the engine does
//! not read schedules). After each wave it soaks for `soak`; a node of the new revision that
//! does not become Ready within `ready_timeout`, that fails, or that raises a critical finding
//! while the rollout runs or soaks **halts** the rollout: the new revision is disabled (no more
//! nodes are moved to it) and stays disabled. One command ([`Observation::RollbackRequested`])
//! moves every node back to the previous revision, again at most `max_unavailable` at a time.
//!
//! [`start`] checks the policy and the two revisions and issues the first replacements;
//! [`Observation::NodeFailed`] carries the node's revision (without it a failure during a
//! rollback could not be told apart from one of the new revision).
//!
//! Time: only [`Observation::Tick`] moves the clock (`state.now`); other observations happen
//! at the last tick's time. A tick from the past is ignored (the clock never goes back).
//!
//! Node accounting: the pool's `total` nodes are always split as
//! `from.active_nodes + to.active_nodes + pending.len() + failed`, where *pending* nodes are in
//! replacement (the old node is gone, the new one is not Ready yet) and *failed* nodes are on the
//! new revision but not Ready. [`Action::ReplaceNodes`] asks the service to replace `count`
//! nodes with nodes of `to_revision` — nodes not on that revision, failed ones first.
//!
//! Invariants (property-tested in `tests/rollout.rs`):
//! - the node split above always adds up to `total`;
//! - **never more than `max_unavailable` nodes in replacement** (`pending.len()`); a Ready node
//!   is taken out only while `pending + failed < max_unavailable`;
//! - **after a halt, no action moves nodes to the halted revision** (and `to.disabled` is set);
//! - **waves are monotonic**: the wave index and its cumulative target never go down, and while
//!   rolling forward the nodes moved to the new revision never go down;
//! - **a rollback ends with every node on the previous revision** once the service reports the
//!   replacements Ready;
//! - a pool (e.g. 100 nodes) completes with every node on the new revision when nothing fails.
//! - Idempotent observations: a repeated `NodeReady` or `NodeFailed` for the same node changes
//!   nothing (the bus may redeliver).
//!
//! Decisions: a rollback is not held back by closed maintenance windows (the customer asked for
//! it); a critical finding counts on any node that became Ready on the new revision during the
//! rollout, until the rollout completes (the last wave soaks too); nodes that fail during a
//! rollback are replaced again (the service's remediation watches them; there is no timeout on
//! rollback nodes); halting does not cancel replacements in flight — they land and are counted.

use std::collections::{BTreeMap, BTreeSet};

use accord_core::{error::echo, ids::NodeId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// A revision number of a pool.
pub type Revision = u32;

/// Nodes in one pool.
pub const MAX_POOL_NODES: u32 = 10_000;
/// Waves in a percentage policy.
pub const MAX_WAVES: usize = 16;
/// The longest soak.
pub const MAX_SOAK: Duration = Duration::days(7);
/// Bounds of the Ready timeout.
pub const MIN_READY_TIMEOUT: Duration = Duration::seconds(30);
pub const MAX_READY_TIMEOUT: Duration = Duration::hours(24);

/// One revision of a node pool, as the pool records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRevision {
    pub revision: Revision,
    /// The image (id or version label).
    pub image: String,
    /// The GPU driver version.
    pub driver: String,
    /// The kubelet's Kubernetes version.
    pub kubernetes: String,
    /// Nodes Ready on this revision.
    pub active_nodes: u32,
    /// A halted revision: no node may be moved to it.
    pub disabled: bool,
}

/// How nodes are grouped into waves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Waves of `size` nodes.
    Batches { size: u32 },
    /// Cumulative percentages of the pool, strictly increasing, ending at 100.
    Waves { percentages: Vec<u8> },
}

/// A customer's rollout policy for a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutPolicy {
    pub strategy: Strategy,
    /// How long each wave soaks before the next starts.
    #[serde(with = "seconds", rename = "soak_seconds")]
    pub soak: Duration,
    /// Nodes in replacement at once (at least 1).
    pub max_unavailable: u32,
    /// Start replacements only while a maintenance window is open.
    pub only_in_windows: bool,
    /// How long a new node may take to become Ready before the rollout halts.
    #[serde(with = "seconds", rename = "ready_timeout_seconds")]
    pub ready_timeout: Duration,
}

impl Default for RolloutPolicy {
    fn default() -> Self {
        Self {
            strategy: Strategy::Waves {
                percentages: vec![1, 5, 10, 25, 50, 100],
            },
            soak: Duration::minutes(30),
            max_unavailable: 1,
            only_in_windows: false,
            ready_timeout: Duration::minutes(15),
        }
    }
}

/// Why a policy or a start was refused; each names its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RolloutError {
    RolloutError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl RolloutPolicy {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), RolloutError> {
        match &self.strategy {
            Strategy::Batches { size } => {
                if *size == 0 || *size > MAX_POOL_NODES {
                    return Err(invalid(
                        "strategy.batches.size",
                        format!("must be 1..={MAX_POOL_NODES}, got {size}"),
                    ));
                }
            }
            Strategy::Waves { percentages } => {
                let field = "strategy.waves.percentages";
                if percentages.is_empty() || percentages.len() > MAX_WAVES {
                    return Err(invalid(field, format!("must have 1..={MAX_WAVES} waves")));
                }
                if percentages.first().is_some_and(|p| *p == 0)
                    || percentages.windows(2).any(|w| w[0] >= w[1])
                {
                    return Err(invalid(
                        field,
                        "must be strictly increasing from at least 1",
                    ));
                }
                if percentages.last() != Some(&100) {
                    return Err(invalid(field, "must end at 100"));
                }
            }
        }
        if self.max_unavailable == 0 || self.max_unavailable > MAX_POOL_NODES {
            return Err(invalid(
                "max_unavailable",
                format!("must be 1..={MAX_POOL_NODES}"),
            ));
        }
        if self.soak.is_negative() || self.soak > MAX_SOAK {
            return Err(invalid("soak", "must be between 0 and 7 days"));
        }
        if self.ready_timeout < MIN_READY_TIMEOUT || self.ready_timeout > MAX_READY_TIMEOUT {
            return Err(invalid(
                "ready_timeout",
                "must be between 30 seconds and 24 hours",
            ));
        }
        Ok(())
    }

    /// The cumulative node count each wave ends at, for a pool of `total` nodes: strictly
    /// increasing, ending at `total` (percentages round up, so the first wave has at least one
    /// node; waves that round to the previous count are dropped). Empty for an empty pool.
    pub fn wave_targets(&self, total: u32) -> Vec<u32> {
        let raw: Vec<u32> = match &self.strategy {
            Strategy::Batches { size } => {
                let size = (*size).max(1);
                (1..=total.div_ceil(size))
                    .map(|k| k.saturating_mul(size).min(total))
                    .collect()
            }
            Strategy::Waves { percentages } => percentages
                .iter()
                .map(|p| (u64::from(total) * u64::from(*p)).div_ceil(100))
                .map(|n| u32::try_from(n).unwrap_or(total).min(total))
                .collect(),
        };
        let mut targets: Vec<u32> = Vec::with_capacity(raw.len());
        for t in raw {
            if t > 0 && targets.last().is_none_or(|last| t > *last) {
                targets.push(t);
            }
        }
        if total > 0 && targets.last() != Some(&total) {
            targets.push(total);
        }
        targets
    }
}

/// Why a rollout halted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HaltReason {
    /// A new node did not become Ready within the policy's timeout.
    NotReady { waited_seconds: i64 },
    /// A node of the new revision failed.
    NodeFailed { node: NodeId, reason: String },
    /// A node of the new revision raised a critical finding.
    CriticalFinding { node: NodeId, kind: String },
    /// The customer asked for a rollback.
    RollbackRequested,
    /// The target image can no longer boot (withdrawn, or its signature fails).
    ImageUnusable { reason: String },
}

/// Where a rollout is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Replacing nodes of the current wave.
    Running,
    /// The current wave is done; soaking since `since`.
    Soaking { since: OffsetDateTime },
    /// Stopped; the new revision is disabled. Waits for a rollback.
    Halted { reason: HaltReason },
    /// Moving every node back to the previous revision.
    RollingBack,
    /// Every node is on the new revision.
    Completed,
    /// Every node is back on the previous revision.
    RolledBack,
}

/// A node in replacement towards `to`, since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub to: Revision,
    pub since: OffsetDateTime,
}

/// A pool's rollout from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    /// The previous revision (what a rollback returns to).
    pub from: PoolRevision,
    /// The new revision.
    pub to: PoolRevision,
    /// Nodes in the pool.
    pub total: u32,
    /// Nodes in replacement, oldest first.
    pub pending: Vec<Pending>,
    /// Nodes on the new revision that are not Ready (failed or timed out).
    pub failed: u32,
    /// Nodes reported failed during the rollout (so a repeated report changes nothing).
    pub failed_nodes: BTreeSet<NodeId>,
    /// Nodes that became Ready during the rollout, and on which revision.
    pub ready_nodes: BTreeMap<NodeId, Revision>,
    /// Each wave's cumulative target ([`RolloutPolicy::wave_targets`]).
    pub waves: Vec<u32>,
    /// The current wave (index into `waves`).
    pub wave: usize,
    /// When each wave started, one entry per wave started so far.
    pub wave_started_at: Vec<OffsetDateTime>,
    pub phase: Phase,
    /// Whether a maintenance window is open (the last [`Observation::Window`]).
    pub window_open: bool,
    /// The last tick's time.
    pub now: OffsetDateTime,
}

impl RolloutState {
    /// Nodes in replacement towards `revision`.
    pub fn pending_to(&self, revision: Revision) -> u32 {
        count(self.pending.iter().filter(|p| p.to == revision).count())
    }

    /// Nodes not Ready: in replacement or failed.
    pub fn unavailable(&self) -> u32 {
        count(self.pending.len()).saturating_add(self.failed)
    }

    /// Whether the rollout is over (completed or rolled back).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Completed | Phase::RolledBack)
    }
}

/// What the engine observes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// Time passed.
    Tick { now: OffsetDateTime },
    /// A replacement node became Ready on `revision`.
    NodeReady { node: NodeId, revision: Revision },
    /// A node of `revision` failed (did not come up, or went NotReady for good).
    NodeFailed {
        node: NodeId,
        revision: Revision,
        reason: String,
    },
    /// A node raised a critical finding (e.g. an XID 79, a failed health check).
    CriticalFinding { node: NodeId, kind: String },
    /// The customer asked to go back to the previous revision.
    RollbackRequested,
    /// A maintenance window opened or closed.
    Window { open: bool },
}

/// What the service does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Replace `count` nodes not on `to_revision` (failed ones first) with nodes of it.
    ReplaceNodes { count: u32, to_revision: Revision },
    /// Record that the rollout halted, and why.
    Halt { reason: HaltReason },
    /// Mark the revision disabled: no node may be moved to it.
    DisableRevision { revision: Revision },
}

/// Starts a rollout of a pool from `from` to `to` at `now`, and the first replacements.
pub fn start(
    policy: &RolloutPolicy,
    from: PoolRevision,
    to: PoolRevision,
    now: OffsetDateTime,
    window_open: bool,
) -> Result<(RolloutState, Vec<Action>), RolloutError> {
    policy.validate()?;
    if from.revision == to.revision {
        return Err(invalid(
            "to.revision",
            "must differ from the current revision",
        ));
    }
    if to.disabled {
        return Err(invalid("to.disabled", "the revision is disabled"));
    }
    let total = from.active_nodes.saturating_add(to.active_nodes);
    if total > MAX_POOL_NODES {
        return Err(invalid(
            "active_nodes",
            format!("a pool has at most {MAX_POOL_NODES} nodes"),
        ));
    }
    let mut state = RolloutState {
        from,
        to,
        total,
        pending: Vec::new(),
        failed: 0,
        failed_nodes: BTreeSet::new(),
        ready_nodes: BTreeMap::new(),
        waves: policy.wave_targets(total),
        wave: 0,
        wave_started_at: vec![now],
        phase: Phase::Running,
        window_open,
        now,
    };
    if state.waves.is_empty() {
        state.phase = Phase::Completed;
    }
    let mut actions = Vec::new();
    advance(policy, &mut state, &mut actions);
    Ok((state, actions))
}

/// The state after `observation`, and what to do.
pub fn next(
    policy: &RolloutPolicy,
    mut state: RolloutState,
    observation: Observation,
) -> (RolloutState, Vec<Action>) {
    let mut actions = Vec::new();
    let s = &mut state;
    match observation {
        Observation::Tick { now } => {
            if now > s.now {
                s.now = now;
            }
            expire_pending(policy, s, &mut actions);
        }
        Observation::Window { open } => s.window_open = open,
        Observation::NodeReady { node, revision } => node_ready(s, node, revision),
        Observation::NodeFailed {
            node,
            revision,
            reason,
        } => node_failed(s, node, revision, &reason, &mut actions),
        Observation::CriticalFinding { node, kind } => {
            let on_new = s.ready_nodes.get(&node) == Some(&s.to.revision);
            if on_new && forward(&s.phase) {
                let kind = cut(&kind);
                halt(s, HaltReason::CriticalFinding { node, kind }, &mut actions);
            }
        }
        Observation::RollbackRequested => match s.phase {
            Phase::Running | Phase::Soaking { .. } => {
                halt(s, HaltReason::RollbackRequested, &mut actions);
                s.phase = Phase::RollingBack;
            }
            Phase::Halted { .. } => s.phase = Phase::RollingBack,
            Phase::Completed => {
                disable(s, &mut actions);
                s.phase = Phase::RollingBack;
            }
            Phase::RollingBack | Phase::RolledBack => {}
        },
    }
    advance(policy, s, &mut actions);
    (state, actions)
}

fn forward(phase: &Phase) -> bool {
    matches!(phase, Phase::Running | Phase::Soaking { .. })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `text` as a halt reason keeps it: at most [`accord_core::error::ECHO_LIMIT`] characters,
/// control characters escaped (a reason or kind comes from a node and is unbounded).
fn cut(text: &str) -> String {
    echo(text)
}

fn disable(s: &mut RolloutState, actions: &mut Vec<Action>) {
    if !s.to.disabled {
        s.to.disabled = true;
        actions.push(Action::DisableRevision {
            revision: s.to.revision,
        });
    }
}

/// Halts a forward rollout (only from running or soaking) and disables the new revision.
fn halt(s: &mut RolloutState, reason: HaltReason, actions: &mut Vec<Action>) {
    if !forward(&s.phase) {
        return;
    }
    actions.push(Action::Halt {
        reason: reason.clone(),
    });
    disable(s, actions);
    s.phase = Phase::Halted { reason };
}

/// Replacements towards the new revision older than the Ready timeout become failed nodes and
/// halt a forward rollout.
fn expire_pending(policy: &RolloutPolicy, s: &mut RolloutState, actions: &mut Vec<Action>) {
    let (to, now) = (s.to.revision, s.now);
    let before = s.pending.len();
    let mut oldest = None;
    s.pending.retain(|p| {
        let expired = p.to == to
            && p.since
                .checked_add(policy.ready_timeout)
                .is_some_and(|deadline| deadline <= now);
        if expired && oldest.is_none() {
            oldest = Some(p.since);
        }
        !expired
    });
    let expired = count(before - s.pending.len());
    if let Some(since) = oldest {
        s.failed += expired;
        let waited_seconds = (now - since).whole_seconds();
        halt(s, HaltReason::NotReady { waited_seconds }, actions);
    }
}

fn take_pending(s: &mut RolloutState, revision: Revision) -> bool {
    match s.pending.iter().position(|p| p.to == revision) {
        Some(i) => {
            s.pending.remove(i);
            true
        }
        None => false,
    }
}

fn node_ready(s: &mut RolloutState, node: NodeId, revision: Revision) {
    if s.ready_nodes.get(&node) == Some(&revision) || s.failed_nodes.contains(&node) {
        return; // a repeated report, or a node already counted as failed
    }
    if !take_pending(s, revision) {
        return; // not a replacement the engine asked for
    }
    if revision == s.to.revision {
        s.to.active_nodes += 1;
    } else {
        s.from.active_nodes += 1;
    }
    s.ready_nodes.insert(node, revision);
}

fn node_failed(
    s: &mut RolloutState,
    node: NodeId,
    revision: Revision,
    reason: &str,
    actions: &mut Vec<Action>,
) {
    if s.failed_nodes.contains(&node) {
        return;
    }
    if revision == s.to.revision {
        if s.ready_nodes.get(&node) == Some(&revision) {
            if s.to.active_nodes == 0 {
                return; // a rollback is replacing it already
            }
            s.ready_nodes.remove(&node);
            s.to.active_nodes -= 1;
        } else if !take_pending(s, revision) {
            return;
        }
        s.failed += 1;
        s.failed_nodes.insert(node);
        let reason = cut(reason);
        halt(s, HaltReason::NodeFailed { node, reason }, actions);
    } else if revision == s.from.revision && s.phase == Phase::RollingBack {
        // A node of the previous revision did not come up during the rollback: try again.
        if let Some(p) = s.pending.iter_mut().find(|p| p.to == revision) {
            p.since = s.now;
            s.failed_nodes.insert(node);
            actions.push(Action::ReplaceNodes {
                count: 1,
                to_revision: revision,
            });
        }
    }
}

/// Moves the phase machine as far as it goes at `s.now` and starts the replacements it may.
fn advance(policy: &RolloutPolicy, s: &mut RolloutState, actions: &mut Vec<Action>) {
    // Each pass either stops or moves to a later wave, so this ends within `waves.len()` passes.
    loop {
        match s.phase {
            Phase::Running => {
                let Some(&target) = s.waves.get(s.wave) else {
                    s.phase = Phase::Completed;
                    return;
                };
                let moving = s.pending_to(s.to.revision);
                if s.to.active_nodes >= target && moving == 0 {
                    s.phase = Phase::Soaking { since: s.now };
                    continue;
                }
                if policy.only_in_windows && !s.window_open {
                    return;
                }
                let need = target.saturating_sub(s.to.active_nodes + moving + s.failed);
                let room = policy.max_unavailable.saturating_sub(s.unavailable());
                let n = need.min(room).min(s.from.active_nodes);
                if n > 0 {
                    s.from.active_nodes -= n;
                    replace(s, n, s.to.revision, actions);
                }
                return;
            }
            Phase::Soaking { since } => {
                if since.checked_add(policy.soak).is_none_or(|end| s.now < end) {
                    return;
                }
                if s.wave + 1 >= s.waves.len() {
                    s.phase = Phase::Completed;
                    return;
                }
                s.wave += 1;
                s.wave_started_at.push(s.now);
                s.phase = Phase::Running;
            }
            Phase::RollingBack => {
                let previous = s.from.revision;
                // Failed nodes are unavailable already: replace them first.
                let room = policy
                    .max_unavailable
                    .saturating_sub(count(s.pending.len()));
                let from_failed = s.failed.min(room);
                s.failed -= from_failed;
                let room = policy
                    .max_unavailable
                    .saturating_sub(s.unavailable() + from_failed);
                let from_ready = room.min(s.to.active_nodes);
                s.to.active_nodes -= from_ready;
                if from_failed + from_ready > 0 {
                    replace(s, from_failed + from_ready, previous, actions);
                }
                if s.to.active_nodes == 0 && s.failed == 0 && s.pending.is_empty() {
                    s.phase = Phase::RolledBack;
                }
                return;
            }
            Phase::Halted { .. } | Phase::Completed | Phase::RolledBack => return,
        }
    }
}

fn replace(s: &mut RolloutState, n: u32, to_revision: Revision, actions: &mut Vec<Action>) {
    let since = s.now;
    s.pending.extend((0..n).map(|_| Pending {
        to: to_revision,
        since,
    }));
    actions.push(Action::ReplaceNodes {
        count: n,
        to_revision,
    });
}

/// Durations as whole seconds on the wire.
mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.whole_seconds())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        i64::deserialize(d).map(Duration::seconds)
    }
}

#[cfg(test)]
#[path = "tests/rollout.rs"]
mod tests;
