//! Typed service configuration: serde defaults ← TOML file ← environment.
//!
//! [`load`] builds a service's configuration from three layers, later ones winning:
//!
//! 1. the serde defaults of the configuration type (`#[serde(default)]`),
//! 2. a TOML file, when one is named (a named file that does not exist is an error, never
//!    silently skipped),
//! 3. environment variables `ACCORD_<SERVICE>__<FIELD>`, nested with `__`
//!    (`ACCORD_NETWORK_FIREWALL__RUNTIME__GRPC_ADDR` sets `runtime.grpc_addr` of the
//!    `network-firewall` service; the service name is uppercased with `-` → `_`).
//!
//! Invariant: unknown keys are errors. Configuration structs use
//! `#[serde(deny_unknown_fields)]`, and the error names the offending key and where it came
//! from (the file or the environment variable), so a typo never silently falls back to a
//! default.
//!
//! Composition: a service configuration embeds [`RuntimeConfig`] as a plain field named
//! `runtime` (no `#[serde(flatten)]`, which serde cannot combine with `deny_unknown_fields`):
//!
//! ```
//! # use serde::Deserialize;
//! #[derive(Debug, Default, Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! struct ProvisionerConfig {
//!     runtime: accord_runtime::RuntimeConfig,
//!     max_clusters_per_project: u32,
//! }
//! # fn main() -> Result<(), accord_runtime::ConfigError> {
//! let cfg: ProvisionerConfig = accord_runtime::config::load("provisioner", None)?;
//! assert!(cfg.runtime.data_dir.ends_with("provisioner"));
//! # Ok(()) }
//! ```
//!
//! The default `data_dir` depends on the service (`.accord/data/<service>`), which a serde
//! default function cannot see; [`load`] therefore publishes the service name to
//! [`RuntimeConfig::default`] for the duration of the (synchronous) extraction through a
//! thread-local. Outside `load`, use [`RuntimeConfig::for_service`].

use std::{
    cell::RefCell,
    fmt,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file named by the user does not exist.
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A value is missing, malformed or unknown; the message names every offending key and the
    /// file or environment variable it came from.
    #[error("invalid {service} configuration: {message}")]
    Invalid {
        /// The service whose configuration was loaded.
        service: String,
        /// Every problem, one per line.
        message: String,
        /// The underlying figment error.
        #[source]
        source: Box<figment::Error>,
    },
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?} (expected text or json)"
            )),
        }
    }
}

/// The settings every service has: listen addresses, the bus, local state, logs, shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// gRPC listen address (port 0 picks a free port).
    pub grpc_addr: SocketAddr,
    /// Prometheus `/metrics` listen address (port 0 picks a free port).
    pub metrics_addr: SocketAddr,
    /// NATS server URL.
    pub nats_url: String,
    /// Directory for the service's local state (its store).
    pub data_dir: PathBuf,
    /// Log line format.
    pub log_format: LogFormat,
    /// How long in-flight work may take to finish after a shutdown signal (e.g. `10s`).
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Directory of NATS nkey seed files, `<user>.nk` (0600; `accord up` and
    /// `accord_nats_auth::KeyRing` write them): each NATS connection of the process uses its
    /// own user's file (e.g. `provisioner.nk`, `sim.nk`); the provisioner also answers the
    /// server's auth callout when `auth-callout.nk` and `callout-issuer.nk` are there. Unset:
    /// anonymous (a server without authentication).
    pub nats_credentials_dir: Option<PathBuf>,
    /// PEM CA file the NATS server's certificate is verified with (TLS required). Unset: TLS
    /// only when the server asks for it, verified against the system's roots.
    pub nats_ca_file: Option<PathBuf>,
    /// The gRPC server's TLS certificate chain (PEM); with `tls_key_file`, the server serves
    /// TLS only. Unset: plaintext (loopback binds only, in production).
    pub tls_cert_file: Option<PathBuf>,
    /// The gRPC server's TLS private key (PEM).
    pub tls_key_file: Option<PathBuf>,
    /// Replicas of the JetStream streams the service creates (3 on a three-node cluster).
    pub stream_replicas: usize,
}

/// Default gRPC listen address.
pub const DEFAULT_GRPC_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 50051);
/// Default metrics listen address.
pub const DEFAULT_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);
/// Default NATS URL.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
/// Default shutdown grace period.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Service name used by [`RuntimeConfig::default`] outside [`load`].
const UNNAMED_SERVICE: &str = "unnamed";

impl RuntimeConfig {
    /// The defaults for `service` (its data directory is `.accord/data/<service>`).
    pub fn for_service(service: &str) -> Self {
        Self {
            grpc_addr: DEFAULT_GRPC_ADDR,
            metrics_addr: DEFAULT_METRICS_ADDR,
            nats_url: DEFAULT_NATS_URL.to_owned(),
            data_dir: default_data_dir(service),
            log_format: LogFormat::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            nats_credentials_dir: None,
            nats_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            stream_replicas: 1,
        }
    }

    /// The gRPC server's TLS identity from `tls_cert_file` and `tls_key_file` (both or
    /// neither).
    pub fn tls_identity(&self) -> anyhow::Result<Option<crate::tls::TlsIdentity>> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsIdentity::from_files(cert, key)?)),
            (None, None) => Ok(None),
            _ => anyhow::bail!("tls_cert_file and tls_key_file go together: set both or neither"),
        }
    }
}

impl Default for RuntimeConfig {
    /// The defaults of the service being [`load`]ed on this thread (or of an `unnamed` service
    /// outside `load`).
    fn default() -> Self {
        LOADING_SERVICE.with(|s| match s.borrow().as_deref() {
            Some(service) => Self::for_service(service),
            None => Self::for_service(UNNAMED_SERVICE),
        })
    }
}

/// `.accord/data/<service>`.
pub fn default_data_dir(service: &str) -> PathBuf {
    Path::new(".accord").join("data").join(service)
}

/// The environment-variable prefix of `service`: `ACCORD_<SERVICE>__`.
pub fn env_prefix(service: &str) -> String {
    format!(
        "ACCORD_{}__",
        service.to_ascii_uppercase().replace('-', "_")
    )
}

thread_local! {
    /// The service whose configuration is being extracted on this thread, for
    /// [`RuntimeConfig::default`].
    static LOADING_SERVICE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Sets [`LOADING_SERVICE`] and restores the previous value on drop (also on unwind).
struct LoadingService(Option<String>);

impl LoadingService {
    fn enter(service: &str) -> Self {
        Self(LOADING_SERVICE.with(|s| s.replace(Some(service.to_owned()))))
    }
}

impl Drop for LoadingService {
    fn drop(&mut self) {
        let previous = self.0.take();
        LOADING_SERVICE.with(|s| *s.borrow_mut() = previous);
    }
}

/// Loads the configuration of `service`: `T`'s serde defaults, then `file` (TOML) if given,
/// then `ACCORD_<SERVICE>__…` environment variables.
pub fn load<T: DeserializeOwned>(service: &str, file: Option<&Path>) -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = file {
        // `try_exists` errors (permissions) fall through to figment, which reports them.
        if matches!(path.try_exists(), Ok(false)) {
            return Err(ConfigError::MissingFile(path.to_owned()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let prefix = env_prefix(service);
    let env = Env::prefixed(&prefix).split("__");
    let env_source = figment::Provider::metadata(&env).name;
    figment = figment.merge(env);

    let _scope = LoadingService::enter(service);
    figment.extract::<T>().map_err(|err| ConfigError::Invalid {
        service: service.to_owned(),
        message: describe(&err, &prefix, &env_source),
        source: Box::new(err),
    })
}

/// Every error of `err`, one per line, as `<key>: <problem> (<where it was set>)`. Figment's
/// own rendering names environment keys without their prefix (`RUNTIME.GRPC_ADDR`); this names
/// the variable a user actually set (`ACCORD_PROVISIONER__RUNTIME__GRPC_ADDR`).
fn describe(err: &figment::Error, env_prefix: &str, env_source: &str) -> String {
    err.clone()
        .into_iter()
        .map(|e| {
            let mut path: Vec<&str> = e.path.iter().map(String::as_str).collect();
            if let figment::error::Kind::UnknownField(field, _) = &e.kind
                && path.last() != Some(&field.as_str())
            {
                path.push(field);
            }
            let key = if path.is_empty() {
                "(top level)".to_owned()
            } else {
                path.join(".")
            };
            let origin = match &e.metadata {
                Some(md) if md.name == env_source => {
                    let var: Vec<String> = path.iter().map(|p| p.to_ascii_uppercase()).collect();
                    format!(
                        " (set by environment variable {env_prefix}{})",
                        var.join("__")
                    )
                }
                Some(md) => match &md.source {
                    Some(source) => format!(" (in {source})"),
                    None => format!(" (from {})", md.name),
                },
                None => String::new(),
            };
            let problem = match &e.kind {
                figment::error::Kind::UnknownField(_, expected) => {
                    let expected: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
                    format!("unknown key; expected one of {}", expected.join(", "))
                }
                other => other.to_string(),
            };
            format!("{key}: {problem}{origin}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
// figment's `Jail` closures return its (large) error type; not ours to shrink.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct TestConfig {
        runtime: RuntimeConfig,
        widgets: u32,
        nested: Nested,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Nested {
        label: String,
    }

    fn invalid_message(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { message, .. } => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_with_no_file_and_no_env() {
        Jail::expect_with(|_| {
            let cfg: TestConfig = load("network-firewall", None).unwrap();
            assert_eq!(cfg.runtime, RuntimeConfig::for_service("network-firewall"));
            assert_eq!(cfg.runtime.grpc_addr, "127.0.0.1:50051".parse().unwrap());
            assert_eq!(cfg.runtime.metrics_addr, "127.0.0.1:9464".parse().unwrap());
            assert_eq!(cfg.runtime.nats_url, "nats://127.0.0.1:4222");
            assert_eq!(
                cfg.runtime.data_dir,
                PathBuf::from(".accord/data/network-firewall")
            );
            assert_eq!(cfg.runtime.log_format, LogFormat::Text);
            assert_eq!(cfg.runtime.shutdown_grace, Duration::from_secs(10));
            assert_eq!(cfg.widgets, 0);
            Ok(())
        });
        // The thread-local does not leak out of `load`.
        assert_eq!(
            RuntimeConfig::default().data_dir,
            PathBuf::from(".accord/data/unnamed")
        );
    }

    #[test]
    fn file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "svc.toml",
                r#"
                widgets = 3
                [runtime]
                grpc_addr = "0.0.0.0:6000"
                log_format = "json"
                shutdown_grace = "1m 30s"
                [nested]
                label = "from-file"
                "#,
            )?;
            let cfg: TestConfig = load("provisioner", Some(Path::new("svc.toml"))).unwrap();
            assert_eq!(cfg.widgets, 3);
            assert_eq!(cfg.runtime.grpc_addr, "0.0.0.0:6000".parse().unwrap());
            assert_eq!(cfg.runtime.log_format, LogFormat::Json);
            assert_eq!(cfg.runtime.shutdown_grace, Duration::from_secs(90));
            assert_eq!(cfg.nested.label, "from-file");
            // Keys the file does not set keep their defaults.
            assert_eq!(cfg.runtime.metrics_addr, DEFAULT_METRICS_ADDR);
            assert_eq!(
                cfg.runtime.data_dir,
                PathBuf::from(".accord/data/provisioner")
            );
            Ok(())
        });
    }

    #[test]
    fn env_overrides_file_and_nests_with_double_underscore() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "svc.toml",
                "widgets = 3\n[runtime]\nnats_url = \"nats://file:4222\"\n",
            )?;
            jail.set_env("ACCORD_NETWORK_FIREWALL__WIDGETS", "7");
            jail.set_env(
                "ACCORD_NETWORK_FIREWALL__RUNTIME__NATS_URL",
                "nats://env:4222",
            );
            jail.set_env(
                "ACCORD_NETWORK_FIREWALL__RUNTIME__DATA_DIR",
                "/var/lib/accord/fw",
            );
            jail.set_env("ACCORD_NETWORK_FIREWALL__NESTED__LABEL", "from-env");
            // Another service's variables are not ours.
            jail.set_env("ACCORD_PROVISIONER__WIDGETS", "99");
            let cfg: TestConfig = load("network-firewall", Some(Path::new("svc.toml"))).unwrap();
            assert_eq!(cfg.widgets, 7);
            assert_eq!(cfg.runtime.nats_url, "nats://env:4222");
            assert_eq!(cfg.runtime.data_dir, PathBuf::from("/var/lib/accord/fw"));
            assert_eq!(cfg.nested.label, "from-env");
            Ok(())
        });
    }

    #[test]
    fn missing_named_file_is_an_error() {
        Jail::expect_with(|_| {
            let err = load::<TestConfig>("provisioner", Some(Path::new("nope.toml"))).unwrap_err();
            assert!(
                matches!(err, ConfigError::MissingFile(ref p) if p == Path::new("nope.toml")),
                "{err:?}"
            );
            assert!(err.to_string().contains("nope.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_in_file_is_rejected_and_named() {
        Jail::expect_with(|jail| {
            jail.create_file("svc.toml", "[runtime]\ngrpc_adr = \"127.0.0.1:1\"\n")?;
            let err = load::<TestConfig>("provisioner", Some(Path::new("svc.toml"))).unwrap_err();
            let msg = invalid_message(err);
            assert!(
                msg.starts_with("runtime.grpc_adr: unknown key; expected one of `grpc_addr`"),
                "{msg}"
            );
            assert!(msg.contains("svc.toml"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn unknown_env_var_is_rejected_and_named() {
        Jail::expect_with(|jail| {
            jail.set_env("ACCORD_PROVISIONER__FOO", "1");
            let err = load::<TestConfig>("provisioner", None).unwrap_err();
            let msg = invalid_message(err);
            assert_eq!(
                msg,
                "foo: unknown key; expected one of `runtime`, `widgets`, `nested` \
                 (set by environment variable ACCORD_PROVISIONER__FOO)"
            );
            assert!(msg.contains("ACCORD_PROVISIONER__FOO"), "{msg}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("ACCORD_PROVISIONER__RUNTIME__GRPC_PORT", "1");
            let msg = invalid_message(load::<TestConfig>("provisioner", None).unwrap_err());
            assert!(msg.contains("runtime.grpc_port"), "{msg}");
            assert!(
                msg.contains("ACCORD_PROVISIONER__RUNTIME__GRPC_PORT"),
                "{msg}"
            );
            Ok(())
        });
    }

    #[test]
    fn malformed_value_is_rejected_and_named() {
        Jail::expect_with(|jail| {
            jail.set_env("ACCORD_PROVISIONER__RUNTIME__SHUTDOWN_GRACE", "soon");
            let msg = invalid_message(load::<TestConfig>("provisioner", None).unwrap_err());
            assert!(
                msg.starts_with("runtime.shutdown_grace: invalid value"),
                "{msg}"
            );
            assert!(
                msg.ends_with(
                    "(set by environment variable ACCORD_PROVISIONER__RUNTIME__SHUTDOWN_GRACE)"
                ),
                "{msg}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file("svc.toml", "[runtime]\nlog_format = \"xml\"\n")?;
            let msg = invalid_message(
                load::<TestConfig>("provisioner", Some(Path::new("svc.toml"))).unwrap_err(),
            );
            assert!(
                msg.contains("xml") && msg.contains("runtime.log_format"),
                "{msg}"
            );
            Ok(())
        });
    }

    #[test]
    fn env_prefix_normalises_service_names() {
        assert_eq!(env_prefix("network-firewall"), "ACCORD_NETWORK_FIREWALL__");
        assert_eq!(env_prefix("provisioner"), "ACCORD_PROVISIONER__");
        assert_eq!("JSON".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
