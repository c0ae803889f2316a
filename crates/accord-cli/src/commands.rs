//! The commands: one module per command group, one dispatch point ([`run`]) over the closed
//! [`Command`] enum.
//!
//! Each command builds its requests from the parsed arguments (request building is a pure
//! function where it is more than a field copy, and tested as such), calls the API through
//! [`Context::api`], and prints through [`Context::printer`] in the chosen [`OutputFormat`].
//!
//! Invariant: connecting happens inside the command that needs it, so commands that need no API
//! (`events`, `sim`, `plugin`, `triage`, `firewall`, `health check`, `nats-credentials`, `up`,
//! `completion`) work without a token,
//! and a missing token is reported only when a call would need it.

pub mod addon;
pub mod apply;
pub mod catalog;
pub mod completion;
pub mod cordon;
pub mod create;
pub mod cycle;
pub mod delete;
pub mod describe;
pub mod events;
pub mod firewall;
pub mod get;
pub mod health;
pub mod images;
pub mod kubeconfig;
pub mod kubeconfig_file;
pub mod lookup;
pub mod migration;
pub mod nats_credentials;
pub mod nfs;
pub mod plugin;
pub mod quota;
pub mod remediation;
pub mod rollout;
pub mod scale;
pub mod sim;
pub mod snapshots;
pub mod storage_classes;
pub mod ticket;
pub mod triage;
pub mod up;
pub mod upgrade;
pub mod volumes;
pub mod watch;
pub mod webhook;
pub mod whoami;

/// What the offline commands' tests share: a context that needs no server and no token, and
/// input files.
#[cfg(test)]
pub(crate) mod offline_testing {
    use std::sync::{Arc, Mutex};

    use super::Context;
    use crate::cli::OutputFormat;
    use crate::output::{Captured, Printer};

    /// A context whose output is captured; nothing listens at its endpoint and it has no token,
    /// so an offline command must need neither.
    pub(crate) fn context() -> (Context, Arc<Mutex<Captured>>) {
        let (printer, captured) = Printer::capture();
        let ctx = Context {
            settings: crate::config::Settings::new("http://127.0.0.1:1", None),
            format: OutputFormat::Table,
            printer,
        };
        (ctx, captured)
    }

    /// A temporary file holding `text`.
    pub(crate) fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("temp file: {e}"));
        std::fs::write(file.path(), text).unwrap_or_else(|e| panic!("writing a temp file: {e}"));
        file
    }
}

use std::future::Future;
use std::time::Duration;

use accord_bus::{Bus, BusAuth, BusError, ConnectOptions};
use accord_proto::provisioner::v1 as pb;
use anyhow::{Context as _, anyhow};
use futures::future::BoxFuture;
use time::OffsetDateTime;

use crate::cli::{Command, CycleKind, OutputFormat, ScaleKind, WaitArgs};
use crate::client::{Api, ApiError};
use crate::config::Settings;
use crate::output::{Printer, Resource, structured};
use crate::wait::{self, Verdict};

/// How long connecting to NATS may take.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What every command gets: settings, output format, where to print.
#[derive(Debug, Clone)]
pub struct Context {
    /// Resolved connection settings.
    pub settings: Settings,
    /// `-o`.
    pub format: OutputFormat,
    /// stdout / stderr.
    pub printer: Printer,
}

impl Context {
    /// A context printing to the terminal.
    pub fn new(settings: Settings, format: OutputFormat) -> Context {
        Context {
            settings,
            format,
            printer: Printer::stdio(),
        }
    }

    /// An API client of `endpoint` (https: verified against the profile's `ca_file`, else
    /// the system's roots).
    async fn connect_api(&self, endpoint: &str, token: &str) -> anyhow::Result<Api> {
        Ok(Api::connect_with_ca(
            endpoint,
            token,
            &self.settings.project,
            self.settings.ca_file.as_deref(),
        )
        .await?)
    }

    /// Connects to the API with the resolved token.
    pub async fn api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        self.connect_api(&self.settings.endpoint, token).await
    }

    /// Connects to the addon-manager's API (its own endpoint, else the main one).
    pub async fn addons_api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        let endpoint = self.settings.endpoint_for(crate::config::ADDONS_PACKAGE);
        self.connect_api(endpoint, token).await
    }

    /// Connects to support-triage's API (its own endpoint, else the main one).
    pub async fn support_api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        let endpoint = self.settings.endpoint_for(crate::config::SUPPORT_PACKAGE);
        self.connect_api(endpoint, token).await
    }

    /// A client of the telemetry service (its package's endpoint, else `endpoint`).
    pub async fn telemetry_api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        let endpoint = self.settings.endpoint_for(crate::config::TELEMETRY_PACKAGE);
        self.connect_api(endpoint, token).await
    }

    /// A client of the network-firewall service (its package's endpoint, else `endpoint`).
    pub async fn firewall_api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        let endpoint = self.settings.endpoint_for(crate::config::FIREWALL_PACKAGE);
        self.connect_api(endpoint, token).await
    }

    /// A client of the storage-csi service (its package's endpoint, else `endpoint`).
    pub async fn storage_api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        let endpoint = self.settings.endpoint_for(crate::config::STORAGE_PACKAGE);
        self.connect_api(endpoint, token).await
    }

    /// A client of the image-builder (its package's endpoint, else `endpoint`).
    pub async fn images_api(&self) -> anyhow::Result<Api> {
        let token = self.settings.require_token()?;
        let endpoint = self.settings.endpoint_for(crate::config::IMAGES_PACKAGE);
        self.connect_api(endpoint, token).await
    }

    /// Connects to NATS.
    pub async fn bus(&self) -> anyhow::Result<Bus> {
        let url = &self.settings.nats_url;
        let options = ConnectOptions::default()
            .with_connect_timeout(NATS_CONNECT_TIMEOUT)
            .with_auth(self.nats_auth()?)
            .with_tls_ca_file(self.settings.ca_file.clone());
        Bus::connect_with(url, "accord-cli", options)
            .await
            .map_err(|error| match error {
                BusError::Connect { .. } => anyhow!(
                    "cannot reach NATS at {url}: is it running? (cargo xtask up, or --nats-url)"
                ),
                BusError::NotAuthorized { .. } => anyhow!(
                    "NATS at {url} refused the credentials: {}",
                    if self.settings.nats_nkey_file.is_some() {
                        "the profile's nats_nkey_file is not a user of this server"
                    } else {
                        "the API key is unknown or revoked (customers' keys may only read \
                         their project's events)"
                    }
                ),
                other => anyhow::Error::new(other).context(format!("connect to NATS at {url}")),
            })
    }

    /// How the CLI authenticates to NATS: the profile's nkey seed file (an operator's tool
    /// user), else the API token (checked by the provisioner through the server's auth
    /// callout: a customer may read their project's events, nothing else).
    pub fn nats_auth(&self) -> anyhow::Result<Option<BusAuth>> {
        if let Some(path) = &self.settings.nats_nkey_file {
            let seed = accord_nats_auth::keys::read_seed(path)
                .with_context(|| format!("the NATS nkey file {}", path.display()))?;
            return Ok(Some(BusAuth::Nkey(seed)));
        }
        let Some(token) = self.settings.token.clone().filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        // The key is a full API credential: it crosses a network only inside TLS.
        let beyond_loopback = self.settings.nats_url.split(',').any(|url| {
            accord_platform::nats::host_port(url.trim()).is_none_or(|a| !a.ip().is_loopback())
        });
        if beyond_loopback
            && self.settings.ca_file.is_none()
            && !self.settings.nats_url.contains("tls://")
        {
            anyhow::bail!(
                "refusing to send the API key to NATS at {} without TLS: set ca_file in the \
                 profile (or --ca-file), or use a tls:// URL",
                self.settings.nats_url
            );
        }
        Ok(Some(BusAuth::Token(token)))
    }

    /// The current time (ages in tables are relative to it).
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Prints a result on stdout.
    pub fn out(&self, text: &str) {
        self.printer.out(text);
    }

    /// Prints a note on stderr.
    pub fn note(&self, text: &str) {
        self.printer.err(text);
    }
}

/// A failed network-firewall call as the user sees it: as the server worded it, except that
/// `UNIMPLEMENTED` (the endpoint serves other packages, e.g. a profile written before the
/// service existed, falling back to the provisioner's endpoint) says how to point the CLI at
/// the service.
pub fn firewall_error(endpoint: &str, error: ApiError) -> anyhow::Error {
    if error.code() != Some(tonic::Code::Unimplemented) {
        return error.into();
    }
    let package = crate::config::FIREWALL_PACKAGE;
    anyhow!(
        "{error}\nhint: {endpoint} does not serve the network-firewall API ({package}): set \
         ACCORD_FIREWALL_ENDPOINT, or endpoints.\"{package}\" in the profile (`accord up` serves \
         it on its own port)"
    )
}

/// A failed storage-csi call as the user sees it: as the server worded it, except that
/// `UNIMPLEMENTED` (the endpoint serves other packages, e.g. a profile written before the
/// service existed, falling back to the provisioner's endpoint) says how to point the CLI at
/// the service.
pub fn storage_error(endpoint: &str, error: ApiError) -> anyhow::Error {
    if error.code() != Some(tonic::Code::Unimplemented) {
        return error.into();
    }
    let package = crate::config::STORAGE_PACKAGE;
    anyhow!(
        "{error}\nhint: {endpoint} does not serve the storage API ({package}): set \
         ACCORD_STORAGE_ENDPOINT, or endpoints.\"{package}\" in the profile"
    )
}

/// A failed image-builder call as the user sees it: as the server worded it, except that
/// `UNIMPLEMENTED` (the endpoint serves other packages, e.g. a profile written before the
/// service existed) says how to point the CLI at the service.
pub fn images_error(endpoint: &str, error: ApiError) -> anyhow::Error {
    if error.code() != Some(tonic::Code::Unimplemented) {
        return error.into();
    }
    let package = crate::config::IMAGES_PACKAGE;
    anyhow!(
        "{error}\nhint: {endpoint} does not serve the images API ({package}): set \
         ACCORD_IMAGES_ENDPOINT, or endpoints.\"{package}\" in the profile (`accord up` serves \
         it on its own port)"
    )
}

/// The shipped plugins: `$ACCORD_PLUGIN_DIR` (set by `cargo xtask up`), else the plugins'
/// build directory (`plugins/target/wasm32-wasip2/release`) in or above the current directory.
pub fn shipped_plugin_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("ACCORD_PLUGIN_DIR") {
        return Some(std::path::PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join("plugins/target/wasm32-wasip2/release"))
        .find(|dir| dir.is_dir())
}

/// Runs one command.
pub async fn run(ctx: &Context, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Get(kind) => get::run(ctx, kind).await,
        Command::Describe(kind) => describe::run(ctx, kind).await,
        Command::Apply(args) => apply::run(ctx, &args).await,
        Command::Create(kind) => create::run(ctx, kind).await,
        Command::Delete(kind) => delete::run(ctx, kind).await,
        Command::Scale(ScaleKind::Nodepool(args)) => scale::run(ctx, args).await,
        Command::Cycle(CycleKind::Nodepool(args)) => cycle::run(ctx, args).await,
        Command::Update(crate::cli::UpdateKind::Nodepool(args)) => rollout::update(ctx, args).await,
        Command::Rollback(crate::cli::RollbackKind::Nodepool(args)) => {
            rollout::rollback(ctx, args).await
        }
        Command::Image(command) => images::run(ctx, command).await,
        Command::Upgrade(command) => upgrade::run(ctx, command).await,
        Command::Expand(crate::cli::ExpandKind::Volume(args)) => volumes::expand(ctx, &args).await,
        Command::Attach(crate::cli::AttachKind::Volume(args)) => volumes::attach(ctx, &args).await,
        Command::Detach(crate::cli::DetachKind::Volume(args)) => volumes::detach(ctx, &args).await,
        Command::Snapshot(command) => snapshots::run(ctx, command).await,
        Command::Nfs(command) => nfs::run(ctx, command).await,
        Command::Migration(command) => migration::run(ctx, command).await,
        Command::Cordon(target) => cordon::run(ctx, target, true).await,
        Command::Uncordon(target) => cordon::run(ctx, target, false).await,
        Command::Kubeconfig(args) => kubeconfig::run(ctx, args).await,
        Command::Credentials(command) => kubeconfig::credentials(ctx, command).await,
        Command::Whoami => whoami::run(ctx).await,
        Command::Addon(command) => addon::run(ctx, command).await,
        Command::Catalog(kind) => catalog::run(ctx, kind).await,
        Command::Quota(command) => quota::run(ctx, command).await,
        Command::Events(command) => events::run(ctx, command).await,
        Command::Sim(command) => sim::run(ctx, command).await,
        Command::Remediation(command) => remediation::run(ctx, command).await,
        Command::Triage(command) => triage::run(ctx, command),
        Command::Firewall(command) => firewall::run(ctx, command),
        Command::Health(command) => health::run(ctx, command).await,
        Command::Ticket(command) => ticket::run(ctx, command).await,
        Command::Webhook(command) => webhook::run(ctx, command).await,
        Command::Plugin(command) => plugin::run(ctx, command).await,
        Command::NatsCredentials(args) => nats_credentials::run(ctx, &args),
        Command::Completion(args) => {
            completion::run(ctx, args.shell);
            Ok(())
        }
        Command::Up(mut args) => {
            args.nats_url.clone_from(&ctx.settings.nats_url);
            up::run(*args, &ctx.settings).await
        }
    }
}

/// Prints the result of a mutation: `kind/name verb` (table), `kind/name` (name), or the
/// resource (JSON / YAML).
pub fn announce<R: Resource>(ctx: &Context, item: &R, verb: &str) -> anyhow::Result<()> {
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("{}/{} {verb}", R::KIND, item.name())),
        OutputFormat::Name => ctx.out(&format!("{}/{}", R::KIND, item.name())),
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &item.to_value()?)?);
        }
    }
    Ok(())
}

/// [`announce`]s a mutation, then (with `--wait`) waits and prints the outcome. With JSON / YAML
/// and `--wait`, only the final state is printed, so the output stays one document.
pub async fn announce_and_wait<R, F, Fut, J>(
    ctx: &Context,
    item: R,
    verb: &str,
    wait: WaitArgs,
    what: &str,
    fetch: F,
    judge: J,
) -> anyhow::Result<()>
where
    R: Resource,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
    J: FnMut(Option<&R>) -> Verdict,
{
    let is_structured = matches!(ctx.format, OutputFormat::Json | OutputFormat::Yaml);
    if !(is_structured && wait.wait) {
        announce(ctx, &item, verb)?;
    }
    if !wait.wait {
        return Ok(());
    }
    let waited = wait::until(&ctx.printer, what, wait.timeout, fetch, judge).await?;
    match ctx.format {
        OutputFormat::Table => ctx.out(&waited.message),
        OutputFormat::Json | OutputFormat::Yaml => {
            let last = waited.last.unwrap_or(item);
            ctx.out(&structured(ctx.format, &last.to_value()?)?);
        }
        OutputFormat::Name => {}
    }
    Ok(())
}

/// A poller for [`wait::until`]: gets the cluster `cluster` (name or id).
pub fn poll_cluster(
    api: &Api,
    cluster: &str,
) -> impl FnMut() -> BoxFuture<'static, Result<pb::Cluster, ApiError>> + use<> {
    let api = api.clone();
    let cluster = cluster.to_owned();
    move || {
        let api = api.clone();
        let cluster = cluster.clone();
        Box::pin(async move { lookup::cluster(&api, &cluster).await })
    }
}

/// A poller for [`wait::until`]: gets the node pool `pool` of `cluster`.
pub fn poll_pool(
    api: &Api,
    cluster: &str,
    pool: &str,
) -> impl FnMut() -> BoxFuture<'static, Result<pb::NodePool, ApiError>> + use<> {
    let api = api.clone();
    let cluster = cluster.to_owned();
    let pool = pool.to_owned();
    move || {
        let api = api.clone();
        let request = pb::GetNodePoolRequest {
            project: api.project(),
            cluster: cluster.clone(),
            node_pool: pool.clone(),
        };
        Box::pin(async move { api.call(api.node_pools().get_node_pool(request)).await })
    }
}

/// The id of a resource (falling back to `fallback`, e.g. the name the user typed).
pub fn id_or(meta: Option<&pb::ObjectMeta>, fallback: &str) -> String {
    meta.map(|m| m.id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// The name of a resource (falling back to `fallback`).
pub fn name_or(meta: Option<&pb::ObjectMeta>, fallback: &str) -> String {
    meta.map(|m| m.name.clone())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}
