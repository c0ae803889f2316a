//! Handlers: plain functions from (state, plugin results, input) to a [`Change`].
//!
//! Plugin calls are async and may fail, so the engine runs them first (`crate::catalog`) and
//! hands their results ([`Rendered`]) to these functions, which decide the writes and events
//! and are tested without a runtime.
//!
//! - [`install`] — a new installation (opted in, requested, required by InfiniBand, self-managed);
//! - [`auto_install`] — the platform's own installs: success, or a pending record retried with
//!   backoff (and when to say so with `addon.install-failed`);
//! - [`configure`] — a configuration change and the ownership it implies;
//! - [`upgrade`] — the provider's critical upgrade of one installation, or its skip;
//! - [`uninstall`] — removal;
//! - [`rerender`] — new manifests after the cluster changed (version, pools);
//! - [`cluster_view`] — the read model of clusters and pools, from the provisioner's events;
//! - [`nfs_gate`] — the provider's per-project NFS gate, from the storage service's events, and
//!   the installations to re-render when it moves.

pub mod auto_install;
pub mod cluster_view;
pub mod configure;
pub mod install;
pub mod nfs_gate;
pub mod rerender;
pub mod uninstall;
pub mod upgrade;

use accord_core::addon::{AddonInstaller, AddonManifest, AddonOwnership};

/// Writes and add-on events of one atomic change.
pub type Change = accord_runtime::Change<accord_core::addon::AddonEvent>;

/// Who acts, and when (the kit's).
pub use accord_runtime::Ctx;

/// What the add-on's plugin said about a version and configuration for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub version: String,
    /// The overrides, normalised (compact JSON object).
    pub config: String,
    pub manifests: Vec<AddonManifest>,
    pub plugin_digest: String,
    pub installer: AddonInstaller,
    /// The plugin's judgement of the configuration against its reference.
    pub verdict: (AddonOwnership, String),
}
