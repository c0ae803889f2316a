//! [`XidCounters`]: XIDs counted per (node, GPU, XID code), accumulated from samples by the
//! service, for the `accord_gpu_xid_errors_total{xid="…"}` counter family.
//!
//! A sample carries, per GPU, `xid_total` (XIDs since the instance was created) and `xid_last`
//! (the code of the last one). Every increase of `xid_total` between two accepted samples is
//! added to the counter of the `xid_last` the later sample reports.
//!
//! The approximation: when several XIDs arrive between two samples, all of them are counted
//! under the last one's code — the codes of the earlier ones are not in the sample. The sum over
//! a GPU's codes stays exact (it equals the increase of `xid_total` since the baseline); only
//! the split between codes can be off, and only when XIDs of different codes land in one
//! sampling interval (seconds). An increase whose sample names no `xid_last` (an agent that
//! lost the code) is not counted under any code.
//!
//! Invariants (the same as [`HealthChecker`](crate::HealthChecker)'s):
//! - A node's first sample, and a GPU's first appearance, are baselines: nothing counted. After
//!   a restart of the service the counters start at 0 again, which Prometheus reads as a
//!   counter reset, instead of jumping by everything the GPU ever reported.
//! - A sample not newer than the node's last accepted one (duplicate, redelivery, late) changes
//!   nothing; otherwise a late sample would look like a reset and its successor would count
//!   the same XIDs twice.
//! - A counter that goes down (a rebooted or replaced instance, a reloaded driver) is a new
//!   baseline: nothing is counted, nothing is subtracted; counters never decrease.
//! - A GPU is matched by index; one whose UUID changed is a new device: its counters start
//!   over (its series has another `UUID` label anyway).
//! - Memory is bounded: at most [`MAX_XID_CODES_PER_GPU`] codes per GPU (XIDs of further codes
//!   are not counted under a code of their own), one entry per GPU a node reported; a node's
//!   entries go with [`XidCounters::forget_node`].

use std::collections::{BTreeMap, HashMap};

use accord_core::{ids::NodeId, telemetry::TelemetrySample};

use crate::checker::Observation;

/// Distinct XID codes counted per GPU. NVIDIA's catalogue has about a hundred codes and a sick
/// GPU shows a handful; the cap only stops a broken agent from growing the map without end.
pub const MAX_XID_CODES_PER_GPU: usize = 32;

/// XIDs per (node, GPU, code), fed the samples the service receives (module docs).
#[derive(Debug, Clone, Default)]
pub struct XidCounters {
    nodes: HashMap<NodeId, NodeXids>,
}

#[derive(Debug, Clone)]
struct NodeXids {
    last_ts_ms: i64,
    gpus: BTreeMap<u32, GpuXids>,
}

/// One GPU's counters and the labels of its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuXids {
    /// `UUID` label, from the GPU's latest sample.
    pub uuid: String,
    /// `modelName` label, from the GPU's latest sample.
    pub model: String,
    /// `xid_total` of the GPU's latest sample: the baseline of the next increase.
    last_total: u64,
    /// XIDs counted per code, in code order.
    pub by_code: BTreeMap<u32, u64>,
}

impl XidCounters {
    /// No counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the XIDs `sample` reports since the node's previous accepted sample.
    pub fn observe(&mut self, sample: &TelemetrySample) -> Observation {
        let node = match self.nodes.get_mut(&sample.node) {
            None => {
                let gpus = sample
                    .gpus
                    .iter()
                    .map(|g| {
                        let counters = GpuXids {
                            uuid: g.uuid.clone(),
                            model: g.model.clone(),
                            last_total: g.xid_total,
                            by_code: BTreeMap::new(),
                        };
                        (g.index, counters)
                    })
                    .collect();
                let node = NodeXids {
                    last_ts_ms: sample.ts_ms,
                    gpus,
                };
                self.nodes.insert(sample.node, node);
                return Observation::First;
            }
            Some(node) if sample.ts_ms == node.last_ts_ms => return Observation::Duplicate,
            Some(node) if sample.ts_ms < node.last_ts_ms => return Observation::OutOfOrder,
            Some(node) => node,
        };
        node.last_ts_ms = sample.ts_ms;
        for g in &sample.gpus {
            let counters = node.gpus.entry(g.index).or_insert_with(|| GpuXids {
                uuid: g.uuid.clone(),
                model: g.model.clone(),
                last_total: g.xid_total,
                by_code: BTreeMap::new(),
            });
            if counters.uuid != g.uuid {
                // Another device in this slot: start over.
                counters.uuid.clone_from(&g.uuid);
                counters.by_code.clear();
                counters.last_total = g.xid_total;
            }
            if counters.model != g.model {
                counters.model.clone_from(&g.model);
            }
            let increase = g.xid_total.saturating_sub(counters.last_total);
            counters.last_total = g.xid_total;
            let Some(code) = g.xid_last else {
                continue;
            };
            if increase == 0 {
                continue;
            }
            let room = counters.by_code.len() < MAX_XID_CODES_PER_GPU;
            if let Some(count) = counters.by_code.get_mut(&code) {
                *count = count.saturating_add(increase);
            } else if room {
                counters.by_code.insert(code, increase);
            }
        }
        Observation::Accepted
    }

    /// XIDs of `code` counted on GPU `gpu` of `node` (0 when none).
    pub fn count(&self, node: &NodeId, gpu: u32, code: u32) -> u64 {
        self.gpu(node, gpu)
            .and_then(|g| g.by_code.get(&code).copied())
            .unwrap_or(0)
    }

    /// GPU `gpu` of `node`, if it ever reported.
    pub fn gpu(&self, node: &NodeId, gpu: u32) -> Option<&GpuXids> {
        self.nodes.get(node)?.gpus.get(&gpu)
    }

    /// The GPUs of `node`, in index order.
    pub fn gpus(&self, node: &NodeId) -> impl Iterator<Item = (u32, &GpuXids)> {
        self.nodes
            .get(node)
            .into_iter()
            .flat_map(|n| n.gpus.iter().map(|(index, g)| (*index, g)))
    }

    /// Drops a node's counters (it was deleted); whether there were any.
    pub fn forget_node(&mut self, node: &NodeId) -> bool {
        self.nodes.remove(node).is_some()
    }

    /// Nodes with counters.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node has counters.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
