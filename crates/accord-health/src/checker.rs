//! [`HealthChecker`]: every node's state machines, fed one sample at a time.
//!
//! Invariants:
//! - A sample whose `ts_ms` is not after the node's last accepted one (a duplicate, a
//!   redelivery, a late arrival) changes nothing and raises nothing ([`Observation`] says which).
//! - The first sample of a node is its baseline: counters are compared from the second on.
//! - Findings depend only on the samples in the order accepted and on the configuration — never
//!   on a clock — so the service and `accord health check` agree on the same input.

use std::collections::{HashMap, hash_map::Entry};

use accord_core::{
    ids::{ClusterId, NodeId},
    telemetry::TelemetrySample,
};
use serde::Serialize;

use crate::{
    check::CheckVerdict,
    config::{Checks, HealthConfig},
    finding::HealthFinding,
    node::NodeState,
};

/// What became of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observation {
    /// The node's first sample: its baseline (only conditions that need no history can trip).
    First,
    /// Checked against the previous sample.
    Accepted,
    /// Same `ts_ms` as the last accepted sample: ignored.
    Duplicate,
    /// Older than the last accepted sample: ignored.
    OutOfOrder,
}

impl Observation {
    /// Whether the sample was checked (not ignored).
    pub fn checked(self) -> bool {
        matches!(self, Observation::First | Observation::Accepted)
    }
}

/// A node's verdicts, as of its last sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeVerdicts {
    /// The node's cluster.
    pub cluster: ClusterId,
    /// The node.
    pub node: NodeId,
    /// `ts_ms` of its last accepted sample.
    pub last_ts_ms: i64,
    /// One per enabled check, in [`crate::CheckId::ALL`] order.
    pub checks: Vec<CheckVerdict>,
}

/// The health checks of a fleet: one state per node that reported.
#[derive(Debug, Clone, Default)]
pub struct HealthChecker {
    config: HealthConfig,
    nodes: HashMap<NodeId, NodeState>,
}

impl HealthChecker {
    /// A checker with `config` and no nodes.
    pub fn new(config: HealthConfig) -> Self {
        HealthChecker {
            config,
            nodes: HashMap::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// Runs the checks over one sample, appending what it trips to `findings` (which the caller
    /// reuses, so a quiet sample allocates nothing).
    pub fn observe(
        &mut self,
        sample: &TelemetrySample,
        findings: &mut Vec<HealthFinding>,
    ) -> Observation {
        match self.nodes.entry(sample.node) {
            Entry::Vacant(entry) => {
                let mut state = NodeState::new(sample, &self.config);
                state.observe(sample, &self.config, findings);
                entry.insert(state);
                Observation::First
            }
            Entry::Occupied(entry) => {
                let state = entry.into_mut();
                match state.last_ts() {
                    Some(last) if sample.ts_ms == last => return Observation::Duplicate,
                    Some(last) if sample.ts_ms < last => return Observation::OutOfOrder,
                    _ => {}
                }
                state.observe(sample, &self.config, findings);
                Observation::Accepted
            }
        }
    }

    /// The verdicts of `node`, or `None` if it never reported (or was forgotten).
    pub fn verdicts(&self, node: &NodeId) -> Option<NodeVerdicts> {
        let state = self.nodes.get(node)?;
        Some(NodeVerdicts {
            cluster: state.cluster(),
            node: *node,
            last_ts_ms: state.last_ts().unwrap_or(i64::MIN),
            checks: state.verdicts(),
        })
    }

    /// The settings in force for `node`.
    pub fn checks_of(&self, node: &NodeId) -> Option<&Checks> {
        self.nodes.get(node).map(NodeState::checks)
    }

    /// Drops `node`'s state (it was deleted); returns whether there was any.
    pub fn forget(&mut self, node: &NodeId) -> bool {
        self.nodes.remove(node).is_some()
    }

    /// Drops every node whose last sample is older than `before_ts_ms`; returns how many.
    pub fn forget_silent(&mut self, before_ts_ms: i64) -> usize {
        let before = self.nodes.len();
        self.nodes
            .retain(|_, state| state.last_ts().is_some_and(|ts| ts >= before_ts_ms));
        before - self.nodes.len()
    }

    /// Nodes with state.
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }
}
