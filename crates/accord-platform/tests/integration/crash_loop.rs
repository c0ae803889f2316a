//! The crash loop: N `kill -9` cycles of the `accord-provisioner` binary (with its simulated
//! fleet, whose state it persists) at random moments during create / scale / cycle traffic,
//! then one last start. What must hold:
//!
//! - every acknowledged write is there: each pool whose creation was acknowledged exists, and
//!   its count is the last acknowledged scale (unless a later, unacknowledged request to the
//!   same pool was cut by the kill — its outcome is unknown, so only convergence is checked);
//! - no event id is published twice;
//! - every pool converges after the last restart — ready with all its nodes ready, none left
//!   provisioning — within [`CONVERGE_WITHIN`] (the bound is generous for a loaded CI machine;
//!   the figures of a run are printed).
//!
//! `ACCORD_CRASH_CYCLES` sets N (default 4 in the suite; `cargo xtask crash-loop` or
//! `ACCORD_CRASH_CYCLES=100 cargo nextest run -p accord-platform --features failpoints
//! crash_loop` for the long run); `ACCORD_CRASH_SEED` replays a run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use crate::support::*;
use accord_bus::Bus;
use accord_proto::provisioner::v1 as pb;
use accord_testkit::NatsServer;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use tonic::Code;

/// How long every pool may take to converge after the last restart.
const CONVERGE_WITHIN: Duration = Duration::from_secs(120);
/// Cycles in `cargo xtask test` when `ACCORD_CRASH_CYCLES` is unset.
const DEFAULT_CYCLES: usize = 4;
const CLUSTER: &str = "crash";
/// Pools the traffic keeps at most (the cluster's address plan holds 256 nodes).
const MAX_POOLS: usize = 24;

/// What the test knows a pool should be.
#[derive(Debug, Clone)]
struct Expected {
    count: u32,
    /// A request to this pool was cut by a kill: its outcome is unknown.
    uncertain: bool,
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn pool_request(name: &str, count: u32) -> pb::CreateNodePoolRequest {
    pb::CreateNodePoolRequest {
        cluster: CLUSTER.into(),
        name: name.into(),
        spec: Some(pb::NodePoolSpec {
            instance_type: "c1a.16x".into(),
            count,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Sends requests until `until`; records what was acknowledged. Returns when the deadline
/// passes or the server stops answering (it was killed).
async fn traffic(
    p: &Proc,
    token: &str,
    rng: &mut StdRng,
    until: Instant,
    pools: &mut BTreeMap<String, Expected>,
    next_pool: &mut usize,
    acked: &mut usize,
) {
    let mut client = p.pools(token).await;
    while Instant::now() < until {
        let existing: Vec<String> = pools.keys().cloned().collect();
        let op = if existing.is_empty() {
            0
        } else if existing.len() >= MAX_POOLS {
            rng.random_range(1..3)
        } else {
            rng.random_range(0..3)
        };
        match op {
            0 => {
                let name = format!("p{next_pool}");
                *next_pool += 1;
                let count = rng.random_range(1..=2);
                // Unknown until acknowledged.
                pools.insert(
                    name.clone(),
                    Expected {
                        count,
                        uncertain: true,
                    },
                );
                match client.create_node_pool(pool_request(&name, count)).await {
                    Ok(_) => {
                        *acked += 1;
                        pools.insert(
                            name,
                            Expected {
                                count,
                                uncertain: false,
                            },
                        );
                    }
                    Err(s) if s.code() == Code::Unavailable || s.code() == Code::Unknown => {
                        return;
                    }
                    Err(s) => panic!("CreateNodePool {name}: {s:?}"),
                }
            }
            1 => {
                let name = &existing[rng.random_range(0..existing.len())];
                let count = rng.random_range(0..=3);
                let was = pools[name].count;
                if let Some(e) = pools.get_mut(name) {
                    e.uncertain = true;
                }
                let req = pb::ScaleNodePoolRequest {
                    cluster: CLUSTER.into(),
                    node_pool: name.clone(),
                    count,
                    ..Default::default()
                };
                match client.scale_node_pool(req).await {
                    Ok(_) => {
                        *acked += 1;
                        pools.insert(
                            name.clone(),
                            Expected {
                                count,
                                uncertain: false,
                            },
                        );
                    }
                    // A cycle in progress refuses scaling: nothing changed.
                    Err(s) if s.code() == Code::FailedPrecondition => {
                        pools.insert(
                            name.clone(),
                            Expected {
                                count: was,
                                uncertain: false,
                            },
                        );
                    }
                    Err(s) if s.code() == Code::NotFound => {
                        // Its creation was cut by an earlier kill and never committed.
                        pools.remove(name);
                    }
                    Err(_) => return,
                }
            }
            _ => {
                let name = &existing[rng.random_range(0..existing.len())];
                let req = pb::CycleNodePoolRequest {
                    cluster: CLUSTER.into(),
                    node_pool: name.clone(),
                    ..Default::default()
                };
                match client.cycle_node_pool(req).await {
                    Ok(_) => *acked += 1,
                    Err(s)
                        if s.code() == Code::FailedPrecondition || s.code() == Code::NotFound => {}
                    Err(_) => return,
                }
            }
        }
    }
}

/// Polls until every pool is ready with all its nodes ready; returns how long it took.
async fn converged(p: &Proc, token: &str, expected: &BTreeMap<String, Expected>) -> Duration {
    let started = Instant::now();
    let mut pools = p.pools(token).await;
    let mut nodes = p.nodes(token).await;
    let mut last = String::new();
    while started.elapsed() < CONVERGE_WITHIN {
        let listed = pools
            .list_node_pools(pb::ListNodePoolsRequest {
                cluster: CLUSTER.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .node_pools;
        let all_nodes = nodes
            .list_nodes(pb::ListNodesRequest {
                cluster: CLUSTER.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .nodes;
        let mut problems = Vec::new();
        for pool in &listed {
            let name = pool
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let spec = pool.spec.clone().unwrap_or_default();
            let status = pool.status.clone().unwrap_or_default();
            if status.phase != "ready"
                || status.ready_nodes != spec.count
                || status.total_nodes != spec.count
            {
                problems.push(format!(
                    "{name}: {} {}/{} of {}",
                    status.phase, status.ready_nodes, status.total_nodes, spec.count
                ));
            }
        }
        for n in &all_nodes {
            let state = n
                .status
                .as_ref()
                .map(|s| s.state.clone())
                .unwrap_or_default();
            if state != "ready" {
                let name = n
                    .metadata
                    .as_ref()
                    .map(|m| m.name.clone())
                    .unwrap_or_default();
                problems.push(format!("node {name}: {state}"));
            }
        }
        if problems.is_empty() {
            // Every acknowledged pool exists with its acknowledged count.
            let by_name: BTreeMap<String, u32> = listed
                .iter()
                .map(|p| {
                    (
                        p.metadata
                            .as_ref()
                            .map(|m| m.name.clone())
                            .unwrap_or_default(),
                        p.spec.as_ref().map_or(0, |s| s.count),
                    )
                })
                .collect();
            for (name, e) in expected {
                match by_name.get(name) {
                    Some(count) if !e.uncertain => {
                        assert_eq!(*count, e.count, "pool {name}: the last acknowledged scale")
                    }
                    Some(_) => {}
                    None if e.uncertain => {}
                    None => panic!("acknowledged pool {name} is missing"),
                }
            }
            return started.elapsed();
        }
        last = problems.join("; ");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "pools did not converge within {CONVERGE_WITHIN:?} after the last restart: {last}\nlog:\n{}",
        p.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_cycles_lose_nothing_acknowledged_and_every_pool_converges() {
    let cycles = env_number("ACCORD_CRASH_CYCLES").map_or(DEFAULT_CYCLES, |n| n as usize);
    let seed = env_number("ACCORD_CRASH_SEED").unwrap_or_else(rand::random);
    eprintln!("crash loop: {cycles} cycles, ACCORD_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "crash-loop").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();

    let p = Proc::start(&nats, data.path(), logs.path(), 0, false, true).await;
    let token = p.line("admin_token");
    let mut clusters = p.clusters(&token).await;
    clusters.create_cluster(create(CLUSTER)).await.unwrap();
    running(&mut clusters, CLUSTER).await;

    let mut pools = BTreeMap::new();
    let (mut next_pool, mut acked) = (0, 0);
    let mut p = Some(p);
    for cycle in 1..=cycles {
        let proc = match p.take() {
            Some(proc) => proc,
            None => Proc::start(&nats, data.path(), logs.path(), cycle, false, false).await,
        };
        let until = Instant::now() + Duration::from_millis(rng.random_range(20..400));
        traffic(
            &proc,
            &token,
            &mut rng,
            until,
            &mut pools,
            &mut next_pool,
            &mut acked,
        )
        .await;
        let mut proc = proc;
        proc.kill9();
    }

    let last = Proc::start(&nats, data.path(), logs.path(), cycles + 1, false, false).await;
    let took = converged(&last, &token, &pools).await;

    let events = stored_events(&bus).await;
    let mut seen = HashSet::new();
    for e in &events {
        assert!(seen.insert(e.id.clone()), "event {} published twice", e.id);
    }
    eprintln!(
        "crash loop: {cycles} kill -9 cycles, {acked} acknowledged writes, {} pools, {} events (no id twice), every pool converged {:.1} s after the last restart",
        pools.len(),
        events.len(),
        took.as_secs_f64()
    );
}
