//! network-firewall's store layout and typed reads.
//!
//! Trees (values JSON, versioned by the store):
//! - `clusters` `<cluster>` → [`ClusterView`] (read model from events);
//! - `rules` `<cluster>/<name>` → [`StoredRule`]: the customer's rules as written;
//! - `firewalls` `<cluster>` → [`FirewallState`]: the rule set's revision and where the VPC
//!   firewall is with it;
//! - `load_balancers` `<cluster>/<name>` → [`StoredLoadBalancer`];
//! - the project directory of the service kit (`accord_runtime::directory`).
//!
//! Invariant: only network-firewall opens this store; it is the single writer of firewall
//! rules. The required rules are not stored: they are derived from the cluster whenever they
//! are needed, so they cannot go stale.

use accord_core::{DomainError, ids::ClusterId};
use std::net::Ipv4Addr;

use accord_firewall::{
    RuleSpec,
    driver::{BackendHealth, HealthCheck, LoadBalancerPort},
};
use accord_runtime::directory::ReadModel;
use accord_store::{Store, Table, Versioned};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::view::ClusterView;

pub const CLUSTERS: Table<ClusterView> = Table::new("clusters");
pub const RULES: Table<StoredRule> = Table::new("rules");
pub const FIREWALLS: Table<FirewallState> = Table::new("firewalls");
pub const LOAD_BALANCERS: Table<StoredLoadBalancer> = Table::new("load_balancers");

/// A load balancer's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LbState {
    /// Asked for; the cloud is creating it.
    Provisioning,
    /// Serving at its address.
    Active,
    /// Being removed with its address and firewall rule.
    Deleting,
}

impl LbState {
    pub fn as_str(self) -> &'static str {
        match self {
            LbState::Provisioning => "provisioning",
            LbState::Active => "active",
            LbState::Deleting => "deleting",
        }
    }
}

/// A load balancer: what the customer asked for and what the cloud runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLoadBalancer {
    pub cluster: ClusterId,
    pub name: String,
    pub ports: Vec<LoadBalancerPort>,
    /// CIDRs that may connect; empty: anyone.
    pub source_ranges: Vec<String>,
    pub health: HealthCheck,
    pub state: LbState,
    /// The public address, once allocated.
    pub address: Option<Ipv4Addr>,
    /// The backends as last seen, with their health.
    pub backends: Vec<BackendHealth>,
    /// The last error while converging.
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// A customer rule as written, with who created it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    pub spec: RuleSpec,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// Where the VPC firewall is with a cluster's rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyState {
    /// The VPC firewall holds the current revision.
    Applied,
    /// A newer revision is on its way.
    Applying,
    /// The last attempt failed; retried with backoff.
    ApplyFailed,
}

impl ApplyState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyState::Applied => "applied",
            ApplyState::Applying => "applying",
            ApplyState::ApplyFailed => "apply-failed",
        }
    }
}

/// A cluster's rule set: its revision and the VPC firewall's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallState {
    pub cluster: ClusterId,
    /// Grows with every change of the desired rule set.
    pub revision: u64,
    /// The revision the VPC firewall was last seen to hold (0: none yet).
    pub applied_revision: u64,
    pub state: ApplyState,
    /// The last error, while failing.
    pub message: String,
    /// Failed attempts at the current revision.
    pub attempts: u32,
    /// When the next attempt is due after a failure.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub retry_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_applied_at: Option<OffsetDateTime>,
    /// Times drift was repaired.
    pub drift_repairs: u32,
}

impl FirewallState {
    /// A new rule set at revision 1, not applied yet.
    pub fn new(cluster: ClusterId) -> Self {
        Self {
            cluster,
            revision: 1,
            applied_revision: 0,
            state: ApplyState::Applying,
            message: String::new(),
            attempts: 0,
            retry_at: None,
            last_applied_at: None,
            drift_repairs: 0,
        }
    }

    /// The same rule set, one revision on (to be applied).
    pub fn bumped(&self) -> Self {
        Self {
            revision: self.revision + 1,
            state: ApplyState::Applying,
            attempts: 0,
            retry_at: None,
            message: String::new(),
            ..self.clone()
        }
    }
}

/// Key of a customer rule.
pub fn rule_key(cluster: ClusterId, name: &str) -> String {
    format!("{cluster}/{name}")
}

/// Typed reads: the kit's read model of clusters and projects, plus rules and rule sets.
pub type Reader = ReadModel<ClusterView>;

/// network-firewall's read model in `store`.
pub fn reader(store: Store) -> Reader {
    ReadModel::new(store, CLUSTERS)
}

/// Rule and rule-set reads over the read model's store.
pub trait Firewalls {
    /// A cluster's customer rules, by name (their keys sort by name).
    fn rules(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<(String, Versioned<StoredRule>)>, DomainError>;
    /// One customer rule of a cluster.
    fn rule(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredRule>>, DomainError>;
    /// A cluster's rule set state.
    fn firewall(&self, cluster: ClusterId)
    -> Result<Option<Versioned<FirewallState>>, DomainError>;
    /// Every rule set.
    fn firewalls(&self) -> Result<Vec<FirewallState>, DomainError>;
    /// A cluster's load balancers, by name.
    fn load_balancers(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<(String, Versioned<StoredLoadBalancer>)>, DomainError>;
}

impl Firewalls for Reader {
    fn rules(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<(String, Versioned<StoredRule>)>, DomainError> {
        Ok(RULES.list(self.store(), &format!("{cluster}/"))?)
    }

    fn rule(
        &self,
        cluster: ClusterId,
        name: &str,
    ) -> Result<Option<Versioned<StoredRule>>, DomainError> {
        Ok(RULES.get(self.store(), &rule_key(cluster, name))?)
    }

    fn firewall(
        &self,
        cluster: ClusterId,
    ) -> Result<Option<Versioned<FirewallState>>, DomainError> {
        Ok(FIREWALLS.get(self.store(), &cluster.to_string())?)
    }

    fn firewalls(&self) -> Result<Vec<FirewallState>, DomainError> {
        Ok(FIREWALLS.values(self.store(), "")?)
    }

    fn load_balancers(
        &self,
        cluster: ClusterId,
    ) -> Result<Vec<(String, Versioned<StoredLoadBalancer>)>, DomainError> {
        Ok(LOAD_BALANCERS.list(self.store(), &format!("{cluster}/"))?)
    }
}
