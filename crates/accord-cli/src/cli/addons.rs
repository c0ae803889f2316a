//! `accord addon …` (the add-ons of a cluster: install, configure, upgrade, ownership) and
//! `accord plugin …` (components in the NATS plugin bucket).

use clap::{Args, Subcommand, ValueEnum};

/// `accord addon …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AddonCommand {
    /// The add-ons that can be installed: versions, installer, the knobs customers may turn
    Available,
    /// The add-ons installed on a cluster, with their ownership, and automatic installs that
    /// failed (status install-failed: attempts, next retry, error)
    #[command(alias = "ls")]
    List(AddonClusterArgs),
    /// One installation; `-o yaml` shows its rendered manifests
    #[command(
        after_help = "Examples:\n  accord addon get demo nvidia-gpu-operator\n  accord addon get demo cilium -o yaml"
    )]
    Get(AddonTarget),
    /// Install a core add-on (or declare your own installation of one with --self-managed)
    #[command(
        after_help = "Examples:\n  accord addon install demo watch-agent\n  accord addon install demo nvidia-gpu-operator --set driver.version=570.172.08\n  accord addon install demo nvidia-network-operator --self-managed"
    )]
    Install(AddonInstallArgs),
    /// Change an installation's configuration overrides; the add-on's plugin judges whether it
    /// stays managed, becomes shared, or becomes customer-owned
    #[command(
        after_help = "Examples:\n  accord addon configure demo nvidia-gpu-operator --set driver.version=570.172.08\n  accord addon configure demo nvidia-gpu-operator --set driver.enabled=false\n  accord addon configure demo cilium --reset"
    )]
    Configure(AddonConfigureArgs),
    /// Remove an installation (or stop retrying a failed automatic install)
    Uninstall(AddonTarget),
    /// Provider operator: a critical upgrade of one add-on on every cluster (customer-owned
    /// installations are skipped, each with an event saying why)
    Upgrade(AddonUpgradeArgs),
}

/// A cluster.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AddonClusterArgs {
    /// Cluster (name or id)
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
}

/// An installation.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AddonTarget {
    /// Cluster (name or id)
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    /// Add-on name (see `accord addon available`)
    #[arg(value_name = "ADDON")]
    pub addon: String,
}

/// `accord addon install`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AddonInstallArgs {
    #[command(flatten)]
    pub target: AddonTarget,
    /// Add-on version [default: the add-on's default]
    #[arg(long = "addon-version", value_name = "VERSION")]
    pub addon_version: Option<String>,
    /// Set one configuration path (dotted); VALUE is JSON when it parses, else a string
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Overrides from a JSON file
    #[arg(long = "config-file", value_name = "FILE")]
    pub config_file: Option<std::path::PathBuf>,
    /// You run this add-on yourself (outside the provider's add-ons): it is recorded as
    /// customer-owned and nothing is rendered
    #[arg(long)]
    pub self_managed: bool,
}

/// `accord addon configure`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AddonConfigureArgs {
    #[command(flatten)]
    pub target: AddonTarget,
    /// Set one configuration path (dotted); VALUE is JSON when it parses, else a string
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Remove one override (dotted path)
    #[arg(long = "unset", value_name = "PATH")]
    pub unset: Vec<String>,
    /// Replace all overrides with a JSON file's
    #[arg(long = "config-file", value_name = "FILE", conflicts_with = "reset")]
    pub config_file: Option<std::path::PathBuf>,
    /// Drop every override: back to the provider's reference configuration
    #[arg(long)]
    pub reset: bool,
}

/// `accord addon upgrade`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AddonUpgradeArgs {
    /// Add-on name
    #[arg(value_name = "ADDON")]
    pub addon: String,
    /// Target version
    #[arg(long = "to", value_name = "VERSION")]
    pub to: String,
    /// Only these clusters (ids); default: every cluster with the add-on
    #[arg(long = "cluster-id", value_name = "ID")]
    pub clusters: Vec<String>,
    /// Why (recorded in the events), e.g. a CVE
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
}

// ------------------------------------------------------------------ plugin

/// `accord plugin …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum PluginCommand {
    /// Push a plugin component (provider only: needs an operator key)
    ///
    /// The addon-manager compiles and checks it (its world must match --kind), then stores it as
    /// `policy.<name>` or `addon.<name>` (the name from the plugin's describe()) with its kind,
    /// version and SHA-256; every replica watching the bucket validates it again and swaps it in
    /// atomically. At most 3 MiB.
    #[command(
        after_help = "Examples:\n  accord plugin push gpu_remediation.wasm --kind remediation-policy\n  accord plugin push cilium.wasm --kind addon"
    )]
    Push(PluginPushArgs),
    /// List the pushed plugins (provider only): name, kind, version, digest, size, state, modified
    List,
}

/// `accord plugin push`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PluginPushArgs {
    /// The component (.wasm)
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Which world the component implements (a mismatch is an error)
    #[arg(long, value_enum)]
    pub kind: PluginKindArg,
}

/// `--kind` of `accord plugin push`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PluginKindArg {
    /// An add-on (accord:plugin/addon-api)
    Addon,
    /// A remediation policy (accord:plugin/policy-api)
    RemediationPolicy,
}
