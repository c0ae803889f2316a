//! Add-on installations (owned by the addon-manager) and the facts it publishes about them.
//!
//! The source model: the provider installs the core add-ons (Cilium, the NVIDIA GPU and Network
//! Operators — the latter required with InfiniBand) and ships their critical upgrades; the
//! provider publishes a reference configuration the customer may tune within allowed knobs (the
//! add-on is then shared); some add-ons are shipped as charts the customer installs and configures
//! (CSI driver, cluster autoscaler, registry-token rotator, watch agent: shared from the start);
//! an add-on the customer installed themselves, or whose configuration they changed significantly,
//! is customer-owned.
//!
//! Invariants:
//! - an installation is identified by (cluster, add-on name); its `config` is the customer's
//!   overrides (a JSON object merged over the plugin's reference configuration);
//! - `ownership` is never weaker than what the installation's [`AddonSource`] implies
//!   ([`AddonSource::floor`]), and a self-managed installation is always customer-owned;
//! - every ownership transition is published as [`AddonEvent::OwnershipChanged`] with its reason.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    events::DomainEvent,
    ids::{ClusterId, ProjectId},
};

/// Who owns an installed add-on (ordered: provider-managed < shared < customer-owned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddonOwnership {
    /// Installed and configured by the provider from its reference configuration.
    ProviderManaged,
    /// Provider-shipped, with customer settings inside the allowed knobs (or customer-installed
    /// from the provider's chart).
    Shared,
    /// The customer's: self-installed or significantly modified. Support is best-effort at most.
    CustomerOwned,
}

impl AddonOwnership {
    /// kebab-case name (as on the wire and in events).
    pub fn as_str(self) -> &'static str {
        match self {
            AddonOwnership::ProviderManaged => "provider-managed",
            AddonOwnership::Shared => "shared",
            AddonOwnership::CustomerOwned => "customer-owned",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "provider-managed" => Some(AddonOwnership::ProviderManaged),
            "shared" => Some(AddonOwnership::Shared),
            "customer-owned" => Some(AddonOwnership::CustomerOwned),
            _ => None,
        }
    }
}

impl std::fmt::Display for AddonOwnership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performs an add-on's installation, as its plugin declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddonInstaller {
    /// The provider installs it (core add-ons).
    Provider,
    /// The provider ships the chart; the customer installs and configures it.
    Customer,
}

impl AddonInstaller {
    /// kebab-case name (as on the wire).
    pub fn as_str(self) -> &'static str {
        match self {
            AddonInstaller::Provider => "provider",
            AddonInstaller::Customer => "customer",
        }
    }
}

/// How an installation came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddonSource {
    /// Opted into when the cluster was created.
    OptedIn,
    /// Installed later through the add-on API.
    Requested,
    /// Installed by the platform because a node pool uses InfiniBand.
    RequiredByInfiniband,
    /// The customer runs their own installation outside the provider's add-ons (declared so
    /// support knows); nothing is rendered for it.
    SelfManaged,
}

impl AddonSource {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AddonSource::OptedIn => "opted-in",
            AddonSource::Requested => "requested",
            AddonSource::RequiredByInfiniband => "required-by-infiniband",
            AddonSource::SelfManaged => "self-managed",
        }
    }

    /// The weakest ownership an installation of this source (and installer) can have, with the
    /// reason.
    pub fn floor(self, installer: AddonInstaller) -> (AddonOwnership, &'static str) {
        match (self, installer) {
            (AddonSource::SelfManaged, _) => (
                AddonOwnership::CustomerOwned,
                "installed by the customer outside the provider's add-ons; a self-installed core add-on is the customer's",
            ),
            (_, AddonInstaller::Customer) => (
                AddonOwnership::Shared,
                "the provider ships the chart; the customer installs and configures it",
            ),
            (_, AddonInstaller::Provider) => (
                AddonOwnership::ProviderManaged,
                "installed by the provider from its reference configuration",
            ),
        }
    }
}

/// One rendered file of an installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonManifest {
    /// File-like name, e.g. `10-namespace.yaml`.
    pub name: String,
    /// `kubernetes` (the shipped add-ons: charts are Flux `HelmRepository` + `HelmRelease`
    /// objects); an older pushed plugin may say `helm-values`.
    pub format: String,
    /// YAML text.
    pub content: String,
}

/// An add-on installed on a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonInstallation {
    /// Cluster.
    pub cluster: ClusterId,
    /// The cluster's project.
    pub project: ProjectId,
    /// Add-on name, e.g. `nvidia-gpu-operator`.
    pub name: String,
    /// Add-on (chart) version.
    pub version: String,
    /// The customer's overrides: a JSON object merged over the reference configuration.
    pub config: String,
    /// Who owns it now.
    pub ownership: AddonOwnership,
    /// Why (the rule that decided, in words).
    pub ownership_reason: String,
    /// How it came to be.
    pub source: AddonSource,
    /// Who installs it (from the plugin).
    pub installer: AddonInstaller,
    /// What the plugin rendered for the current version and configuration (empty when
    /// self-managed).
    pub manifests: Vec<AddonManifest>,
    /// Digest of the plugin that rendered them.
    pub plugin_digest: String,
    /// Generation: bumped by every change of version or configuration.
    pub generation: u64,
    /// When installed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Who made the last change (user name, operator name or `addon-manager`).
    pub updated_by: String,
}

/// An automatic install (opted into at creation, or required by an InfiniBand pool) that failed
/// and is being retried: the add-on's `install-failed` condition, shown beside the cluster's
/// installations until the install succeeds, the customer installs or uninstalls the add-on
/// themselves, or the cluster is deleted. No installation exists while it does.
///
/// Invariant: `last_error` is bounded (the addon-manager cuts it; it never carries unbounded
/// plugin text), and `next_attempt_at` is after `last_failed_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInstall {
    /// Cluster.
    pub cluster: ClusterId,
    /// The cluster's project.
    pub project: ProjectId,
    /// Add-on name.
    pub name: String,
    /// Why the platform installs it (`opted-in` or `required-by-infiniband`).
    pub source: AddonSource,
    /// Failed attempts so far (1 after the first failure).
    pub attempts: u32,
    /// The first failure of this episode.
    #[serde(with = "time::serde::rfc3339")]
    pub first_failed_at: OffsetDateTime,
    /// The latest failure.
    #[serde(with = "time::serde::rfc3339")]
    pub last_failed_at: OffsetDateTime,
    /// What the latest attempt said (bounded).
    pub last_error: String,
    /// When it is tried again.
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
}

/// An ownership transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipChange {
    /// Before.
    pub from: AddonOwnership,
    /// After.
    pub to: AddonOwnership,
    /// Why.
    pub reason: String,
}

/// Facts about add-on installations. The subject id is the cluster (an installation is
/// identified by cluster and name; the name is in every payload), so
/// `accord.evt.addon.*.<cluster>` follows one cluster's add-ons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum AddonEvent {
    /// Installed (manifests are left out of the event; `GetAddon` has them).
    Installed {
        /// The installation, without manifests.
        installation: Box<AddonInstallation>,
    },
    /// The customer changed the configuration.
    ConfigChanged {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Add-on.
        addon: String,
        /// The new overrides.
        config: String,
        /// Ownership after the change.
        ownership: AddonOwnership,
        /// The verdict's reason.
        reason: String,
        /// Who changed it.
        changed_by: String,
    },
    /// Ownership moved (e.g. shared → customer-owned after a significant modification).
    OwnershipChanged {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Add-on.
        addon: String,
        /// Before.
        from: AddonOwnership,
        /// After.
        to: AddonOwnership,
        /// Why.
        reason: String,
    },
    /// Upgraded to another version.
    Upgraded {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Add-on.
        addon: String,
        /// Before.
        from: String,
        /// After.
        to: String,
        /// Whether workloads were disrupted.
        disruptive: bool,
        /// Plan steps.
        steps: Vec<String>,
        /// Who ordered it.
        upgraded_by: String,
    },
    /// A provider critical upgrade left this installation alone, and why.
    UpgradeSkipped {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Add-on.
        addon: String,
        /// Version it stays on.
        version: String,
        /// Version the upgrade targeted.
        target: String,
        /// Ownership at the time.
        ownership: AddonOwnership,
        /// Why.
        reason: String,
    },
    /// The platform could not install an add-on automatically (a plugin error or a missing
    /// plugin); nothing was installed and the install is retried with backoff. Published on
    /// the first failure of an episode and then as a reminder every few attempts, not on every
    /// retry (see the addon-manager's `handlers::auto_install`).
    InstallFailed {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Add-on.
        addon: String,
        /// What failed (bounded).
        error: String,
        /// Failed attempts of this episode so far (0 in events published before retries
        /// existed).
        #[serde(default)]
        attempts: u32,
    },
    /// Removed.
    Uninstalled {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Add-on.
        addon: String,
        /// Why (the customer asked, or the cluster was deleted).
        reason: String,
    },
}

impl DomainEvent for AddonEvent {
    fn resource(&self) -> &'static str {
        "addon"
    }
    fn event(&self) -> &'static str {
        match self {
            AddonEvent::Installed { .. } => "installed",
            AddonEvent::ConfigChanged { .. } => "config-changed",
            AddonEvent::OwnershipChanged { .. } => "ownership-changed",
            AddonEvent::Upgraded { .. } => "upgraded",
            AddonEvent::UpgradeSkipped { .. } => "upgrade-skipped",
            AddonEvent::InstallFailed { .. } => "install-failed",
            AddonEvent::Uninstalled { .. } => "uninstalled",
        }
    }
    fn resource_id(&self) -> String {
        self.cluster().to_string()
    }
}

impl AddonEvent {
    /// The cluster the event is about.
    pub fn cluster(&self) -> ClusterId {
        match self {
            AddonEvent::Installed { installation } => installation.cluster,
            AddonEvent::ConfigChanged { cluster, .. }
            | AddonEvent::OwnershipChanged { cluster, .. }
            | AddonEvent::Upgraded { cluster, .. }
            | AddonEvent::UpgradeSkipped { cluster, .. }
            | AddonEvent::InstallFailed { cluster, .. }
            | AddonEvent::Uninstalled { cluster, .. } => *cluster,
        }
    }

    /// The add-on the event is about.
    pub fn addon(&self) -> &str {
        match self {
            AddonEvent::Installed { installation } => &installation.name,
            AddonEvent::ConfigChanged { addon, .. }
            | AddonEvent::OwnershipChanged { addon, .. }
            | AddonEvent::Upgraded { addon, .. }
            | AddonEvent::UpgradeSkipped { addon, .. }
            | AddonEvent::InstallFailed { addon, .. }
            | AddonEvent::Uninstalled { addon, .. } => addon,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_orders_from_provider_to_customer() {
        assert!(AddonOwnership::ProviderManaged < AddonOwnership::Shared);
        assert!(AddonOwnership::Shared < AddonOwnership::CustomerOwned);
        for o in [
            AddonOwnership::ProviderManaged,
            AddonOwnership::Shared,
            AddonOwnership::CustomerOwned,
        ] {
            assert_eq!(AddonOwnership::parse(o.as_str()), Some(o));
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
        assert_eq!(AddonOwnership::parse("mine"), None);
    }

    #[test]
    fn floors_follow_the_source_model() {
        use AddonInstaller::*;
        use AddonSource::*;
        assert_eq!(OptedIn.floor(Provider).0, AddonOwnership::ProviderManaged);
        assert_eq!(Requested.floor(Customer).0, AddonOwnership::Shared);
        assert_eq!(SelfManaged.floor(Provider).0, AddonOwnership::CustomerOwned);
        assert_eq!(
            RequiredByInfiniband.floor(Provider).0,
            AddonOwnership::ProviderManaged
        );
    }

    #[test]
    fn events_are_keyed_by_cluster_and_named_in_kebab_case() {
        let cluster = ClusterId::generate();
        let ev = AddonEvent::OwnershipChanged {
            cluster,
            project: ProjectId::generate(),
            addon: "nvidia-gpu-operator".into(),
            from: AddonOwnership::Shared,
            to: AddonOwnership::CustomerOwned,
            reason: "driver.enabled turned off".into(),
        };
        assert_eq!(ev.resource(), "addon");
        assert_eq!(ev.event(), "ownership-changed");
        assert_eq!(ev.resource_id(), cluster.to_string());
        assert_eq!(ev.addon(), "nvidia-gpu-operator");
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["event"], "ownership-changed");
        assert_eq!(json["to"], "customer-owned");
        let back: AddonEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn install_failed_events_from_before_retries_still_decode() {
        let cluster = ClusterId::generate();
        let old = serde_json::json!({
            "event": "install-failed", "cluster": cluster, "project": ProjectId::generate(),
            "addon": "cilium", "error": "unavailable: the cilium add-on plugin failed",
        });
        match serde_json::from_value::<AddonEvent>(old).unwrap() {
            AddonEvent::InstallFailed { attempts, .. } => assert_eq!(attempts, 0),
            other => panic!("{other:?}"),
        }
    }
}
