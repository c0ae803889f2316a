//! A volume's own latency through storage-csi, and `PlanMigration` over 1,000 volumes.
//!
//! One platform as `accord up` composes it, on a nats-server of its own: the simulator at clock
//! factor [`CLOCK_FACTOR`] (its storage back ends run a thousand times faster than real time:
//! a disk's 10–20 s create takes 10–20 ms), the provisioner, and storage-csi
//! ([`Platform::storage_csi`]) reconciling every [`RECONCILE_INTERVAL`] (and on every commit
//! that starts work), its store on disk (every commit flushed). A cluster is created over gRPC
//! with a pool of [`NODES`] Ready CPU nodes; the provider enables NFS for the project with the
//! operator's token, its shared filesystems mounting over VirtioFS (the provider's per-project
//! setting: what a migration plan moves); one warm-up disk per node is created and attached
//! (storage-csi learns the cluster and its nodes from the provisioner's events, so the first
//! calls are retried until accepted).
//!
//! **Create → available, attach → attached.** [`VOLUMES`] 10Gi disks are created one after the
//! other with the admin's token, each awaited by polling `GetVolume` every [`POLL`] until
//! `available`; then each is attached (to node `i mod NODES`: at most 15 disks per node, so
//! [`NODES`] nodes hold the warm-up disks and the [`VOLUMES`] together) and awaited until
//! `attached`. Per volume:
//! - **real**: from just before the RPC to the poll that sees the state;
//! - **sim**: the back end's clock ([`StorageDriver::now_ms`]) read at the same two moments;
//! - **the back end's operation**: a sampler thread watches the simulated storage every
//!   [`SAMPLE`] — the operation starts when its counter ([`SimStorage::submitted`]) moves and
//!   ends when nothing is in flight any more ([`SimStorage::in_flight`]; the calls are one
//!   at a time, so the only operation in flight is the one measured), each moment read on both
//!   clocks;
//! - **the service's own share** = real − the back end's simulated duration × the clock factor:
//!   the handler's commit, the reconciler's wake-up and submit, the polling that finds the
//!   operation finished (every [`RECONCILE_INTERVAL`]), the outcome's commit, and the
//!   customer's own poll; split into *request → back end started* and *back end done →
//!   state seen*.
//!
//! **PlanMigration over 1,000 volumes.** [`PLAN_VOLUMES`] shared 1Ti VirtioFS volumes are
//! created ([`CREATE_CONCURRENCY`] RPCs at a time; the project's quota is raised for the bench
//! through [`StorageCsiSettings::settings`]) and awaited until all are available; then
//! `PlanMigration` with `dry_run` (every VirtioFS volume of the project: the handler reads the
//! project's volumes, plans, estimates and renders 1,000 planned volumes) is timed against
//! `ListVolumes` of the same cluster (the same volumes read and rendered), [`PLAN_CALLS`]
//! calls each after [`PLAN_WARMUP`].
//!
//! The issue sets no target: informational.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use accord_core::{ids::ClusterId, node::NodeState};
use accord_platform::{Platform, ProvisionerSettings, Running, StorageCsiSettings};
use accord_proto::{provisioner::v1 as pb, storage::v1 as spb};
use accord_sim::{SimConfig, storage::SimStorage};
use accord_storage::{Quota, driver::StorageDriver as _};
use accord_store::Store;
use anyhow::{Context as _, bail, ensure};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::{Latency, authed, summarize, time_calls};

/// Real time per unit of the back ends' simulated time.
pub const CLOCK_FACTOR: f64 = 0.001;
/// storage-csi's reconcile interval (its default is 1 s).
pub const RECONCILE_INTERVAL: Duration = Duration::from_millis(20);
/// Disks created, then attached, one at a time.
pub const VOLUMES: usize = 50;
/// Ready CPU nodes the disks attach to.
pub const NODES: usize = 4;
/// Shared VirtioFS volumes `PlanMigration` plans.
pub const PLAN_VOLUMES: usize = 1_000;
/// Shared volumes being created at once while the 1,000 are made, each awaited until
/// available before the next starts. With all 1,000 in flight, the reconciler's passes (one
/// flushed commit per outcome) outlast the back ends' 5-minute operation timeout, which is
/// 300 ms of real time at this clock factor, and volumes fail (seen in the first run).
pub const CREATE_CONCURRENCY: usize = 16;
/// Timed `PlanMigration` (and `ListVolumes`) calls, and warm-up calls before them.
pub const PLAN_CALLS: usize = 30;
pub const PLAN_WARMUP: usize = 3;
/// How often the customer polls `GetVolume`.
pub const POLL: Duration = Duration::from_millis(1);
/// How often each of the 1,000 shared volumes is polled until available.
const BULK_POLL: Duration = Duration::from_millis(20);
/// How often the sampler looks at the simulated storage.
pub const SAMPLE: Duration = Duration::from_micros(100);
/// Longest wait for the platform to get anywhere.
const DEADLINE: Duration = Duration::from_secs(180);
const DISK_SIZE: &str = "10Gi";

/// One operation over the volumes: p50 and max of each figure.
#[derive(Debug, Clone, Serialize)]
pub struct OpLatency {
    pub volumes: usize,
    /// The customer's view, real milliseconds.
    pub real_p50_ms: f64,
    pub real_max_ms: f64,
    /// The same interval on the back ends' clock, simulated seconds.
    pub sim_p50_s: f64,
    pub sim_max_s: f64,
    /// The back end's own operation, simulated seconds.
    pub backend_sim_p50_s: f64,
    pub backend_sim_max_s: f64,
    /// real − the back end's operation at the clock factor, ms.
    pub service_p50_ms: f64,
    pub service_max_ms: f64,
    /// Request sent → the back end's operation started, ms.
    pub to_backend_p50_ms: f64,
    pub to_backend_max_ms: f64,
    /// The back end's operation done → the customer's poll sees the state, ms.
    pub after_backend_p50_ms: f64,
    pub after_backend_max_ms: f64,
}

/// `PlanMigration` (dry run) over 1,000 volumes vs `ListVolumes` of them.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRpc {
    pub volumes: usize,
    pub calls: usize,
    pub batches: u32,
    pub estimate_seconds: u64,
    /// Creating the 1,000 shared volumes until all are available, real seconds.
    pub create_all_s: f64,
    /// Volumes `ListVolumes` answers (the disks too).
    pub listed: usize,
    pub plan: Latency,
    pub list: Latency,
    /// plan / list.
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

/// The lifecycle benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleResults {
    pub clock_factor: f64,
    pub reconcile_interval_ms: f64,
    pub poll_ms: f64,
    pub nodes: usize,
    pub create: OpLatency,
    pub attach: OpLatency,
    /// `None` when it failed (`plan_rpc_error`): the latencies above are still reported.
    pub plan_rpc: Option<PlanRpc>,
    pub plan_rpc_error: Option<String>,
}

/// See the module docs.
pub async fn bench() -> anyhow::Result<LifecycleResults> {
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let url = format!("nats://127.0.0.1:{}", crate::free_port()?);
    let mut nats = accord_platform::nats::start(&url, &dir.path().join("nats"), None, None).await?;
    let res = measure(&url, dir.path()).await;
    let _ = nats.start_kill();
    let _ = nats.wait().await;
    res
}

type Client = spb::storage_client::StorageClient<Channel>;

/// What the measurements talk to.
struct Env {
    storage: Arc<SimStorage>,
    client: Client,
    token: String,
    cluster: String,
    nodes: Vec<String>,
}

async fn measure(url: &str, dir: &std::path::Path) -> anyhow::Result<LifecycleResults> {
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let mut settings = StorageCsiSettings::new("127.0.0.1:0".parse()?);
    settings.reconcile_interval = RECONCILE_INTERVAL;
    // The default quota (100 volumes, 100 TiB) would stop the 1,000 shared volumes.
    settings.settings.quota = Quota {
        max_volumes: (PLAN_VOLUMES + VOLUMES + NODES + 100) as u64,
        max_total_gib: (PLAN_VOLUMES as u64 + 100) * 1024,
    };
    settings.store = Some(Store::open(dir.join("storage-csi"))?);
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
        .storage_csi(settings)
        .image_builder(crate::image_builder()?)
        .start()
        .await?;
    let bootstrap = running
        .bootstrap
        .as_ref()
        .context("bootstrap credentials")?;
    let (token, operator) = (
        bootstrap.admin.token.clone(),
        bootstrap.operator.token.clone(),
    );
    let project = bootstrap.project.metadata.id.to_string();
    let storage = running
        .storage
        .clone()
        .context("the simulated storage did not start")?;
    let csi = running
        .storage_csi
        .as_ref()
        .map(|s| s.grpc_addr)
        .context("storage-csi did not start")?;
    let (cluster, nodes) = cluster_with_nodes(&running, &token).await?;
    let channel = Channel::from_shared(format!("http://{csi}"))?
        .connect()
        .await?;
    let env = Env {
        storage,
        client: Client::new(channel),
        token,
        cluster,
        nodes,
    };
    env.client
        .clone()
        .enable_nfs(authed(
            spb::SetNfsRequest {
                project,
                reason: "accord-bench: shared volumes to plan a migration of".into(),
                // The project's shared filesystems mount over VirtioFS (what a plan moves).
                mount: "virtiofs".into(),
            },
            &operator,
        )?)
        .await
        .context("enabling NFS with the operator's token")?;

    // Warm-up: storage-csi learns the cluster and its nodes from events; one disk per node.
    for (k, node) in env.nodes.iter().enumerate() {
        let name = format!("warm-{k}");
        retry(&format!("creating {name}"), || env.create(&name)).await?;
        env.wait_state(&name, "available").await?;
        retry(&format!("attaching {name} to {node}"), || {
            env.attach(&name, node)
        })
        .await?;
        env.wait_state(&name, "attached").await?;
    }

    let sampler = Sampler::start(Arc::clone(&env.storage));
    let mut creates = Vec::with_capacity(VOLUMES);
    for i in 0..VOLUMES {
        let name = format!("disk-{i:02}");
        creates.push(
            env.timed(&sampler, Op::Create, &name, "available", || {
                env.create(&name)
            })
            .await?,
        );
    }
    let mut attaches = Vec::with_capacity(VOLUMES);
    for i in 0..VOLUMES {
        let name = format!("disk-{i:02}");
        let node = &env.nodes[i % NODES];
        attaches.push(
            env.timed(&sampler, Op::Attach, &name, "attached", || {
                env.attach(&name, node)
            })
            .await?,
        );
    }
    drop(sampler);

    let (plan_rpc, plan_rpc_error) = match plan_rpc(&env).await {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(LifecycleResults {
        clock_factor: CLOCK_FACTOR,
        reconcile_interval_ms: RECONCILE_INTERVAL.as_secs_f64() * 1e3,
        poll_ms: POLL.as_secs_f64() * 1e3,
        nodes: NODES,
        create: op_latency(creates),
        attach: op_latency(attaches),
        plan_rpc,
        plan_rpc_error,
    })
}

/// A running cluster with a pool of [`NODES`] Ready CPU nodes: (cluster id, node names).
async fn cluster_with_nodes(
    running: &Running,
    token: &str,
) -> anyhow::Result<(String, Vec<String>)> {
    let provisioner = running
        .provisioner
        .as_ref()
        .context("the provisioner did not start")?;
    let channel = Channel::from_shared(format!("http://{}", provisioner.grpc_addr))?
        .connect()
        .await?;
    let mut clusters = pb::clusters_client::ClustersClient::new(channel.clone());
    let mut pools = pb::node_pools_client::NodePoolsClient::new(channel);
    let created = clusters
        .create_cluster(authed(
            pb::CreateClusterRequest {
                name: "bench-storage".into(),
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
            token,
        )?)
        .await?
        .into_inner();
    let id = created
        .metadata
        .map(|m| m.id)
        .context("the created cluster has no metadata")?;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let c = clusters
            .get_cluster(authed(
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
            bail!("cluster {id} is not running after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pools
        .create_node_pool(authed(
            pb::CreateNodePoolRequest {
                cluster: id.clone(),
                name: "cpu".into(),
                spec: Some(pb::NodePoolSpec {
                    instance_type: "c1a.16x".into(),
                    count: NODES as u32,
                    ..Default::default()
                }),
                ..Default::default()
            },
            token,
        )?)
        .await?;
    let cluster: ClusterId = id.parse()?;
    let reader = provisioner.engine.reader();
    loop {
        let mut nodes = Vec::new();
        for pool in reader.pools(cluster)? {
            nodes.extend(reader.nodes(pool.metadata.id)?);
        }
        if nodes.len() == NODES && nodes.iter().all(|n| n.status.state == NodeState::Ready) {
            return Ok((id, nodes.into_iter().map(|n| n.metadata.name).collect()));
        }
        if Instant::now() > deadline {
            bail!("the CPU pool of {id} is not ready after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Calls `f` until it succeeds (storage-csi may not know the cluster or node yet).
async fn retry<F, Fut>(what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<spb::Volume>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        match f().await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e.context(format!("{what}: still refused after {DEADLINE:?}")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

impl Env {
    async fn create(&self, name: &str) -> anyhow::Result<spb::Volume> {
        self.create_volume(name, "disk", DISK_SIZE, "").await
    }

    async fn create_volume(
        &self,
        name: &str,
        kind: &str,
        size: &str,
        mount: &str,
    ) -> anyhow::Result<spb::Volume> {
        let req = spb::CreateVolumeRequest {
            cluster: self.cluster.clone(),
            name: name.into(),
            r#type: kind.into(),
            size: size.into(),
            mount: mount.into(),
            ..Default::default()
        };
        Ok(self
            .client
            .clone()
            .create_volume(authed(req, &self.token)?)
            .await
            .with_context(|| format!("CreateVolume {name}"))?
            .into_inner())
    }

    async fn attach(&self, name: &str, node: &str) -> anyhow::Result<spb::Volume> {
        let req = spb::AttachVolumeRequest {
            cluster: self.cluster.clone(),
            name: name.into(),
            node: node.into(),
            resource_version: 0,
            ..Default::default()
        };
        Ok(self
            .client
            .clone()
            .attach_volume(authed(req, &self.token)?)
            .await
            .with_context(|| format!("AttachVolume {name} to {node}"))?
            .into_inner())
    }

    /// Polls `GetVolume` every [`POLL`] until the volume is in `state`.
    async fn wait_state(&self, name: &str, state: &str) -> anyhow::Result<()> {
        self.wait_state_every(name, state, POLL).await
    }

    /// Polls `GetVolume` every `every` until the volume is in `state`.
    async fn wait_state_every(
        &self,
        name: &str,
        state: &str,
        every: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let req = spb::GetVolumeRequest {
                cluster: self.cluster.clone(),
                name: name.into(),
                ..Default::default()
            };
            let v = self
                .client
                .clone()
                .get_volume(authed(req, &self.token)?)
                .await?
                .into_inner();
            if v.state == state {
                return Ok(());
            }
            if v.state == "failed" || !v.last_failure.is_empty() {
                bail!("volume {name} is {} ({})", v.state, v.last_failure);
            }
            if Instant::now() > deadline {
                bail!(
                    "volume {name} is {}, not {state}, after {DEADLINE:?}",
                    v.state
                );
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Waits until the back ends have nothing in flight (the operation measured is then the
    /// only one).
    async fn quiet(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        while self.storage.in_flight() > 0 {
            if Instant::now() > deadline {
                bail!(
                    "the simulated storage still has {} operations in flight after {DEADLINE:?}",
                    self.storage.in_flight()
                );
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }

    /// One call, `call`, of `op` on `name`, until the volume is in `state`.
    async fn timed<F, Fut>(
        &self,
        sampler: &Sampler,
        op: Op,
        name: &str,
        state: &str,
        call: F,
    ) -> anyhow::Result<Sample>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<spb::Volume>>,
    {
        self.quiet().await?;
        sampler.arm(op);
        let (t0, s0) = (Instant::now(), self.storage.now_ms());
        call().await?;
        self.wait_state(name, state).await?;
        let (t1, s1) = (Instant::now(), self.storage.now_ms());
        let w = sampler.take().context("the sampler lost its watch")?;
        let (Some(started), Some(done)) = (w.started, w.done) else {
            bail!(
                "the sampler did not see the back end's {} of {name} {}",
                op.name(),
                if w.started.is_none() {
                    "start"
                } else {
                    "finish"
                }
            );
        };
        let real_ms = ms(t1 - t0);
        let backend_sim_ms = done.sim_ms.saturating_sub(started.sim_ms);
        Ok(Sample {
            real_ms,
            sim_ms: s1.saturating_sub(s0),
            backend_sim_ms,
            service_ms: real_ms - backend_sim_ms as f64 * CLOCK_FACTOR,
            to_backend_ms: ms(started.real.saturating_duration_since(t0)),
            after_backend_ms: ms(t1.saturating_duration_since(done.real)),
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One volume's figures.
struct Sample {
    real_ms: f64,
    sim_ms: u64,
    backend_sim_ms: u64,
    service_ms: f64,
    to_backend_ms: f64,
    after_backend_ms: f64,
}

fn op_latency(samples: Vec<Sample>) -> OpLatency {
    let pick = |f: &dyn Fn(&Sample) -> f64| super::p50_max(samples.iter().map(f).collect());
    let (real_p50_ms, real_max_ms) = pick(&|s| s.real_ms);
    let (sim_p50_s, sim_max_s) = pick(&|s| s.sim_ms as f64 / 1e3);
    let (backend_sim_p50_s, backend_sim_max_s) = pick(&|s| s.backend_sim_ms as f64 / 1e3);
    let (service_p50_ms, service_max_ms) = pick(&|s| s.service_ms);
    let (to_backend_p50_ms, to_backend_max_ms) = pick(&|s| s.to_backend_ms);
    let (after_backend_p50_ms, after_backend_max_ms) = pick(&|s| s.after_backend_ms);
    OpLatency {
        volumes: samples.len(),
        real_p50_ms,
        real_max_ms,
        sim_p50_s,
        sim_max_s,
        backend_sim_p50_s,
        backend_sim_max_s,
        service_p50_ms,
        service_max_ms,
        to_backend_p50_ms,
        to_backend_max_ms,
        after_backend_p50_ms,
        after_backend_max_ms,
    }
}

/// The back-end operation a sample watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Attach,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create-volume",
            Op::Attach => "attach-volume",
        }
    }
}

/// A moment on both clocks.
#[derive(Debug, Clone, Copy)]
struct Mark {
    real: Instant,
    sim_ms: u64,
}

/// What the sampler looks for now.
#[derive(Debug)]
struct Watch {
    op: Op,
    /// The operation's counter when armed.
    before: u64,
    started: Option<Mark>,
    done: Option<Mark>,
}

/// A thread that watches the simulated storage every [`SAMPLE`] (stopped on drop).
struct Sampler {
    storage: Arc<SimStorage>,
    watch: Arc<Mutex<Option<Watch>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(storage: Arc<SimStorage>) -> Self {
        let watch: Arc<Mutex<Option<Watch>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, w, s) = (Arc::clone(&storage), Arc::clone(&watch), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(watch) = w.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
                    sample(&st, watch);
                }
                std::thread::sleep(SAMPLE);
            }
        });
        Self {
            storage,
            watch,
            stop,
            thread: Some(thread),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Watch>> {
        self.watch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arm(&self, op: Op) {
        let before = self.storage.submitted(op.name());
        *self.lock() = Some(Watch {
            op,
            before,
            started: None,
            done: None,
        });
    }

    fn take(&self) -> Option<Watch> {
        self.lock().take()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One look: the operation started (its counter moved), then finished (nothing in flight).
fn sample(storage: &SimStorage, w: &mut Watch) {
    let mark = || Mark {
        real: Instant::now(),
        sim_ms: storage.now_ms(),
    };
    if w.started.is_none() {
        if storage.submitted(w.op.name()) > w.before {
            w.started = Some(mark());
        }
    } else if w.done.is_none() && storage.in_flight() == 0 {
        w.done = Some(mark());
    }
}

/// Creates the 1,000 shared volumes, then times `PlanMigration` (dry run) against
/// `ListVolumes`.
async fn plan_rpc(env: &Env) -> anyhow::Result<PlanRpc> {
    let t = Instant::now();
    futures::stream::iter(0..PLAN_VOLUMES)
        .map(|i| async move {
            let name = format!("share-{i:04}");
            env.create_volume(&name, "shared", "1Ti", "virtiofs")
                .await?;
            env.wait_state_every(&name, "available", BULK_POLL).await
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let list_req = || spb::ListVolumesRequest {
        cluster: env.cluster.clone(),
        ..Default::default()
    };
    let deadline = Instant::now() + DEADLINE;
    let listed = loop {
        let list = env
            .client
            .clone()
            .list_volumes(authed(list_req(), &env.token)?)
            .await?
            .into_inner();
        let ready = list
            .volumes
            .iter()
            .filter(|v| v.r#type == "shared" && v.state == "available")
            .count();
        if ready == PLAN_VOLUMES {
            break list.volumes.len();
        }
        if let Some(v) = list.volumes.iter().find(|v| v.state == "failed") {
            bail!("volume {} failed: {}", v.name, v.last_failure);
        }
        if Instant::now() > deadline {
            bail!("{ready} of {PLAN_VOLUMES} shared volumes available after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let create_all_s = t.elapsed().as_secs_f64();

    let plan_req = || spb::PlanMigrationRequest {
        name: "to-nfs".into(),
        dry_run: true,
        ..Default::default()
    };
    let m = env
        .client
        .clone()
        .plan_migration(authed(plan_req(), &env.token)?)
        .await
        .context("PlanMigration (dry run)")?
        .into_inner();
    let estimate = m.estimate.context("a dry run without its estimate")?;
    ensure!(
        m.dry_run && m.id.is_empty() && m.volumes.len() == PLAN_VOLUMES,
        "the dry run planned {} volumes (dry_run {}, id {:?})",
        m.volumes.len(),
        m.dry_run,
        m.id
    );
    let plan = time_calls(PLAN_WARMUP, PLAN_CALLS, |_| {
        let (mut c, token, req) = (env.client.clone(), env.token.clone(), plan_req());
        async move {
            let m = c.plan_migration(authed(req, &token)?).await?.into_inner();
            ensure!(m.volumes.len() == PLAN_VOLUMES, "a dry run lost volumes");
            Ok(())
        }
    })
    .await?;
    let list = time_calls(PLAN_WARMUP, PLAN_CALLS, |_| {
        let (mut c, token, req) = (env.client.clone(), env.token.clone(), list_req());
        async move {
            c.list_volumes(authed(req, &token)?).await?;
            Ok(())
        }
    })
    .await?;
    let (plan, list) = (summarize(plan), summarize(list));
    Ok(PlanRpc {
        volumes: PLAN_VOLUMES,
        calls: PLAN_CALLS,
        batches: estimate.batches,
        estimate_seconds: estimate.duration_seconds,
        create_all_s,
        listed,
        ratio_p50: plan.p50_us / list.p50_us,
        ratio_p99: plan.p99_us / list.p99_us,
        plan,
        list,
    })
}

/// Prints the lifecycle rows.
pub fn print(l: &LifecycleResults) {
    let row = |what: &str, op: &OpLatency| {
        println!(
            "storage {what} ({} disks of {DISK_SIZE} one after the other over gRPC, {} nodes, sim clock ×{}, reconcile interval {:.0} ms, GetVolume polled every {:.0} ms): real p50 {:.1} ms (max {:.1}) = sim p50 {:.1} s (max {:.1}); the back end's own operation p50 {:.1} s sim (max {:.1}) = {:.1} ms real; the service's own share p50 {:.1} ms (max {:.1}) — request → back end started p50 {:.1} ms (max {:.1}), back end done → state seen p50 {:.1} ms (max {:.1})   no target in the issue: informational",
            op.volumes,
            l.nodes,
            l.clock_factor,
            l.reconcile_interval_ms,
            l.poll_ms,
            op.real_p50_ms,
            op.real_max_ms,
            op.sim_p50_s,
            op.sim_max_s,
            op.backend_sim_p50_s,
            op.backend_sim_max_s,
            op.backend_sim_p50_s * 1e3 * l.clock_factor,
            op.service_p50_ms,
            op.service_max_ms,
            op.to_backend_p50_ms,
            op.to_backend_max_ms,
            op.after_backend_p50_ms,
            op.after_backend_max_ms
        );
    };
    row("create → available", &l.create);
    row("attach → attached", &l.attach);
    let Some(p) = &l.plan_rpc else {
        return;
    };
    println!(
        "storage PlanMigration dry run over gRPC ({} shared VirtioFS volumes → {} batches, estimate {:.1} h; {} calls): p50 {:.2} ms (p99 {:.2}) vs ListVolumes of the same cluster ({} volumes) p50 {:.2} ms (p99 {:.2}) → ratio {:.2} (p99 {:.2}); creating the {} ({CREATE_CONCURRENCY} at a time, each awaited) until all were available took {:.1} s   no target in the issue: informational",
        p.volumes,
        p.batches,
        p.estimate_seconds as f64 / 3600.0,
        p.calls,
        p.plan.p50_us / 1e3,
        p.plan.p99_us / 1e3,
        p.listed,
        p.list.p50_us / 1e3,
        p.list.p99_us / 1e3,
        p.ratio_p50,
        p.ratio_p99,
        p.volumes,
        p.create_all_s
    );
}
