//! Storage commands (the storage-csi service, `accord.storage.v1`): the argument types of
//! `create|get|describe|delete volume`, `expand|attach|detach volume`, `accord snapshot …`,
//! `create|get|delete storageclass`, `accord nfs …` and `accord migration …`.
//!
//! Sizes are Kubernetes quantities (`100Gi`, `1Ti`) passed to the server as typed: the server
//! checks them and names the field it refuses, so nothing here duplicates its rules.
//!
//! Invariant: no argument id reuses a global option's id (`project` is global, so the PROJECT
//! positional of `accord nfs` is the field `name`).

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::WaitArgs;
use crate::parse::parse_duration;

/// A volume's (or StorageClass's) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VolumeTypeArg {
    /// A persistent block disk, attached to one node (1Gi–10Ti)
    Disk,
    /// A shared filesystem, mounted on many nodes (1Ti–1000Ti; needs the project's NFS gate)
    Shared,
}

impl VolumeTypeArg {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeTypeArg::Disk => "disk",
            VolumeTypeArg::Shared => "shared",
        }
    }
}

/// How a shared volume is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MountArg {
    /// NFS
    Nfs,
    /// VirtioFS
    Virtiofs,
}

impl MountArg {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            MountArg::Nfs => "nfs",
            MountArg::Virtiofs => "virtiofs",
        }
    }
}

/// A disk StorageClass's filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilesystemArg {
    /// ext4
    Ext4,
    /// XFS
    Xfs,
}

impl FilesystemArg {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            FilesystemArg::Ext4 => "ext4",
            FilesystemArg::Xfs => "xfs",
        }
    }
}

/// A StorageClass's reclaim policy (spelled as Kubernetes spells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReclaimPolicyArg {
    /// The volume goes with its claim
    #[value(name = "Delete")]
    Delete,
    /// The volume stays after its claim is deleted
    #[value(name = "Retain")]
    Retain,
}

impl ReclaimPolicyArg {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReclaimPolicyArg::Delete => "Delete",
            ReclaimPolicyArg::Retain => "Retain",
        }
    }
}

/// A StorageClass's volume binding mode (spelled as Kubernetes spells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BindingModeArg {
    /// Provision once a pod using the claim is scheduled
    #[value(name = "WaitForFirstConsumer")]
    WaitForFirstConsumer,
    /// Provision as soon as the claim exists
    #[value(name = "Immediate")]
    Immediate,
}

impl BindingModeArg {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingModeArg::WaitForFirstConsumer => "WaitForFirstConsumer",
            BindingModeArg::Immediate => "Immediate",
        }
    }
}

/// `accord create volume`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateVolumeArgs {
    /// Volume name: a DNS label, unique in the cluster
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster whose region the volume is created in
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// disk (one node) or shared (a filesystem many nodes mount)
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub volume_type: VolumeTypeArg,
    /// Size as a Kubernetes quantity: a disk 1Gi–10Ti in 1Gi steps, a shared filesystem
    /// 1Ti–1000Ti in 1Ti steps (e.g. 100Gi, 1Ti)
    #[arg(long, value_name = "QUANTITY")]
    pub size: String,
    /// Shared volumes: how nodes mount it [default: the project's setting, the provider's]
    #[arg(long, value_enum)]
    pub mount: Option<MountArg>,
    /// Restore from this snapshot (its name in the cluster)
    #[arg(long, value_name = "SNAPSHOT")]
    pub from_snapshot: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Volumes of a cluster to list, or one to show.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct VolumeQuery {
    /// Volume name; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Cluster (name or id)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// A named storage resource of a cluster (a volume, snapshot or StorageClass).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ClusterResourceRef {
    /// Name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster (name or id)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// Storage resources of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ClusterScope {
    /// Cluster (name or id)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord delete volume`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteVolumeArgs {
    /// Volume name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the volume belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord expand <kind>`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ExpandKind {
    /// Grow a volume (online: attached disks too); volumes never shrink
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Example:\n  accord expand volume data --cluster demo --size 200Gi --wait"
    )]
    Volume(ExpandVolumeArgs),
}

/// `accord expand volume`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExpandVolumeArgs {
    /// Volume name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the volume belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// The new size, a Kubernetes quantity at least the current one (e.g. 200Gi)
    #[arg(long, value_name = "QUANTITY")]
    pub size: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord attach <kind>`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AttachKind {
    /// Attach a disk to a node, or mount a shared filesystem on one more node (at most 15
    /// disks and 4 shared filesystems per node)
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Example:\n  accord attach volume data --cluster demo --node gpu-a-x1 --wait"
    )]
    Volume(VolumeNodeArgs),
}

/// `accord detach <kind>`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum DetachKind {
    /// Detach a volume from a node
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Example:\n  accord detach volume data --cluster demo --node gpu-a-x1 --wait"
    )]
    Volume(VolumeNodeArgs),
}

/// `accord attach volume` / `accord detach volume`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct VolumeNodeArgs {
    /// Volume name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the volume belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// The node (name or id)
    #[arg(long, value_name = "NODE")]
    pub node: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord snapshot …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum SnapshotCommand {
    /// Take a crash-consistent snapshot of an available or attached volume (restore it with
    /// `accord create volume NEW … --from-snapshot SNAP`)
    #[command(
        after_help = "Examples:\n  accord snapshot create data-0412 --cluster demo --volume data --wait\n  accord create volume data-restored --cluster demo --type disk --size 100Gi --from-snapshot data-0412"
    )]
    Create(CreateSnapshotArgs),
    /// List a cluster's snapshots
    ///
    /// `-o json` prints {"kind": "List", "items": [...]}; each item has id, name, cluster,
    /// volume, type, size_bytes, size, state (creating|ready|failed|deleted), failure and
    /// created_at.
    #[command(
        alias = "ls",
        after_help = "Examples:\n  accord snapshot list --cluster demo\n  accord get snapshots --cluster demo -o json"
    )]
    List(ClusterScope),
    /// Delete a snapshot (volumes restored from it stay)
    #[command(
        alias = "rm",
        after_help = "Example:\n  accord snapshot delete data-0412 --cluster demo"
    )]
    Delete(ClusterResourceRef),
}

/// `accord snapshot create`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateSnapshotArgs {
    /// Snapshot name: a DNS label, unique in the cluster
    #[arg(value_name = "SNAP")]
    pub name: String,
    /// Cluster the volume belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// The volume to snapshot (its name)
    #[arg(long, value_name = "VOLUME")]
    pub volume: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord create storageclass`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateStorageClassArgs {
    /// StorageClass name: a DNS subdomain
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the class is for
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// disk or shared (a shared class needs the project's NFS gate)
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub class_type: VolumeTypeArg,
    /// Disk classes: the filesystem
    #[arg(long, value_enum)]
    pub filesystem: Option<FilesystemArg>,
    /// Shared classes: how nodes mount the volumes
    #[arg(long, value_enum)]
    pub mount: Option<MountArg>,
    /// What happens to a volume when its claim is deleted [server default: Delete]
    #[arg(long, value_enum, ignore_case = true, value_name = "POLICY")]
    pub reclaim_policy: Option<ReclaimPolicyArg>,
    /// When volumes are provisioned [server default: WaitForFirstConsumer for disks,
    /// Immediate for shared]
    #[arg(long, value_enum, ignore_case = true, value_name = "MODE")]
    pub binding_mode: Option<BindingModeArg>,
    /// Do not allow volumes of the class to be expanded [default: allowed]
    #[arg(long)]
    pub no_expansion: bool,
    /// Make it the cluster's default StorageClass
    #[arg(long = "default")]
    pub default_class: bool,
}

/// `accord nfs …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum NfsCommand {
    /// Enable the shared filesystem (NFS) back end for a project (provider operator)
    #[command(
        after_help = "Examples:\n  accord --profile operator nfs enable acme --reason \"ticket T-1234: shared datasets\"\n  accord --profile operator nfs enable acme --mount virtiofs --reason \"legacy VirtioFS project\""
    )]
    Enable(NfsSetArgs),
    /// Disable it again (provider operator); refused while shared volumes or StorageClasses
    /// still use it
    #[command(
        after_help = "Example:\n  accord --profile operator nfs disable acme --reason \"ticket T-1301: no longer needed\""
    )]
    Disable(NfsSetArgs),
    /// Show a project's NFS gate: enabled or not, who changed it last, why and when
    #[command(after_help = "Examples:\n  accord nfs status\n  accord nfs status acme -o json")]
    Status(NfsStatusArgs),
}

/// `accord nfs enable|disable`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct NfsSetArgs {
    /// Project name or id
    #[arg(value_name = "PROJECT")]
    pub name: String,
    /// Why (required, at most 512 characters), e.g. the support ticket asking for it
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// `enable`: how the project's shared filesystems mount (nfs or virtiofs); new shared
    /// volumes take it [default: the project's current setting, nfs for a new project]
    #[arg(long, value_enum)]
    pub mount: Option<MountArg>,
}

/// `accord nfs status`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct NfsStatusArgs {
    /// Project name or id [default: the project of the key, or --project]
    #[arg(value_name = "PROJECT")]
    pub name: Option<String>,
}

/// `accord migration …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum MigrationCommand {
    /// Plan a VirtioFS → NFS migration of the project's shared volumes (all, or those named),
    /// in batches; prints the plan and its estimate
    #[command(
        after_help = "Examples:\n  accord migration plan to-nfs --dry-run\n  accord migration plan to-nfs --volume demo/datasets --volume demo/checkpoints --batch-size 5"
    )]
    Plan(PlanMigrationArgs),
    /// Start (or resume) a planned migration
    #[command(after_help = "Example:\n  accord migration run to-nfs --wait")]
    Run(MigrationRef),
    /// Show a migration: progress, counts per state, every volume
    #[command(after_help = "Example:\n  accord migration describe to-nfs --wait")]
    Describe(MigrationRef),
    /// Roll back every volume not yet cut over (its target is discarded, its source stays)
    #[command(after_help = "Example:\n  accord migration rollback to-nfs --wait")]
    Rollback(MigrationRef),
}

/// `accord migration plan`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PlanMigrationArgs {
    /// Migration name: a DNS label, unique in the project
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A volume to migrate, `CLUSTER/NAME` or a name unique in the project (repeatable)
    /// [default: every shared VirtioFS volume of the project]
    #[arg(long = "volume", value_name = "CLUSTER/NAME")]
    pub volumes: Vec<String>,
    /// Volumes per batch, 1–100 [server default: 10]
    #[arg(long, value_name = "N")]
    pub batch_size: Option<u32>,
    /// Only print the plan and its estimate; store nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// A migration by id or name, with `--wait`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MigrationRef {
    /// Migration id or name
    #[arg(value_name = "ID|NAME")]
    pub migration: String,
    #[command(flatten)]
    pub wait: MigrationWaitArgs,
}

/// `--wait` and `--timeout` of the migration commands: a migration copies terabytes, so the
/// deadline is longer than other commands'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct MigrationWaitArgs {
    /// Wait until the migration is finished, showing bytes copied, the volumes per state and
    /// the current batch
    // No `-w`: kubectl users read it as `--watch` (which `get` takes).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits before giving up (e.g. 90m, 12h)
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub timeout: Duration,
}
