//! The facts the network-firewall service publishes about a cluster's firewall (`firewall.*`):
//! its required rules derived and kept in step with the cluster, the customer's rules created
//! and deleted, the rule set applied to the cloud's VPC firewall (or failing to), drift
//! repaired, and the rule set removed with the cluster; and about its L4 load balancers
//! (`loadbalancer.*`: created, address assigned, backends changed, deleted).
//!
//! Rules travel as names and one-line descriptions: the rule model itself belongs to the
//! firewall engine (`accord-firewall`), which depends on this crate, not the other way round.

use serde::{Deserialize, Serialize};

use crate::{
    events::DomainEvent,
    ids::{ClusterId, ProjectId},
};

/// Facts about one cluster's firewall; the resource id is the cluster's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum FirewallEvent {
    /// The required rules were derived for a new cluster.
    Created {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// The required rules' names.
        required: Vec<String>,
    },
    /// The required rules changed with the cluster (its pools).
    RequiredRulesUpdated {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// The required rules' names now.
        required: Vec<String>,
        /// What changed.
        reason: String,
    },
    /// The customer created a rule.
    RuleCreated {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// The rule's name.
        rule: String,
        /// The rule in one line.
        description: String,
        /// What creating it warned about.
        warnings: Vec<String>,
    },
    /// The customer deleted a rule.
    RuleDeleted {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// The rule's name.
        rule: String,
    },
    /// A revision of the rule set is in the VPC firewall.
    Applied {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// The revision applied.
        revision: u64,
    },
    /// Applying a revision failed; it is retried with backoff.
    ApplyFailed {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// The revision that failed.
        revision: u64,
        /// Attempts so far.
        attempts: u32,
        /// What the infrastructure said.
        error: String,
    },
    /// The VPC firewall differed from the applied revision (a rule changed behind the
    /// service's back) and was put back.
    DriftRepaired {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Rules that were missing.
        missing: Vec<String>,
        /// Rules that were there without being asked for.
        unexpected: Vec<String>,
    },
    /// The cluster is gone and so is its rule set.
    Deleted {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
    },
    /// A load balancer was asked for (`loadbalancer.created`).
    LoadBalancerCreated {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Its name.
        name: String,
        /// Its ports, `443→30443/tcp`.
        ports: Vec<String>,
    },
    /// A load balancer is active at `address` (`loadbalancer.address-assigned`).
    LoadBalancerAddressAssigned {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Its name.
        name: String,
        /// The public address.
        address: String,
    },
    /// A load balancer's backends changed with the cluster's nodes
    /// (`loadbalancer.backends-changed`).
    LoadBalancerBackendsChanged {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Its name.
        name: String,
        /// The backends' addresses now.
        backends: Vec<String>,
    },
    /// A load balancer, its address and its firewall rule are gone (`loadbalancer.deleted`).
    LoadBalancerDeleted {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: ProjectId,
        /// Its name.
        name: String,
    },
}

impl FirewallEvent {
    /// The cluster the event is about.
    pub fn cluster(&self) -> ClusterId {
        match self {
            FirewallEvent::Created { cluster, .. }
            | FirewallEvent::RequiredRulesUpdated { cluster, .. }
            | FirewallEvent::RuleCreated { cluster, .. }
            | FirewallEvent::RuleDeleted { cluster, .. }
            | FirewallEvent::Applied { cluster, .. }
            | FirewallEvent::ApplyFailed { cluster, .. }
            | FirewallEvent::DriftRepaired { cluster, .. }
            | FirewallEvent::Deleted { cluster, .. }
            | FirewallEvent::LoadBalancerCreated { cluster, .. }
            | FirewallEvent::LoadBalancerAddressAssigned { cluster, .. }
            | FirewallEvent::LoadBalancerBackendsChanged { cluster, .. }
            | FirewallEvent::LoadBalancerDeleted { cluster, .. } => *cluster,
        }
    }
}

impl DomainEvent for FirewallEvent {
    fn resource(&self) -> &'static str {
        match self {
            FirewallEvent::LoadBalancerCreated { .. }
            | FirewallEvent::LoadBalancerAddressAssigned { .. }
            | FirewallEvent::LoadBalancerBackendsChanged { .. }
            | FirewallEvent::LoadBalancerDeleted { .. } => "loadbalancer",
            _ => "firewall",
        }
    }
    fn event(&self) -> &'static str {
        match self {
            FirewallEvent::Created { .. } => "created",
            FirewallEvent::RequiredRulesUpdated { .. } => "required-rules-updated",
            FirewallEvent::RuleCreated { .. } => "rule-created",
            FirewallEvent::RuleDeleted { .. } => "rule-deleted",
            FirewallEvent::Applied { .. } => "applied",
            FirewallEvent::ApplyFailed { .. } => "apply-failed",
            FirewallEvent::DriftRepaired { .. } => "drift-repaired",
            FirewallEvent::Deleted { .. } => "deleted",
            FirewallEvent::LoadBalancerCreated { .. } => "created",
            FirewallEvent::LoadBalancerAddressAssigned { .. } => "address-assigned",
            FirewallEvent::LoadBalancerBackendsChanged { .. } => "backends-changed",
            FirewallEvent::LoadBalancerDeleted { .. } => "deleted",
        }
    }
    /// The cluster's id; a load balancer's is `<cluster>_<name>` (names are DNS labels, so
    /// the pair is one subject token).
    fn resource_id(&self) -> String {
        match self {
            FirewallEvent::LoadBalancerCreated { cluster, name, .. }
            | FirewallEvent::LoadBalancerAddressAssigned { cluster, name, .. }
            | FirewallEvent::LoadBalancerBackendsChanged { cluster, name, .. }
            | FirewallEvent::LoadBalancerDeleted { cluster, name, .. } => {
                format!("{cluster}_{name}")
            }
            _ => self.cluster().to_string(),
        }
    }
}
