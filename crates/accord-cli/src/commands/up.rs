//! `accord up`: NATS (started when none is reachable), every service (provisioner,
//! addon-manager, support-triage, telemetry, network-firewall, storage-csi, image-builder) in one process, and the simulated GPU fleet with its node
//! agents and fault server — all assembled by the platform composer (`accord-platform`).
//!
//! The image-signing key (Ed25519, PKCS#8) is generated once at
//! `<data-dir>/keys/image-signing.pem` (mode 0600) with `image-signing.pub.pem` beside it.
//!
//! On the first start of an empty data directory the provisioner mints a bootstrap admin key
//! (project `default`) and a provider-operator key; both are printed once and written to the
//! CLI profile `<data-dir>/cli.toml` (mode 0600) so the `accord` CLI works from this checkout.
//! When the CLI would not find that profile from the current directory (a `--data-dir` other
//! than `.accord`), the banner prints the `--config` / `ACCORD_CONFIG` that points at it
//! ([`profile_hint`]).

use std::{path::Path, time::Duration};

use accord_platform::{
    AddonManagerSettings, AutoClustersOptions, FIREWALL_PACKAGE, HealthConfig, HostConfig,
    IMAGES_PACKAGE, ImageBuilderSettings, NatsAuth, NetworkFirewallSettings, NotifySettings,
    Platform, ProvisionerSettings, RemediationTimeouts, RuleSet, StorageCsiSettings,
    SupportTriageSettings, TelemetrySettings,
};
use accord_runtime::{config::LogFormat, metrics::Metrics, shutdown::signal_token};
use accord_sim::SimConfig;
use anyhow::{Context, bail};

use crate::{
    cli::UpArgs,
    config::{
        ADDONS_PACKAGE, ConfigFile, DATA_DIR_CONFIG, Profile, STORAGE_PACKAGE, SUPPORT_PACKAGE,
        Settings, TELEMETRY_PACKAGE,
    },
};

/// Simulated build-farm time per image build stage in `accord up`.
const IMAGE_STAGE_DURATION: Duration = Duration::from_millis(1500);

/// Runs until Ctrl-C / SIGTERM.
pub async fn run(args: UpArgs, _settings: &Settings) -> anyhow::Result<()> {
    let _telemetry = accord_runtime::telemetry::init("accord", LogFormat::Text)
        .context("initialising logging")?;
    let data = args.data_dir.clone();
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;

    if args.no_nats && !accord_platform::nats::reachable(&args.nats_url) {
        bail!(
            "no NATS server is reachable at {} and --no-nats was given",
            args.nats_url
        );
    }
    let plugin_dir = super::shipped_plugin_dir().context(
        "the add-on plugins are not built: run `cargo xtask plugins` (or set ACCORD_PLUGIN_DIR)",
    )?;
    let signing_key =
        accord_platform::load_or_create_signing_key(&data.join("keys").join("image-signing.pem"))
            .context("the image-signing key")?;
    let mut images = ImageBuilderSettings::new(args.images_grpc_addr, signing_key);
    // Long enough that `accord image build --wait` shows each stage.
    images.stage_duration = IMAGE_STAGE_DURATION;
    // The NATS server accord up starts requires authentication: each service its own nkey
    // user, customers their API key (checked by the provisioner through the auth callout).
    // A server that was already running and is not this deployment's (no keys here yet) is
    // used as it is configured, without credentials.
    let keys_dir = data.join("keys").join("nats");
    let nats_auth = if accord_platform::nats::reachable(&args.nats_url) && !keys_dir.exists() {
        None
    } else {
        Some(NatsAuth::in_dir(&keys_dir)?)
    };
    let nats_auth_on = nats_auth.is_some();
    let operator_nkey = nats_auth.as_ref().map(|a| {
        a.keys
            .service_seed_path(accord_nats_auth::ServiceUser::CliOperator)
    });
    let mut platform = Platform::new(&args.nats_url);
    if let Some(auth) = nats_auth {
        platform = platform.nats_auth(auth);
    }
    // TLS whenever anything is reachable beyond this host (plaintext stays for loopback).
    let tls = if args.serves_tls() {
        let mut names: Vec<String> = args
            .binds()
            .iter()
            .map(|a| a.ip().to_string())
            .chain(accord_platform::nats::host_port(&args.nats_url).map(|a| a.ip().to_string()))
            .collect();
        names.extend(args.tls_names.iter().cloned());
        let tls = accord_platform::tls::local_ca(&data.join("tls"), &names)
            .context("the local CA's certificates")?;
        platform = platform.tls(tls.clone());
        Some(tls)
    } else {
        None
    };
    let ca_file = tls.as_ref().map(|t| t.ca_file.clone());
    let running = platform
        .start_nats_in(data.join("nats"))
        .data_dir(&data)
        .shutdown(signal_token())
        .metrics(Metrics::new("accord"))
        .serve_metrics(args.metrics_addr)
        .simulator(SimConfig::default().with_clock_factor(args.clock_factor))
        .provisioner(ProvisionerSettings {
            grpc_addr: args.grpc_addr,
            resync_interval: Duration::from_secs(5),
            store: None,
            autoclusters: Some(AutoClustersOptions {
                plugin_dir: plugin_dir.clone(),
                host_config: HostConfig::default(),
                timeouts: RemediationTimeouts::scaled(args.clock_factor, Duration::from_secs(2)),
            }),
            replica_grace: Duration::from_secs(60)
                .mul_f64(args.clock_factor.clamp(0.0, 1.0))
                .max(Duration::from_secs(2)),
        })
        .addon_manager(AddonManagerSettings::shipped(
            args.addons_grpc_addr,
            plugin_dir,
        ))
        .support_triage(SupportTriageSettings {
            grpc_addr: args.support_grpc_addr,
            rules: RuleSet::shipped().context("the shipped triage rules")?,
            store: None,
            // Local use: webhooks may point at a server on this machine over plain HTTP.
            notify: NotifySettings::local(),
        })
        .telemetry(TelemetrySettings {
            grpc_addr: args.telemetry_grpc_addr,
            health: HealthConfig::default(),
            cluster_metrics_addr: Some(args.cluster_metrics_addr),
            store: None,
        })
        .network_firewall(NetworkFirewallSettings::new(args.firewall_grpc_addr))
        .storage_csi(StorageCsiSettings::new(args.storage_grpc_addr))
        .image_builder(images)
        .start()
        .await?;

    // What clients dial: https with TLS; `localhost` for a wildcard bind (the certificate
    // names it).
    let scheme = if ca_file.is_some() { "https" } else { "http" };
    let url = |addr: Option<std::net::SocketAddr>| {
        addr.map_or_else(String::new, |a| {
            if a.ip().is_unspecified() {
                format!("{scheme}://localhost:{}", a.port())
            } else {
                format!("{scheme}://{a}")
            }
        })
    };
    let endpoint = url(running.provisioner.as_ref().map(|p| p.grpc_addr));
    let addons_endpoint = url(running.addon_manager.as_ref().map(|a| a.grpc_addr));
    let support_endpoint = url(running.support_triage.as_ref().map(|s| s.grpc_addr));
    let telemetry_endpoint = url(running.telemetry.as_ref().map(|t| t.grpc_addr));
    let firewall_endpoint = url(running.network_firewall.as_ref().map(|f| f.grpc_addr));
    let storage_endpoint = url(running.storage_csi.as_ref().map(|s| s.grpc_addr));
    let images_endpoint = url(running.image_builder.as_ref().map(|i| i.grpc_addr));
    let metrics = running
        .metrics_addr
        .map_or_else(String::new, |a| format!("http://{a}/metrics"));
    // Plain HTTP (not covered by TLS yet: see ARCHITECTURE.md, "Not built yet").
    let cluster_metrics = running
        .telemetry
        .as_ref()
        .and_then(|t| t.engine.cluster_metrics_addr())
        .map_or_else(String::new, |a| format!("http://{a}"));
    let profile = data.join(DATA_DIR_CONFIG);
    // One write, so log lines from the tasks just started cannot split the banner.
    let mut banner = format!(
        "accord is up\n  gRPC        {endpoint}   (provisioner: health + reflection v1/v1alpha)\n  add-ons     {addons_endpoint}   (addon-manager)\n  support     {support_endpoint}   (support-triage)\n  health      {telemetry_endpoint}   (telemetry)\n  firewall    {firewall_endpoint}   (network-firewall)\n  storage     {storage_endpoint}   (storage-csi)\n  images      {images_endpoint}   (image-builder)\n  cluster metrics {cluster_metrics}   (GET <base>/v1/clusters/<cluster>/metrics, Bearer API key)\n  metrics     {metrics}\n  NATS        {}{}\n  TLS         {}\n  sim clock   x{} (1.0 = real time)\n",
        args.nats_url,
        match (&running.nats_foreign, running.nats_started) {
            (Some(name), _) => format!(
                "   (an existing server, {name:?}, NOT started by accord up: its JetStream data is shared)"
            ),
            (None, true) => "   (started by accord up)".to_owned(),
            (None, false) => "   (this deployment's server, already running)".to_owned(),
        },
        match &ca_file {
            Some(ca) => format!(
                "gRPC and NATS, certificates of the local CA {} (clients: ca_file)",
                ca.display()
            ),
            None => "off: every server binds loopback (--tls to turn it on)".to_owned(),
        },
        args.clock_factor
    );
    if !nats_auth_on {
        banner.push_str(
            "  NATS auth   OFF: the server was already running and is not this deployment's (no \
             keys in <data-dir>/keys/nats): anyone reaching it reads every event\n",
        );
    }
    match &running.bootstrap {
        Some(b) => {
            write_profile(
                &profile,
                &endpoint,
                &[
                    (ADDONS_PACKAGE, &addons_endpoint),
                    (SUPPORT_PACKAGE, &support_endpoint),
                    (TELEMETRY_PACKAGE, &telemetry_endpoint),
                    (FIREWALL_PACKAGE, &firewall_endpoint),
                    (STORAGE_PACKAGE, &storage_endpoint),
                    (IMAGES_PACKAGE, &images_endpoint),
                ],
                &args.nats_url,
                &Credentials {
                    admin: &b.admin.token,
                    operator: &b.operator.token,
                    operator_nkey: operator_nkey.as_deref(),
                    ca_file: ca_file.as_deref(),
                },
            )?;
            let found = crate::config::Environment::current().find_config_file();
            banner.push_str(&format!(
                "  admin key   {}   (project \"default\", role admin — shown once)\n  operator    {}   (provider operator — shown once)\n  CLI profile {}   {}\n",
                b.admin.token,
                b.operator.token,
                profile.display(),
                profile_hint(&data, found.as_deref())
            ));
        }
        None => banner.push_str(&format!(
            "  keys        minted on the first start; they are in {} (or create new ones)\n",
            profile.display()
        )),
    }
    banner.push_str("\ntry: accord create cluster demo --wait    (Ctrl-C stops everything)\n");
    print!("{banner}");

    let outcome = running.join(Duration::from_secs(10)).await;
    if let Err(e) = &outcome {
        tracing::error!(error = %format!("{e:#}"), "a service stopped");
    }
    println!("accord stopped");
    Ok(())
}

/// `path` made absolute (against the current directory), for the profile.
fn absolute_display(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// The banner's note after the CLI profile's path: nothing to do when the CLI finds the
/// profile from here (`found`, the config file lookup from the current directory), else the
/// flag and the variable that point the CLI at the data directory `data`.
pub fn profile_hint(data: &Path, found: Option<&Path>) -> String {
    let profile = data.join(DATA_DIR_CONFIG);
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if found.is_some_and(|found| same(found, &profile)) {
        return "(the accord CLI uses it from this directory)".to_owned();
    }
    let dir = shell_word(&absolute_display(data));
    format!("(point the CLI at it: accord --config {dir} <command>, or export ACCORD_CONFIG={dir})")
}

/// `word` as one shell word (single-quoted when it holds anything but `[A-Za-z0-9/._-]`).
pub(crate) fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// What the profiles `accord up` writes authenticate with.
#[derive(Clone, Copy)]
struct Credentials<'a> {
    /// The bootstrap Admin's API key.
    admin: &'a str,
    /// The provider operator's API key.
    operator: &'a str,
    /// The operator tool's NATS nkey seed file (when NATS requires authentication).
    operator_nkey: Option<&'a Path>,
    /// The local CA (when the servers serve TLS).
    ca_file: Option<&'a Path>,
}

fn write_profile(
    path: &Path,
    endpoint: &str,
    packages: &[(&str, &String)],
    nats_url: &str,
    creds: &Credentials<'_>,
) -> anyhow::Result<()> {
    let Credentials {
        admin,
        operator,
        operator_nkey,
        ca_file,
    } = *creds;
    let profile = |token: &str, nkey: Option<&Path>| Profile {
        endpoint: Some(endpoint.to_owned()),
        token: Some(token.to_owned()),
        nats_url: Some(nats_url.to_owned()),
        // Absolute: the CLI reads the profile from any directory (`--config DIR`).
        nats_nkey_file: nkey.map(absolute_display),
        ca_file: ca_file.map(absolute_display),
        endpoints: packages
            .iter()
            .map(|(package, url)| ((*package).to_owned(), (*url).clone()))
            .collect(),
        ..Profile::default()
    };
    let file = ConfigFile {
        default_profile: Some("admin".to_owned()),
        defaults: Profile::default(),
        profiles: [
            ("admin".to_owned(), profile(admin, None)),
            ("operator".to_owned(), profile(operator, operator_nkey)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::config::{Environment, resolve};

    /// What `accord up --data-dir D` writes, and the banner's advice, followed as printed from
    /// another directory, reaches the profile.
    #[test]
    fn the_banners_config_hint_finds_a_data_dirs_profile() {
        let data = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let nkey = data.path().join("keys/nats/cli-operator.nk");
        write_profile(
            &data.path().join(DATA_DIR_CONFIG),
            "http://127.0.0.1:50051",
            &[],
            "nats://127.0.0.1:4222",
            &Credentials {
                admin: "accord_ak-admin_secret",
                operator: "accord_ak-op_secret",
                operator_nkey: Some(&nkey),
                ca_file: None,
            },
        )
        .unwrap();
        let env = Environment {
            cwd: Some(elsewhere.path().to_owned()),
            home: None,
            xdg_config_home: None,
        };
        let hint = profile_hint(data.path(), env.find_config_file().as_deref());
        let dir = hint
            .split("accord --config ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("no --config in {hint:?}"));
        assert!(
            hint.ends_with(&format!("export ACCORD_CONFIG={dir})")),
            "{hint}"
        );
        for profile in [None, Some("operator")] {
            let mut args = vec!["accord", "--config", dir];
            if let Some(name) = profile {
                args.extend(["--profile", name]);
            }
            args.extend(["get", "clusters"]);
            let cli = Cli::try_parse_with_sources(args).unwrap();
            let settings = resolve(&cli.global, &env).unwrap();
            assert_eq!(
                settings.config_file,
                Some(data.path().join(DATA_DIR_CONFIG))
            );
            let expected = if profile.is_some() {
                "accord_ak-op_secret"
            } else {
                "accord_ak-admin_secret"
            };
            assert_eq!(settings.token.as_deref(), Some(expected));
        }
        // The operator's nkey file is absolute, so it is found from anywhere.
        let file = ConfigFile::read(&data.path().join(DATA_DIR_CONFIG)).unwrap();
        let written = file.profiles["operator"].nats_nkey_file.clone().unwrap();
        assert!(Path::new(&written).is_absolute(), "{written}");
        // From the data directory's parent layout (`.accord` under the current directory), the
        // CLI finds it unaided and the banner says so.
        let project = tempfile::tempdir().unwrap();
        let accord = project.path().join(".accord");
        std::fs::create_dir_all(&accord).unwrap();
        std::fs::copy(
            data.path().join(DATA_DIR_CONFIG),
            accord.join(DATA_DIR_CONFIG),
        )
        .unwrap();
        let here = Environment {
            cwd: Some(project.path().to_owned()),
            home: None,
            xdg_config_home: None,
        };
        assert_eq!(
            profile_hint(&accord, here.find_config_file().as_deref()),
            "(the accord CLI uses it from this directory)"
        );
        // A directory without a profile is named as such.
        let cli = Cli::try_parse_with_sources([
            "accord",
            "--config",
            elsewhere.path().to_str().unwrap(),
            "get",
            "clusters",
        ])
        .unwrap();
        let error = resolve(&cli.global, &env).unwrap_err().to_string();
        assert!(error.contains("is a directory without cli.toml"), "{error}");
    }

    #[test]
    fn odd_paths_are_quoted_as_one_shell_word() {
        assert_eq!(shell_word("/tmp/a-b_c.d"), "/tmp/a-b_c.d");
        assert_eq!(shell_word("/tmp/my data"), "'/tmp/my data'");
        assert_eq!(shell_word("/tmp/it's"), "'/tmp/it'\\''s'");
    }
}
