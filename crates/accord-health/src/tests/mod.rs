//! Unit tests of the checks, one file per family, over samples shaped like the simulator's
//! (`accord-sim`'s agent: an `h100-80gb-sxm-ib.8x` node, 8 GPUs, 8 InfiniBand ports).

mod config;
mod gpu;
mod ib;
mod ids;
mod jsonl;
mod sustained;
mod verdicts;

use accord_core::{
    ids::{ClusterId, NodeId},
    telemetry::{GpuSample, IbPortSample, IbPortState, SCHEMA_VERSION, TelemetrySample},
};

use crate::{HealthChecker, HealthConfig, HealthFinding, Observation};

/// A sample time on 5-second and 5-minute boundaries (windows' slots start there).
pub const T0: i64 = 1_790_000_000_000;
pub const SEC: i64 = 1_000;
pub const MIN: i64 = 60_000;

pub const CLUSTER: &str = "cl-01jd6v3xq5n8c7m2k4p9r0s1t2";
pub const OTHER_CLUSTER: &str = "cl-01jd6v3xq5n8c7m2k4p9r0s1t9";
pub const NODE: &str = "node-01jd6v3xq5n8c7m2k4p9r0s1t3";
pub const POOL: &str = "np-01jd6v3xq5n8c7m2k4p9r0s1t4";
pub const H100: &str = "h100-80gb-sxm-ib.8x";

pub fn cluster() -> ClusterId {
    CLUSTER.parse().unwrap()
}

pub fn node() -> NodeId {
    NODE.parse().unwrap()
}

/// A healthy node at `ts_ms`, as the simulator's agent reports it.
pub fn sample(ts_ms: i64) -> TelemetrySample {
    TelemetrySample {
        schema_version: SCHEMA_VERSION,
        ts_ms,
        cluster: cluster(),
        node: node(),
        node_name: "gpu-a-1".into(),
        pool: POOL.parse().unwrap(),
        instance_type: H100.into(),
        ready: true,
        gpus: (0..8)
            .map(|index| GpuSample {
                index,
                uuid: format!("GPU-5e4b1c2d-0000-4000-8000-00000000000{index}"),
                model: "NVIDIA H100 80GB HBM3".into(),
                temp_c: 52 + index,
                power_w: 410.5,
                util_pct: 63,
                fb_used_mib: 40_960,
                xid_last: None,
                xid_total: 0,
                ecc_sbe_total: 0,
                ecc_dbe_total: 0,
                remapped_rows_uncorrectable: 0,
                row_remap_failure: false,
                nvlink_crc_errors: 0,
                pcie_replay: 0,
            })
            .collect(),
        ib_ports: (0..8)
            .map(|port| IbPortSample {
                port,
                name: None,
                state: IbPortState::Up,
                link_downed: 0,
                symbol_error: 0,
                excessive_buffer_overrun: 0,
                local_link_integrity_errors: 0,
            })
            .collect(),
        thermal_violation: false,
    }
}

/// `sample(ts_ms)` changed by `f`.
pub fn with(ts_ms: i64, f: impl FnOnce(&mut TelemetrySample)) -> TelemetrySample {
    let mut s = sample(ts_ms);
    f(&mut s);
    s
}

/// A checker and a way to feed it.
pub struct Run {
    pub checker: HealthChecker,
}

impl Run {
    pub fn new() -> Self {
        Run::with_config(HealthConfig::default())
    }

    pub fn with_config(config: HealthConfig) -> Self {
        Run {
            checker: HealthChecker::new(config),
        }
    }

    pub fn yaml(text: &str) -> Self {
        Run::with_config(HealthConfig::from_yaml(text).unwrap())
    }

    /// Feeds one sample; its findings.
    pub fn feed(&mut self, sample: &TelemetrySample) -> Vec<HealthFinding> {
        self.observe(sample).1
    }

    /// Feeds one sample; what became of it and its findings.
    pub fn observe(&mut self, sample: &TelemetrySample) -> (Observation, Vec<HealthFinding>) {
        let mut findings = Vec::new();
        let observation = self.checker.observe(sample, &mut findings);
        (observation, findings)
    }

    /// Feeds every sample; all findings, each with the index of the sample that raised it.
    pub fn feed_all(&mut self, samples: &[TelemetrySample]) -> Vec<(usize, HealthFinding)> {
        samples
            .iter()
            .enumerate()
            .flat_map(|(i, s)| self.feed(s).into_iter().map(move |f| (i, f)))
            .collect()
    }
}
