//! The simulated network's state as data — rule sets, load balancers, fault counters, the drift
//! log — and how it is kept on disk (its own JSON file, replaced atomically like the fleet's).
//!
//! A load balancer being created, changed or deleted is a phase plus a due time (Unix ms, wall
//! clock); [`VpcState::settle`] completes what fell due, so a restored state resumes where it
//! was, and one already overdue completes at once.
//!
//! Invariants:
//! - A load balancer's address is unique among the load balancers in the state and kept for
//!   its life; it is free again once the load balancer is removed.
//! - Names are unique per cluster (the map key).
//! - The drift log keeps at most [`MAX_DRIFT_LOG`] entries (the newest).
//! - Fields added after version 1 carry `#[serde(default)]`, so older state files still load.

use std::{collections::BTreeMap, net::Ipv4Addr, path::Path};

use accord_core::ids::ClusterId;
use accord_firewall::driver::{VpcFirewall, VpcLoadBalancer};
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Version of the VPC state-file schema.
pub(crate) const VPC_STATE_VERSION: u32 = 1;

/// Drift records kept (the newest).
pub const MAX_DRIFT_LOG: usize = 64;

/// Everything the simulated network knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VpcState {
    /// Schema version ([`VPC_STATE_VERSION`]).
    pub version: u32,
    /// Each cluster's rule set as the cloud holds it now.
    pub firewalls: BTreeMap<ClusterId, VpcFirewall>,
    /// Each cluster's load balancers by name.
    pub load_balancers: BTreeMap<ClusterId, BTreeMap<String, LoadBalancerRecord>>,
    /// How many upcoming `apply_firewall` calls fail (`fail-next-firewall-applies`).
    pub fail_next_applies: u32,
    /// The rules `firewall-drift` removed, oldest first.
    pub drift_log: Vec<DriftRecord>,
}

impl Default for VpcState {
    fn default() -> Self {
        VpcState {
            version: VPC_STATE_VERSION,
            firewalls: BTreeMap::new(),
            load_balancers: BTreeMap::new(),
            fail_next_applies: 0,
            drift_log: Vec::new(),
        }
    }
}

/// A rule `firewall-drift` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRecord {
    /// The cluster.
    pub cluster: ClusterId,
    /// The required rule removed (`accord-kubelet-ingress`, …).
    pub rule: String,
    /// When, Unix ms.
    pub at_ms: i64,
}

/// Where a load balancer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum LbPhase {
    /// Being created; serves nothing until `due_ms`.
    Creating,
    /// Serving.
    Active,
    /// Serving while a change rolls out (done at `due_ms`).
    Updating,
    /// Being removed (gone, its address free, at `due_ms`).
    Deleting,
}

/// One load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LoadBalancerRecord {
    /// What was last asked for.
    pub spec: VpcLoadBalancer,
    /// Its public address.
    pub address: Ipv4Addr,
    pub phase: LbPhase,
    /// When the current transition completes; `None` when active.
    pub due_ms: Option<i64>,
}

impl VpcState {
    /// Completes every load-balancer transition due at `now_ms`; whether anything changed.
    pub(crate) fn settle(&mut self, now_ms: i64) -> bool {
        let mut changed = false;
        for lbs in self.load_balancers.values_mut() {
            lbs.retain(|_, lb| {
                let due = lb.due_ms.is_some_and(|due| due <= now_ms);
                if !due {
                    return true;
                }
                changed = true;
                if lb.phase == LbPhase::Deleting {
                    return false;
                }
                lb.phase = LbPhase::Active;
                lb.due_ms = None;
                true
            });
        }
        self.load_balancers.retain(|_, lbs| !lbs.is_empty());
        changed
    }

    /// The load balancer `name` of `cluster`.
    pub(crate) fn load_balancer(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Option<&LoadBalancerRecord> {
        self.load_balancers
            .get(&cluster)
            .and_then(|lbs| lbs.get(name))
    }

    /// Records a drift, keeping the newest [`MAX_DRIFT_LOG`].
    pub(crate) fn log_drift(&mut self, record: DriftRecord) {
        self.drift_log.push(record);
        let excess = self.drift_log.len().saturating_sub(MAX_DRIFT_LOG);
        self.drift_log.drain(..excess);
    }
}

/// Reads the state file; a missing file is an empty network.
pub(crate) fn load(path: &Path) -> Result<VpcState, SimError> {
    crate::state::load_versioned(path, VPC_STATE_VERSION)
}

/// Replaces the state file atomically.
pub(crate) fn save(path: &Path, state: &VpcState) -> Result<(), SimError> {
    crate::state::save_json(path, state)
}
