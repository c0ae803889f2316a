//! Worker images and node-pool rollouts: `accord image …` (SBOM, manifest, build, promote,
//! deprecate, withdraw — served by the image-builder, `accord.images.v1`), the `get images`,
//! `get builds`, `describe image|build` arguments, and the pool flags for the GPU driver
//! branch, the image channel and the rollout policy (`create nodepool`, `update nodepool`,
//! `rollback nodepool`, served by the provisioner).

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::WaitArgs;
use crate::parse::parse_duration;

/// Image channels (`--channel`, `--image-channel`).
pub const CHANNELS: [&str; 2] = ["candidate", "stable"];

/// `accord get images`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ImageQuery {
    /// Only images of this channel
    #[arg(long, value_name = "CHANNEL", value_parser = CHANNELS)]
    pub channel: Option<String>,
    /// Only images of this GPU driver branch (lts, production, new_feature)
    #[arg(long, value_name = "BRANCH")]
    pub driver_branch: Option<String>,
    /// Include withdrawn images
    #[arg(long)]
    pub all: bool,
}

/// One image: its id (`sha256:<hex>`), a unique prefix of at least 8 hex digits, its release
/// label, or `label/branch`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ImageRef {
    /// Image id, id prefix (≥ 8 hex digits), label (2026.12.0) or label/branch
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `accord image <command>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum ImageCommand {
    /// Print an image's SBOM (CycloneDX JSON) exactly as published
    #[command(after_help = "Example:\n  accord image sbom 2026.12.0 > sbom.json")]
    Sbom(ImageRef),
    /// Print an image's canonical manifest bytes (`| sha256sum` reproduces the id)
    #[command(after_help = "Example:\n  accord image manifest 2026.12.0 | sha256sum")]
    Manifest(ImageRef),
    /// Build an image (provider operator): from a manifest file, or the next release of the
    /// base manifest of a driver branch
    #[command(
        after_help = "Examples:\n  accord --profile operator image build --wait\n  accord --profile operator image build --manifest image.yaml --wait\n  accord --profile operator image build --driver-branch lts --fail-at-stage scan --wait"
    )]
    Build(ImageBuildArgs),
    /// Promote a candidate image to stable (provider operator)
    Promote(ImagePromoteArgs),
    /// Deprecate an image: still usable, pools running it are warned (provider operator)
    Deprecate(ImageReasonArgs),
    /// Withdraw an image: refused for new nodes, pools running it must update (provider
    /// operator; final)
    Withdraw(ImageReasonArgs),
}

/// `accord image build`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ImageBuildArgs {
    /// Manifest file (YAML or JSON), built as given; without it, the next release of the base
    /// manifest: each component moved to the package archive's newest of its series
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<std::path::PathBuf>,
    /// Without --manifest: the base manifest of this driver branch [default: production]
    #[arg(long, value_name = "BRANCH")]
    pub driver_branch: Option<String>,
    /// Release label [default: the next after the newest published]
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Failure injection: the stage that fails (resolve, install, configure, sbom, scan,
    /// sign, publish)
    #[arg(long, value_name = "STAGE")]
    pub fail_at_stage: Option<String>,
    /// Why (recorded in the image's history)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord image promote`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ImagePromoteArgs {
    /// Image id, id prefix, label or label/branch
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Why
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `accord image deprecate|withdraw`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ImageReasonArgs {
    /// Image id, id prefix, label or label/branch
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Why, e.g. a CVE id (shown on the pools running it)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// A node pool's rollout policy flags (`create nodepool`, `update nodepool`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct RolloutArgs {
    /// Roll out in waves of cumulative percentages, strictly increasing and ending at 100
    /// (e.g. 1,5,25,100)
    #[arg(
        long,
        value_name = "PERCENTS",
        value_delimiter = ',',
        conflicts_with = "rollout_batch",
        help_heading = "Rollout policy"
    )]
    pub rollout_waves: Vec<u32>,
    /// Roll out in batches of N nodes
    #[arg(long, value_name = "N", help_heading = "Rollout policy")]
    pub rollout_batch: Option<u32>,
    /// How long each wave or batch soaks before the next [default: 30m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Rollout policy")]
    pub rollout_soak: Option<Duration>,
    /// Nodes in replacement at once [default: 1]
    #[arg(long, value_name = "N", help_heading = "Rollout policy")]
    pub rollout_max_unavailable: Option<u32>,
    /// Start replacements only inside the cluster's maintenance windows
    #[arg(long, help_heading = "Rollout policy")]
    pub rollout_only_in_windows: bool,
    /// How long a new node may take to become Ready before the rollout halts [default: 15m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Rollout policy")]
    pub rollout_ready_timeout: Option<Duration>,
}

impl RolloutArgs {
    /// Whether any rollout flag was given.
    pub fn is_set(&self) -> bool {
        !self.rollout_waves.is_empty()
            || self.rollout_batch.is_some()
            || self.rollout_soak.is_some()
            || self.rollout_max_unavailable.is_some()
            || self.rollout_only_in_windows
            || self.rollout_ready_timeout.is_some()
    }
}

/// A node pool's image flags at creation (`create nodepool`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct PoolImageArgs {
    /// GPU driver branch of the pool's images: lts, production, new_feature [default:
    /// production]
    #[arg(long, value_name = "BRANCH", help_heading = "Images")]
    pub driver_branch: Option<String>,
    /// Channel the pool follows for updates [default: stable]
    #[arg(long, value_name = "CHANNEL", value_parser = CHANNELS, help_heading = "Images")]
    pub image_channel: Option<String>,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

/// `accord update <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum UpdateKind {
    /// Change a node pool's image channel or rollout policy
    #[command(
        visible_aliases = ["nodepools", "np"],
        after_help = "Examples:\n  accord update nodepool gpu --cluster demo --image-channel candidate\n  accord update nodepool gpu --cluster demo --rollout-waves 1,5,25,100 --rollout-soak 30m\n  accord update nodepool gpu --cluster demo --no-rollout-policy"
    )]
    Nodepool(UpdateNodePoolArgs),
}

/// `accord update nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpdateNodePoolArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// Channel the pool follows for updates (the driver branch is chosen at creation)
    #[arg(long, value_name = "CHANNEL", value_parser = CHANNELS, help_heading = "Images")]
    pub image_channel: Option<String>,
    #[command(flatten)]
    pub rollout: RolloutArgs,
    /// Remove the pool's rollout policy (cycles go back to plain rolling)
    #[arg(
        long,
        help_heading = "Rollout policy",
        conflicts_with_all = [
            "rollout_waves", "rollout_batch", "rollout_soak", "rollout_max_unavailable",
            "rollout_only_in_windows", "rollout_ready_timeout",
        ]
    )]
    pub no_rollout_policy: bool,
}

/// `accord rollback <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum RollbackKind {
    /// Move every node of a node pool back to its previous revision, disabling the revision
    /// rolled back from
    #[command(
        visible_aliases = ["nodepools", "np"],
        after_help = "Example:\n  accord rollback nodepool gpu --cluster demo --wait"
    )]
    Nodepool(RollbackArgs),
}

/// `accord rollback nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct RollbackArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}
