//! A remediation's own latency, and its timeline in simulated minutes.
//!
//! One platform ([`Platform`]: the simulated fleet, the provisioner with AutoClusters, the
//! telemetry service) with the simulator at clock factor [`CLOCK_FACTOR`] (simulated hardware
//! runs 50× faster than real time) and the node agents sampling every [`TELEMETRY_INTERVAL`]
//! of real time — 10 s of simulated time, the production interval, so the timelines below are
//! in one consistent simulated clock. A cluster with AutoClusters on and a ready pool of
//! [`NODES`] GPU nodes is made over gRPC; every node's baseline sample is awaited.
//!
//! - **Fault → action started**: XID 79 on GPU 3 is injected on each node in turn through the
//!   simulator's fault server (what `accord sim inject gpu-xid` sends); the time from the
//!   request to `remediation.started` about that node on the stream is the remediation's own
//!   latency: the agent's next sample, the telemetry check, the finding committed and relayed,
//!   the provisioner's decision committed and relayed. No simulated hardware duration is in
//!   it (the reboot only starts there). Each remediation is awaited to success before the next
//!   fault, so neither the breaker nor the in-flight limit delays one.
//! - **Timelines**: the first node's remediation (XID 79 → `reboot-node`), then the same XID on
//!   the same GPU again (→ `replace-node`), read from each remediation's timeline: minutes of
//!   simulated time from the fault's injection to each step, i.e. real seconds / clock factor.
//!   The simulated hardware takes its realistic durations (`accord_sim::timing`: drain 30 s,
//!   power-cycle 15 s, GPU node boot 180 s, provisioning 180 s, terminate 20 s, ±15 %); the
//!   control plane's own real milliseconds count 50× as simulated time too, so the timelines
//!   are an upper bound of what the loop adds at real speed.

use std::time::Duration;

use accord_bus::{Bus, CloudEvent, subjects};
use accord_core::{
    autoclusters::{Remediation, RemediationState},
    ids::{NodeId, RemediationId},
    remediation::RemediationEvent,
};
use accord_platform::{
    AutoClustersOptions, HealthConfig, HostConfig, Platform, ProvisionerSettings,
    RemediationTimeouts, TelemetrySettings,
};
use accord_proto::telemetry::v1 as tpb;
use accord_sim::{SimConfig, fault_server};
use anyhow::{Context as _, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Latency, summarize};

/// Simulated seconds per real second: 1/50.
const CLOCK_FACTOR: f64 = 0.02;
/// The agents' sampling interval in real time (10 s simulated).
const TELEMETRY_INTERVAL: Duration = Duration::from_millis(200);
/// GPU nodes in the pool, one fault each.
const NODES: u32 = 6;
/// Longest wait for one fault's remediation to start, or to finish.
const STEP_DEADLINE: Duration = Duration::from_secs(60);

/// One step of a remediation's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub what: String,
    /// Simulated minutes since the fault was injected.
    pub sim_minutes: f64,
}

/// Fault → started, and the two timelines.
#[derive(Debug, Clone, Serialize)]
pub struct RemediationLatency {
    pub clock_factor: f64,
    pub telemetry_interval_ms: f64,
    /// Faults timed, each on a different node.
    pub faults: usize,
    pub fault_to_started: Latency,
    /// One telemetry interval + 1 s, in ms.
    pub target_ms: f64,
    /// XID 79 → reboot-node.
    pub reboot: Vec<Step>,
    /// The same XID on the same GPU again → replace-node.
    pub replace: Vec<Step>,
}

/// Waits until `f` answers `Some`, polling.
async fn wait_for<T>(
    what: String,
    mut f: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + STEP_DEADLINE;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("{what}: not after {STEP_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// See the module docs.
pub async fn bench() -> anyhow::Result<RemediationLatency> {
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let nats = super::Nats::start(dir.path()).await?;
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let running = Platform::new(&nats.url)
        .shutdown(shutdown.clone())
        .simulator(
            SimConfig::default()
                .with_clock_factor(CLOCK_FACTOR)
                .with_telemetry_interval(TELEMETRY_INTERVAL),
        )
        .provisioner(ProvisionerSettings {
            grpc_addr: "127.0.0.1:0".parse()?,
            resync_interval: Duration::from_secs(1),
            store: None,
            autoclusters: Some(AutoClustersOptions {
                plugin_dir: super::plugin_dir()?,
                host_config: HostConfig::default(),
                timeouts: RemediationTimeouts::scaled(CLOCK_FACTOR, Duration::from_secs(3)),
            }),
            replica_grace: Duration::from_secs(60),
        })
        .telemetry(TelemetrySettings {
            grpc_addr: "127.0.0.1:0".parse()?,
            health: HealthConfig::default(),
            cluster_metrics_addr: None,
            store: None,
        })
        .image_builder(crate::image_builder()?)
        .start()
        .await?;
    let token = running
        .bootstrap
        .as_ref()
        .map(|b| b.admin.token.clone())
        .context("bootstrap credentials")?;
    let engine = running
        .provisioner
        .as_ref()
        .map(|p| std::sync::Arc::clone(&p.engine))
        .context("the provisioner did not start")?;
    let telemetry_addr = running
        .telemetry
        .as_ref()
        .map(|t| t.grpc_addr)
        .context("the telemetry service did not start")?;
    let cluster = super::gpu_cluster(&running, &token, "bench-latency", NODES, 1).await?;

    // Every node's baseline: the XID counters compare with it.
    let channel = tonic::transport::Channel::from_shared(format!("http://{telemetry_addr}"))?
        .connect()
        .await?;
    let health = tpb::health_client::HealthClient::new(channel);
    let deadline = Instant::now() + super::SETUP_DEADLINE;
    loop {
        let nodes = health
            .clone()
            .list_node_health(crate::authed(
                tpb::ListNodeHealthRequest {
                    project: String::new(),
                    cluster: cluster.id.to_string(),
                },
                &token,
            )?)
            .await?
            .into_inner()
            .nodes;
        if nodes.len() == cluster.nodes.len()
            && nodes
                .iter()
                .all(|n| n.verdict == i32::from(tpb::Verdict::Pass))
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the telemetry service has no verdict for every node: {nodes:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let bus = Bus::connect(&nats.url, "accord-bench-remediation").await?;
    let mut started = bus
        .subscribe_core(&subjects::events_named("remediation", "started")?)
        .await?;
    // Injects XID 79 on GPU 3 of `name`; returns when it was injected, the time to
    // `remediation.started` about `node`, and the remediation.
    let mut fault = async |node: NodeId,
                           name: &str|
           -> anyhow::Result<(OffsetDateTime, Duration, RemediationId)> {
        let request = serde_json::json!({"kind": "gpu-xid", "node": name, "gpu": 3, "xid": 79});
        let (at, t0) = (OffsetDateTime::now_utc(), Instant::now());
        let reply = bus
            .request(
                &fault_server::inject_subject()?,
                Bytes::from(request.to_string()),
                Duration::from_secs(5),
            )
            .await?;
        let reply: fault_server::FaultReply = serde_json::from_slice(&reply)?;
        if !reply.ok {
            bail!("the simulator refused {request}: {reply:?}");
        }
        loop {
            let message = tokio::time::timeout(STEP_DEADLINE, started.next())
                .await
                .with_context(|| format!("no remediation.started about {name}"))?
                .context("the event subscription ended")?;
            let event = CloudEvent::from_json_bytes(&message.payload)?;
            if let RemediationEvent::Started {
                node: about,
                remediation,
                ..
            } = event.decode_data::<RemediationEvent>()?
                && about == node
            {
                return Ok((at, t0.elapsed(), remediation));
            }
        }
    };
    let finished = |id: RemediationId| {
        let engine = std::sync::Arc::clone(&engine);
        wait_for(format!("remediation {id} finished"), move || {
            let r = engine.reader().remediation(id)?;
            match r {
                Some(r) if r.status.state == RemediationState::Succeeded => Ok(Some(r)),
                Some(r) if r.status.state.is_final() => bail!(
                    "remediation {id} ended {} ({}): {}",
                    r.status.state.as_str(),
                    r.status.action.as_str(),
                    r.status.reason
                ),
                _ => Ok(None),
            }
        })
    };

    let mut latencies = Vec::new();
    let mut first: Option<(OffsetDateTime, Remediation)> = None;
    for (node, name) in &cluster.nodes {
        let (at, took, id) = fault(*node, name).await?;
        latencies.push(took);
        let done = finished(id).await?;
        first.get_or_insert((at, done));
    }
    let (reboot_at, reboot) = first.context("no fault was injected")?;
    // The same XID on the same GPU again: the ladder's next rung.
    let (node, name) = cluster.nodes.first().context("an empty pool")?;
    let (replace_at, _, id) = fault(*node, name).await?;
    let replace = finished(id).await?;
    for (r, expected) in [(&reboot, "reboot-node"), (&replace, "replace-node")] {
        if r.spec.decision.action.as_str() != expected {
            bail!(
                "expected {expected}, the policy decided {} ({})",
                r.spec.decision.action.as_str(),
                r.spec.decision.reason
            );
        }
    }
    let steps = |at: OffsetDateTime, r: &Remediation| -> Vec<Step> {
        std::iter::once(Step {
            what: "fault".to_owned(),
            sim_minutes: 0.0,
        })
        .chain(r.status.timeline.iter().map(|t| Step {
            what: t.what.clone(),
            sim_minutes: (t.at - at).as_seconds_f64() / CLOCK_FACTOR / 60.0,
        }))
        .collect()
    };
    Ok(RemediationLatency {
        clock_factor: CLOCK_FACTOR,
        telemetry_interval_ms: TELEMETRY_INTERVAL.as_secs_f64() * 1000.0,
        faults: latencies.len(),
        fault_to_started: summarize(latencies),
        target_ms: (TELEMETRY_INTERVAL + Duration::from_secs(1)).as_secs_f64() * 1000.0,
        reboot: steps(reboot_at, &reboot),
        replace: steps(replace_at, &replace),
    })
}

/// Prints the latency row and the two timelines.
pub fn print(l: &RemediationLatency, mark: impl Fn(bool) -> &'static str) {
    println!(
        "autoclusters fault → remediation.started ({} XID 79 faults on different nodes, telemetry interval {:.0} ms): p50 {:.0} ms, max {:.0} ms   target ≤ interval + 1 s = {:.0} ms: {}",
        l.faults,
        l.telemetry_interval_ms,
        l.fault_to_started.p50_us / 1000.0,
        l.fault_to_started.max_us / 1000.0,
        l.target_ms,
        mark(l.fault_to_started.max_us / 1000.0 <= l.target_ms)
    );
    let line = |title: &str, steps: &[Step]| {
        let text = steps
            .iter()
            .map(|s| format!("{} {:.1}", s.what, s.sim_minutes))
            .collect::<Vec<_>>()
            .join(" → ");
        println!("  {title} (sim minutes from the fault): {text}");
    };
    println!(
        "autoclusters timelines at clock factor {} (simulated hardware durations; the loop's real time counts ×{:.0}):",
        l.clock_factor,
        1.0 / l.clock_factor
    );
    line("XID 79 → reboot-node", &l.reboot);
    line("same XID, same GPU again → replace-node", &l.replace);
}
