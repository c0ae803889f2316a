//! `accord up`: NATS (started when none is reachable), every service built so far (provisioner,
//! addon-manager, support-triage) in one process, and the simulated GPU fleet with its node agents and fault server.
//!
//! On the first start of an empty data directory the provisioner mints a bootstrap admin key
//! (project `default`) and a provider-operator key; both are printed once and written to the
//! CLI profile `<data-dir>/cli.toml` (mode 0600) so the `accord` CLI works from this checkout.

use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use accord_bus::Bus;
use accord_runtime::{config::LogFormat, metrics::Metrics, shutdown::signal_token};
use accord_sim::{SimConfig, SimFleet};
use accord_store::Store;
use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::{
    cli::UpArgs,
    config::{ConfigFile, Profile, Settings},
};

/// Runs until Ctrl-C / SIGTERM.
pub async fn run(args: UpArgs, _settings: &Settings) -> anyhow::Result<()> {
    let _telemetry = accord_runtime::telemetry::init("accord", LogFormat::Text)
        .context("initialising logging")?;
    let data = args.data_dir.clone();
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let shutdown = signal_token();

    let mut nats = None;
    if !reachable(&args.nats_url) {
        if args.no_nats {
            bail!(
                "no NATS server is reachable at {} and --no-nats was given",
                args.nats_url
            );
        }
        nats = Some(start_nats(&args.nats_url, &data.join("nats")).await?);
    }
    let bus = Bus::connect(&args.nats_url, "accord-up")
        .await
        .context("connecting to NATS")?;

    let metrics = Metrics::new("accord");
    let (metrics_addr, _metrics_task) =
        accord_runtime::metrics::serve(args.metrics_addr, metrics.clone(), shutdown.clone())
            .await
            .context("starting /metrics")?;

    let fleet = Arc::new(
        SimFleet::new(
            SimConfig::default()
                .with_clock_factor(args.clock_factor)
                .with_state_file(data.join("sim").join("fleet.json")),
        )
        .context("starting the simulated fleet")?,
    );
    let store = Store::open(data.join("data").join("provisioner"))
        .context("opening the provisioner's store")?;
    let running = accord_provisioner::start(accord_provisioner::StartOptions {
        grpc_addr: args.grpc_addr,
        store,
        bus: bus.clone(),
        driver: fleet.clone(),
        metrics: metrics.clone(),
        resync_interval: Duration::from_secs(5),
        shutdown: shutdown.clone(),
    })
    .await?;
    {
        let (f, b, s) = (fleet.clone(), bus.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = accord_sim::serve_faults(f, b, s).await {
                tracing::error!(error = %e, "simulator fault server stopped");
            }
        });
        let (f, b, s) = (fleet.clone(), bus.clone(), shutdown.clone());
        tokio::spawn(accord_sim::run_agents(f, b, s));
    }

    let plugin_dir = super::shipped_plugin_dir().context(
        "the add-on plugins are not built: run `cargo xtask plugins` (or set ACCORD_PLUGIN_DIR)",
    )?;
    let addons = accord_addon_manager::start(accord_addon_manager::StartOptions {
        grpc_addr: args.addons_grpc_addr,
        store: Store::open(data.join("data").join("addon-manager"))
            .context("opening the addon-manager's store")?,
        bus: bus.clone(),
        metrics: metrics.clone(),
        plugin_dir,
        shipped_addons: accord_core::cluster::CORE_ADDONS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        host_config: accord_plugin_host::HostConfig::default(),
        shutdown: shutdown.clone(),
    })
    .await
    .context("starting the addon-manager")?;

    let triage = accord_support_triage::start(accord_support_triage::StartOptions {
        grpc_addr: args.support_grpc_addr,
        store: Store::open(data.join("data").join("support-triage"))
            .context("opening support-triage's store")?,
        bus: bus.clone(),
        metrics: metrics.clone(),
        rules: accord_support_triage::RuleSet::shipped().context("the shipped triage rules")?,
        shutdown: shutdown.clone(),
    })
    .await
    .context("starting support-triage")?;

    let endpoint = format!("http://{}", running.grpc_addr);
    let addons_endpoint = format!("http://{}", addons.grpc_addr);
    let support_endpoint = format!("http://{}", triage.grpc_addr);
    let profile = data.join("cli.toml");
    // One write, so log lines from the tasks just started cannot split the banner.
    let mut banner = format!(
        "accord is up\n  gRPC        {endpoint}   (provisioner: health + reflection v1/v1alpha)\n  add-ons     {addons_endpoint}   (addon-manager)\n  support     {support_endpoint}   (support-triage)\n  metrics     http://{metrics_addr}/metrics\n  NATS        {}{}\n  sim clock   x{} (1.0 = real time)\n",
        args.nats_url,
        if nats.is_some() {
            "   (started by accord up)"
        } else {
            ""
        },
        args.clock_factor
    );
    match &running.bootstrap {
        Some(b) => {
            write_profile(
                &profile,
                &endpoint,
                &addons_endpoint,
                &support_endpoint,
                &args.nats_url,
                &b.admin.token,
                &b.operator.token,
            )?;
            banner.push_str(&format!(
                "  admin key   {}   (project \"default\", role admin — shown once)\n  operator    {}   (provider operator — shown once)\n  CLI profile {}   (the accord CLI uses it from this directory)\n",
                b.admin.token,
                b.operator.token,
                profile.display()
            ));
        }
        None => banner.push_str(&format!(
            "  keys        minted on the first start; they are in {} (or create new ones)\n",
            profile.display()
        )),
    }
    banner.push_str("\ntry: accord create cluster demo --wait    (Ctrl-C stops everything)\n");
    print!("{banner}");

    let mut tasks = running.tasks;
    let mut addon_tasks = addons.tasks;
    let mut triage_tasks = triage.tasks;
    let stopped = tokio::select! {
        () = shutdown.cancelled() => None,
        Some(res) = tasks.join_next() => Some(res),
        Some(res) = addon_tasks.join_next() => Some(res),
        Some(res) = triage_tasks.join_next() => Some(res),
    };
    if let Some(res) = stopped {
        shutdown.cancel();
        if let Ok(Err(e)) = res {
            tracing::error!(error = %format!("{e:#}"), "a service stopped");
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
        while addon_tasks.join_next().await.is_some() {}
        while triage_tasks.join_next().await.is_some() {}
    })
    .await;
    if let Some(mut child) = nats {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    println!("accord stopped");
    Ok(())
}

pub(crate) fn host_port(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let rest = rest.split(',').next()?;
    let rest = rest.rsplit('@').next()?;
    std::net::ToSocketAddrs::to_socket_addrs(rest).ok()?.next()
}

pub(crate) fn reachable(url: &str) -> bool {
    host_port(url)
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok())
}

/// The nats-server binary: `ACCORD_NATS_SERVER`, `.accord/tools/bin/nats-server` above the
/// current directory, or `nats-server` on PATH.
fn nats_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ACCORD_NATS_SERVER") {
        return PathBuf::from(p);
    }
    if let Ok(mut dir) = std::env::current_dir() {
        loop {
            let candidate = dir.join(".accord/tools/bin/nats-server");
            if candidate.is_file() {
                return candidate;
            }
            if !dir.pop() {
                break;
            }
        }
    }
    PathBuf::from("nats-server")
}

pub(crate) async fn start_nats(url: &str, dir: &Path) -> anyhow::Result<Child> {
    let addr =
        host_port(url).with_context(|| format!("cannot read host:port from NATS URL {url}"))?;
    std::fs::create_dir_all(dir.join("jetstream"))?;
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "# written by accord up\nhost: \"{}\"\nport: {}\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            addr.ip(),
            addr.port(),
            dir.join("jetstream").display()
        ),
    )?;
    let bin = nats_binary();
    let log = std::fs::File::create(dir.join("nats.log"))?;
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (set ACCORD_NATS_SERVER or run `cargo xtask tools`)",
                bin.display()
            )
        })?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !reachable(url) {
        if let Some(status) = child.try_wait()? {
            bail!(
                "nats-server exited ({status}); see {}",
                dir.join("nats.log").display()
            );
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "nats-server did not accept connections within 15 s; see {}",
                dir.join("nats.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(child)
}

fn write_profile(
    path: &Path,
    endpoint: &str,
    addons_endpoint: &str,
    support_endpoint: &str,
    nats_url: &str,
    admin: &str,
    operator: &str,
) -> anyhow::Result<()> {
    let profile = |token: &str| Profile {
        endpoint: Some(endpoint.to_owned()),
        token: Some(token.to_owned()),
        nats_url: Some(nats_url.to_owned()),
        addons_endpoint: Some(addons_endpoint.to_owned()),
        support_endpoint: Some(support_endpoint.to_owned()),
    };
    let file = ConfigFile {
        default_profile: Some("admin".to_owned()),
        defaults: Profile::default(),
        profiles: [
            ("admin".to_owned(), profile(admin)),
            ("operator".to_owned(), profile(operator)),
        ]
        .into_iter()
        .collect(),
    };
    std::fs::write(path, file.to_toml()).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
