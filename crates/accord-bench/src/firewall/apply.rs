//! From a `nodepool.created` event to the cluster's updated rules applied in the simulated VPC.
//!
//! One platform as `accord up` runs it, on a nats-server of its own: the simulator (clock
//! factor [`CLOCK_FACTOR`], `accord up`'s default: the simulated VPC firewall's apply, 2–5 s
//! simulated, takes 40–100 ms), the provisioner, and network-firewall reconciling every
//! [`accord_network_firewall::DEFAULT_RECONCILE_INTERVAL`] (and on every commit that changes a
//! rule set). A cluster is created over gRPC and awaited until it runs and its first rule set
//! is applied; then [`POOLS`] node pools (count 0: no machine's Ready event moves the
//! revision on in between) are created one after the other. For each, measured from the
//! `nodepool.created` event's own time (CloudEvents `time`, when the provisioner committed it):
//! the `firewall.required-rules-updated` naming the pool (its time), the simulated VPC holding a
//! rule set with the pool (polled every millisecond), and the `firewall.applied` event of that
//! revision or a later one (its time). Every event is read live from `ACCORD_EVENTS`' subjects.
//! The issue sets no target: informational.

use std::time::Duration;

use accord_bus::{Bus, CloudEvent, subjects};
use accord_core::{firewall::FirewallEvent, ids::ClusterId, nodepool::NodePoolEvent};
use accord_firewall::driver::NetworkDriver as _;
use accord_platform::{NetworkFirewallSettings, Platform, ProvisionerSettings};
use accord_proto::provisioner::v1 as pb;
use accord_sim::SimConfig;
use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;

/// `accord up`'s default simulated clock factor.
const CLOCK_FACTOR: f64 = 0.02;
/// Node pools created one after the other, each timed.
pub const POOLS: usize = 5;
/// Longest wait for the cluster to run, or for one pool's rules to be applied.
const DEADLINE: Duration = Duration::from_secs(120);

/// Per pool, ms from the `nodepool.created` event.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyLatency {
    pub pools: usize,
    pub reconcile_interval_ms: f64,
    pub clock_factor: f64,
    /// → `firewall.required-rules-updated` (the service's commit).
    pub to_required_p50_ms: f64,
    pub to_required_max_ms: f64,
    /// → the simulated VPC holds the rule set with the pool (polled).
    pub to_vpc_p50_ms: f64,
    pub to_vpc_max_ms: f64,
    /// → `firewall.applied` of that revision or a later one.
    pub to_applied_p50_ms: f64,
    pub to_applied_max_ms: f64,
}

/// An event and when this process received it.
type Seen = (OffsetDateTime, CloudEvent);

fn event_time(e: &CloudEvent) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::parse(&e.time, &Rfc3339)
        .with_context(|| format!("the time of {} is not RFC 3339: {:?}", e.r#type, e.time))
}

fn kind(e: &CloudEvent) -> Option<(String, String)> {
    e.type_parts()
        .ok()
        .map(|(resource, event, _)| (resource.to_owned(), event.to_owned()))
}

/// Waits for the first event `pred` accepts, or fails after [`DEADLINE`].
async fn next_matching<T>(
    events: &mut mpsc::UnboundedReceiver<Seen>,
    what: &str,
    mut pred: impl FnMut(&CloudEvent) -> anyhow::Result<Option<T>>,
) -> anyhow::Result<(T, OffsetDateTime)> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (_, event) = tokio::time::timeout_at(deadline, events.recv())
            .await
            .with_context(|| format!("no {what} within {DEADLINE:?}"))?
            .context("the event subscription ended")?;
        if let Some(found) = pred(&event)? {
            return Ok((found, event_time(&event)?));
        }
    }
}

fn ms(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    (to - from).as_seconds_f64() * 1e3
}

fn p50_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_unstable_by(f64::total_cmp);
    (
        v.get(v.len() / 2).copied().unwrap_or(0.0),
        v.last().copied().unwrap_or(0.0),
    )
}

/// See the module docs.
pub async fn bench() -> anyhow::Result<ApplyLatency> {
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let url = format!("nats://127.0.0.1:{}", crate::free_port()?);
    let mut nats = accord_platform::nats::start(&url, &dir.path().join("nats"), None, None).await?;
    let res = measure(&url).await;
    let _ = nats.start_kill();
    let _ = nats.wait().await;
    res
}

async fn measure(url: &str) -> anyhow::Result<ApplyLatency> {
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    // As `accord up` runs it.
    let interval = accord_network_firewall::DEFAULT_RECONCILE_INTERVAL;
    let settings = NetworkFirewallSettings {
        grpc_addr: "127.0.0.1:0".parse()?,
        reconcile_interval: interval,
        store: None,
    };
    let running = Platform::new(url)
        .shutdown(shutdown.clone())
        .simulator(SimConfig::default().with_clock_factor(CLOCK_FACTOR))
        .provisioner(ProvisionerSettings {
            grpc_addr: "127.0.0.1:0".parse()?,
            resync_interval: Duration::from_secs(60),
            store: None,
            autoclusters: None,
            replica_grace: Duration::from_secs(60),
        })
        .network_firewall(settings)
        .image_builder(crate::image_builder()?)
        .start()
        .await?;
    let token = running
        .bootstrap
        .as_ref()
        .map(|b| b.admin.token.clone())
        .context("bootstrap credentials")?;
    let grpc = running
        .provisioner
        .as_ref()
        .map(|p| p.grpc_addr)
        .context("the provisioner did not start")?;
    let vpc = running
        .vpc
        .clone()
        .context("the simulated VPC did not start")?;
    if running.network_firewall.is_none() {
        bail!("network-firewall did not start");
    }

    // Every event as it is published, with when it was seen.
    let bus = Bus::connect(url, "accord-bench-firewall").await?;
    let mut sub = bus.subscribe_core(&subjects::events_all()).await?;
    let (tx, mut events) = mpsc::unbounded_channel::<Seen>();
    let reader = tokio::spawn(async move {
        while let Some(message) = sub.next().await {
            if let Ok(event) = CloudEvent::from_json_bytes(&message.payload)
                && tx.send((OffsetDateTime::now_utc(), event)).is_err()
            {
                return;
            }
        }
    });
    let _stop_reader = AbortOnDrop(reader);

    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}"))?
        .connect()
        .await?;
    let mut clusters = pb::clusters_client::ClustersClient::new(channel.clone());
    let mut pools = pb::node_pools_client::NodePoolsClient::new(channel);
    let created = clusters
        .create_cluster(crate::authed(
            pb::CreateClusterRequest {
                name: "bench-firewall".into(),
                spec: Some(pb::ClusterSpec {
                    region: "eu-iceland1".into(),
                    network: Some(pb::ClusterNetwork {
                        vpc_subnet: "10.0.0.0/16".into(),
                        pod_cidr: "10.244.0.0/16".into(),
                        service_cidr: "10.96.0.0/12".into(),
                        node_cidr_mask_size: 24,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token,
        )?)
        .await?
        .into_inner();
    let id = created
        .metadata
        .map(|m| m.id)
        .context("the created cluster has no metadata")?;
    let cluster: ClusterId = id.parse()?;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let c = clusters
            .get_cluster(crate::authed(
                pb::GetClusterRequest {
                    project: String::new(),
                    cluster: id.clone(),
                },
                &token,
            )?)
            .await?
            .into_inner();
        let running_phase = c.status.as_ref().is_some_and(|s| s.phase == "running");
        let applied = vpc.firewall(cluster).await?.is_some();
        if running_phase && applied {
            break;
        }
        if Instant::now() > deadline {
            bail!("cluster {id} is not running with its firewall applied after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Settle: let the cluster's own events go by, then start from an empty queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while events.try_recv().is_ok() {}

    let (mut to_required, mut to_vpc, mut to_applied) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..POOLS {
        let name = format!("pool-{i}");
        let pool = pools
            .create_node_pool(crate::authed(
                pb::CreateNodePoolRequest {
                    cluster: id.clone(),
                    name: name.clone(),
                    spec: Some(pb::NodePoolSpec {
                        instance_type: "c1a.16x".into(),
                        count: 0,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &token,
            )?)
            .await?
            .into_inner()
            .metadata
            .map(|m| m.id)
            .context("the created pool has no metadata")?;
        // The simulated VPC, polled until it holds a rule set with the pool.
        let deadline = Instant::now() + DEADLINE;
        let (in_vpc, revision) = loop {
            if let Some(f) = vpc.firewall(cluster).await?
                && f.network.pools.iter().any(|p| p.name == name)
            {
                break (OffsetDateTime::now_utc(), f.revision);
            }
            if Instant::now() > deadline {
                bail!("the VPC firewall has no rules for {name} after {DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let (_, created_at) = next_matching(&mut events, "nodepool.created", |e| {
            if kind(e).is_some_and(|(r, k)| r == "nodepool" && k == "created")
                && let NodePoolEvent::Created { pool: p, .. } = e.decode_data::<NodePoolEvent>()?
                && p.metadata.id.to_string() == pool
            {
                return Ok(Some(()));
            }
            Ok(None)
        })
        .await?;
        let reason = format!("node pool {name} created");
        let (_, required_at) = next_matching(&mut events, "firewall.required-rules-updated", |e| {
            if kind(e).is_some_and(|(r, _)| r == "firewall")
                && let FirewallEvent::RequiredRulesUpdated {
                    cluster: c,
                    reason: why,
                    ..
                } = e.decode_data::<FirewallEvent>()?
                && c == cluster
                && why == reason
            {
                return Ok(Some(()));
            }
            Ok(None)
        })
        .await?;
        let (_, applied_at) = next_matching(&mut events, "firewall.applied", |e| {
            if kind(e).is_some_and(|(r, _)| r == "firewall")
                && let FirewallEvent::Applied {
                    cluster: c,
                    revision: r,
                    ..
                } = e.decode_data::<FirewallEvent>()?
                && c == cluster
                && r >= revision
            {
                return Ok(Some(()));
            }
            Ok(None)
        })
        .await?;
        to_required.push(ms(created_at, required_at));
        to_vpc.push(ms(created_at, in_vpc));
        to_applied.push(ms(created_at, applied_at));
    }
    let (to_required_p50_ms, to_required_max_ms) = p50_max(to_required);
    let (to_vpc_p50_ms, to_vpc_max_ms) = p50_max(to_vpc);
    let (to_applied_p50_ms, to_applied_max_ms) = p50_max(to_applied);
    Ok(ApplyLatency {
        pools: POOLS,
        reconcile_interval_ms: interval.as_secs_f64() * 1e3,
        clock_factor: CLOCK_FACTOR,
        to_required_p50_ms,
        to_required_max_ms,
        to_vpc_p50_ms,
        to_vpc_max_ms,
        to_applied_p50_ms,
        to_applied_max_ms,
    })
}

/// Stops the event reader with the benchmark.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
