//! Migration planning for 1,000 volumes, in process: [`plan_migration`] + [`estimate`] over
//! [`VOLUMES`] shared VirtioFS volumes of one project (sizes 1–10 TiB, half available, half
//! attached), timed one plan at a time on one core, p50/p99 over many runs after a warm-up.
//!
//! Two selections: every eligible volume (an empty selection: one filter pass) and the same
//! 1,000 volumes named one by one (the hash index over the project's volumes, a duplicate check
//! per name). The peer, measured the same way in the same run: one pass that clones the 1,000
//! volumes (and drops the clone, as a plan is dropped), so the ratio says how many single
//! passes over the volumes a plan costs. `plan.rs` says 1,000 volumes plan "in well under a
//! millisecond"; the issue sets no target: informational.
//!
//! The plan is checked before timing: all 1,000 volumes selected, in 100 batches of the
//! default 10, the estimate counting their bytes.

use std::{hint::black_box, time::Instant};

use accord_storage::{
    Mount, NfsGate, Volume, VolumeKind, VolumeState,
    migration::{PlanSpec, estimate, plan_migration},
    quantity::TIB,
};
use anyhow::{Context as _, ensure};
use serde::Serialize;

use crate::{Latency, summarize};

/// Volumes planned.
pub const VOLUMES: usize = 1_000;
/// The throughput the estimate assumes (storage-csi's default: 1 GiB/s).
const THROUGHPUT: u64 = 1 << 30;
const PROJECT: &str = "prj-bench";

/// Planning vs one clone of the volumes.
#[derive(Debug, Clone, Serialize)]
pub struct PlanningResults {
    pub volumes: usize,
    pub runs: usize,
    pub batches: usize,
    pub estimate_seconds: u64,
    /// `plan_migration` + `estimate`, every eligible volume (empty selection).
    pub plan_all: Latency,
    /// The same with the 1,000 volumes named.
    pub plan_named: Latency,
    /// One pass cloning the 1,000 volumes.
    pub clone_pass: Latency,
    /// plan_all / clone_pass at p50 and p99.
    pub all_to_clone_p50: f64,
    pub all_to_clone_p99: f64,
    /// plan_named / clone_pass at p50.
    pub named_to_clone_p50: f64,
}

/// The project's volumes: shared, VirtioFS, 1–10 TiB, half of them attached.
fn volumes() -> Vec<Volume> {
    (0..VOLUMES)
        .map(|i| {
            let attached = i % 2 == 1;
            Volume {
                name: format!("share-{i:04}"),
                project: PROJECT.into(),
                region: "eu-iceland1".into(),
                kind: VolumeKind::Shared,
                size_bytes: (1 + (i as u64 % 10)) * TIB,
                mount: Some(Mount::Virtiofs),
                source_snapshot: None,
                state: if attached {
                    VolumeState::Attached
                } else {
                    VolumeState::Available
                },
                attachments: if attached {
                    [format!("node-{}", i % 8)].into_iter().collect()
                } else {
                    Default::default()
                },
                in_flight: None,
                last_failure: None,
            }
        })
        .collect()
}

/// Times `f` `runs` times after `warmup` calls, one call per sample.
fn time<T>(
    runs: usize,
    warmup: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<Latency> {
    for _ in 0..warmup {
        black_box(f()?);
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let out = f()?;
        drop(black_box(out));
        samples.push(t.elapsed());
    }
    Ok(summarize(samples))
}

/// See the module docs.
pub fn bench(runs: usize, warmup: usize) -> anyhow::Result<PlanningResults> {
    let volumes = volumes();
    let gate = accord_storage::enable(NfsGate::new(PROJECT), "operator", "bench", 0)
        .context("enabling the NFS gate")?
        .gate;
    let all = PlanSpec {
        name: "to-nfs".into(),
        project: PROJECT.into(),
        volumes: Vec::new(),
        batch_size: None,
    };
    let named = PlanSpec {
        volumes: volumes.iter().map(|v| v.name.clone()).collect(),
        ..all.clone()
    };
    // What is timed must be a real plan of every volume.
    let plan = plan_migration(&all, &gate, &volumes)?;
    let est = estimate(&plan, THROUGHPUT)?;
    let bytes: u64 = volumes.iter().map(|v| v.size_bytes).sum();
    ensure!(
        plan.volumes.len() == VOLUMES && est.volumes == VOLUMES && est.bytes == bytes,
        "the plan holds {} volumes ({} estimated, {} bytes of {bytes})",
        plan.volumes.len(),
        est.volumes,
        est.bytes
    );
    ensure!(
        plan_migration(&named, &gate, &volumes)? == plan,
        "naming every volume plans differently from selecting all"
    );

    let plan_once = |spec: &PlanSpec| {
        let plan = plan_migration(black_box(spec), &gate, black_box(&volumes))?;
        let est = estimate(&plan, THROUGHPUT)?;
        Ok((plan, est))
    };
    let plan_all = time(runs, warmup, || plan_once(&all))?;
    let plan_named = time(runs, warmup, || plan_once(&named))?;
    let clone_pass = time(runs, warmup, || Ok(black_box(&volumes).to_vec()))?;
    Ok(PlanningResults {
        volumes: VOLUMES,
        runs,
        batches: est.batches,
        estimate_seconds: est.duration_seconds,
        all_to_clone_p50: plan_all.p50_us / clone_pass.p50_us,
        all_to_clone_p99: plan_all.p99_us / clone_pass.p99_us,
        named_to_clone_p50: plan_named.p50_us / clone_pass.p50_us,
        plan_all,
        plan_named,
        clone_pass,
    })
}

/// Prints the planning row.
pub fn print(p: &PlanningResults) {
    println!(
        "storage migration planning (one core, {} shared VirtioFS volumes → {} batches, estimate {:.1} h; {} runs): plan_migration + estimate p50 {:.1} µs (p99 {:.1} µs), every volume named p50 {:.1} µs (p99 {:.1} µs) vs one pass cloning the volumes p50 {:.1} µs (p99 {:.1} µs) → {:.2}× a single pass (p99 {:.2}×; named {:.2}×)   no target in the issue: informational",
        p.volumes,
        p.batches,
        p.estimate_seconds as f64 / 3600.0,
        p.runs,
        p.plan_all.p50_us,
        p.plan_all.p99_us,
        p.plan_named.p50_us,
        p.plan_named.p99_us,
        p.clone_pass.p50_us,
        p.clone_pass.p99_us,
        p.all_to_clone_p50,
        p.all_to_clone_p99,
        p.named_to_clone_p50
    );
}
