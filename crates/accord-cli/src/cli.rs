//! The command line, as clap derive types: global options, every command and its arguments.
//!
//! Nothing here talks to the network; [`crate::commands`] turns a parsed [`Cli`] into calls.
//!
//! This file holds the root ([`Cli`], [`Command`]); each command family's argument types live in
//! a submodule (`global`: options every command takes; `inspect`: get, describe, kubeconfig,
//! catalog; `create`; `change`: delete, scale, cycle, upgrade, cordon, quota; `addons`: addon and
//! plugin; `images`: worker images, pool image flags, rollout policies, update and rollback;
//! `tickets`; `webhooks`; `offline`: remediation and triage; `listing`: get's `--watch`,
//! `-l`, `--no-headers` and `-o wide`; `apply`; `completion`; `firewall`; `storage`: volumes, snapshots, StorageClasses,
//! NFS and migrations; `health`;
//! `nats`: events and sim; `nats_credentials`: the production NATS key ring; `up`).
//! The submodules are private and re-exported here, so every type is `crate::cli::X`.
//!
//! Invariants:
//! - Every global option has an environment fallback (`ACCORD_*`), shown in `--help`.
//! - Argument ids of subcommands never reuse a global option's id (`project`, `endpoint`, …):
//!   clap propagates globals into every subcommand and ids must stay unique.
//! - [`Cli::try_parse_with_sources`] records whether connection settings came from the command
//!   line or from the environment, because a selected profile overrides the environment but not
//!   the command line (see [`crate::config`]).

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod addons;
mod apply;
mod change;
mod completion;
mod create;
mod firewall;
mod global;
mod health;
mod images;
mod inspect;
mod listing;
mod nats;
mod nats_credentials;
mod offline;
mod storage;
mod tickets;
mod up;
mod webhooks;

pub use addons::*;
pub use apply::*;
pub use change::*;
pub use completion::*;
pub use create::*;
pub use firewall::*;
pub use global::*;
pub use health::*;
pub use images::*;
pub use inspect::*;
pub use listing::*;
pub use nats::*;
pub use nats_credentials::*;
pub use offline::*;
pub use storage::*;
pub use tickets::*;
pub use up::*;
pub use webhooks::*;

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
  accord kubeconfig demo                # merged into your kubeconfig; kubectl just works
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
        if output_is_wide(&matches)
            && let Command::Get(kind) = &mut cli.command
            && let Some(list) = kind.list_options_mut()
        {
            list.wide = true;
        }
        Ok(cli)
    }
}

/// The commands.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// List resources, or show one
    #[command(
        subcommand,
        after_help = "Examples:\n  accord get clusters\n  accord get np --cluster demo\n  accord get nodes --cluster demo --pool gpu\n  accord get cluster demo -o yaml\n  accord get clusters -o wide -l team=ml --no-headers\n  accord get nodepools --cluster demo --watch"
    )]
    Get(GetKind),
    /// Show a resource in detail: spec, status, replicas, conditions
    #[command(subcommand)]
    Describe(DescribeKind),
    /// Create or update clusters and node pools from what `get -o yaml` printed
    #[command(
        after_help = "Unchanged resources are not written (`cluster/demo unchanged`); an update carries the\ndocument's metadata.resource_version, so a stale one is refused.\n\nExamples:\n  accord get clusters -o yaml > clusters.yaml; accord apply -f clusters.yaml\n  accord get cluster demo -o yaml | accord apply -f -"
    )]
    Apply(ApplyArgs),
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
    /// Change a node pool's driver branch, image channel or rollout policy
    #[command(subcommand)]
    Update(UpdateKind),
    /// Move a node pool back to its previous image revision
    #[command(subcommand)]
    Rollback(RollbackKind),
    /// Worker images: SBOM, manifest, build (provider), promote, deprecate, withdraw
    #[command(subcommand)]
    Image(ImageCommand),
    /// Request (customer) or execute (provider) a Kubernetes minor-version upgrade
    #[command(subcommand)]
    Upgrade(UpgradeCommand),
    /// Grow a volume
    #[command(subcommand)]
    Expand(ExpandKind),
    /// Attach a volume to a node
    #[command(subcommand)]
    Attach(AttachKind),
    /// Detach a volume from a node
    #[command(subcommand)]
    Detach(DetachKind),
    /// Volume snapshots: take, list, delete (restore with `create volume --from-snapshot`)
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// A project's NFS gate: enable or disable the shared filesystem back end (provider
    /// operator), show it
    #[command(subcommand)]
    Nfs(NfsCommand),
    /// VirtioFS → NFS migrations of shared volumes: plan, run, follow, roll back
    #[command(subcommand)]
    Migration(MigrationCommand),
    /// Mark a node unschedulable
    Cordon(NodeTarget),
    /// Mark a node schedulable again
    Uncordon(NodeTarget),
    /// Add a cluster to your kubeconfig (merged, its context made current; an exec plugin
    /// keeps the credentials fresh), or print it
    #[command(
        after_help = "Examples:\n  accord kubeconfig demo                 # merge into ~/.kube/config or $KUBECONFIG\n  accord kubeconfig demo --file demo.kubeconfig\n  accord kubeconfig demo --static --print > demo.kubeconfig"
    )]
    Kubeconfig(KubeconfigArgs),
    /// Credentials for other tools (the kubectl exec credential plugin)
    #[command(subcommand)]
    Credentials(CredentialsCommand),
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
    /// Decide packets against a cluster's firewall offline (required rules, customer rules,
    /// defaults)
    #[command(subcommand)]
    Firewall(FirewallCommand),
    /// GPU node health: node verdicts and findings from the telemetry service, or the checks
    /// run offline over telemetry samples
    #[command(subcommand)]
    Health(HealthCommand),
    /// Support tickets: file one and see how it is classified, list, reclassify, close
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Customer webhooks: register endpoints for signed notifications (remediations,
    /// incidents), list and delete them, see every delivery's state
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Core add-ons: the catalogue, installations per cluster, configuration and ownership
    #[command(subcommand)]
    Addon(AddonCommand),
    /// Push plugins into the NATS plugin bucket every service watches; list them
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run every Accord service in one process, for development
    Up(Box<UpArgs>),
    /// Print a shell completion script (bash, zsh, fish)
    #[command(
        after_help = "Examples:\n  source <(accord completion bash)\n  accord completion zsh > \"${fpath[1]}/_accord\"\n  accord completion fish > ~/.config/fish/completions/accord.fish"
    )]
    Completion(CompletionArgs),
    /// Generate (or keep) a production installation's NATS nkey seeds and write the
    /// nats-server include `accord-auth.conf`; prints which seeds each service needs
    #[command(
        after_help = "Examples:\n  accord nats-credentials --dir /etc/accord/nats-keys\n  accord nats-credentials --dir ./keys --auth-config /etc/accord/accord-auth.conf"
    )]
    NatsCredentials(NatsCredentialsArgs),
}

/// Whether `-o wide` (or `ACCORD_OUTPUT=wide`) was given, at any level of the command.
fn output_is_wide(matches: &clap::ArgMatches) -> bool {
    let mut current = Some(matches);
    let mut wide = false;
    while let Some(level) = current {
        if let Ok(Some(mut raw)) = level.try_get_raw("output") {
            wide = raw.next().is_some_and(|value| value == "wide");
        }
        current = level.subcommand().map(|(_, sub)| sub);
    }
    wide
}
