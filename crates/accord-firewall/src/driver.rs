//! The contract between the network-firewall service and the cloud's network: the VPC firewall
//! (one rule set per cluster) and L4 passthrough load balancers. The simulator implements it
//! (`accord_sim::vpc`); a real cloud's driver would replace it behind the same trait.
//!
//! Everything crossing it is plain data that serialises: the cluster's network as written
//! ([`ClusterSpec`]), the names of the required rules present, the customer's rules as written
//! ([`RuleSpec`]) and the load balancers' rules. Whoever holds a [`VpcFirewall`] can rebuild the
//! engine's view with [`VpcFirewall::firewall`] — the simulator does, to decide which flows
//! its firewall really lets through.
//!
//! Invariants: [`NetworkDriver::apply_firewall`] replaces the cluster's whole rule set and is
//! idempotent (applying what is there changes nothing); [`NetworkDriver::firewall`] reports
//! what the cloud holds now, which may differ from what was applied (drift: someone removed a
//! rule behind the service's back); load balancers are named per cluster and
//! [`NetworkDriver::ensure_load_balancer`] converges one to the request (address kept).

use std::net::Ipv4Addr;

use accord_core::{
    ids::ClusterId,
    infra::{InfraError, InfraFuture},
};
use serde::{Deserialize, Serialize};

use crate::{
    ClusterSpec, FieldErrors, Firewall, ProviderRule, RuleSpec, load_balancer_rule, provider_rules,
    validate_cluster, validate_rules,
};

/// A load balancer's rule in the VPC firewall: its source ranges may reach its NodePorts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerRule {
    /// The load balancer's name (unique per cluster).
    pub name: String,
    /// Who may connect (CIDRs; empty: anyone).
    pub source_ranges: Vec<String>,
    /// The NodePorts its ports forward to.
    pub node_ports: Vec<u16>,
}

/// A cluster's rule set in the VPC firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcFirewall {
    /// The cluster.
    pub cluster: ClusterId,
    /// The service's revision of this rule set (grows with every change it applies).
    pub revision: u64,
    /// The network the required rules are derived from.
    pub network: ClusterSpec,
    /// Names of the required rules present (the provider tier is [`provider_rules`] of
    /// `network`, restricted to these).
    pub required: Vec<String>,
    /// The customer's rules as written.
    pub customer: Vec<RuleSpec>,
    /// The load balancers' rules.
    pub load_balancers: Vec<LoadBalancerRule>,
}

impl VpcFirewall {
    /// The provider tier this rule set holds: the required rules present, then the load
    /// balancers' rules.
    pub fn provider_tier(&self) -> Result<Vec<ProviderRule>, FieldErrors> {
        let network = validate_cluster(&self.network, "network")?;
        let mut tier: Vec<ProviderRule> = provider_rules(&network)
            .into_iter()
            .filter(|r| self.required.contains(&r.name))
            .collect();
        let mut errors = FieldErrors::new();
        for (i, lb) in self.load_balancers.iter().enumerate() {
            let ranges: Result<Vec<_>, _> = lb
                .source_ranges
                .iter()
                .map(|r| crate::addr::parse_cidr(r))
                .collect();
            let rule = match ranges {
                Ok(ranges) => load_balancer_rule(&lb.name, &ranges, &lb.node_ports)
                    .map_err(|e| (format!("load_balancers[{i}].{}", e.field), e.message)),
                Err(e) => Err((format!("load_balancers[{i}].source_ranges"), e)),
            };
            match rule {
                Ok(rule) => tier.push(rule),
                Err((field, message)) => errors.push(field, message),
            }
        }
        errors.into_result(tier)
    }

    /// The engine's view of this rule set, to evaluate packets as the cloud would.
    pub fn firewall(&self) -> Result<Firewall, FieldErrors> {
        let network = validate_cluster(&self.network, "network")?;
        let customer = validate_rules(&self.customer)?;
        let provider = self.provider_tier()?;
        Ok(Firewall::with_provider_rules(network, provider, customer))
    }
}

/// A load balancer port: clients connect to `port`; nodes serve it on `node_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerPort {
    /// The port clients connect to.
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: LbProtocol,
    /// The NodePort (30000–32767) the backends serve it on.
    pub node_port: u16,
}

/// A load balancer port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LbProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// How the load balancer checks its backends (TCP connect to the first port's NodePort).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Seconds between checks (default 5).
    pub interval_s: u32,
    /// Seconds before a check fails (default 5).
    pub timeout_s: u32,
    /// Consecutive successes before a backend receives traffic (default 3).
    pub healthy_threshold: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            interval_s: 5,
            timeout_s: 5,
            healthy_threshold: 3,
        }
    }
}

/// An L4 passthrough load balancer as the service asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcLoadBalancer {
    /// The cluster.
    pub cluster: ClusterId,
    /// Unique per cluster.
    pub name: String,
    /// Its ports.
    pub ports: Vec<LoadBalancerPort>,
    /// The backends: the cluster's Ready nodes' addresses.
    pub backends: Vec<Ipv4Addr>,
    /// Its health check.
    pub health: HealthCheck,
}

/// A backend as the load balancer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendHealth {
    /// The node's address.
    pub address: Ipv4Addr,
    /// Whether it passes the health check (receives traffic).
    pub healthy: bool,
}

/// A load balancer as the cloud runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerState {
    /// The cluster.
    pub cluster: ClusterId,
    /// Its name.
    pub name: String,
    /// The public address allocated to it (kept for its life).
    pub address: Ipv4Addr,
    /// Its ports.
    pub ports: Vec<LoadBalancerPort>,
    /// Its backends and their health.
    pub backends: Vec<BackendHealth>,
}

/// The cloud's network, as the network-firewall service drives it.
pub trait NetworkDriver: Send + Sync + 'static {
    /// Replaces the cluster's rule set in the VPC firewall with `desired` (idempotent).
    fn apply_firewall(&self, desired: VpcFirewall) -> InfraFuture<'_, ()>;
    /// What the VPC firewall holds for `cluster` now (`None`: nothing).
    fn firewall(&self, cluster: ClusterId) -> InfraFuture<'_, Option<VpcFirewall>>;
    /// Removes the cluster's rule set (absent is not an error).
    fn delete_firewall(&self, cluster: ClusterId) -> InfraFuture<'_, ()>;
    /// Creates or converges a load balancer (same cluster and name: the same one, its address
    /// kept); answers its state.
    fn ensure_load_balancer(&self, lb: VpcLoadBalancer) -> InfraFuture<'_, LoadBalancerState>;
    /// The cluster's load balancers as the cloud runs them.
    fn load_balancers(&self, cluster: ClusterId) -> InfraFuture<'_, Vec<LoadBalancerState>>;
    /// Removes a load balancer and releases its address (absent is not an error).
    fn delete_load_balancer(&self, cluster: ClusterId, name: String) -> InfraFuture<'_, ()>;
}

/// What a driver answers when it cannot take a request at all.
pub fn invalid(errors: &FieldErrors) -> InfraError {
    InfraError::Invalid(errors.to_string())
}
