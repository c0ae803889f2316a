//! Simulated node agents: what a DCGM-exporter-plus-IB-counters daemon on each node would
//! publish, built from the fleet's state.
//!
//! Every `telemetry_interval`, each instance that is up (running or draining) publishes one
//! [`TelemetrySample`] on core NATS subject `accord.tel.<cluster>.<node>`. NotReady nodes keep
//! publishing with `ready: false`: the agent is its own daemon, and a sample is how the
//! telemetry service sees a GPU that fell off the bus. A machine that is powered off (a reboot
//! between its power cycle and its boot, or one that did not come back) publishes nothing.
//!
//! Values: each GPU's utilisation follows a seeded random walk (a workload); temperature
//! (35–75 °C), power (idle → board limit) and memory follow utilisation. Fault counters come from
//! the fleet state, so they are exactly what the faults recorded: `xid_last`/`xid_total`, ECC,
//! row remaps, NVLink, IB `link_downed` and port state. A `gpu-thermal` fault pins the
//! temperature and sets `thermal_violation` at the model's slowdown temperature; a GPU that fell
//! off the bus reads as zeros (the agent cannot query it).
//!
//! Invariant: a publish failure (NATS down) is logged and the next tick tries again; agents stop
//! only when `shutdown` is cancelled.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use accord_bus::{Bus, subjects};
use accord_core::{
    ids::NodeId,
    telemetry::{GpuSample, IbPortSample, IbPortState, SCHEMA_VERSION, TelemetrySample},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::{
    catalog::{GpuProfile, gpu_profile},
    fleet::SimFleet,
    state::Instance,
};

/// Temperature of an idle GPU, °C.
const IDLE_TEMP_C: f64 = 35.0;
/// Temperature of a fully loaded GPU, °C.
const LOADED_TEMP_C: f64 = 75.0;

/// Profile used for a GPU model the catalogue does not describe.
const UNKNOWN_GPU: GpuProfile = GpuProfile {
    model_name: "NVIDIA GPU",
    fb_total_mib: 81_920,
    max_power_w: 400.0,
    idle_power_w: 50.0,
    slowdown_temp_c: 87,
};

/// The agents' memory between ticks: the workload walk of every GPU.
pub(crate) struct Agents {
    rng: StdRng,
    utilisation: HashMap<NodeId, Vec<f64>>,
}

impl Agents {
    pub(crate) fn new(seed: u64) -> Self {
        Agents {
            // A different stream from the fleet's own generator.
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_a6e7_0000_0001),
            utilisation: HashMap::new(),
        }
    }

    /// One sample per instance; forgets the workloads of instances that are gone.
    pub(crate) fn samples(
        &mut self,
        instances: &[Instance],
        gpu_model: impl Fn(&str) -> String,
        ts_ms: i64,
    ) -> Vec<TelemetrySample> {
        self.utilisation
            .retain(|node, _| instances.iter().any(|i| i.node == *node));
        instances
            .iter()
            .map(|i| self.sample(i, &gpu_model(&i.instance_type), ts_ms))
            .collect()
    }

    fn sample(&mut self, instance: &Instance, gpu_model: &str, ts_ms: i64) -> TelemetrySample {
        let profile = gpu_profile(gpu_model).unwrap_or(UNKNOWN_GPU);
        let rng = &mut self.rng;
        let walk = self.utilisation.entry(instance.node).or_insert_with(|| {
            (0..instance.gpus.len())
                .map(|_| rng.random_range(20.0..95.0))
                .collect()
        });
        walk.resize_with(instance.gpus.len(), || 50.0);
        let mut thermal_violation = false;
        let gpus = instance
            .gpus
            .iter()
            .zip(walk.iter_mut())
            .enumerate()
            .map(|(index, (gpu, util))| {
                *util = (*util + rng.random_range(-8.0..8.0)).clamp(0.0, 100.0);
                let load = *util / 100.0;
                let (temp_c, power_w, util_pct, fb_used_mib) = if gpu.fell_off_bus {
                    (0, 0.0, 0, 0)
                } else {
                    let noise = rng.random_range(-1.5..1.5);
                    let temp = (IDLE_TEMP_C + (LOADED_TEMP_C - IDLE_TEMP_C) * load + noise)
                        .clamp(IDLE_TEMP_C, LOADED_TEMP_C);
                    let span = profile.max_power_w - profile.idle_power_w;
                    let power =
                        (profile.idle_power_w + span * load * 0.95 + rng.random_range(-5.0..5.0))
                            .clamp(profile.idle_power_w * 0.9, profile.max_power_w);
                    let fb = (profile.fb_total_mib as f64 * (0.02 + 0.9 * load)) as u64;
                    (
                        gpu.thermal_c.unwrap_or(temp.round() as u32),
                        (power * 10.0).round() / 10.0,
                        util.round() as u32,
                        fb,
                    )
                };
                if temp_c >= profile.slowdown_temp_c {
                    thermal_violation = true;
                }
                GpuSample {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    uuid: gpu.uuid.clone(),
                    model: profile.model_name.to_owned(),
                    temp_c,
                    power_w,
                    util_pct,
                    fb_used_mib,
                    xid_last: gpu.xid_last,
                    xid_total: gpu.xid_total,
                    ecc_sbe_total: gpu.ecc_sbe_total,
                    ecc_dbe_total: gpu.ecc_dbe_total,
                    remapped_rows_uncorrectable: gpu.remapped_rows_uncorrectable,
                    row_remap_failure: gpu.row_remap_failure,
                    nvlink_crc_errors: gpu.nvlink_crc_errors,
                    pcie_replay: gpu.pcie_replay,
                }
            })
            .collect();
        let ib_ports = instance
            .ib_ports
            .iter()
            .enumerate()
            .map(|(port, p)| IbPortSample {
                port: u32::try_from(port).unwrap_or(u32::MAX),
                // Consumers derive `mlx5_<port>/1`, the name of the HCA the catalogue gives
                // each GPU rail.
                name: None,
                state: if p.up {
                    IbPortState::Up
                } else {
                    IbPortState::Down
                },
                link_downed: p.link_downed,
                symbol_error: p.symbol_error,
                excessive_buffer_overrun: p.excessive_buffer_overrun,
                local_link_integrity_errors: p.local_link_integrity_errors,
            })
            .collect();
        TelemetrySample {
            schema_version: SCHEMA_VERSION,
            ts_ms,
            cluster: instance.cluster,
            node: instance.node,
            node_name: instance.name.clone(),
            pool: instance.pool,
            instance_type: instance.instance_type.clone(),
            ready: instance.ready,
            gpus,
            ib_ports,
            thermal_violation,
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Runs every node's agent until `shutdown` is cancelled: each `telemetry_interval`, one sample
/// per up instance on `accord.tel.<cluster>.<node>`.
pub async fn run_agents(fleet: Arc<SimFleet>, bus: Bus, shutdown: CancellationToken) {
    let mut agents = Agents::new(fleet.config().seed);
    let mut ticks = tokio::time::interval(fleet.config().telemetry_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let instances = fleet.running_instances();
        let catalog = fleet.catalog_ref();
        let model = |instance_type: &str| {
            catalog
                .instance_type(instance_type)
                .map(|t| t.gpu_model.clone())
                .unwrap_or_default()
        };
        let samples = agents.samples(&instances, model, now_ms());
        let mut failed = 0usize;
        for sample in samples {
            if let Err(error) = publish(&bus, &sample).await {
                failed += 1;
                tracing::debug!(node = %sample.node, error = %crate::error::chain(&error), "telemetry publish failed");
            }
        }
        if failed > 0 {
            tracing::warn!(failed, "some telemetry samples could not be published");
        }
    }
    tracing::debug!("node agents stopped");
}

async fn publish(bus: &Bus, sample: &TelemetrySample) -> Result<(), crate::SimError> {
    let subject = subjects::telemetry(&sample.cluster.to_string(), &sample.node.to_string())?;
    let payload = sample.encode()?;
    bus.publish_core(&subject, bytes::Bytes::from(payload))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use accord_core::ids::{ClusterId, NodePoolId, ProjectId};

    use super::*;
    use crate::state::{GpuState, IbPort, Phase};

    fn instance(gpus: usize, ports: usize) -> Instance {
        Instance {
            node: NodeId::generate(),
            name: "gpu-a-1".into(),
            project: ProjectId::generate(),
            cluster: ClusterId::generate(),
            pool: NodePoolId::generate(),
            region: "us-east1".into(),
            instance_type: "h100-80gb-sxm-ib.8x".into(),
            image_version: "2026.11.0".into(),
            kubelet_version: "1.32".parse().unwrap(),
            vpc_subnet: "10.0.0.0/24".parse().unwrap(),
            instance_id: "i-1".into(),
            failure_domain: "us-east1-a".into(),
            internal_ip: "10.0.0.4".parse().unwrap(),
            phase: Phase::Running,
            due_ms: None,
            will_fail: false,
            drained: false,
            ready: true,
            kubelet_stopped: false,
            gpus: (0..gpus)
                .map(|i| GpuState {
                    uuid: format!("GPU-{i}"),
                    ..GpuState::default()
                })
                .collect(),
            ib_ports: vec![IbPort::default(); ports],
            repair: None,
            finished_repairs: Vec::new(),
            stuck_down: false,
        }
    }

    #[test]
    fn values_are_plausible_and_faults_show() {
        let mut agents = Agents::new(9);
        let mut node = instance(8, 8);
        let h100 = gpu_profile("H100").unwrap();
        for _ in 0..50 {
            let samples = agents.samples(std::slice::from_ref(&node), |_| "H100".into(), 1);
            let s = &samples[0];
            assert_eq!(s.gpus.len(), 8);
            assert_eq!(s.ib_ports.len(), 8);
            assert!(!s.thermal_violation);
            for g in &s.gpus {
                assert!((35..=75).contains(&g.temp_c), "{g:?}");
                assert!(g.power_w >= h100.idle_power_w * 0.9 && g.power_w <= h100.max_power_w);
                assert!(g.util_pct <= 100);
                assert!(g.fb_used_mib <= h100.fb_total_mib);
                assert_eq!(g.xid_last, None);
            }
        }
        node.gpus[2].xid_last = Some(48);
        node.gpus[2].xid_total = 1;
        node.gpus[2].ecc_dbe_total = 1;
        node.gpus[5].thermal_c = Some(95);
        node.gpus[7].fell_off_bus = true;
        node.ib_ports[1].up = false;
        node.ib_ports[1].link_downed = 1;
        node.ready = false;
        let s = &agents.samples(std::slice::from_ref(&node), |_| "H100".into(), 2)[0];
        assert!(!s.ready);
        assert_eq!((s.gpus[2].xid_last, s.gpus[2].ecc_dbe_total), (Some(48), 1));
        assert_eq!(s.gpus[5].temp_c, 95);
        assert!(s.thermal_violation);
        assert_eq!((s.gpus[7].util_pct, s.gpus[7].power_w), (0, 0.0));
        assert_eq!(s.ib_ports[1].state, IbPortState::Down);
        assert_eq!(s.ib_ports[1].link_downed, 1);
        assert_eq!(s.ib_ports[0].state, IbPortState::Up);
    }

    #[test]
    fn same_seed_same_values_and_gone_nodes_are_forgotten() {
        let node = instance(2, 0);
        let mut a = Agents::new(1);
        let mut b = Agents::new(1);
        let sa = a.samples(std::slice::from_ref(&node), |_| "L40S".into(), 5);
        let sb = b.samples(std::slice::from_ref(&node), |_| "L40S".into(), 5);
        assert_eq!(sa, sb);
        assert_eq!(a.utilisation.len(), 1);
        a.samples(&[], |_| String::new(), 6);
        assert!(a.utilisation.is_empty());
    }
}
