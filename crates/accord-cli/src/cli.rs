//! The command line, as clap derive types: global options, every command and its arguments.
//!
//! Nothing here talks to the network; [`crate::commands`] turns a parsed [`Cli`] into calls.
//!
//! Invariants:
//! - Every global option has an environment fallback (`ACCORD_*`), shown in `--help`.
//! - Argument ids of subcommands never reuse a global option's id (`project`, `endpoint`, …):
//!   clap propagates globals into every subcommand and ids must stay unique.
//! - [`Cli::try_parse_with_sources`] records whether connection settings came from the command
//!   line or from the environment, because a selected profile overrides the environment but not
//!   the command line (see [`crate::config`]).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::parse::{parse_duration, parse_label, parse_taint};

/// Where the API listens unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:50051";
/// Where NATS listens unless told otherwise.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

const EXAMPLES: &str = "\
Examples:
  accord whoami
  accord create cluster demo --wait
  accord create nodepool gpu --cluster demo --instance-type h100-80gb-sxm-ib.8x --count 2 --wait
  accord get nodepools --cluster demo
  accord describe cluster demo
  accord kubeconfig demo --file ~/.kube/accord-demo
  accord events watch --resource cluster

Getting a token:
  `cargo xtask up` starts Accord locally and prints a bootstrap token; then
  export ACCORD_TOKEN=accord_<id>_<secret>   (or use --profile with .accord/cli.toml)";

/// `accord`: manage GPU Kubernetes clusters on an Accord cloud.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "accord",
    version,
    about = "Manage Kubernetes clusters, GPU node pools and nodes on an Accord cloud",
    after_help = EXAMPLES,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `std::env::args_os`, printing help or the usage error and exiting on failure.
    pub fn parse_with_sources() -> Cli {
        match Cli::try_parse_with_sources(std::env::args_os()) {
            Ok(cli) => cli,
            Err(error) => error.exit(),
        }
    }

    /// Parses `args` (the first item is the binary name) and records where the connection
    /// settings came from.
    pub fn try_parse_with_sources<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.global.sources = ArgSources::from_matches(&matches);
        Ok(cli)
    }
}

/// Options every command accepts (they may be given before or after the command).
#[derive(Debug, Clone, PartialEq, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// URL of the Accord API [default: http://127.0.0.1:50051]
    #[arg(long, env = "ACCORD_ENDPOINT", global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    #[arg(
        help = "API token (accord_<id>_<secret>); without it, the config file's profile is used",
        long,
        env = "ACCORD_TOKEN",
        global = true,
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Project to act in (provider operators; a customer's key already names its project)
    #[arg(long, env = "ACCORD_PROJECT", global = true, value_name = "PROJECT")]
    pub project: Option<String>,

    /// Profile of the config file to use (e.g. admin, operator)
    #[arg(long, env = "ACCORD_PROFILE", global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Config file [default: .accord/cli.toml in this or a parent directory, else
    /// ~/.config/accord/config.toml]
    #[arg(long, env = "ACCORD_CONFIG", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// URL of NATS, for `events` and `sim` [default: nats://127.0.0.1:4222]
    #[arg(long, env = "ACCORD_NATS_URL", global = true, value_name = "URL")]
    pub nats_url: Option<String>,

    /// Output format
    #[arg(
        short = 'o',
        long,
        env = "ACCORD_OUTPUT",
        global = true,
        value_enum,
        default_value_t = OutputFormat::Table
    )]
    pub output: OutputFormat,

    /// Where `endpoint`, `token` and `nats_url` came from (filled by
    /// [`Cli::try_parse_with_sources`]).
    #[arg(skip)]
    pub sources: ArgSources,
}

/// Whether a connection setting was typed on the command line (as opposed to coming from the
/// environment). Defaults to "command line", which is what a value in a test literal means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSources {
    /// `--endpoint` was given on the command line.
    pub endpoint_on_command_line: bool,
    /// `--token` was given on the command line.
    pub token_on_command_line: bool,
    /// `--nats-url` was given on the command line.
    pub nats_url_on_command_line: bool,
}

impl Default for ArgSources {
    fn default() -> Self {
        ArgSources {
            endpoint_on_command_line: true,
            token_on_command_line: true,
            nats_url_on_command_line: true,
        }
    }
}

impl ArgSources {
    fn from_matches(matches: &ArgMatches) -> Self {
        let on_command_line = |id: &str| {
            // Global options used after the subcommand are propagated up to the root matches.
            deepest_source(matches, id) == Some(ValueSource::CommandLine)
        };
        ArgSources {
            endpoint_on_command_line: on_command_line("endpoint"),
            token_on_command_line: on_command_line("token"),
            nats_url_on_command_line: on_command_line("nats_url"),
        }
    }
}

/// The value source of `id` in the most specific subcommand that knows it.
fn deepest_source(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    let mut source = matches
        .try_get_raw(id)
        .ok()
        .and_then(|_| matches.value_source(id));
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        if let Ok(Some(_)) = sub.try_get_raw(id) {
            source = sub.value_source(id).or(source);
        }
        current = sub;
    }
    source
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable table (or text)
    Table,
    /// JSON: the full resource (lists as {"kind": "List", "items": [...]})
    Json,
    /// YAML: the full resource
    Yaml,
    /// Only `kind/name`, one per line
    Name,
}

/// The commands.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// List resources, or show one
    #[command(
        subcommand,
        after_help = "Examples:\n  accord get clusters\n  accord get np --cluster demo\n  accord get nodes --cluster demo --pool gpu\n  accord get cluster demo -o yaml"
    )]
    Get(GetKind),
    /// Show a resource in detail: spec, status, replicas, conditions
    #[command(subcommand)]
    Describe(DescribeKind),
    /// Create a project, cluster, node pool, member or API key
    #[command(subcommand)]
    Create(CreateKind),
    /// Delete a cluster or node pool, remove a member, revoke an API key
    #[command(subcommand)]
    Delete(DeleteKind),
    /// Change the number of nodes of a node pool
    #[command(subcommand)]
    Scale(ScaleKind),
    /// Replace every node of a node pool with one on a newer image, rolling
    #[command(subcommand)]
    Cycle(CycleKind),
    /// Request (customer) or execute (provider) a Kubernetes minor-version upgrade
    #[command(subcommand)]
    Upgrade(UpgradeCommand),
    /// Mark a node unschedulable
    Cordon(NodeTarget),
    /// Mark a node schedulable again
    Uncordon(NodeTarget),
    /// Print (or write) a kubeconfig for a cluster
    Kubeconfig(KubeconfigArgs),
    /// Show who the API token authenticates as
    Whoami,
    /// What the cloud offers: Kubernetes versions, regions, instance types, node images
    #[command(subcommand)]
    Catalog(CatalogKind),
    /// Project quotas (provider operator)
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Follow the events Accord publishes
    #[command(subcommand)]
    Events(EventsCommand),
    /// Drive the hardware simulator: inject faults, list the simulated fleet
    #[command(subcommand)]
    Sim(SimCommand),
    /// Evaluate remediation policies offline
    #[command(subcommand)]
    Remediation(RemediationCommand),
    /// Classify support tickets offline (Supported, Best-Effort, Customer-Owned)
    #[command(subcommand)]
    Triage(TriageCommand),
    /// Support tickets: file one and see how it is classified, list, reclassify, close
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Core add-ons: the catalogue, installations per cluster, configuration and ownership
    #[command(subcommand)]
    Addon(AddonCommand),
    /// Push plugins into the NATS plugin bucket every service watches; list them
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run every Accord service in one process, for development
    Up(UpArgs),
}

// ------------------------------------------------------------------ addon

/// `accord addon …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AddonCommand {
    /// The add-ons that can be installed: versions, installer, the knobs customers may turn
    Available,
    /// The add-ons installed on a cluster, with their ownership
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
    /// Remove an installation
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
    /// Validate a plugin component locally, then push it into the plugin bucket
    ///
    /// Stored as `policy.<name>` or `addon.<name>` (the name from the plugin's describe()),
    /// with its kind, version and SHA-256; every replica watching the bucket validates it again
    /// and swaps it in atomically.
    #[command(
        after_help = "Examples:\n  accord plugin push gpu_remediation.wasm --kind remediation-policy\n  accord plugin push cilium.wasm --kind addon"
    )]
    Push(PluginPushArgs),
    /// List the plugins in the bucket: name, kind, version, digest, size, modified
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

// ------------------------------------------------------------------ remediation

/// `accord remediation …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RemediationCommand {
    /// Decide what to do about health findings, one JSON line in, one JSON line out
    ///
    /// Input lines: {"id", "event": {"kind": "gpu-xid"|"ib-link"|"node-not-ready"|"gpu-thermal",
    /// "cluster", "node", "xid"?, "gpu"?, "port"?, "state"?, "minutes"?, "temp_c"?},
    /// "context": {"remediation_allowed", "xid_count_24h", "remediations_7d",
    /// "unhealthy_in_pool", "pool_size", "mig", …}}. Output lines, same order: {"id", "action",
    /// "responsibility", "reason"}; a malformed line gives {"id"?, "line", "error"} and the
    /// command exits non-zero at the end. Without --policy, the `gpu-remediation` policy pushed
    /// to the plugin bucket is used when NATS answers within a second, else the shipped file.
    Decide(DecideArgs),
}

/// `accord remediation decide`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DecideArgs {
    /// JSON Lines file of findings, or `-` for standard input
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Policy component (.wasm); default: `policy.gpu-remediation` from the plugin bucket if
    /// NATS is reachable and one was pushed, else the shipped gpu-remediation policy
    /// ($ACCORD_PLUGIN_DIR or plugins/target/wasm32-wasip2/release/gpu_remediation.wasm)
    #[arg(long, value_name = "PATH", env = "ACCORD_REMEDIATION_POLICY")]
    pub policy: Option<std::path::PathBuf>,
}

// ------------------------------------------------------------------ triage

/// `accord triage …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TriageCommand {
    /// Classify support tickets, one JSON line in, one JSON line out
    ///
    /// Input lines: {"id", "title", "description"?, "component"?, "cluster"?, "context"?:
    /// {"addons": {"<add-on>": "provider-managed"|"shared"|"customer-owned"},
    /// "customer_components": [...]}}. Output lines, same order: {"id", "category", "layer",
    /// "component", "rule": {"id", "text"}, "actions", "checklist", "confidence",
    /// "needs_review"}; a malformed line gives {"id"?, "line", "error"} and the command exits
    /// non-zero at the end. Works offline: no token, server or NATS.
    #[command(
        after_help = "Examples:\n  accord triage classify tickets.jsonl\n  echo '{\"id\":\"1\",\"title\":\"kubectl times out\"}' | accord triage classify -\n  accord triage classify tickets.jsonl --rules my-rules.yaml"
    )]
    Classify(ClassifyArgs),
}

/// `accord triage classify`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ClassifyArgs {
    /// JSON Lines file of tickets, or `-` for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Rule file (YAML, the format of services/support-triage/rules/triage-rules.yaml)
    /// [default: the shipped rules]
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,
}

// ------------------------------------------------------------------ ticket

/// `accord ticket …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TicketCommand {
    /// File a support ticket; prints how it was classified and what happens next
    #[command(
        after_help = "Examples:\n  accord ticket create --title 'kubectl times out' --cluster demo\n  accord ticket create --title 'pods cannot reach each other' --cluster demo --component cilium --customer-component istio"
    )]
    Create(TicketCreateArgs),
    /// Show a ticket: its category, the rule that decided, what to check
    Get(TicketRef),
    /// List tickets
    #[command(alias = "ls")]
    List(TicketListArgs),
    /// Override a ticket's category, saying why (provider operator)
    Reclassify(TicketReclassifyArgs),
    /// Close a ticket
    Close(TicketCloseArgs),
}

/// A ticket category, as named on the command line and in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TicketCategoryArg {
    /// The provider owns resolution under its SLA
    Supported,
    /// The provider investigates and advises, without an SLA
    BestEffort,
    /// The customer's to fix; the answer says what to check
    CustomerOwned,
}

/// A ticket state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TicketStateArg {
    /// Open tickets
    Open,
    /// Closed tickets
    Closed,
}

/// One ticket.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketRef {
    /// Ticket id (the full id, or the short form / tail `accord ticket list` shows)
    #[arg(value_name = "ID")]
    pub ticket: String,
}

/// `accord ticket create`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketCreateArgs {
    /// One-line summary of the problem
    #[arg(long, value_name = "TEXT")]
    pub title: String,
    /// What happens, error messages, logs
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The cluster concerned (name or id); its add-on ownership is taken into account
    #[arg(short = 'c', long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// What it is about: a component id, an add-on name or a layer (e.g. kube-apiserver, cilium,
    /// networking)
    #[arg(long, value_name = "NAME")]
    pub component: Option<String>,
    /// A component you run in the cluster yourself, e.g. istio (repeatable)
    #[arg(long = "customer-component", value_name = "NAME")]
    pub customer_components: Vec<String>,
}

/// `accord ticket list`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketListArgs {
    /// Only tickets of this category
    #[arg(long, value_enum)]
    pub category: Option<TicketCategoryArg>,
    /// Only tickets about this cluster (name or id)
    #[arg(short = 'c', long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Only open or only closed tickets
    #[arg(long, value_enum)]
    pub state: Option<TicketStateArg>,
}

/// `accord ticket reclassify`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketReclassifyArgs {
    #[command(flatten)]
    pub target: TicketRef,
    /// The category that applies
    #[arg(long, value_enum)]
    pub category: TicketCategoryArg,
    /// Why (recorded with the override and shown to the customer)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// `accord ticket close`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketCloseArgs {
    #[command(flatten)]
    pub target: TicketRef,
    /// How it was resolved
    #[arg(long, value_name = "TEXT")]
    pub resolution: Option<String>,
}

// ------------------------------------------------------------------ get / describe

/// `accord get <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum GetKind {
    /// Clusters of the project
    #[command(visible_aliases = ["clusters", "cl"])]
    Cluster(OptionalName),
    /// Node pools (of one cluster, or of every cluster)
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(PoolQuery),
    /// Nodes (of one cluster or pool, or of every cluster)
    #[command(visible_aliases = ["nodes", "no"])]
    Node(NodeQuery),
    /// Projects you can see
    #[command(visible_aliases = ["projects"])]
    Project(OptionalName),
    /// Members of the project
    #[command(visible_aliases = ["members"])]
    Member(OptionalName),
    /// API keys of the project
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(OptionalName),
}

/// `accord describe <kind> NAME`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum DescribeKind {
    /// A cluster: spec, control-plane replicas, conditions, node pools
    #[command(visible_aliases = ["clusters", "cl"])]
    Cluster(Name),
    /// A node pool: spec, nodes, image and whether an update is available
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(PoolRef),
    /// A node
    #[command(visible_aliases = ["nodes", "no"])]
    Node(NodeRef),
    /// A project: quota and usage
    #[command(visible_aliases = ["projects"])]
    Project(Name),
    /// A member of the project
    #[command(visible_aliases = ["members"])]
    Member(Name),
    /// An API key
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(Name),
}

/// An optional name or id: without it, list.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct OptionalName {
    /// Name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

/// A required name or id.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct Name {
    /// Name or id
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Node pools to list or show.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct PoolQuery {
    /// Node pool name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Cluster the node pool belongs to (default: every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

/// One node pool, found in `--cluster` or (if unique) in any cluster.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct PoolRef {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to (default: search every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

/// Nodes to list or show.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct NodeQuery {
    /// Node name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Cluster the nodes belong to (default: every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Only nodes of this node pool
    #[arg(short = 'p', long, value_name = "POOL")]
    pub pool: Option<String>,
}

/// One node, found in `--cluster` or (if unique) in any cluster.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct NodeRef {
    /// Node name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node belongs to (default: search every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

// ------------------------------------------------------------------ create

/// `accord create <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum CreateKind {
    /// Create a project; prints an admin API key for it, once
    #[command(visible_aliases = ["projects"])]
    Project(CreateProjectArgs),
    /// Create a Kubernetes cluster with a highly available control plane
    #[command(
        visible_aliases = ["clusters", "cl"],
        after_help = "Every option has a default, so `accord create cluster demo` works: the default \
                      Kubernetes version, the first region, 10.0.0.0/16 for the VPC, 10.244.0.0/16 \
                      for pods and 10.96.0.0/12 for services."
    )]
    Cluster(Box<CreateClusterArgs>),
    /// Create a node pool of identical machines in a cluster
    #[command(
        visible_aliases = ["nodepools", "np"],
        after_help = "Instance types: `accord catalog instance-types`; node images: `accord catalog images`."
    )]
    Nodepool(Box<CreateNodePoolArgs>),
    /// Add a user to the project (the user is created when new)
    #[command(visible_aliases = ["members"])]
    Member(CreateMemberArgs),
    /// Create an API key; prints its token, once
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(CreateApiKeyArgs),
}

/// `accord create project`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateProjectArgs {
    /// Project name (lowercase letters, digits and '-')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Label KEY=VALUE (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

/// `accord create cluster`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateClusterArgs {
    /// Cluster name (lowercase letters, digits and '-')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Kubernetes minor version, e.g. 1.32 [default: the cloud's default version]
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Region [default: the first region the cloud offers]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Private address range of the cluster's VPC
    #[arg(long, value_name = "CIDR", default_value = "10.0.0.0/16")]
    pub vpc_subnet: String,
    /// Address range pods get their IPs from
    #[arg(long, value_name = "CIDR", default_value = "10.244.0.0/16")]
    pub pod_cidr: String,
    /// Address range of Kubernetes services
    #[arg(long, value_name = "CIDR", default_value = "10.96.0.0/12")]
    pub service_cidr: String,
    /// Prefix length of each node's slice of the pod range
    #[arg(long, value_name = "BITS", default_value_t = 24)]
    pub node_cidr_mask_size: u32,
    /// Core add-on to install (repeatable)
    #[arg(
        long = "addon",
        value_name = "NAME",
        value_parser = clap::builder::PossibleValuesParser::new(accord_core::cluster::CORE_ADDONS)
    )]
    pub addons: Vec<String>,
    /// Label KEY=VALUE (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// OIDC issuer URL for kubectl logins (needs --oidc-client-id)
    #[arg(
        long,
        value_name = "URL",
        requires = "oidc_client_id",
        help_heading = "OIDC"
    )]
    pub oidc_issuer_url: Option<String>,
    /// OIDC client id (needs --oidc-issuer-url)
    #[arg(
        long,
        value_name = "ID",
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_client_id: Option<String>,
    /// JWT claim to use as the user name
    #[arg(
        long,
        value_name = "CLAIM",
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_username_claim: Option<String>,
    /// JWT claim to use as the user's groups
    #[arg(
        long,
        value_name = "CLAIM",
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_groups_claim: Option<String>,
    /// Claim KEY=VALUE every token must carry (repeatable)
    #[arg(
        long = "oidc-required-claim",
        value_name = "KEY=VALUE",
        value_parser = parse_key_value,
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_required_claims: Vec<(String, String)>,
    /// Allow the provider to remediate faulty hardware automatically (AutoClusters)
    #[arg(long, help_heading = "AutoClusters")]
    pub remediation: bool,
    /// Circuit breaker: most nodes unhealthy at once, in percent [server default: 20]
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "AutoClusters")]
    pub max_unhealthy_percent: Option<u32>,
    /// Nodes of one pool remediated at the same time [server default: 1]
    #[arg(long, value_name = "N", help_heading = "AutoClusters")]
    pub max_in_flight_per_pool: Option<u32>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord create nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateNodePoolArgs {
    /// Node pool name (lowercase letters, digits and '-')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster to add the pool to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// Machine type of every node, e.g. h100-80gb-sxm-ib.8x (see `accord catalog instance-types`)
    #[arg(long, value_name = "TYPE")]
    pub instance_type: String,
    /// Number of nodes
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u32,
    /// Enable the cluster autoscaler with this lower bound (needs --max)
    #[arg(long, value_name = "N", requires = "max", help_heading = "Autoscaling")]
    pub min: Option<u32>,
    /// Enable the cluster autoscaler with this upper bound (needs --min)
    #[arg(long, value_name = "N", requires = "min", help_heading = "Autoscaling")]
    pub max: Option<u32>,
    /// Kubernetes label on every node, KEY=VALUE (repeatable)
    #[arg(long = "node-label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub node_labels: Vec<(String, String)>,
    /// Taint on every node, KEY[=VALUE]:EFFECT with EFFECT NoSchedule, PreferNoSchedule or
    /// NoExecute (repeatable)
    #[arg(long = "taint", value_name = "KEY=VALUE:EFFECT", value_parser = parse_taint)]
    pub taints: Vec<accord_proto::provisioner::v1::Taint>,
    /// Label of the pool resource, KEY=VALUE (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Extra nodes a rolling update may add above the count
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        help_heading = "Rolling updates"
    )]
    pub max_surge: u32,
    /// Nodes a rolling update may take away below the count
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Rolling updates"
    )]
    pub max_unavailable: u32,
    /// Node image version [default: the latest]
    #[arg(long, value_name = "VERSION")]
    pub image_version: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// A project role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Members, API keys, and everything an editor may do
    Admin,
    /// Create, change and delete clusters, node pools and nodes
    Editor,
    /// Read everything
    Reader,
}

/// `accord create member`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateMemberArgs {
    /// User name, e.g. an e-mail address
    #[arg(value_name = "USER")]
    pub user: String,
    /// Role in the project
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

/// `accord create apikey`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateApiKeyArgs {
    /// Key name, e.g. ci
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Member the key authenticates as [default: you]
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
}

// ------------------------------------------------------------------ delete, scale, cycle

/// `accord delete <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum DeleteKind {
    /// Delete a cluster (its node pools must be deleted first)
    #[command(visible_aliases = ["clusters", "cl"])]
    Cluster(DeleteClusterArgs),
    /// Delete a node pool and its nodes
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(DeletePoolArgs),
    /// Remove a member from the project (revokes their API keys)
    #[command(visible_aliases = ["members"])]
    Member(Name),
    /// Revoke an API key
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(Name),
}

/// `accord delete cluster`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct DeleteClusterArgs {
    /// Cluster name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord delete nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct DeletePoolArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord scale <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum ScaleKind {
    /// Set the number of nodes of a node pool
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(ScaleArgs),
}

/// `accord scale nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ScaleArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// New number of nodes
    #[arg(long, value_name = "N")]
    pub count: u32,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord cycle <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum CycleKind {
    /// Replace every node of a node pool, honouring max-surge and max-unavailable
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(CycleArgs),
}

/// `accord cycle nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CycleArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// Image version to move to [default: the latest]
    #[arg(long, value_name = "VERSION")]
    pub image_version: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `--wait` and `--timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct WaitArgs {
    /// Wait until the change is complete, showing progress
    #[arg(long, short = 'w')]
    pub wait: bool,
    /// How long --wait waits before giving up (e.g. 90s, 10m, 1h)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

// ------------------------------------------------------------------ upgrade, nodes, misc

/// `accord upgrade`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum UpgradeCommand {
    /// Ask the provider to upgrade a cluster to the next Kubernetes minor version
    Request(UpgradeRequestArgs),
    /// Carry out a requested upgrade (provider operator)
    Execute(UpgradeExecuteArgs),
}

/// `accord upgrade request`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpgradeRequestArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    /// Target minor version [default: the next minor after the current one]
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
}

/// `accord upgrade execute`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpgradeExecuteArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord cordon` / `accord uncordon`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct NodeTarget {
    /// Node name or id
    #[arg(value_name = "NODE")]
    pub node: String,
    /// Cluster the node belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord kubeconfig`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct KubeconfigArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    /// Write to this file (mode 0600) instead of standard output
    #[arg(long, short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `accord catalog <what>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum CatalogKind {
    /// Supported Kubernetes versions
    #[command(visible_aliases = ["version", "kubernetes-versions"])]
    Versions,
    /// Regions and their failure domains
    #[command(visible_aliases = ["region"])]
    Regions,
    /// Machine types for node pools
    #[command(visible_aliases = ["instance-type", "instancetypes", "types"])]
    InstanceTypes,
    /// Published worker-node images
    #[command(visible_aliases = ["image"])]
    Images,
}

/// `accord quota`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum QuotaCommand {
    /// Set a project's GPU quota (provider operator)
    Set(QuotaSetArgs),
}

/// `accord quota set`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct QuotaSetArgs {
    /// Project name or id
    #[arg(value_name = "PROJECT")]
    pub name: String,
    /// Most GPUs all node pools of the project may hold
    #[arg(long, value_name = "N")]
    pub gpus: u32,
}

/// `accord events`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum EventsCommand {
    /// Print events as they happen (Ctrl-C to stop)
    Watch(EventsWatchArgs),
}

/// `accord events watch`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct EventsWatchArgs {
    /// Only events about this kind of resource: cluster, nodepool, node, project, …
    #[arg(long, short = 'r', value_name = "KIND")]
    pub resource: Option<String>,
    /// Only events about this resource id (needs --resource)
    #[arg(long, value_name = "ID", requires = "resource")]
    pub id: Option<String>,
    /// Start with every stored event instead of only new ones
    #[arg(long, short = 'a')]
    pub all: bool,
}

/// `accord sim`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum SimCommand {
    /// Inject a hardware fault into the simulator
    #[command(subcommand)]
    Inject(Fault),
    /// List the simulated fleet
    List,
}

/// A fault the simulator can inject. Serialises to the simulator's request body
/// (`{"kind":"gpu-xid","node":"…","gpu":3,"xid":79}`).
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// The node's kubelet stops reporting Ready
    NodeNotReady {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
    },
    /// A NotReady node recovers
    NodeRecover {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
    },
    /// A control-plane replica goes down
    ReplicaDown {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(value_name = "CLUSTER")]
        cluster: String,
        /// Replica name, e.g. cp-0 [default: the first running one]
        #[arg(long, value_name = "NAME")]
        #[serde(skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    /// A control-plane replica comes back
    ReplicaUp {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(value_name = "CLUSTER")]
        cluster: String,
        /// Replica name, e.g. cp-0 [default: every replica that is down]
        #[arg(long, value_name = "NAME")]
        #[serde(skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    /// A GPU reports an XID error (e.g. 79: fallen off the bus, 48: double-bit ECC)
    GpuXid {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// GPU index on the node
        #[arg(long, value_name = "INDEX")]
        gpu: u32,
        /// XID code
        #[arg(long, value_name = "CODE")]
        xid: u32,
    },
    /// An InfiniBand port goes down
    IbLinkDown {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// Port index
        #[arg(long, value_name = "PORT")]
        port: u32,
    },
    /// An InfiniBand port comes back up
    IbLinkUp {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// Port index
        #[arg(long, value_name = "PORT")]
        port: u32,
    },
    /// A GPU runs hot
    GpuThermal {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// GPU index on the node
        #[arg(long, value_name = "INDEX")]
        gpu: u32,
        /// Temperature in °C
        #[arg(long, value_name = "CELSIUS")]
        temp_c: u32,
    },
    /// The next provisioning operations fail
    FailNextProvisions {
        /// How many
        #[arg(value_name = "COUNT")]
        count: u32,
    },
}

/// `accord up`: every Accord service in one process (wired by the lead).
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpArgs {
    /// Where state (stores, generated keys, .accord/cli.toml) lives
    #[arg(long, value_name = "DIR", default_value = ".accord")]
    pub data_dir: PathBuf,
    /// Address the gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,
    /// Address the addon-manager's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50052")]
    pub addons_grpc_addr: SocketAddr,
    /// Address support-triage's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50053")]
    pub support_grpc_addr: SocketAddr,
    /// Address the Prometheus metrics endpoint listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,
    /// NATS URL: the global `--nats-url` (filled in before `up` runs)
    #[arg(skip = DEFAULT_NATS_URL.to_owned())]
    pub nats_url: String,
    /// Simulated time factor: 0.02 makes a 5-minute operation take 6 seconds
    #[arg(long, value_name = "FACTOR", default_value_t = 0.02)]
    pub clock_factor: f64,
    /// Don't start a nats-server; require a reachable one at --nats-url
    #[arg(long)]
    pub no_nats: bool,
}

/// `KEY=VALUE` without label validation (OIDC claims are not Kubernetes labels).
fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}
