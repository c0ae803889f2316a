//! [`Fleet`]: the in-memory side of the service — the health checks' per-node state
//! ([`HealthChecker`]) and the latest sample of each node, per cluster.
//!
//! Nothing here is persisted: after a restart every node starts again from its next sample (the
//! first is a baseline; see ARCHITECTURE.md for how long each check is blind).
//!
//! Memory is bounded by the nodes that report: a deleted cluster's nodes are forgotten at once,
//! and [`Fleet::forget_silent`] forgets nodes whose last sample is [`SILENT_AFTER_MS`] older than
//! the newest sample seen (terminated or replaced nodes of a live cluster). Sample time, not a
//! clock: while no node reports at all (NATS down), nothing is forgotten.
//!
//! Invariant: the service keeps a `Fleet` behind a `std::sync::Mutex` that is never held across
//! an `await`; each operation is bounded — checking one sample is O(GPUs + ports) of that
//! sample, listing a cluster is O(its nodes).

use std::collections::{BTreeMap, HashMap};

use accord_core::{
    ids::{ClusterId, NodeId},
    telemetry::TelemetrySample,
};
use accord_health::{
    CheckVerdict, HealthChecker, HealthConfig, HealthFinding, Observation, Verdict,
    exposition::XidCounters,
};

/// How far behind the newest sample a node's last one may fall before it is forgotten (15 min).
pub const SILENT_AFTER_MS: i64 = 15 * 60 * 1000;

/// One node's health as of its last sample.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeHealth {
    pub node: NodeId,
    pub node_name: String,
    pub pool: accord_core::ids::NodePoolId,
    pub instance_type: String,
    /// `ts_ms` of its last accepted sample.
    pub last_ts_ms: i64,
    /// One per enabled check.
    pub checks: Vec<CheckVerdict>,
}

impl NodeHealth {
    /// The worst verdict of its checks (`Unknown` when there are none).
    pub fn verdict(&self) -> Verdict {
        self.checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Unknown)
    }

    /// The checks at `Warning` or `Critical`.
    pub fn failing(&self) -> impl Iterator<Item = &CheckVerdict> {
        self.checks.iter().filter(|c| c.verdict >= Verdict::Warning)
    }
}

/// Every node's check state and latest sample (see the module docs).
#[derive(Debug, Default)]
pub struct Fleet {
    checker: HealthChecker,
    latest: HashMap<ClusterId, BTreeMap<NodeId, TelemetrySample>>,
    /// XIDs per GPU and code, per cluster (the customer metrics endpoint's counters).
    xids: HashMap<ClusterId, XidCounters>,
    /// The newest `ts_ms` of any checked sample.
    newest_ts_ms: i64,
}

impl Fleet {
    /// A fleet checked with `config`, no node seen yet.
    pub fn new(config: HealthConfig) -> Self {
        Self {
            checker: HealthChecker::new(config),
            latest: HashMap::new(),
            xids: HashMap::new(),
            newest_ts_ms: i64::MIN,
        }
    }

    /// Checks `sample`, appending what it trips to `findings`; a checked sample becomes its
    /// node's latest.
    pub fn observe(
        &mut self,
        sample: &TelemetrySample,
        findings: &mut Vec<HealthFinding>,
    ) -> Observation {
        let observation = self.checker.observe(sample, findings);
        if observation.checked() {
            self.newest_ts_ms = self.newest_ts_ms.max(sample.ts_ms);
            self.xids.entry(sample.cluster).or_default().observe(sample);
            self.latest
                .entry(sample.cluster)
                .or_default()
                .insert(sample.node, sample.clone());
        }
        observation
    }

    /// The health of every node of `cluster` that reported, by node id.
    pub fn cluster_health(&self, cluster: ClusterId) -> Vec<NodeHealth> {
        let Some(nodes) = self.latest.get(&cluster) else {
            return Vec::new();
        };
        nodes
            .values()
            .filter_map(|sample| {
                let verdicts = self.checker.verdicts(&sample.node)?;
                Some(NodeHealth {
                    node: sample.node,
                    node_name: sample.node_name.clone(),
                    pool: sample.pool,
                    instance_type: sample.instance_type.clone(),
                    last_ts_ms: verdicts.last_ts_ms,
                    checks: verdicts.checks,
                })
            })
            .collect()
    }

    /// The latest sample of the node of `cluster` named `node` (id or hostname).
    pub fn latest(&self, cluster: ClusterId, node: &str) -> Option<TelemetrySample> {
        let nodes = self.latest.get(&cluster)?;
        match node.parse::<NodeId>() {
            Ok(id) => nodes.get(&id).cloned(),
            Err(_) => nodes.values().find(|s| s.node_name == node).cloned(),
        }
    }

    /// What the customer metrics endpoint renders for `cluster`: each node's latest sample and
    /// the cluster's XID counters, copied (O(the cluster's nodes)) so that rendering happens
    /// outside the fleet's lock.
    pub fn metrics_snapshot(&self, cluster: ClusterId) -> (Vec<TelemetrySample>, XidCounters) {
        let samples = self
            .latest
            .get(&cluster)
            .map(|nodes| nodes.values().cloned().collect())
            .unwrap_or_default();
        let xids = self.xids.get(&cluster).cloned().unwrap_or_default();
        (samples, xids)
    }

    /// Forgets every node of `cluster` (it was deleted); returns how many.
    pub fn forget_cluster(&mut self, cluster: ClusterId) -> usize {
        self.xids.remove(&cluster);
        let Some(nodes) = self.latest.remove(&cluster) else {
            return 0;
        };
        for node in nodes.keys() {
            self.checker.forget(node);
        }
        nodes.len()
    }

    /// Forgets every node whose last sample is more than [`SILENT_AFTER_MS`] older than the
    /// newest sample seen; returns how many. O(nodes): run periodically, not per sample.
    pub fn forget_silent(&mut self) -> usize {
        let cutoff = self.newest_ts_ms.saturating_sub(SILENT_AFTER_MS);
        let forgotten = self.checker.forget_silent(cutoff);
        let xids = &mut self.xids;
        self.latest.retain(|cluster, nodes| {
            nodes.retain(|node, sample| {
                let keep = sample.ts_ms >= cutoff;
                if !keep && let Some(counters) = xids.get_mut(cluster) {
                    counters.forget_node(node);
                }
                keep
            });
            if nodes.is_empty() {
                xids.remove(cluster);
            }
            !nodes.is_empty()
        });
        forgotten
    }

    /// Nodes with state.
    pub fn nodes(&self) -> usize {
        self.checker.nodes()
    }
}
