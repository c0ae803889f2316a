//! The end-to-end harness: one complete Accord deployment per test, in-process, on real
//! infrastructure where it matters.
//!
//! [`Env::start`] brings up, for one test:
//! - a real `nats-server` with JetStream on a random port (accord-testkit; killed on `Drop`),
//! - through the platform composer (`accord-platform`, as `accord up` does): the provisioner on
//!   `127.0.0.1:0` with a temporary store, its outbox relay and its controller,
//! - the simulated GPU fleet ([`SimFleet`]) at a tiny clock factor, its node agents and its fault
//!   server (`accord.cmd.sim.fault.inject`),
//! - image-builder (10 ms build stages; [`Env::images`]), whose base release the provisioner
//!   has learnt before `start` returns (no node can boot an image it does not know),
//! - a second NATS connection (the *observer*) the test reads `ACCORD_EVENTS` through;
//! - on request ([`Env::start_addon_manager`]), the addon-manager with the shipped add-on
//!   plugins, authenticating keys through the provisioner over NATS; support-triage
//!   ([`Env::start_support_triage`]) with the shipped rules; and the telemetry service
//!   ([`Env::start_telemetry`]) with the shipped health-check settings.
//!
//! Tests talk to the deployment the way customers and operators do: gRPC with a bearer token
//! ([`Api`], built by [`Env::admin`], [`Env::operator`], [`Env::api`]) and NATS request/reply for
//! the simulator's faults. They never reach into the provisioner's store.
//!
//! Invariants:
//! - nothing here sleeps to synchronise: every wait is a deadline poll ([`wait_for`], built on
//!   [`accord_testkit::eventually`]) whose error names what was awaited and what was seen last;
//! - everything an `Env` started stops when it is dropped (the shutdown token is cancelled, the
//!   tasks are aborted, nats-server is killed and its store removed).

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use accord_bus::{Bus, CancellationToken, CloudEvent, ConnectOptions, EVENTS_STREAM, StartAt};
use accord_platform::{
    AddonManager, AddonManagerSettings, AutoClustersOptions, HostConfig, NotifySettings, Platform,
    Provisioner, ProvisionerSettings, RemediationTimeouts, RuleSet, Running, SupportDesk,
    SupportTriageSettings, Telemetry, TelemetrySettings,
};
use accord_platform::{FirewallService, ImageBuilderSettings, NetworkFirewallSettings};
use accord_proto::addons::v1::addons_client::AddonsClient;
use accord_proto::firewall::v1::firewall_client::FirewallClient;
use accord_proto::provisioner::v1::{
    self as pb, clusters_client::ClustersClient, node_pools_client::NodePoolsClient,
    nodes_client::NodesClient, projects_client::ProjectsClient,
};
use accord_proto::support::v1::support_client::SupportClient;
use accord_proto::telemetry::v1::health_client::HealthClient as TelemetryHealthClient;
use accord_runtime::metrics::Metrics;
use accord_sim::{FaultReply, SimConfig, SimFleet, fault_server};
use accord_store::Store;
use accord_testkit::{DEFAULT_POLL_INTERVAL, NatsServer, default_deadline, eventually};
use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

pub use tonic_health::pb::health_check_response::ServingStatus;

mod images;
mod secured;
mod storage;

pub use secured::SecuredEnv;

/// Simulated-clock factor: a 3-minute GPU node provision takes 0.18 s.
pub const CLOCK_FACTOR: f64 = 0.001;
/// How often the controller reconciles every cluster without news.
pub const RESYNC_INTERVAL: Duration = Duration::from_millis(250);
/// How long a control-plane replica stays down before the provider rebuilds it: long enough
/// for tests to see `ReplicaDown` and bring it back themselves.
pub const REPLICA_GRACE: Duration = Duration::from_secs(3);
/// Upper bound of one gRPC call (every RPC answers promptly; work happens asynchronously).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one NATS request to the simulator.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The region every helper-made cluster lives in.
pub const REGION: &str = "eu-iceland1";
/// A CPU-only instance type (no GPU quota needed, fast to provision).
pub const CPU_INSTANCE: &str = "c1a.16x";
/// An 8-GPU instance type (the default project quota, 64 GPUs, holds eight of them).
pub const GPU_INSTANCE: &str = "h100-80gb-sxm-ib.8x";
/// Simulated build-farm time per image build stage.
pub const IMAGE_STAGE_DURATION: Duration = Duration::from_millis(10);
/// The image-builder's signing key seed (tests verify signatures with the served public key).
pub const IMAGE_KEY_SEED: [u8; 32] = [42; 32];

/// Bus options for the deployment and the observer: reconnect quickly after a NATS restart.
fn bus_options() -> ConnectOptions {
    ConnectOptions::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_max_reconnect_delay(Duration::from_millis(100))
        .with_request_timeout(Duration::from_secs(2))
}

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl Bearer {
    /// The interceptor for `token` (sent as is, so tests can present garbage).
    pub fn new(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {token}")
            .parse::<MetadataValue<Ascii>>()
            .context("a token must be printable ASCII")?;
        Ok(Self(value))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// The channel every authenticated client uses.
pub type AuthChannel = InterceptedService<Channel, Bearer>;

/// The provisioner's four services, authenticated as one key.
#[derive(Debug, Clone)]
pub struct Api {
    /// `accord.provisioner.v1.Projects`.
    pub projects: ProjectsClient<AuthChannel>,
    /// `accord.provisioner.v1.Clusters`.
    pub clusters: ClustersClient<AuthChannel>,
    /// `accord.provisioner.v1.NodePools`.
    pub node_pools: NodePoolsClient<AuthChannel>,
    /// `accord.provisioner.v1.Nodes`.
    pub nodes: NodesClient<AuthChannel>,
}

impl Api {
    /// Clients on `channel` presenting `token`.
    pub fn new(channel: Channel, token: &str) -> anyhow::Result<Self> {
        let auth = Bearer::new(token)?;
        Ok(Self {
            projects: ProjectsClient::with_interceptor(channel.clone(), auth.clone()),
            clusters: ClustersClient::with_interceptor(channel.clone(), auth.clone()),
            node_pools: NodePoolsClient::with_interceptor(channel.clone(), auth.clone()),
            nodes: NodesClient::with_interceptor(channel, auth),
        })
    }
}

/// Stops one service started by the harness: cancel, then wait for its tasks (which release
/// its store).
pub struct Stopper {
    shutdown: CancellationToken,
    stopped: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Stopper {
    /// Cancels the service and waits until every task of it has ended.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.stopped.await;
    }
}

/// A key minted through the API.
#[derive(Debug, Clone)]
pub struct MintedKey {
    /// `accord_<id>_<secret>`.
    pub token: String,
    /// The key's id (for `RevokeApiKey`).
    pub id: String,
}

/// One running deployment (see the crate docs).
pub struct Env {
    /// The nats-server (tests stop and restart it).
    pub nats: NatsServer,
    /// The test's own NATS connection (reads events, sends simulator requests).
    pub bus: Bus,
    /// The simulated fleet the provisioner drives.
    pub fleet: Arc<SimFleet>,
    /// The provisioner engine (for diagnostics only; tests act through the API).
    pub provisioner: Arc<Provisioner>,
    /// Where the gRPC server listens.
    pub grpc_addr: SocketAddr,
    /// Id of the bootstrap project (`default`).
    pub project: String,
    /// The bootstrap Admin's token (user `admin`, project `default`).
    pub admin_token: String,
    /// The provider operator's token.
    pub operator_token: String,
    /// The provisioner's metrics registry (what `/metrics` would serve).
    pub metrics: Metrics,
    channel: Channel,
    addons_channel: Option<Channel>,
    support_channel: Option<Channel>,
    telemetry_channel: Option<Channel>,
    firewall_channel: Option<Channel>,
    storage_channel: Option<Channel>,
    images_channel: Channel,
    shutdown: CancellationToken,
    /// Everything started through the composer (stopped on drop).
    platforms: Vec<Running>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("nats", &self.nats.url())
            .field("grpc_addr", &self.grpc_addr)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for p in &mut self.platforms {
            p.abort();
        }
    }
}

/// A gRPC channel to `addr`.
pub(crate) async fn connect(addr: SocketAddr, what: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))
        .context("gRPC endpoint")?
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("connecting to {what}'s gRPC server"))
}

impl Env {
    /// Starts NATS, then the provisioner and the simulated fleet (its agents and fault server)
    /// through the platform composer, and waits until the gRPC API and the fault server answer.
    pub async fn start() -> anyhow::Result<Env> {
        let nats = NatsServer::start().await.context("starting nats-server")?;
        let bus = Bus::connect_with(&nats.url(), "e2e-observer", bus_options())
            .await
            .context("connecting the observer to NATS")?;
        let shutdown = CancellationToken::new();
        let metrics = Metrics::new("provisioner");
        let mut running = Platform::new(nats.url())
            .bus_options(bus_options())
            .shutdown(shutdown.clone())
            .metrics(metrics.clone())
            .simulator(
                SimConfig::default()
                    .with_clock_factor(CLOCK_FACTOR)
                    .with_telemetry_interval(Duration::from_secs(1)),
            )
            .provisioner(ProvisionerSettings {
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                resync_interval: RESYNC_INTERVAL,
                store: None,
                autoclusters: Some(AutoClustersOptions {
                    plugin_dir: plugin_dir(),
                    host_config: HostConfig::default(),
                    timeouts: RemediationTimeouts::scaled(CLOCK_FACTOR, Duration::from_secs(3)),
                }),
                replica_grace: REPLICA_GRACE,
            })
            .image_builder(ImageBuilderSettings {
                stage_duration: IMAGE_STAGE_DURATION,
                ..ImageBuilderSettings::new(
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    accord_image::signing_key_from_seed(IMAGE_KEY_SEED),
                )
            })
            .start()
            .await
            .context("starting the provisioner")?;
        let bootstrap = running
            .bootstrap
            .take()
            .ok_or_else(|| anyhow!("an empty store must mint bootstrap credentials"))?;
        let provisioner = running
            .provisioner
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start the provisioner"))?;
        let fleet = running
            .fleet
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start the simulator"))?;
        let channel = connect(provisioner.grpc_addr, "the provisioner").await?;
        let images_addr = running
            .image_builder
            .as_ref()
            .map(|i| i.grpc_addr)
            .ok_or_else(|| anyhow!("the platform did not start image-builder"))?;
        let images_channel = connect(images_addr, "image-builder").await?;
        let env = Env {
            nats,
            bus,
            fleet,
            provisioner: provisioner.engine,
            grpc_addr: provisioner.grpc_addr,
            project: bootstrap.project.metadata.id.to_string(),
            admin_token: bootstrap.admin.token,
            operator_token: bootstrap.operator.token,
            metrics,
            channel,
            addons_channel: None,
            support_channel: None,
            telemetry_channel: None,
            firewall_channel: None,
            storage_channel: None,
            images_channel,
            shutdown,
            platforms: vec![running],
        };
        let list = fault_server::list_subject()?;
        wait_for("the simulator's fault server to answer", || {
            let bus = env.bus.clone();
            let list = list.clone();
            async move {
                bus.request(&list, Bytes::new(), Duration::from_millis(500))
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
        env.await_base_release().await?;
        Ok(env)
    }

    /// A composer on this deployment's NATS, stopped with the deployment.
    fn platform(&self) -> Platform {
        Platform::new(self.nats.url())
            .bus_options(bus_options())
            .shutdown(self.shutdown.child_token())
    }

    /// Starts the addon-manager beside the provisioner (its own store, the shipped add-on
    /// plugins from [`plugin_dir`], the same NATS) and connects to its gRPC server. Returns its
    /// engine, for diagnostics.
    pub async fn start_addon_manager(&mut self) -> anyhow::Result<Arc<AddonManager>> {
        let store = Store::temporary().context("creating a temporary store")?;
        let (manager, running) = self.start_addon_manager_platform(store).await?;
        self.platforms.push(running);
        Ok(manager)
    }

    /// Starts an addon-manager on `store` that the test can stop on its own ([`Stopper`]), e.g.
    /// to restart it on the same store.
    pub async fn start_addon_manager_on(
        &mut self,
        store: Store,
    ) -> anyhow::Result<(Arc<AddonManager>, Stopper)> {
        let (manager, running) = self.start_addon_manager_platform(store).await?;
        let shutdown = running.shutdown.clone();
        let stopped = Box::pin(async move {
            if let Err(e) = running.join(Duration::from_secs(10)).await {
                eprintln!("an addon-manager task failed: {e:#}");
            }
        });
        Ok((manager, Stopper { shutdown, stopped }))
    }

    async fn start_addon_manager_platform(
        &mut self,
        store: Store,
    ) -> anyhow::Result<(Arc<AddonManager>, Running)> {
        // The provisioner runs in another composer here, so name it as the Accord API the
        // add-ons hand clusters (what `accord up` does for its in-process provisioner when it
        // serves TLS).
        let mut settings =
            AddonManagerSettings::shipped(SocketAddr::from(([127, 0, 0, 1], 0)), plugin_dir())
                .with_api_endpoint(format!("https://{}", self.grpc_addr));
        settings.store = Some(store);
        let running = self
            .platform()
            .addon_manager(settings)
            .start()
            .await
            .context("starting the addon-manager")?;
        let handle = running
            .addon_manager
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start the addon-manager"))?;
        self.addons_channel = Some(connect(handle.grpc_addr, "the addon-manager").await?);
        Ok((handle.engine, running))
    }

    /// Starts support-triage beside the provisioner (its own store, the shipped rules, the same
    /// NATS) and connects to its gRPC server. Returns its engine, for diagnostics.
    pub async fn start_support_triage(&mut self) -> anyhow::Result<Arc<SupportDesk>> {
        let running = self
            .platform()
            .support_triage(SupportTriageSettings {
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                rules: RuleSet::shipped()?,
                store: None,
                // Tests point webhooks at servers on loopback.
                notify: NotifySettings::local(),
            })
            .start()
            .await
            .context("starting support-triage")?;
        let handle = running
            .support_triage
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start support-triage"))?;
        self.support_channel = Some(connect(handle.grpc_addr, "support-triage").await?);
        self.platforms.push(running);
        Ok(handle.engine)
    }

    /// Starts the telemetry service beside the provisioner (its own store, the shipped
    /// health-check settings, the same NATS) and connects to its gRPC server. Returns its
    /// engine, for diagnostics.
    pub async fn start_telemetry(&mut self) -> anyhow::Result<Arc<Telemetry>> {
        let running = self
            .platform()
            .telemetry(TelemetrySettings {
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                health: accord_platform::HealthConfig::default(),
                cluster_metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
                store: None,
            })
            .start()
            .await
            .context("starting the telemetry service")?;
        let handle = running
            .telemetry
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start the telemetry service"))?;
        self.telemetry_channel = Some(connect(handle.grpc_addr, "the telemetry service").await?);
        self.platforms.push(running);
        Ok(handle.engine)
    }

    /// Starts network-firewall on the deployment's simulated VPC (the one attached to the
    /// fleet), reconciling every `interval`, on `store` (`None`: a new one).
    pub async fn start_network_firewall(
        &mut self,
        interval: Duration,
        store: Option<Store>,
    ) -> anyhow::Result<Arc<FirewallService>> {
        let vpc = self
            .platforms
            .first()
            .and_then(|p| p.vpc.clone())
            .ok_or_else(|| anyhow!("the platform did not start the simulated VPC"))?;
        let running = self
            .platform()
            .vpc(vpc)
            .network_firewall(NetworkFirewallSettings {
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                reconcile_interval: interval,
                store,
            })
            .start()
            .await
            .context("starting network-firewall")?;
        let handle = running
            .network_firewall
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start network-firewall"))?;
        self.firewall_channel = Some(connect(handle.grpc_addr, "network-firewall").await?);
        self.platforms.push(running);
        Ok(handle.engine)
    }

    /// network-firewall's client authenticated as `token` (after
    /// [`Env::start_network_firewall`]).
    pub fn firewall(&self, token: &str) -> anyhow::Result<FirewallClient<AuthChannel>> {
        Ok(FirewallClient::with_interceptor(
            self.firewall_channel()?,
            Bearer::new(token)?,
        ))
    }

    /// network-firewall's gRPC channel (after [`Env::start_network_firewall`]).
    pub fn firewall_channel(&self) -> anyhow::Result<Channel> {
        self.firewall_channel
            .clone()
            .ok_or_else(|| anyhow!("start network-firewall first"))
    }

    /// Stops the platform started last (e.g. a service, to restart it on its store).
    pub fn stop_last(&mut self) {
        if let Some(mut p) = self.platforms.pop() {
            p.abort();
        }
    }

    /// The deployment's simulated VPC.
    pub fn vpc(&self) -> Option<Arc<accord_sim::vpc::SimVpc>> {
        self.platforms.first().and_then(|p| p.vpc.clone())
    }

    /// The telemetry service's `Health` client authenticated as `token` (after
    /// [`Env::start_telemetry`]).
    pub fn telemetry(&self, token: &str) -> anyhow::Result<TelemetryHealthClient<AuthChannel>> {
        let channel = self
            .telemetry_channel
            .clone()
            .ok_or_else(|| anyhow!("start the telemetry service first"))?;
        Ok(TelemetryHealthClient::with_interceptor(
            channel,
            Bearer::new(token)?,
        ))
    }

    /// support-triage's client authenticated as `token` (after [`Env::start_support_triage`]).
    pub fn support(&self, token: &str) -> anyhow::Result<SupportClient<AuthChannel>> {
        let channel = self
            .support_channel
            .clone()
            .ok_or_else(|| anyhow!("start support-triage first"))?;
        Ok(SupportClient::with_interceptor(
            channel,
            Bearer::new(token)?,
        ))
    }

    /// The addon-manager's client authenticated as `token` (after [`Env::start_addon_manager`]).
    pub fn addons(&self, token: &str) -> anyhow::Result<AddonsClient<AuthChannel>> {
        let channel = self
            .addons_channel
            .clone()
            .ok_or_else(|| anyhow!("start the addon-manager first"))?;
        Ok(AddonsClient::with_interceptor(channel, Bearer::new(token)?))
    }

    /// The provisioner's gRPC channel (no credentials).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The addon-manager's gRPC channel (after [`Env::start_addon_manager`]).
    pub fn addons_channel(&self) -> anyhow::Result<Channel> {
        self.addons_channel
            .clone()
            .ok_or_else(|| anyhow!("start the addon-manager first"))
    }

    /// The telemetry service's gRPC channel (after [`Env::start_telemetry`]).
    pub fn telemetry_channel(&self) -> anyhow::Result<Channel> {
        self.telemetry_channel
            .clone()
            .ok_or_else(|| anyhow!("start the telemetry service first"))
    }

    /// support-triage's gRPC channel (after [`Env::start_support_triage`]).
    pub fn support_channel(&self) -> anyhow::Result<Channel> {
        self.support_channel
            .clone()
            .ok_or_else(|| anyhow!("start support-triage first"))
    }

    /// Clients authenticated as `token`.
    pub fn api(&self, token: &str) -> anyhow::Result<Api> {
        Api::new(self.channel.clone(), token)
    }

    /// Clients authenticated as the bootstrap Admin of project `default`.
    pub fn admin(&self) -> anyhow::Result<Api> {
        self.api(&self.admin_token)
    }

    /// Clients authenticated as the provider operator.
    pub fn operator(&self) -> anyhow::Result<Api> {
        self.api(&self.operator_token)
    }

    /// A `Clusters` client that sends no credentials at all.
    pub fn anonymous_clusters(&self) -> ClustersClient<Channel> {
        ClustersClient::new(self.channel.clone())
    }

    /// The standard gRPC health client (no credentials needed).
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// What `grpc.health.v1.Health/Check` says about `service` (`""`: the whole server).
    pub async fn health_status(&self, service: &str) -> Result<ServingStatus, Status> {
        let reply = self
            .health()
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await?
            .into_inner();
        Ok(ServingStatus::try_from(reply.status).unwrap_or(ServingStatus::Unknown))
    }

    /// Adds `user` to the `default` project with `role` and mints a key for them, both through
    /// the API as the Admin.
    pub async fn mint_key(&self, user: &str, role: pb::Role) -> anyhow::Result<MintedKey> {
        let mut projects = self.admin()?.projects;
        projects
            .add_member(pb::AddMemberRequest {
                project: String::new(),
                user: user.to_owned(),
                role: role as i32,
            })
            .await
            .with_context(|| format!("adding {user} as {role:?}"))?;
        let name: String = user
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let created = projects
            .create_api_key(pb::CreateApiKeyRequest {
                project: String::new(),
                name: format!("key-{}", name.trim_matches('-')),
                user: user.to_owned(),
            })
            .await
            .with_context(|| format!("minting a key for {user}"))?
            .into_inner();
        let id = created
            .key
            .map(|k| k.id)
            .ok_or_else(|| anyhow!("CreateApiKey returned no key record"))?;
        Ok(MintedKey {
            token: created.token,
            id,
        })
    }

    /// Reads every event stored in `ACCORD_EVENTS` right now, oldest first, through
    /// [`Bus::watch_events`] from the start of the stream.
    pub async fn events(&self) -> anyhow::Result<Vec<CloudEvent>> {
        stored_events(&self.bus).await
    }

    /// Waits until an event matching `pred` is stored and returns it.
    pub async fn wait_event(
        &self,
        what: &str,
        pred: impl Fn(&CloudEvent) -> bool,
    ) -> anyhow::Result<CloudEvent> {
        let pred = &pred;
        wait_for(what, || async move {
            let events = self.events().await.map_err(|e| format!("{e:#}"))?;
            let kinds: Vec<String> = events.iter().map(kind).collect();
            events
                .into_iter()
                .find(|e| pred(e))
                .ok_or_else(|| format!("stored events: {kinds:?}"))
        })
        .await
    }

    /// Waits until at least `n` events of `kind` (`addon.installed`) are stored and returns how
    /// many there are (the relay publishes after a commit the API already shows, so counts are
    /// awaited, then asserted exactly by the caller).
    pub async fn wait_event_count(&self, kind_name: &str, n: usize) -> anyhow::Result<usize> {
        wait_for(&format!("{n} {kind_name} events"), || async {
            let events = self.events().await.map_err(|e| format!("{e:#}"))?;
            let have = events.iter().filter(|e| kind(e) == kind_name).count();
            if have >= n {
                Ok(have)
            } else {
                Err(format!("{have} so far"))
            }
        })
        .await
    }

    /// Injects `fault` (a `Fault` as JSON) and fails unless the simulator accepted it.
    pub async fn fault(&self, fault: serde_json::Value) -> anyhow::Result<()> {
        let reply = self.inject_fault(fault.to_string().as_bytes()).await?;
        anyhow::ensure!(reply.ok, "the simulator refused {fault}: {reply:?}");
        Ok(())
    }

    /// Waits until a ticket of `cluster` satisfies `pred` (tickets listed as the bootstrap
    /// Admin) and returns it.
    pub async fn wait_ticket(
        &self,
        cluster: &str,
        what: &str,
        pred: impl Fn(&accord_proto::support::v1::Ticket) -> bool,
    ) -> anyhow::Result<accord_proto::support::v1::Ticket> {
        let support = self.support(&self.admin_token)?;
        let pred = &pred;
        wait_for(what, || {
            let mut support = support.clone();
            let cluster = cluster.to_owned();
            async move {
                let tickets = support
                    .list_tickets(accord_proto::support::v1::ListTicketsRequest {
                        project: String::new(),
                        category: 0,
                        cluster,
                        state: String::new(),
                    })
                    .await
                    .map_err(|s| s.to_string())?
                    .into_inner()
                    .tickets;
                tickets.iter().find(|t| pred(t)).cloned().ok_or_else(|| {
                    format!(
                        "{:?}",
                        tickets
                            .iter()
                            .map(|t| (&t.title, &t.state, t.category))
                            .collect::<Vec<_>>()
                    )
                })
            }
        })
        .await
    }

    /// Sends a raw fault request to the simulator (`accord.cmd.sim.fault.inject`) and decodes
    /// the reply.
    pub async fn inject_fault(&self, payload: &[u8]) -> anyhow::Result<FaultReply> {
        let reply = self
            .bus
            .request(
                &fault_server::inject_subject()?,
                Bytes::copy_from_slice(payload),
                REQUEST_TIMEOUT,
            )
            .await
            .context("fault request")?;
        decode_reply(&reply)
    }

    /// Polls `GetCluster` (as `api`) until `pred` holds; returns the cluster that satisfied it.
    pub async fn wait_cluster(
        &self,
        api: &Api,
        cluster: &str,
        what: &str,
        pred: impl Fn(&pb::Cluster) -> bool,
    ) -> anyhow::Result<pb::Cluster> {
        let pred = &pred;
        wait_for(what, || {
            let mut clusters = api.clusters.clone();
            let cluster = cluster.to_owned();
            async move {
                let c = clusters
                    .get_cluster(pb::GetClusterRequest {
                        project: String::new(),
                        cluster,
                    })
                    .await
                    .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                    .into_inner();
                if pred(&c) {
                    Ok(c)
                } else {
                    Err(format!("{:?}", summary(&c)))
                }
            }
        })
        .await
    }

    /// Polls `GetNodePool` (as `api`) until `pred` holds; returns the pool that satisfied it.
    pub async fn wait_pool(
        &self,
        api: &Api,
        cluster: &str,
        pool: &str,
        what: &str,
        pred: impl Fn(&pb::NodePool) -> bool,
    ) -> anyhow::Result<pb::NodePool> {
        let pred = &pred;
        wait_for(what, || {
            let mut pools = api.node_pools.clone();
            let (cluster, node_pool) = (cluster.to_owned(), pool.to_owned());
            async move {
                let p = pools
                    .get_node_pool(pb::GetNodePoolRequest {
                        project: String::new(),
                        cluster,
                        node_pool,
                    })
                    .await
                    .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                    .into_inner();
                if pred(&p) {
                    Ok(p)
                } else {
                    Err(format!("{:?}", p.status))
                }
            }
        })
        .await
    }

    /// Creates a valid cluster (see [`cluster_request`]) as `api` and waits until its control
    /// plane is ready and it is running.
    pub async fn running_cluster(
        &self,
        api: &Api,
        name: &str,
        version: &str,
    ) -> anyhow::Result<pb::Cluster> {
        let created = api
            .clusters
            .clone()
            .create_cluster(cluster_request(name, version))
            .await
            .with_context(|| format!("creating cluster {name}"))?
            .into_inner();
        let id = cluster_id(&created)?;
        self.wait_cluster(api, &id, &format!("cluster {name} running"), is_running)
            .await
    }
}

/// A valid `CreateClusterRequest` in [`REGION`] with the usual address plan (VPC 10.0.0.0/16,
/// pods 10.244.0.0/16 at /24 per node, services 10.96.0.0/12). An empty `version` asks for the
/// default.
pub fn cluster_request(name: &str, version: &str) -> pb::CreateClusterRequest {
    pb::CreateClusterRequest {
        project: String::new(),
        name: name.to_owned(),
        labels: Default::default(),
        spec: Some(pb::ClusterSpec {
            cni: None,
            kubernetes_version: version.to_owned(),
            region: REGION.to_owned(),
            network: Some(pb::ClusterNetwork {
                vpc_subnet: "10.0.0.0/16".to_owned(),
                pod_cidr: "10.244.0.0/16".to_owned(),
                service_cidr: "10.96.0.0/12".to_owned(),
                node_cidr_mask_size: 24,
            }),
            oidc: None,
            addons: Vec::new(),
            autoclusters: None,
        }),
    }
}

/// A `CreateNodePoolRequest` for `count` nodes of `instance_type` on `image` (empty: latest),
/// rolling with `max_surge` 1 and `max_unavailable` 0.
pub fn pool_request(
    cluster: &str,
    name: &str,
    instance_type: &str,
    count: u32,
    image: &str,
) -> pb::CreateNodePoolRequest {
    pb::CreateNodePoolRequest {
        project: String::new(),
        cluster: cluster.to_owned(),
        name: name.to_owned(),
        labels: Default::default(),
        spec: Some(pb::NodePoolSpec {
            cluster_id: String::new(),
            instance_type: instance_type.to_owned(),
            count,
            autoscaling: None,
            node_labels: Default::default(),
            taints: Vec::new(),
            image_version: image.to_owned(),
            rolling_update: Some(pb::RollingUpdate {
                max_surge: 1,
                max_unavailable: 0,
            }),
            remediation_enabled: None,
            ..Default::default()
        }),
    }
}

/// The id of a cluster (`cl-…`).
pub fn cluster_id(c: &pb::Cluster) -> anyhow::Result<String> {
    c.metadata
        .as_ref()
        .map(|m| m.id.clone())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| anyhow!("cluster without metadata.id"))
}

/// A condition of a cluster by type.
pub fn condition<'a>(c: &'a pb::Cluster, type_: &str) -> Option<&'a pb::Condition> {
    c.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|k| k.r#type == type_))
}

/// `ControlPlaneReady` is `True` and the phase is `running`.
pub fn is_running(c: &pb::Cluster) -> bool {
    condition(c, "ControlPlaneReady").is_some_and(|k| k.status == "True")
        && c.status.as_ref().is_some_and(|s| s.phase == "running")
}

/// A one-line view of a cluster for failure messages.
pub fn summary(c: &pb::Cluster) -> String {
    let Some(s) = &c.status else {
        return "no status".to_owned();
    };
    let replicas: Vec<String> = s
        .control_plane
        .iter()
        .map(|r| format!("{}@{}:{}:{}", r.name, r.failure_domain, r.state, r.version))
        .collect();
    let conditions: Vec<String> = s
        .conditions
        .iter()
        .map(|k| format!("{}={}({})", k.r#type, k.status, k.reason))
        .collect();
    format!(
        "phase={} current={} requested={} replicas={replicas:?} conditions={conditions:?}",
        s.phase, s.current_version, s.requested_version
    )
}

/// `<resource>.<event>` of an event (`cluster.created`), or its raw type if malformed.
pub fn kind(e: &CloudEvent) -> String {
    match e.type_parts() {
        Ok((resource, event, _)) => format!("{resource}.{event}"),
        Err(_) => e.r#type.clone(),
    }
}

/// Reads every event stored in `ACCORD_EVENTS` right now, oldest first: as many as the stream
/// holds, through [`Bus::watch_events`] from the start.
pub async fn stored_events(bus: &Bus) -> anyhow::Result<Vec<CloudEvent>> {
    let state = bus
        .stream_state(EVENTS_STREAM)
        .await
        .context("reading the stream state")?;
    let want = usize::try_from(state.messages).context("stream size")?;
    let mut out = Vec::with_capacity(want);
    if want == 0 {
        return Ok(out);
    }
    let mut stream = bus
        .watch_events(&accord_bus::subjects::events_all(), StartAt::All)
        .await
        .context("watching the events")?;
    while out.len() < want {
        match tokio::time::timeout(REQUEST_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(event))) => out.push(event),
            Ok(Some(Err(e))) => return Err(e).context("a stored event does not decode"),
            Ok(None) => bail!("the event stream ended after {} of {want}", out.len()),
            Err(_) => bail!("read {} of {want} stored events, then nothing", out.len()),
        }
    }
    Ok(out)
}

/// Where the built plugins are: `ACCORD_PLUGIN_DIR` (set by `cargo xtask test`), else the
/// plugins workspace's build directory.
pub fn plugin_dir() -> std::path::PathBuf {
    std::env::var_os("ACCORD_PLUGIN_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../plugins/target/wasm32-wasip2/release")
        })
}

/// Polls `check` until it returns `Ok` or the default deadline (10 s, or
/// `ACCORD_TEST_DEADLINE_SECS`) passes; the error names `what` and the last observation.
pub async fn wait_for<T, F, Fut>(what: &str, check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    eventually(default_deadline(), DEFAULT_POLL_INTERVAL, check)
        .await
        .map_err(|e| {
            anyhow!(
                "timed out after {:?} waiting for {what}; last observed: {}",
                e.elapsed,
                e.last
            )
        })
}

fn decode_reply(bytes: &[u8]) -> anyhow::Result<FaultReply> {
    serde_json::from_slice(bytes).with_context(|| {
        format!(
            "the fault reply is not a FaultReply: {}",
            String::from_utf8_lossy(bytes)
        )
    })
}
