//! The platform composer: the one place that assembles a running Accord — a NATS server (used
//! or started), the simulated fleet (driver, node agents, fault server) and any set of services
//! — and hands back their endpoints and one handle to wait on. `accord up`, the standalone
//! service binaries (`src/bin/`), the end-to-end harness and the benchmarks all build through
//! [`Platform`]; a new service is added here once and every caller gets it.
//!
//! Each service gets its own NATS connection (named after the service) and its own store:
//! `<data-dir>/data/<service>` with [`Platform::data_dir`], a temporary store otherwise, or one
//! the caller hands over (a restart on the same store).
//!
//! Invariant: this crate decides nothing about a service; it only wires what the services'
//! `start` functions ask for, in dependency order (simulator → provisioner → the others).

mod credentials;
pub mod nats;
pub mod tls;

pub use credentials::NatsAuth;

pub use tls::PlatformTls;

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use accord_bus::{Bus, ConnectOptions};
pub use accord_plugin_host::HostConfig;
use accord_runtime::{Basics, Started, metrics::Metrics};
use accord_sim::{
    SimConfig, SimFleet,
    storage::{SimStorage, StorageSimConfig},
    vpc::{SimVpc, VpcConfig},
};
use accord_store::Store;
use anyhow::{Context as _, anyhow, bail};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use accord_addon_manager::AddonManager;
pub use accord_health::HealthConfig;
pub use accord_image_builder::{ImageBuilder, load_or_create_signing_key};
pub use accord_network_firewall::FirewallService;
pub use accord_provisioner::{
    Bootstrap, Provisioner,
    autoclusters::{Options as AutoClustersOptions, execute::Timeouts as RemediationTimeouts},
};
pub use accord_storage_csi::StorageService;
pub use accord_support_triage::{NotifySettings, RuleSet, SupportDesk};
pub use accord_telemetry::Telemetry;

/// gRPC package of the provisioner's services.
pub const PROVISIONER_PACKAGE: &str = "accord.provisioner.v1";
/// gRPC package of the addon-manager's service.
pub const ADDONS_PACKAGE: &str = "accord.addons.v1";
/// gRPC package of support-triage's service.
pub const SUPPORT_PACKAGE: &str = "accord.support.v1";
/// gRPC package of the telemetry service's service.
pub const TELEMETRY_PACKAGE: &str = "accord.telemetry.v1";
/// gRPC package of network-firewall's service.
pub const FIREWALL_PACKAGE: &str = "accord.firewall.v1";
/// gRPC package of storage-csi's service.
pub const STORAGE_PACKAGE: &str = "accord.storage.v1";
/// gRPC package of image-builder's service.
pub const IMAGES_PACKAGE: &str = "accord.images.v1";

/// The provisioner's part.
#[derive(Debug, Clone)]
pub struct ProvisionerSettings {
    pub grpc_addr: SocketAddr,
    /// How often every cluster is reconciled without news.
    pub resync_interval: Duration,
    /// A store to use instead of the platform's choice.
    pub store: Option<Store>,
    /// AutoClusters (health findings → remediations); `None` leaves findings to others.
    pub autoclusters: Option<AutoClustersOptions>,
    /// How long a control-plane replica stays down before the provider rebuilds it.
    pub replica_grace: Duration,
}

/// The addon-manager's part.
#[derive(Debug, Clone)]
pub struct AddonManagerSettings {
    pub grpc_addr: SocketAddr,
    /// Directory of the shipped add-on components.
    pub plugin_dir: PathBuf,
    /// Which add-ons of that directory ship.
    pub shipped_addons: Vec<String>,
    pub host_config: HostConfig,
    pub store: Option<Store>,
    /// Where clusters reach the Accord API (`platform.apiEndpoint` for the add-ons). Empty:
    /// the in-process provisioner's gRPC address when there is one, it serves TLS and it is
    /// IPv4 (a wildcard bind becomes `127.0.0.1`), else none (the autoscaler add-on refuses to
    /// render).
    pub api_endpoint: String,
}

/// support-triage's part.
#[derive(Debug, Clone)]
pub struct SupportTriageSettings {
    pub grpc_addr: SocketAddr,
    pub rules: RuleSet,
    pub store: Option<Store>,
    /// Customer webhook notifications (`allow_loopback`: local use and tests only).
    pub notify: NotifySettings,
}

/// The telemetry service's part.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    pub grpc_addr: SocketAddr,
    /// The health checks' settings.
    pub health: HealthConfig,
    /// Where the customer metrics endpoint listens (port 0 picks one); `None`: not served.
    pub cluster_metrics_addr: Option<SocketAddr>,
    pub store: Option<Store>,
}

/// The network-firewall service's part (it drives the simulator's VPC).
#[derive(Debug, Clone)]
pub struct NetworkFirewallSettings {
    pub grpc_addr: SocketAddr,
    /// How often every cluster's VPC firewall is compared with its rule set.
    pub reconcile_interval: Duration,
    pub store: Option<Store>,
}

impl NetworkFirewallSettings {
    /// Defaults: the service's reconcile interval.
    pub fn new(grpc_addr: SocketAddr) -> Self {
        Self {
            grpc_addr,
            reconcile_interval: accord_network_firewall::DEFAULT_RECONCILE_INTERVAL,
            store: None,
        }
    }
}

/// The storage-csi service's part (it drives the simulator's storage back ends).
#[derive(Debug, Clone)]
pub struct StorageCsiSettings {
    pub grpc_addr: SocketAddr,
    /// How often operations in flight are polled when nothing wakes the reconciler.
    pub reconcile_interval: Duration,
    /// Quotas and the migration throughput dry runs assume.
    pub settings: accord_storage_csi::Settings,
    /// The clock factor of the simulated storage it starts when the platform runs no simulator
    /// (with one, the simulator's storage and clock are used).
    pub sim_clock_factor: f64,
    pub store: Option<Store>,
}

impl StorageCsiSettings {
    /// Defaults: the service's reconcile interval, default quotas, real-time storage.
    pub fn new(grpc_addr: SocketAddr) -> Self {
        Self {
            grpc_addr,
            reconcile_interval: accord_storage_csi::DEFAULT_RECONCILE_INTERVAL,
            settings: accord_storage_csi::Settings::default(),
            sim_clock_factor: 1.0,
            store: None,
        }
    }
}

/// image-builder's part.
#[derive(Clone)]
pub struct ImageBuilderSettings {
    pub grpc_addr: SocketAddr,
    /// The provider's Ed25519 signing key.
    pub signing_key: accord_image::SigningKey,
    /// Simulated build-farm time per build stage.
    pub stage_duration: Duration,
    /// The compatibility matrix (YAML); `None`: the one shipped with `accord-image`.
    pub matrix_yaml: Option<String>,
    /// The package archive (YAML) a build without a manifest is resolved against; `None`: the
    /// one shipped with `accord-image`.
    pub archive_yaml: Option<String>,
    /// The instance types manifests may name; `None`: the simulator's catalogue (the running
    /// fleet's when the platform runs the simulator).
    pub instance_types: Option<Vec<String>>,
    pub store: Option<Store>,
}

impl std::fmt::Debug for ImageBuilderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageBuilderSettings")
            .field("grpc_addr", &self.grpc_addr)
            .field("key_id", &accord_image::key_id(&self.verifying_key()))
            .field("stage_duration", &self.stage_duration)
            .field("instance_types", &self.instance_types)
            .finish_non_exhaustive()
    }
}

impl ImageBuilderSettings {
    /// Defaults: the service's stage duration, the shipped matrix, the simulator's catalogue.
    pub fn new(grpc_addr: SocketAddr, signing_key: accord_image::SigningKey) -> Self {
        Self {
            grpc_addr,
            signing_key,
            stage_duration: accord_image_builder::DEFAULT_STAGE_DURATION,
            matrix_yaml: None,
            archive_yaml: None,
            instance_types: None,
            store: None,
        }
    }

    /// The public key every image's signature verifies with (what the provisioner is given).
    pub fn verifying_key(&self) -> accord_image::VerifyingKey {
        self.signing_key.verifying_key()
    }
}

impl AddonManagerSettings {
    /// The core add-ons from `plugin_dir`, default sandbox limits.
    pub fn shipped(grpc_addr: SocketAddr, plugin_dir: PathBuf) -> Self {
        Self {
            grpc_addr,
            plugin_dir,
            shipped_addons: accord_core::cluster::CORE_ADDONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            host_config: HostConfig::default(),
            store: None,
            api_endpoint: String::new(),
        }
    }

    /// These settings with the Accord API endpoint clusters use.
    pub fn with_api_endpoint(mut self, api_endpoint: impl Into<String>) -> Self {
        self.api_endpoint = api_endpoint.into();
        self
    }
}

/// The addon-manager's `api_endpoint`: the configured one, else the in-process provisioner's
/// gRPC address when it serves TLS (`grpc_tls`: the endpoint is `https://`, so a plaintext
/// server would be named wrongly) and is IPv4 (the endpoint's host must be a DNS name or dotted
/// quad, the autoscaler plugin's rule; a wildcard bind means this host), else none.
fn api_endpoint(configured: &str, provisioner: Option<SocketAddr>, grpc_tls: bool) -> String {
    match provisioner {
        Some(addr) if configured.is_empty() && grpc_tls && addr.is_ipv4() => {
            let ip = match addr.ip() {
                ip if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
                ip => ip,
            };
            format!("https://{}", SocketAddr::new(ip, addr.port()))
        }
        _ => configured.to_owned(),
    }
}

/// Where NATS comes from.
#[derive(Debug, Clone)]
enum NatsSource {
    /// Use the server at this URL.
    Existing,
    /// Start one in this directory when none answers at the URL.
    StartIn(PathBuf),
}

/// The builder (see the crate docs).
pub struct Platform {
    nats_url: String,
    nats: NatsSource,
    data_dir: Option<PathBuf>,
    bus_options: ConnectOptions,
    metrics: Option<Metrics>,
    metrics_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    sim: Option<SimConfig>,
    provisioner: Option<ProvisionerSettings>,
    addon_manager: Option<AddonManagerSettings>,
    support_triage: Option<SupportTriageSettings>,
    telemetry: Option<TelemetrySettings>,
    network_firewall: Option<NetworkFirewallSettings>,
    /// A simulated VPC started elsewhere (another platform of the same deployment).
    vpc: Option<Arc<SimVpc>>,
    storage_csi: Option<StorageCsiSettings>,
    image_builder: Option<ImageBuilderSettings>,
    /// Simulated storage started elsewhere (another platform of the same deployment).
    storage: Option<Arc<SimStorage>>,
    /// The image-signing public key the provisioner trusts (default: the key of the
    /// image-builder this platform runs).
    image_key: Option<accord_image::VerifyingKey>,
    /// NATS authentication: each service's nkey user, the callout answered by the provisioner.
    nats_auth: Option<NatsAuth>,
    /// TLS of every gRPC server and of the nats-server the platform starts.
    tls: Option<PlatformTls>,
    /// The gRPC servers' certificate and key (a standalone service's own, or `tls`'s).
    grpc_tls: Option<accord_runtime::tls::TlsIdentity>,
    /// A directory of seed files `<user>.nk`: each connection uses its own user's (a
    /// standalone service's credentials; see `RuntimeConfig::nats_credentials_dir`).
    nats_credentials_dir: Option<PathBuf>,
    /// Replicas of the JetStream streams the services create.
    stream_replicas: usize,
}

/// A started service.
pub struct ServiceHandle<T> {
    /// Where its gRPC server listens.
    pub grpc_addr: SocketAddr,
    /// Its engine, for in-process callers and tests.
    pub engine: Arc<T>,
}

impl<T> Clone for ServiceHandle<T> {
    fn clone(&self) -> Self {
        Self {
            grpc_addr: self.grpc_addr,
            engine: Arc::clone(&self.engine),
        }
    }
}

/// A running platform.
pub struct Running {
    /// The NATS URL everything uses.
    pub nats_url: String,
    /// Whether the platform started that NATS server (it stops with the platform).
    pub nats_started: bool,
    /// The name of a NATS server that answered at the URL but that this deployment did not
    /// start (its JetStream data is shared with whatever else uses it).
    pub nats_foreign: Option<String>,
    /// The simulated fleet, when the platform runs it.
    pub fleet: Option<Arc<SimFleet>>,
    pub provisioner: Option<ServiceHandle<Provisioner>>,
    /// Credentials minted because the provisioner's store was empty (shown once).
    pub bootstrap: Option<Bootstrap>,
    pub addon_manager: Option<ServiceHandle<AddonManager>>,
    pub support_triage: Option<ServiceHandle<SupportDesk>>,
    pub telemetry: Option<ServiceHandle<Telemetry>>,
    pub network_firewall: Option<ServiceHandle<FirewallService>>,
    pub storage_csi: Option<ServiceHandle<StorageService>>,
    pub image_builder: Option<ServiceHandle<ImageBuilder>>,
    /// The simulated cloud network (VPC firewall, load balancers), with the fleet.
    pub vpc: Option<Arc<SimVpc>>,
    /// The simulated storage back ends (disks, shared filesystems, migrations), with the
    /// fleet; the simulator's fault server routes the storage faults to it.
    pub storage: Option<Arc<SimStorage>>,
    /// Where `/metrics` is served, when asked for.
    pub metrics_addr: Option<SocketAddr>,
    /// Cancels everything.
    pub shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    nats: Option<tokio::process::Child>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("nats_url", &self.nats_url)
            .field("endpoints", &self.endpoints())
            .finish_non_exhaustive()
    }
}

impl Platform {
    /// A platform on the NATS server at `nats_url`, with temporary stores and no services yet.
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            nats: NatsSource::Existing,
            data_dir: None,
            bus_options: ConnectOptions::default(),
            metrics: None,
            metrics_addr: None,
            shutdown: CancellationToken::new(),
            sim: None,
            provisioner: None,
            addon_manager: None,
            support_triage: None,
            telemetry: None,
            network_firewall: None,
            vpc: None,
            storage_csi: None,
            image_builder: None,
            storage: None,
            image_key: None,
            nats_auth: None,
            tls: None,
            grpc_tls: None,
            nats_credentials_dir: None,
            stream_replicas: 1,
        }
    }

    /// Makes the provisioner trust `key` for image signatures (when the image-builder runs
    /// elsewhere; with one in this platform, its key is trusted by default).
    pub fn image_key(mut self, key: accord_image::VerifyingKey) -> Self {
        self.image_key = Some(key);
        self
    }

    /// Starts a nats-server (JetStream in `dir`, `sync_interval: always`) when none answers at
    /// the URL.
    pub fn start_nats_in(mut self, dir: impl Into<PathBuf>) -> Self {
        self.nats = NatsSource::StartIn(dir.into());
        self
    }

    /// Keeps every store (and the simulator's fleet) under `dir`.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// NATS connection options of every service.
    pub fn bus_options(mut self, options: ConnectOptions) -> Self {
        self.bus_options = options;
        self
    }

    /// One metrics registry for every service (default: one per service).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Serves `/metrics` of the shared registry on `addr`.
    pub fn serve_metrics(mut self, addr: SocketAddr) -> Self {
        self.metrics_addr = Some(addr);
        self
    }

    /// Cancelling `token` stops everything.
    pub fn shutdown(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// Runs the simulated fleet (the provisioner's driver), its node agents and fault server.
    pub fn simulator(mut self, config: SimConfig) -> Self {
        self.sim = Some(config);
        self
    }

    pub fn provisioner(mut self, settings: ProvisionerSettings) -> Self {
        self.provisioner = Some(settings);
        self
    }

    pub fn addon_manager(mut self, settings: AddonManagerSettings) -> Self {
        self.addon_manager = Some(settings);
        self
    }

    pub fn support_triage(mut self, settings: SupportTriageSettings) -> Self {
        self.support_triage = Some(settings);
        self
    }

    pub fn telemetry(mut self, settings: TelemetrySettings) -> Self {
        self.telemetry = Some(settings);
        self
    }

    /// Drives `vpc` (started by another platform of this deployment, with its fleet) instead
    /// of a VPC of its own, when this platform runs no simulator.
    pub fn vpc(mut self, vpc: Arc<SimVpc>) -> Self {
        self.vpc = Some(vpc);
        self
    }

    /// Runs network-firewall: with the simulator, on its VPC (attached to the fleet: blocked
    /// required flows make nodes NotReady); without, on a simulated VPC of its own.
    pub fn network_firewall(mut self, settings: NetworkFirewallSettings) -> Self {
        self.network_firewall = Some(settings);
        self
    }

    /// Drives `storage` (started by another platform of this deployment, with its fleet)
    /// instead of simulated storage of its own, when this platform runs no simulator.
    pub fn storage(mut self, storage: Arc<SimStorage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Runs storage-csi: with the simulator, on its storage back ends (faults routed by its
    /// fault server); without, on simulated storage of its own (state beside its data).
    pub fn storage_csi(mut self, settings: StorageCsiSettings) -> Self {
        self.storage_csi = Some(settings);
        self
    }

    /// Runs image-builder (started after the provisioner: its first start publishes the base
    /// release the provisioner learns its images from).
    pub fn image_builder(mut self, settings: ImageBuilderSettings) -> Self {
        self.image_builder = Some(settings);
        self
    }

    /// The store, bus, metrics and shutdown of `service`.
    async fn basics(
        &self,
        service: &str,
        grpc_addr: SocketAddr,
        store: Option<Store>,
    ) -> anyhow::Result<Basics> {
        let store = match (store, &self.data_dir) {
            (Some(store), _) => store,
            (None, Some(dir)) => {
                let path = dir.join("data").join(service);
                Store::open(&path)
                    .with_context(|| format!("opening the {service} store {}", path.display()))?
            }
            (None, None) => {
                Store::temporary().with_context(|| format!("a temporary {service} store"))?
            }
        };
        Ok(Basics {
            grpc_addr,
            store,
            bus: self.bus_for(service).await?,
            metrics: self
                .metrics
                .clone()
                .unwrap_or_else(|| Metrics::new(service)),
            shutdown: self.shutdown.clone(),
            tls: self.grpc_tls.clone(),
            stream_replicas: self.stream_replicas,
        })
    }

    /// A server already answers at the URL: this deployment's own is used; another Accord
    /// deployment's is refused (its streams hold that deployment's events); any other is used
    /// and reported (returned), so `accord up` can say so.
    async fn check_existing_nats(&self, dir: &std::path::Path) -> anyhow::Result<Option<String>> {
        let ours = nats::server_name(dir)?;
        let probe = self.bus_for("accord-probe").await?;
        let reported = probe.server_name();
        match nats::classify(&reported, &ours) {
            nats::Existing::Ours => Ok(None),
            nats::Existing::OtherDeployment(name) => bail!(
                "the NATS server at {} belongs to another Accord deployment ({name}; this one is \
                 {ours}): its streams hold that deployment's events. Stop it, or give this \
                 deployment its own server with --nats-url",
                self.nats_url
            ),
            nats::Existing::Foreign(name) => {
                tracing::warn!(url = %self.nats_url, server = %name, "using a NATS server this deployment did not start; its JetStream data is shared with whatever else uses it");
                Ok(Some(name))
            }
        }
    }

    async fn bus_for(&self, service: &str) -> anyhow::Result<Bus> {
        let mut options = self.bus_options.clone();
        // The CA of the server this platform started (a standalone service's comes with the
        // bus options, from `nats_ca_file`).
        if let Some(tls) = &self.tls {
            options = options.with_tls_ca_file(Some(tls.ca_file.clone()));
        }
        if let Some(auth) = &self.nats_auth {
            options = options.with_auth(Some(accord_bus::BusAuth::Nkey(auth.seed_of(service)?)));
        } else if let Some(seed) = self.seed_from_dir(service)? {
            options = options.with_auth(Some(accord_bus::BusAuth::Nkey(seed)));
        }
        Bus::connect_with(&self.nats_url, service, options)
            .await
            .with_context(|| format!("connecting the {service} to NATS at {}", self.nats_url))
    }

    /// Starts everything asked for, in dependency order.
    pub async fn start(self) -> anyhow::Result<Running> {
        if self.provisioner.is_some() && self.sim.is_none() {
            bail!("the provisioner needs an infrastructure driver: add the simulator");
        }
        let mut tasks = JoinSet::new();
        let shutdown = self.shutdown.clone();
        let mut nats_child = None;
        let mut nats_foreign = None;
        if let NatsSource::StartIn(dir) = &self.nats {
            if nats::reachable(&self.nats_url) {
                nats_foreign = self.check_existing_nats(dir).await?;
            } else {
                let keys = self.nats_auth.as_ref().map(|a| a.keys.as_ref());
                nats_child = Some(nats::start(&self.nats_url, dir, keys, self.tls.as_ref()).await?);
            }
        }
        let nats_started = nats_child.is_some();

        let metrics_addr = match (self.metrics_addr, &self.metrics) {
            (Some(addr), Some(m)) => {
                let (bound, _task) =
                    accord_runtime::metrics::serve(addr, m.clone(), shutdown.clone())
                        .await
                        .context("starting /metrics")?;
                Some(bound)
            }
            (Some(_), None) => bail!("serve_metrics needs a shared registry (Platform::metrics)"),
            _ => None,
        };

        let sim = match &self.sim {
            Some(config) => {
                let mut config = config.clone();
                if let Some(dir) = &self.data_dir {
                    config = config.with_state_file(dir.join("sim").join("fleet.json"));
                }
                let vpc_config = VpcConfig::for_fleet(&config);
                let fleet =
                    Arc::new(SimFleet::new(config).context("starting the simulated fleet")?);
                let vpc = Arc::new(SimVpc::new(vpc_config).context("starting the simulated VPC")?);
                vpc.attach_fleet(&fleet);
                let storage = Arc::new(
                    SimStorage::for_fleet(&fleet).context("starting the simulated storage")?,
                );
                let bus = self.bus_for("simulator").await?;
                let (f, b, s) = (fleet.clone(), bus.clone(), shutdown.clone());
                tasks.spawn(async move {
                    accord_sim::run_agents(f, b, s).await;
                    Ok(())
                });
                let (f, v, st, s) = (
                    fleet.clone(),
                    vpc.clone(),
                    storage.clone(),
                    shutdown.clone(),
                );
                tasks.spawn(async move {
                    accord_sim::fault_server::serve_faults_to(f, Some(v), Some(st), bus, s)
                        .await
                        .context("the simulator's fault server")
                });
                Some((fleet, vpc, storage))
            }
            None => None,
        };
        let storage = match sim.as_ref().map(|(_, _, storage)| Arc::clone(storage)) {
            Some(storage) => Some(storage),
            None if self.storage.is_some() => self.storage.clone(),
            None => match &self.storage_csi {
                Some(settings) => {
                    let mut config =
                        StorageSimConfig::default().with_clock_factor(settings.sim_clock_factor);
                    if let Some(dir) = &self.data_dir {
                        config = config.with_state_file(dir.join("sim").join("storage.json"));
                    }
                    let storage =
                        SimStorage::new(config).context("starting the simulated storage")?;
                    Some(Arc::new(storage))
                }
                None => None,
            },
        };
        let (fleet, vpc) = match sim {
            Some((fleet, vpc, _)) => (Some(fleet), Some(vpc)),
            // network-firewall on its own drives a simulated VPC of its own, with no fleet
            // behind it (nodes are not affected by what it applies).
            None if self.vpc.is_some() => (None, self.vpc.clone()),
            None if self.network_firewall.is_some() => {
                let mut config = VpcConfig::default();
                if let Some(dir) = &self.data_dir {
                    config = config.with_state_file(dir.join("sim").join("vpc.json"));
                }
                let vpc = SimVpc::new(config).context("starting the simulated VPC")?;
                (None, Some(Arc::new(vpc)))
            }
            None => (None, None),
        };

        let mut provisioner = None;
        let mut bootstrap = None;
        if let (Some(settings), Some(fleet)) = (self.provisioner.clone(), &fleet) {
            let service = accord_provisioner::SERVICE;
            let running = accord_provisioner::start(accord_provisioner::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                driver: fleet.clone(),
                resync_interval: settings.resync_interval,
                autoclusters: settings.autoclusters,
                replica_grace: settings.replica_grace,
                image_key: self.image_key.or_else(|| {
                    self.image_builder
                        .as_ref()
                        .map(ImageBuilderSettings::verifying_key)
                }),
                nats_callout: match &self.nats_auth {
                    Some(auth) => Some(accord_provisioner::nats_callout::NatsCallout {
                        url: self.nats_url.clone(),
                        user_seed: auth
                            .keys
                            .callout_user()
                            .seed()
                            .map_err(|e| anyhow!("the auth-callout user's seed: {e}"))?,
                        issuer: auth.keys.issuer(),
                        grant_ttl: auth.grant_ttl,
                        tls_ca_file: self.tls.as_ref().map(|t| t.ca_file.clone()),
                    }),
                    None => self.callout_from_dir()?,
                },
            })
            .await
            .context("starting the provisioner")?;
            bootstrap = running.bootstrap;
            provisioner = Some(adopt(&mut tasks, running.service));
        }

        let mut image_builder = None;
        if let Some(settings) = self.image_builder.clone() {
            let service = accord_image_builder::SERVICE;
            let instance_types: Vec<String> = settings.instance_types.unwrap_or_else(|| {
                let catalog = fleet
                    .as_ref()
                    .map_or_else(accord_sim::default_catalog, |f| f.catalog_ref().clone());
                catalog.instance_types.into_iter().map(|t| t.name).collect()
            });
            let running = accord_image_builder::start(accord_image_builder::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                settings: accord_image_builder::Settings {
                    signing_key: settings.signing_key,
                    instance_types: instance_types.clone(),
                    stage_duration: settings.stage_duration,
                    matrix_yaml: settings.matrix_yaml,
                    archive_yaml: settings.archive_yaml,
                },
            })
            .await
            .context("starting image-builder")?;
            image_builder = Some(adopt(&mut tasks, running));
            // No node can be created before the provisioner has learnt images: wait (bounded)
            // until it knows the base release from image-builder's events.
            if let Some(p) = &provisioner {
                let expected = accord_image::default_base(&instance_types)
                    .map(|b| b.manifests.len())
                    .unwrap_or(1);
                let reader = p.engine.reader().clone();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                loop {
                    let known = accord_provisioner::images::all(&reader)
                        .map(|i| i.len())
                        .unwrap_or(0);
                    if known >= expected {
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        tracing::warn!(
                            known,
                            expected,
                            "the provisioner has not learnt the base release's images yet; pools wait for them"
                        );
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }

        let mut addon_manager = None;
        if let Some(settings) = self.addon_manager.clone() {
            let service = accord_addon_manager::SERVICE;
            let running = accord_addon_manager::start(accord_addon_manager::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                plugin_dir: settings.plugin_dir,
                shipped_addons: settings.shipped_addons,
                host_config: settings.host_config,
                api_endpoint: api_endpoint(
                    &settings.api_endpoint,
                    provisioner.as_ref().map(|p| p.grpc_addr),
                    self.grpc_tls.is_some(),
                ),
            })
            .await
            .context("starting the addon-manager")?;
            addon_manager = Some(adopt(&mut tasks, running));
        }

        let mut support_triage = None;
        if let Some(settings) = self.support_triage.clone() {
            let service = accord_support_triage::SERVICE;
            let running = accord_support_triage::start(accord_support_triage::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                rules: settings.rules,
                notify: settings.notify,
            })
            .await
            .context("starting support-triage")?;
            support_triage = Some(adopt(&mut tasks, running));
        }

        let mut telemetry = None;
        if let Some(settings) = self.telemetry.clone() {
            let service = accord_telemetry::SERVICE;
            let running = accord_telemetry::start(accord_telemetry::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                health: settings.health,
                cluster_metrics_addr: settings.cluster_metrics_addr,
            })
            .await
            .context("starting the telemetry service")?;
            telemetry = Some(adopt(&mut tasks, running));
        }

        let mut network_firewall = None;
        if let (Some(settings), Some(vpc)) = (self.network_firewall.clone(), &vpc) {
            let service = accord_network_firewall::SERVICE;
            let running = accord_network_firewall::start(accord_network_firewall::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                driver: vpc.clone(),
                reconcile_interval: settings.reconcile_interval,
            })
            .await
            .context("starting network-firewall")?;
            network_firewall = Some(adopt(&mut tasks, running));
        }

        let mut storage_csi = None;
        if let (Some(settings), Some(storage)) = (self.storage_csi.clone(), &storage) {
            let service = accord_storage_csi::SERVICE;
            let running = accord_storage_csi::start(accord_storage_csi::StartOptions {
                basics: self
                    .basics(service, settings.grpc_addr, settings.store)
                    .await?,
                driver: storage.clone(),
                settings: settings.settings,
                reconcile_interval: settings.reconcile_interval,
            })
            .await
            .context("starting storage-csi")?;
            storage_csi = Some(adopt(&mut tasks, running));
        }

        Ok(Running {
            nats_url: self.nats_url,
            nats_started,
            nats_foreign,
            fleet,
            provisioner,
            bootstrap,
            addon_manager,
            support_triage,
            telemetry,
            network_firewall,
            storage_csi,
            image_builder,
            vpc,
            storage,
            metrics_addr,
            shutdown,
            tasks,
            nats: nats_child,
        })
    }
}

/// Moves a service's tasks into the platform's set (one handle for everything) and keeps its
/// address and engine.
fn adopt<T>(into: &mut JoinSet<anyhow::Result<()>>, started: Started<T>) -> ServiceHandle<T> {
    let Started {
        grpc_addr,
        engine,
        tasks: mut from,
    } = started;
    into.spawn(async move {
        // The first task to end decides: a critical task fails only with an error.
        if let Some(done) = from.join_next().await {
            done.map_err(|e| anyhow::anyhow!("a service task panicked: {e}"))??;
        }
        while let Some(done) = from.join_next().await {
            done.map_err(|e| anyhow::anyhow!("a service task panicked: {e}"))??;
        }
        Ok(())
    });
    ServiceHandle { grpc_addr, engine }
}

impl Running {
    /// Every served gRPC package and where it is served.
    pub fn endpoints(&self) -> BTreeMap<&'static str, SocketAddr> {
        let mut out = BTreeMap::new();
        if let Some(p) = &self.provisioner {
            out.insert(PROVISIONER_PACKAGE, p.grpc_addr);
        }
        if let Some(a) = &self.addon_manager {
            out.insert(ADDONS_PACKAGE, a.grpc_addr);
        }
        if let Some(s) = &self.support_triage {
            out.insert(SUPPORT_PACKAGE, s.grpc_addr);
        }
        if let Some(t) = &self.telemetry {
            out.insert(TELEMETRY_PACKAGE, t.grpc_addr);
        }
        if let Some(f) = &self.network_firewall {
            out.insert(FIREWALL_PACKAGE, f.grpc_addr);
        }
        if let Some(s) = &self.storage_csi {
            out.insert(STORAGE_PACKAGE, s.grpc_addr);
        }
        if let Some(i) = &self.image_builder {
            out.insert(IMAGES_PACKAGE, i.grpc_addr);
        }
        out
    }

    /// Runs until shutdown or until any task ends with an error (then stops everything), gives
    /// the rest `grace`, stops a NATS server the platform started, and returns the first error.
    pub async fn join(mut self, grace: Duration) -> anyhow::Result<()> {
        let tasks = std::mem::take(&mut self.tasks);
        let outcome = accord_runtime::process::supervise(tasks, self.shutdown.clone(), grace).await;
        if let Some(mut child) = self.nats.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        outcome
    }

    /// Stops everything now (tests): cancels and aborts every task.
    pub fn abort(&mut self) {
        self.shutdown.cancel();
        self.tasks.abort_all();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_endpoint_defaults_to_the_in_process_provisioner_on_ipv4_with_tls() {
        let addr = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert_eq!(
            api_endpoint("https://api.example", addr("127.0.0.1:50051"), true),
            "https://api.example"
        );
        assert_eq!(
            api_endpoint("", addr("127.0.0.1:50051"), true),
            "https://127.0.0.1:50051"
        );
        assert_eq!(
            api_endpoint("", addr("0.0.0.0:50051"), true),
            "https://127.0.0.1:50051"
        );
        assert_eq!(api_endpoint("", addr("[::1]:50051"), true), "");
        assert_eq!(api_endpoint("", None, true), "");
    }

    #[test]
    fn api_endpoint_is_not_derived_from_a_plaintext_provisioner() {
        let addr = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert_eq!(api_endpoint("", addr("127.0.0.1:50051"), false), "");
        assert_eq!(
            api_endpoint("https://api.example", addr("127.0.0.1:50051"), false),
            "https://api.example"
        );
    }
}
