//! [`SecuredEnv`]: a deployment whose NATS server requires authentication, as `accord up` runs
//! it — each service its own nkey user, customers their API key (the provisioner answers the
//! server's auth callout). The platform starts that nats-server itself (config and keys in a
//! temporary directory), with the provisioner and the simulated fleet.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use accord_bus::{Bus, BusAuth, BusError, CancellationToken, ConnectOptions};
use accord_nats_auth::{KeyRing, ServiceUser};
use accord_platform::{NatsAuth, Platform, ProvisionerSettings, Running};
use accord_sim::SimConfig;
use anyhow::{Context as _, anyhow};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::{Api, connect};

/// A deployment with NATS authentication on (see the module docs).
pub struct SecuredEnv {
    /// The NATS URL.
    pub nats_url: String,
    /// Every nkey of the deployment (services, the callout, the operator tool).
    pub keys: Arc<KeyRing>,
    /// The bootstrap project's id.
    pub project: String,
    /// Its Admin's API key.
    pub admin_token: String,
    /// The provider operator's API key.
    pub operator_token: String,
    channel: Channel,
    /// Where the provisioner's gRPC server listens.
    pub grpc_addr: SocketAddr,
    /// The local CA's certificate, when the deployment serves TLS.
    pub ca_file: Option<PathBuf>,
    shutdown: CancellationToken,
    running: Option<Running>,
    // Kept last: the server's files go when the platform has stopped.
    dir: tempfile::TempDir,
}

impl SecuredEnv {
    /// Starts nats-server with authentication in a temporary directory, the simulator and the
    /// provisioner (customers' grants live `grant_ttl`).
    pub async fn start(grant_ttl: Duration) -> anyhow::Result<SecuredEnv> {
        Self::start_with(grant_ttl, false).await
    }

    /// Like [`SecuredEnv::start`]; with `tls`, the gRPC server and nats-server serve TLS with
    /// a certificate of a local CA ([`SecuredEnv::ca_file`]), and every client verifies it.
    pub async fn start_with(grant_ttl: Duration, tls: bool) -> anyhow::Result<SecuredEnv> {
        let dir = tempfile::tempdir().context("a temporary directory")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("a free port for NATS")?
            .port();
        let nats_url = format!("nats://127.0.0.1:{port}");
        let mut auth = NatsAuth::in_dir(&dir.path().join("keys"))?;
        auth.grant_ttl = grant_ttl;
        let keys = Arc::clone(&auth.keys);
        let shutdown = CancellationToken::new();
        let tls = if tls {
            Some(accord_platform::tls::local_ca(
                &dir.path().join("tls"),
                &[],
            )?)
        } else {
            None
        };
        let mut platform = Platform::new(&nats_url);
        if let Some(t) = &tls {
            platform = platform.tls(t.clone());
        }
        let mut running = platform
            .start_nats_in(dir.path().join("nats"))
            .nats_auth(auth)
            .bus_options(crate::bus_options())
            .shutdown(shutdown.clone())
            .simulator(SimConfig::default().with_clock_factor(crate::CLOCK_FACTOR))
            .provisioner(ProvisionerSettings {
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                resync_interval: crate::RESYNC_INTERVAL,
                store: None,
                autoclusters: None,
                replica_grace: crate::REPLICA_GRACE,
            })
            .start()
            .await
            .context("starting the secured platform")?;
        let bootstrap = running
            .bootstrap
            .take()
            .ok_or_else(|| anyhow!("an empty store must mint bootstrap credentials"))?;
        let provisioner = running
            .provisioner
            .as_ref()
            .ok_or_else(|| anyhow!("the platform did not start the provisioner"))?;
        let channel = match &tls {
            None => connect(provisioner.grpc_addr, "the provisioner").await?,
            Some(t) => {
                let ca = std::fs::read_to_string(&t.ca_file)?;
                Endpoint::from_shared(format!(
                    "https://localhost:{}",
                    provisioner.grpc_addr.port()
                ))?
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))?
                .connect_timeout(Duration::from_secs(5))
                .connect()
                .await
                .context("connecting to the provisioner over TLS")?
            }
        };
        let grpc_addr = provisioner.grpc_addr;
        Ok(SecuredEnv {
            nats_url,
            keys,
            project: bootstrap.project.metadata.id.to_string(),
            admin_token: bootstrap.admin.token,
            operator_token: bootstrap.operator.token,
            channel,
            grpc_addr,
            ca_file: tls.map(|t| t.ca_file),
            shutdown,
            running: Some(running),
            dir,
        })
    }

    /// gRPC clients presenting `token`.
    pub fn api(&self, token: &str) -> anyhow::Result<Api> {
        Api::new(self.channel.clone(), token)
    }

    /// A NATS connection with `auth` (fails fast: one attempt window of 2 s).
    pub async fn connect(&self, name: &str, auth: Option<BusAuth>) -> Result<Bus, BusError> {
        Bus::connect_with(
            &self.nats_url,
            name,
            ConnectOptions::default()
                .with_connect_timeout(Duration::from_secs(2))
                .with_max_reconnect_delay(Duration::from_millis(100))
                .with_request_timeout(Duration::from_secs(2))
                .with_auth(auth)
                .with_tls_ca_file(self.ca_file.clone()),
        )
        .await
    }

    /// A NATS connection as `user` (a service's or the operator tool's nkey user).
    pub async fn connect_as(&self, user: ServiceUser) -> anyhow::Result<Bus> {
        let seed = self
            .keys
            .service(user)
            .seed()
            .map_err(|e| anyhow!("the seed of {user}: {e}"))?;
        self.connect(user.name(), Some(BusAuth::Nkey(seed)))
            .await
            .with_context(|| format!("connecting as {user}"))
    }

    /// The file the operator tool's nkey seed is in (what `accord up` puts in the operator
    /// profile).
    pub fn operator_seed_file(&self) -> PathBuf {
        self.keys.service_seed_path(ServiceUser::CliOperator)
    }

    /// The platform's files (the NATS config, log and keys).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for SecuredEnv {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Dropping the platform aborts its tasks and kills the nats-server it started.
        self.running.take();
    }
}
