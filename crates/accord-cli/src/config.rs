//! Connection settings: where the API and NATS are and which token to present, merged from the
//! command line, the environment and a TOML config file with named profiles.
//!
//! The config file is the first of:
//! 1. `--config` / `ACCORD_CONFIG` (must exist; a directory means its `cli.toml`, so the
//!    data directory of `accord up --data-dir DIR` can be given as it is),
//! 2. `.accord/cli.toml` in the current directory or the nearest parent that has one (what
//!    `accord up` writes),
//! 3. `$XDG_CONFIG_HOME/accord/config.toml`, else `~/.config/accord/config.toml`.
//!
//! ```toml
//! default_profile = "admin"          # optional: profile used when none is selected
//! endpoint = "http://127.0.0.1:50051" # optional top-level defaults
//! nats_url = "nats://127.0.0.1:4222"
//!
//! [profiles.admin]
//! token = "accord_ak-…_…"
//!
//! [profiles.admin.endpoints]              # optional: a gRPC package served elsewhere
//! "accord.addons.v1" = "http://127.0.0.1:50052"
//! "accord.support.v1" = "http://127.0.0.1:50053"
//! "accord.telemetry.v1" = "http://127.0.0.1:50054"
//! "accord.firewall.v1" = "http://127.0.0.1:50055"
//! "accord.storage.v1" = "http://127.0.0.1:50056"
//! "accord.images.v1" = "http://127.0.0.1:50057"
//!
//! [profiles.operator]
//! token = "accord_ak-…_…"
//! ```
//!
//! Endpoints are keyed by gRPC package: a call goes to the endpoint of its package, else to
//! `endpoint` (one gateway routing by service). `ACCORD_ADDONS_ENDPOINT`,
//! `ACCORD_SUPPORT_ENDPOINT`, `ACCORD_TELEMETRY_ENDPOINT`, `ACCORD_FIREWALL_ENDPOINT` and
//! `ACCORD_STORAGE_ENDPOINT` and `ACCORD_IMAGES_ENDPOINT` override the six packages served
//! apart today; files that still carry the former `addons_endpoint` /
//! `support_endpoint` keys are read as those packages.
//!
//! Precedence, for each of `endpoint`, `token` and `nats_url` (first that is set wins):
//! the command-line flag; the profile selected with `--profile` / `ACCORD_PROFILE`; the
//! `ACCORD_*` environment variable; the file's `default_profile`; the file's top-level key; the
//! built-in default. A selected profile thus beats an exported `ACCORD_TOKEN`, but a typed
//! `--token` beats everything.
//!
//! Invariant: resolution does no IO besides reading the one config file; the environment it
//! consults (current directory, `HOME`, `XDG_CONFIG_HOME`) is passed in as [`Environment`], so it
//! is testable without touching the process environment.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::cli::{DEFAULT_ENDPOINT, DEFAULT_NATS_URL, GlobalArgs};

/// The config file written by `accord up`, relative to the directory it runs in.
pub const PROJECT_CONFIG: &str = ".accord/cli.toml";
/// The profile `accord up` writes in its data directory (`--config DIR` reads it).
pub const DATA_DIR_CONFIG: &str = "cli.toml";

/// One set of connection settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Profile {
    /// URL of the Accord API.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// API token.
    #[serde(default)]
    pub token: Option<String>,
    /// URL of NATS.
    #[serde(default)]
    pub nats_url: Option<String>,
    /// File holding the nkey seed NATS is reached with (an operator's tool user, written by
    /// `accord up`); without one, the API token is the NATS token (a customer's connection,
    /// which may only read the project's events).
    #[serde(default)]
    pub nats_nkey_file: Option<String>,
    /// PEM file of the CA that signed the servers' certificates (`https://` endpoints and
    /// `tls://` NATS; `accord up` writes its local CA's here); without one, the system's roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Endpoints by gRPC package (`accord.addons.v1` → URL); a package not listed goes to
    /// `endpoint`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Former spelling of `endpoints."accord.addons.v1"` (read, never written).
    #[serde(default, skip_serializing)]
    pub addons_endpoint: Option<String>,
    /// Former spelling of `endpoints."accord.support.v1"` (read, never written).
    #[serde(default, skip_serializing)]
    pub support_endpoint: Option<String>,
}

/// gRPC package of the addon-manager (`accord addon …`).
pub const ADDONS_PACKAGE: &str = "accord.addons.v1";
/// gRPC package of support-triage (`accord ticket …`).
pub const SUPPORT_PACKAGE: &str = "accord.support.v1";
/// gRPC package of the telemetry service (`accord health get nodes`, `accord health findings`).
pub const TELEMETRY_PACKAGE: &str = "accord.telemetry.v1";
/// gRPC package of the network-firewall service (`accord get|create|delete firewall-rule`).
pub const FIREWALL_PACKAGE: &str = "accord.firewall.v1";
/// gRPC package of the storage-csi service (volumes, snapshots, StorageClasses, `accord nfs`,
/// `accord migration`).
pub const STORAGE_PACKAGE: &str = "accord.storage.v1";
/// gRPC package of the image-builder (`accord get images`, `accord image …`, builds).
pub const IMAGES_PACKAGE: &str = "accord.images.v1";

/// Packages with an environment override, and the variable.
const PACKAGE_ENV: [(&str, &str); 6] = [
    (ADDONS_PACKAGE, "ACCORD_ADDONS_ENDPOINT"),
    (SUPPORT_PACKAGE, "ACCORD_SUPPORT_ENDPOINT"),
    (TELEMETRY_PACKAGE, "ACCORD_TELEMETRY_ENDPOINT"),
    (FIREWALL_PACKAGE, "ACCORD_FIREWALL_ENDPOINT"),
    (STORAGE_PACKAGE, "ACCORD_STORAGE_ENDPOINT"),
    (IMAGES_PACKAGE, "ACCORD_IMAGES_ENDPOINT"),
];

impl Profile {
    /// The endpoint of `package` this profile names, in the current or the former spelling.
    fn endpoint_of(&self, package: &str) -> Option<String> {
        if let Some(url) = self.endpoints.get(package) {
            return Some(url.clone());
        }
        match package {
            ADDONS_PACKAGE => self.addons_endpoint.clone(),
            SUPPORT_PACKAGE => self.support_endpoint.clone(),
            _ => None,
        }
    }

    /// Every package this profile names.
    fn packages(&self) -> Vec<String> {
        let mut out: Vec<String> = self.endpoints.keys().cloned().collect();
        for (package, legacy) in [
            (ADDONS_PACKAGE, &self.addons_endpoint),
            (SUPPORT_PACKAGE, &self.support_endpoint),
        ] {
            if legacy.is_some() && !out.iter().any(|p| p == package) {
                out.push(package.to_owned());
            }
        }
        out
    }
}

/// The config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ConfigFile {
    /// Profile used when none is selected.
    #[serde(default)]
    pub default_profile: Option<String>,
    /// Top-level defaults.
    #[serde(flatten)]
    pub defaults: Profile,
    /// Named profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl ConfigFile {
    /// Parses TOML text.
    pub fn parse(text: &str) -> anyhow::Result<ConfigFile> {
        Figment::from(Toml::string(text))
            .extract()
            .map_err(|error| anyhow!("{error}"))
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read config file {}", path.display()))?;
        ConfigFile::parse(&text).with_context(|| format!("parse config file {}", path.display()))
    }

    /// Renders the file as TOML (for `accord up`, which writes `.accord/cli.toml`).
    pub fn to_toml(&self) -> String {
        let mut text = String::from("# Accord CLI settings (see `accord --help`).\n");
        if let Some(name) = &self.default_profile {
            let _ = writeln!(text, "default_profile = {}", toml_string(name));
        }
        write_profile(&mut text, &self.defaults);
        for (name, profile) in &self.profiles {
            let _ = writeln!(text, "\n[profiles.{}]", toml_key(name));
            write_profile(&mut text, profile);
        }
        text
    }
}

fn write_profile(text: &mut String, profile: &Profile) {
    for (key, value) in [
        ("endpoint", &profile.endpoint),
        ("token", &profile.token),
        ("nats_url", &profile.nats_url),
        ("nats_nkey_file", &profile.nats_nkey_file),
        ("ca_file", &profile.ca_file),
    ] {
        if let Some(value) = value {
            let _ = writeln!(text, "{key} = {}", toml_string(value));
        }
    }
    if !profile.endpoints.is_empty() {
        let endpoints: Vec<String> = profile
            .endpoints
            .iter()
            .map(|(package, url)| format!("{} = {}", toml_string(package), toml_string(url)))
            .collect();
        let _ = writeln!(text, "endpoints = {{ {} }}", endpoints.join(", "));
    }
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bare TOML key when possible, else a quoted one.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// The parts of the process environment that resolution consults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// The current directory.
    pub cwd: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
}

impl Environment {
    /// The real process environment.
    pub fn current() -> Environment {
        let non_empty = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        Environment {
            cwd: std::env::current_dir().ok(),
            home: non_empty("HOME"),
            xdg_config_home: non_empty("XDG_CONFIG_HOME"),
        }
    }

    /// Where the config file is, if anywhere (without `--config`).
    pub fn find_config_file(&self) -> Option<PathBuf> {
        if let Some(cwd) = &self.cwd {
            for dir in cwd.ancestors() {
                let candidate = dir.join(PROJECT_CONFIG);
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
        self.user_config_file().filter(|path| path.is_file())
    }

    /// `$XDG_CONFIG_HOME/accord/config.toml` or `~/.config/accord/config.toml`.
    pub fn user_config_file(&self) -> Option<PathBuf> {
        let base = match (&self.xdg_config_home, &self.home) {
            (Some(xdg), _) => xdg.clone(),
            (None, Some(home)) => home.join(".config"),
            (None, None) => return None,
        };
        Some(base.join("accord").join("config.toml"))
    }
}

impl Settings {
    /// Where calls of gRPC `package` go: its own endpoint, else `endpoint`.
    pub fn endpoint_for(&self, package: &str) -> &str {
        self.endpoints
            .get(package)
            .map_or(self.endpoint.as_str(), String::as_str)
    }
}

/// The resolved connection settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// URL of the Accord API.
    pub endpoint: String,
    /// API token, if any was found.
    pub token: Option<String>,
    /// URL of NATS.
    pub nats_url: String,
    /// The nkey seed file for NATS (see [`Profile::nats_nkey_file`]).
    pub nats_nkey_file: Option<PathBuf>,
    /// The CA file servers are verified with (see [`Profile::ca_file`]).
    pub ca_file: Option<PathBuf>,
    /// Endpoints by gRPC package (see the module docs); others go to `endpoint`.
    pub endpoints: BTreeMap<String, String>,
    /// `--project` (empty: the key's project).
    pub project: String,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The profile whose values were used, if any.
    pub profile: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("nats_url", &self.nats_url)
            .field("nats_nkey_file", &self.nats_nkey_file)
            .field("ca_file", &self.ca_file)
            .field("endpoints", &self.endpoints)
            .field("project", &self.project)
            .field("config_file", &self.config_file)
            .field("profile", &self.profile)
            .finish()
    }
}

impl Settings {
    /// Settings without any config file: the given values or the built-in defaults.
    pub fn new(endpoint: impl Into<String>, token: Option<String>) -> Settings {
        Settings {
            endpoint: endpoint.into(),
            token,
            nats_url: DEFAULT_NATS_URL.to_owned(),
            nats_nkey_file: None,
            ca_file: None,
            endpoints: BTreeMap::new(),
            project: String::new(),
            config_file: None,
            profile: None,
        }
    }

    /// The token, or an error telling the user how to get one.
    pub fn require_token(&self) -> anyhow::Result<&str> {
        match self.token.as_deref() {
            Some(token) if !token.trim().is_empty() => Ok(token),
            _ => {
                let looked = match (&self.config_file, &self.profile) {
                    (Some(path), Some(profile)) => {
                        format!("profile {profile:?} of {} has no token", path.display())
                    }
                    (Some(path), None) => format!("{} has no token", path.display()),
                    (None, _) => format!(
                        "no config file found: {PROJECT_CONFIG} here or in a parent directory, \
                         or ~/.config/accord/config.toml"
                    ),
                };
                bail!(
                    "no API token: pass --token, set ACCORD_TOKEN, or select a config profile \
                     with --profile ({looked})\n\
                     \x20 to get one: `cargo xtask up` starts Accord locally and prints a token; then\n\
                     \x20   export ACCORD_TOKEN=accord_<id>_<secret>"
                )
            }
        }
    }
}

/// Settings from the command line and environment alone, ignoring any config file (for
/// `accord up` and `accord bench`, which run Accord rather than talk to it, and must not fail on
/// a config file they are about to rewrite).
pub fn from_flags(global: &GlobalArgs) -> Settings {
    Settings {
        endpoint: global
            .endpoint
            .clone()
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        token: global.token.clone(),
        nats_url: global
            .nats_url
            .clone()
            .unwrap_or_else(|| DEFAULT_NATS_URL.to_owned()),
        nats_nkey_file: None,
        ca_file: global.ca_file.clone().map(PathBuf::from),
        endpoints: endpoints_from_env(),
        project: global.project.clone().unwrap_or_default(),
        config_file: None,
        profile: None,
    }
}

fn endpoints_from_env() -> BTreeMap<String, String> {
    PACKAGE_ENV
        .iter()
        .filter_map(|(package, var)| non_empty_env(var).map(|url| ((*package).to_owned(), url)))
        .collect()
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Merges the command line / environment (`global`) with the config file.
pub fn resolve(global: &GlobalArgs, env: &Environment) -> anyhow::Result<Settings> {
    let config_file = match &global.config {
        // A data directory of `accord up --data-dir DIR`: its profile.
        Some(dir) if dir.is_dir() => {
            let path = dir.join(DATA_DIR_CONFIG);
            if !path.is_file() {
                bail!(
                    "{} (from --config or ACCORD_CONFIG) is a directory without {DATA_DIR_CONFIG}: \
                     give the config file, or the --data-dir of an `accord up` that minted keys",
                    dir.display()
                );
            }
            Some(path)
        }
        Some(path) => {
            if !path.is_file() {
                bail!(
                    "config file {} (from --config or ACCORD_CONFIG) does not exist",
                    path.display()
                );
            }
            Some(path.clone())
        }
        None => env.find_config_file(),
    };
    let file = match &config_file {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };

    let selected = match &global.profile {
        Some(name) => {
            let Some(path) = &config_file else {
                bail!(
                    "profile {name:?} was selected (--profile or ACCORD_PROFILE) but there is no \
                     config file: run `accord up`, or create {PROJECT_CONFIG} or \
                     ~/.config/accord/config.toml"
                );
            };
            let Some(profile) = file.profiles.get(name) else {
                let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
                bail!(
                    "config file {} has no profile {name:?} (it has: {})",
                    path.display(),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                );
            };
            Some((name.clone(), profile.clone()))
        }
        None => None,
    };
    let default = match &file.default_profile {
        Some(name) => match file.profiles.get(name) {
            Some(profile) => Some((name.clone(), profile.clone())),
            None => bail!(
                "config file {}: default_profile {name:?} is not one of its [profiles]",
                config_file
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
        },
        None => None,
    };

    let mut used_profile = None;
    let mut pick = |flag: &Option<String>,
                    on_command_line: bool,
                    field: fn(&Profile) -> &Option<String>|
     -> Option<String> {
        let cli_value = flag.clone().filter(|_| on_command_line);
        let env_value = flag.clone().filter(|_| !on_command_line);
        if let Some(value) = cli_value {
            return Some(value);
        }
        if let Some((name, profile)) = &selected
            && let Some(value) = field(profile)
        {
            used_profile = Some(name.clone());
            return Some(value.clone());
        }
        if env_value.is_some() {
            return env_value;
        }
        if let Some((name, profile)) = &default
            && let Some(value) = field(profile)
        {
            used_profile = Some(name.clone());
            return Some(value.clone());
        }
        field(&file.defaults).clone()
    };
    let sources = global.sources;
    let endpoint = pick(&global.endpoint, sources.endpoint_on_command_line, |p| {
        &p.endpoint
    });
    let token = pick(&global.token, sources.token_on_command_line, |p| &p.token);
    let nats_url = pick(&global.nats_url, sources.nats_url_on_command_line, |p| {
        &p.nats_url
    });
    let nats_nkey_file = pick(&None, false, |p| &p.nats_nkey_file);
    let ca_file = pick(&global.ca_file, sources.ca_file_on_command_line, |p| {
        &p.ca_file
    });

    // Per package: the environment, then the selected profile, the default profile, the
    // file's top level.
    let mut endpoints = BTreeMap::new();
    let layers: Vec<&Profile> = [selected.as_ref(), default.as_ref()]
        .into_iter()
        .flatten()
        .map(|(_, p)| p)
        .chain(std::iter::once(&file.defaults))
        .collect();
    for layer in layers.iter().rev() {
        for package in layer.packages() {
            if let Some(url) = layer.endpoint_of(&package) {
                endpoints.insert(package, url);
            }
        }
    }
    endpoints.extend(endpoints_from_env());

    Ok(Settings {
        endpoint: endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        token,
        nats_url: nats_url.unwrap_or_else(|| DEFAULT_NATS_URL.to_owned()),
        nats_nkey_file: nats_nkey_file.map(PathBuf::from),
        ca_file: ca_file.map(PathBuf::from),
        endpoints,
        project: global.project.clone().unwrap_or_default(),
        config_file,
        profile: used_profile.or_else(|| selected.map(|(name, _)| name)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ArgSources, OutputFormat};

    fn global() -> GlobalArgs {
        GlobalArgs {
            endpoint: None,
            token: None,
            project: None,
            profile: None,
            config: None,
            nats_url: None,
            ca_file: None,
            output: OutputFormat::Table,
            sources: ArgSources::default(),
        }
    }

    const FILE: &str = r#"
default_profile = "admin"
endpoint = "http://10.0.0.1:50051"

[profiles.admin]
token = "accord_admin_token"

[profiles.operator]
token = "accord_operator_token"
nats_url = "nats://10.0.0.1:4222"
"#;

    fn project_with_config(text: &str) -> (tempfile::TempDir, Environment) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".accord")).unwrap();
        std::fs::write(dir.path().join(PROJECT_CONFIG), text).unwrap();
        let nested = dir.path().join("a/b/c");
        std::fs::create_dir_all(&nested).unwrap();
        let env = Environment {
            cwd: Some(nested),
            home: Some(dir.path().join("home")),
            xdg_config_home: None,
        };
        (dir, env)
    }

    #[test]
    fn flags_only() {
        let mut args = global();
        args.nats_url = Some("nats://n:1".into());
        let settings = from_flags(&args);
        assert_eq!(settings.nats_url, "nats://n:1");
        assert_eq!(settings.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(settings.config_file, None);
    }

    #[test]
    fn defaults_without_any_file() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment {
            cwd: Some(dir.path().to_owned()),
            home: Some(dir.path().join("home")),
            xdg_config_home: None,
        };
        let settings = resolve(&global(), &env).unwrap();
        assert_eq!(settings.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(settings.nats_url, DEFAULT_NATS_URL);
        assert_eq!(settings.token, None);
        assert_eq!(settings.config_file, None);
        let err = settings.require_token().unwrap_err().to_string();
        assert!(err.contains("cargo xtask up"), "{err}");
        assert!(err.contains("export ACCORD_TOKEN="), "{err}");
    }

    #[test]
    fn project_file_is_found_walking_up_and_default_profile_applies() {
        let (dir, env) = project_with_config(FILE);
        let settings = resolve(&global(), &env).unwrap();
        assert_eq!(settings.config_file, Some(dir.path().join(PROJECT_CONFIG)));
        assert_eq!(settings.token.as_deref(), Some("accord_admin_token"));
        assert_eq!(settings.endpoint, "http://10.0.0.1:50051");
        assert_eq!(settings.nats_url, DEFAULT_NATS_URL);
        assert_eq!(settings.profile.as_deref(), Some("admin"));
    }

    #[test]
    fn selected_profile_beats_environment_but_not_command_line() {
        let (_dir, env) = project_with_config(FILE);
        let mut args = global();
        args.profile = Some("operator".into());
        args.token = Some("accord_from_env".into());
        args.sources.token_on_command_line = false;
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(settings.token.as_deref(), Some("accord_operator_token"));
        assert_eq!(settings.nats_url, "nats://10.0.0.1:4222");
        assert_eq!(settings.profile.as_deref(), Some("operator"));

        args.sources.token_on_command_line = true;
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(settings.token.as_deref(), Some("accord_from_env"));
    }

    #[test]
    fn environment_beats_default_profile() {
        let (_dir, env) = project_with_config(FILE);
        let mut args = global();
        args.token = Some("accord_from_env".into());
        args.sources.token_on_command_line = false;
        args.endpoint = Some("http://env:1".into());
        args.sources.endpoint_on_command_line = false;
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(settings.token.as_deref(), Some("accord_from_env"));
        assert_eq!(settings.endpoint, "http://env:1");
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let (_dir, env) = project_with_config(FILE);
        let mut args = global();
        args.profile = Some("ops".into());
        let err = resolve(&args, &env).unwrap_err().to_string();
        assert!(err.contains("no profile \"ops\""), "{err}");
        assert!(err.contains("admin, operator"), "{err}");
    }

    #[test]
    fn profile_without_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment {
            cwd: Some(dir.path().to_owned()),
            home: None,
            xdg_config_home: None,
        };
        let mut args = global();
        args.profile = Some("admin".into());
        let err = resolve(&args, &env).unwrap_err().to_string();
        assert!(err.contains("there is no config file"), "{err}");
    }

    #[test]
    fn explicit_config_path_must_exist_and_wins() {
        let (_dir, env) = project_with_config(FILE);
        let other = tempfile::tempdir().unwrap();
        let path = other.path().join("mine.toml");
        std::fs::write(&path, "token = \"accord_mine\"\n").unwrap();
        let mut args = global();
        args.config = Some(path.clone());
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(settings.token.as_deref(), Some("accord_mine"));
        assert_eq!(settings.config_file, Some(path));

        args.config = Some(other.path().join("missing.toml"));
        let err = resolve(&args, &env).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn user_config_under_xdg_or_home() {
        let dir = tempfile::tempdir().unwrap();
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("accord")).unwrap();
        std::fs::write(xdg.join("accord/config.toml"), "token = \"accord_xdg\"\n").unwrap();
        let env = Environment {
            cwd: Some(dir.path().join("work")),
            home: Some(dir.path().join("home")),
            xdg_config_home: Some(xdg),
        };
        assert_eq!(
            resolve(&global(), &env).unwrap().token.as_deref(),
            Some("accord_xdg")
        );

        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".config/accord")).unwrap();
        std::fs::write(
            home.join(".config/accord/config.toml"),
            "token = \"accord_home\"\n",
        )
        .unwrap();
        let env = Environment {
            xdg_config_home: None,
            ..env
        };
        assert_eq!(
            resolve(&global(), &env).unwrap().token.as_deref(),
            Some("accord_home")
        );
    }

    #[test]
    fn malformed_file_names_the_path() {
        let (dir, env) = project_with_config("token = [1, 2");
        let err = format!("{:#}", resolve(&global(), &env).unwrap_err());
        assert!(
            err.contains(&dir.path().join(PROJECT_CONFIG).display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn dangling_default_profile_is_an_error() {
        let (_dir, env) = project_with_config("default_profile = \"nope\"\n");
        let err = resolve(&global(), &env).unwrap_err().to_string();
        assert!(err.contains("default_profile \"nope\""), "{err}");
    }

    #[test]
    fn package_endpoints_come_from_the_profile_else_the_main_endpoint() {
        let (_dir, env) = project_with_config(
            r#"
default_profile = "admin"

[profiles.admin]
token = "accord_admin_token"
support_endpoint = "http://127.0.0.1:50053"

[profiles.admin.endpoints]
"accord.addons.v1" = "http://127.0.0.1:50052"
"#,
        );
        let settings = resolve(&global(), &env).unwrap();
        let env_of = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        assert_eq!(
            settings.endpoint_for(SUPPORT_PACKAGE),
            env_of("ACCORD_SUPPORT_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50053".into())
        );
        assert_eq!(
            settings.endpoint_for(ADDONS_PACKAGE),
            env_of("ACCORD_ADDONS_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50052".into())
        );
        assert_eq!(
            settings.endpoint_for("accord.provisioner.v1"),
            settings.endpoint
        );
        assert!(format!("{settings:?}").contains("endpoints"));

        let (_dir, env) = project_with_config(FILE);
        let settings = resolve(&global(), &env).unwrap();
        if env_of("ACCORD_SUPPORT_ENDPOINT").is_none() {
            assert_eq!(settings.endpoint_for(SUPPORT_PACKAGE), settings.endpoint);
        }
    }

    #[test]
    fn firewall_endpoint_comes_from_the_profile_else_the_main_endpoint() {
        let env_of = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let (_dir, env) = project_with_config(
            r#"
endpoint = "http://10.0.0.1:50051"

[endpoints]
"accord.firewall.v1" = "http://127.0.0.1:50055"
"#,
        );
        let settings = resolve(&global(), &env).unwrap();
        assert_eq!(
            settings.endpoint_for(FIREWALL_PACKAGE),
            env_of("ACCORD_FIREWALL_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50055".into())
        );
        let (_dir, env) = project_with_config(FILE);
        let settings = resolve(&global(), &env).unwrap();
        if env_of("ACCORD_FIREWALL_ENDPOINT").is_none() {
            assert_eq!(
                settings.endpoint_for(FIREWALL_PACKAGE),
                "http://10.0.0.1:50051"
            );
        }
        assert!(
            PACKAGE_ENV.contains(&(FIREWALL_PACKAGE, "ACCORD_FIREWALL_ENDPOINT")),
            "the firewall package has its environment override"
        );
    }

    #[test]
    fn storage_endpoint_comes_from_the_profile_else_the_main_endpoint() {
        let env_of = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let (_dir, env) = project_with_config(
            r#"
endpoint = "http://10.0.0.1:50051"
default_profile = "operator"

[profiles.operator]
token = "accord_operator_token"

[profiles.operator.endpoints]
"accord.storage.v1" = "http://127.0.0.1:50056"
"#,
        );
        let settings = resolve(&global(), &env).unwrap();
        assert_eq!(
            settings.endpoint_for(STORAGE_PACKAGE),
            env_of("ACCORD_STORAGE_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50056".into())
        );
        let (_dir, env) = project_with_config(FILE);
        let settings = resolve(&global(), &env).unwrap();
        if env_of("ACCORD_STORAGE_ENDPOINT").is_none() {
            assert_eq!(
                settings.endpoint_for(STORAGE_PACKAGE),
                "http://10.0.0.1:50051"
            );
        }
        assert!(
            PACKAGE_ENV.contains(&(STORAGE_PACKAGE, "ACCORD_STORAGE_ENDPOINT")),
            "the storage package has its environment override"
        );
    }

    #[test]
    fn images_endpoint_comes_from_the_profile_else_the_main_endpoint() {
        let env_of = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let (_dir, env) = project_with_config(
            r#"
endpoint = "http://10.0.0.1:50051"
default_profile = "operator"

[profiles.operator]
token = "accord_operator_token"

[profiles.operator.endpoints]
"accord.images.v1" = "http://127.0.0.1:50057"
"#,
        );
        let settings = resolve(&global(), &env).unwrap();
        assert_eq!(
            settings.endpoint_for(IMAGES_PACKAGE),
            env_of("ACCORD_IMAGES_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50057".into())
        );
        let (_dir, env) = project_with_config(FILE);
        let settings = resolve(&global(), &env).unwrap();
        if env_of("ACCORD_IMAGES_ENDPOINT").is_none() {
            assert_eq!(
                settings.endpoint_for(IMAGES_PACKAGE),
                "http://10.0.0.1:50051"
            );
        }
        assert!(
            PACKAGE_ENV.contains(&(IMAGES_PACKAGE, "ACCORD_IMAGES_ENDPOINT")),
            "the images package has its environment override"
        );
    }

    #[test]
    fn to_toml_round_trips() {
        let mut file = ConfigFile {
            default_profile: Some("admin".into()),
            defaults: Profile {
                endpoint: Some("http://127.0.0.1:50051".into()),
                token: None,
                nats_url: Some("nats://127.0.0.1:4222".into()),
                endpoints: [
                    (
                        ADDONS_PACKAGE.to_owned(),
                        "http://127.0.0.1:50052".to_owned(),
                    ),
                    (
                        SUPPORT_PACKAGE.to_owned(),
                        "http://127.0.0.1:50053".to_owned(),
                    ),
                ]
                .into_iter()
                .collect(),
                ..Profile::default()
            },
            profiles: BTreeMap::new(),
        };
        file.profiles.insert(
            "admin".into(),
            Profile {
                token: Some("accord_a\"b\\c".into()),
                ..Profile::default()
            },
        );
        file.profiles.insert(
            "odd name".into(),
            Profile {
                token: Some("t".into()),
                ..Profile::default()
            },
        );
        let text = file.to_toml();
        assert_eq!(ConfigFile::parse(&text).unwrap(), file, "{text}");
    }
}
