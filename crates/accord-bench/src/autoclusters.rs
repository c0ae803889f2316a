//! The AutoClusters benchmarks (issue 11; `accord-bench --only autoclusters` runs them alone):
//!
//! - **decisions recorded per second on one core** ([`decisions`]): a backlog of findings on the
//!   stream, consumed by the provisioner's AutoClusters loop (context → policy → commit) on a
//!   current-thread runtime, against a durable consumer that only acknowledges the same
//!   findings on the same stream (target ≥ 0.3);
//! - **the shipped policy through WASM vs the same policy in Rego through regorus** ([`rego`];
//!   target ≤ 1.0×), after checking the two agree on every input;
//! - **a remediation's own latency** ([`latency`]): a fault injected in the simulator →
//!   `remediation.started`, in real time (target ≤ one telemetry interval + 1 s), and the
//!   timelines in simulated minutes of XID 79 → reboot-node and the same XID again →
//!   replace-node.
//!
//! The two that need NATS each run on their own nats-server (JetStream, `sync_interval:
//! always`), so no other benchmark's events are in their streams. A benchmark that fails is reported in
//! [`AutoClustersResults::errors`] and fails the run after the other results are printed.

mod decisions;
mod latency;
mod rego;

use std::{path::PathBuf, time::Duration};

use accord_core::{
    ids::{ClusterId, NodeId},
    node::NodeState,
};
use accord_platform::Running;
use accord_proto::provisioner::v1 as pb;
use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::time::Instant;

/// The 8-GPU instance type (the default project quota, 64 GPUs, holds eight of them).
const GPU_INSTANCE: &str = "h100-80gb-sxm-ib.8x";
/// Longest wait for the platform to get anywhere (a cluster running, a pool ready …).
const SETUP_DEADLINE: Duration = Duration::from_secs(120);

/// The three AutoClusters benchmarks; a part that failed is `None` and its error is in
/// `errors`.
#[derive(Debug, Serialize)]
pub struct AutoClustersResults {
    pub decisions: Option<decisions::DecisionRate>,
    pub policy: Option<rego::PolicyVsRego>,
    pub latency: Option<latency::RemediationLatency>,
    pub errors: Vec<String>,
}

/// Runs the three benchmarks: `iterations` policy calls, at most 1000 findings.
pub async fn bench(iterations: usize, warmup: usize) -> AutoClustersResults {
    let mut errors = Vec::new();
    let mut keep = |what: &str, e: anyhow::Error| errors.push(format!("{what}: {e:#}"));
    eprintln!("autoclusters: WASM vs regorus…");
    let policy = rego::bench(iterations, warmup)
        .await
        .map_err(|e| keep("WASM vs regorus", e))
        .ok();
    eprintln!("autoclusters: decisions per second…");
    let decisions = decisions::bench(iterations.clamp(10, decisions::MAX_FINDINGS))
        .await
        .map_err(|e| keep("decisions per second", e))
        .ok();
    eprintln!("autoclusters: fault → remediation latency and timelines…");
    let latency = latency::bench()
        .await
        .map_err(|e| keep("remediation latency", e))
        .ok();
    AutoClustersResults {
        decisions,
        policy,
        latency,
        errors,
    }
}

/// `accord-bench --only autoclusters`.
pub async fn run_only(iterations: usize, warmup: usize) -> anyhow::Result<()> {
    let r = bench(iterations, warmup).await;
    print(&r);
    if !r.errors.is_empty() {
        bail!(
            "the AutoClusters benchmarks failed:\n{}",
            r.errors.join("\n")
        );
    }
    Ok(())
}

/// Prints the AutoClusters rows.
pub fn print(r: &AutoClustersResults) {
    let mark = |ok: bool| if ok { "PASS" } else { "MISS" };
    if let Some(d) = &r.decisions {
        println!(
            "autoclusters decisions (one core, {} findings on {} nodes, all {}): {:.0} decisions recorded/s (first half {:.0}/s, second {:.0}/s) vs ack-only consumer {:.0}/s → ratio {:.3}   target ≥ 0.30: {}",
            d.findings,
            d.nodes,
            d.decided_as,
            d.decisions_per_s,
            d.first_half_per_s,
            d.second_half_per_s,
            d.ack_only_per_s,
            d.ratio,
            mark(d.ratio >= 0.3)
        );
    }
    if let Some(p) = &r.policy {
        println!(
            "autoclusters policy: WASM component p50 {:.1} µs (p99 {:.1} µs) vs regorus (Rego) p50 {:.1} µs (p99 {:.1} µs) → ratio {:.2}× (p99 {:.2}×), native {:.0} ns; Rego = WASM on all {} inputs checked   target ≤ 1.0×: {}",
            p.component.p50_us,
            p.component.p99_us,
            p.regorus.p50_us,
            p.regorus.p99_us,
            p.ratio_p50,
            p.ratio_p99,
            p.native_p50_ns,
            p.inputs_checked,
            mark(p.ratio_p50 <= 1.0)
        );
    }
    if let Some(l) = &r.latency {
        latency::print(l, mark);
    }
    for e in &r.errors {
        println!("autoclusters FAILED: {e}");
    }
}

/// Where `cargo xtask bench` put the plugins.
fn plugin_dir() -> anyhow::Result<PathBuf> {
    std::env::var_os("ACCORD_PLUGIN_DIR")
        .map(PathBuf::from)
        .context("ACCORD_PLUGIN_DIR is not set; run the benchmarks with `cargo xtask bench`")
}

/// A nats-server of the benchmark's own, stopped on drop.
struct Nats {
    url: String,
    child: tokio::process::Child,
}

impl Nats {
    async fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        let url = format!("nats://127.0.0.1:{}", crate::free_port()?);
        let child = accord_platform::nats::start(&url, &dir.join("nats"), None, None).await?;
        Ok(Self { url, child })
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A GPU cluster made over gRPC and awaited in the provisioner's state.
struct GpuCluster {
    id: ClusterId,
    /// The pool's nodes: id and name.
    nodes: Vec<(NodeId, String)>,
}

/// Creates a running cluster with AutoClusters on (`max_in_flight` per pool, breaker at 50 %)
/// and a ready pool of `count` GPU nodes, as a customer would with `accord create cluster
/// --remediation` and `accord create nodepool`.
async fn gpu_cluster(
    running: &Running,
    token: &str,
    name: &str,
    count: u32,
    max_in_flight: u32,
) -> anyhow::Result<GpuCluster> {
    let provisioner = running
        .provisioner
        .as_ref()
        .context("the provisioner did not start")?;
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", provisioner.grpc_addr))?
            .connect()
            .await?;
    let mut clusters = pb::clusters_client::ClustersClient::new(channel.clone());
    let mut pools = pb::node_pools_client::NodePoolsClient::new(channel);
    let req = pb::CreateClusterRequest {
        name: name.to_owned(),
        spec: Some(pb::ClusterSpec {
            region: "eu-iceland1".into(),
            network: Some(pb::ClusterNetwork {
                vpc_subnet: "10.0.0.0/16".into(),
                pod_cidr: "10.244.0.0/16".into(),
                service_cidr: "10.96.0.0/12".into(),
                node_cidr_mask_size: 24,
            }),
            autoclusters: Some(pb::AutoClustersSettings {
                remediation_enabled: true,
                max_unhealthy_percent: 50,
                max_in_flight_per_pool: max_in_flight,
                mode: String::new(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = clusters
        .create_cluster(crate::authed(req, token)?)
        .await?
        .into_inner();
    let id = created
        .metadata
        .map(|m| m.id)
        .context("the created cluster has no metadata")?;
    let deadline = Instant::now() + SETUP_DEADLINE;
    loop {
        let c = clusters
            .get_cluster(crate::authed(
                pb::GetClusterRequest {
                    project: String::new(),
                    cluster: id.clone(),
                },
                token,
            )?)
            .await?
            .into_inner();
        if c.status.as_ref().is_some_and(|s| s.phase == "running") {
            break;
        }
        if Instant::now() > deadline {
            bail!("cluster {id} is not running after {SETUP_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pools
        .create_node_pool(crate::authed(
            pb::CreateNodePoolRequest {
                cluster: id.clone(),
                name: "gpu".into(),
                spec: Some(pb::NodePoolSpec {
                    instance_type: GPU_INSTANCE.into(),
                    count,
                    ..Default::default()
                }),
                ..Default::default()
            },
            token,
        )?)
        .await?;
    let id: ClusterId = id.parse()?;
    let reader = provisioner.engine.reader();
    loop {
        let mut nodes = Vec::new();
        for pool in reader.pools(id)? {
            nodes.extend(reader.nodes(pool.metadata.id)?);
        }
        if nodes.len() == count as usize && nodes.iter().all(|n| n.status.state == NodeState::Ready)
        {
            return Ok(GpuCluster {
                id,
                nodes: nodes
                    .into_iter()
                    .map(|n| (n.metadata.id, n.metadata.name))
                    .collect(),
            });
        }
        if Instant::now() > deadline {
            bail!("the GPU pool of {id} is not ready after {SETUP_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
