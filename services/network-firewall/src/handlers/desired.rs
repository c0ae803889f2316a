//! The rule set a cluster should have in the VPC firewall: the required rules derived from the
//! cluster as it is now, and the customer's rules as written, at the cluster's current
//! revision.

use accord_core::DomainError;
use accord_firewall::{
    ProviderRule, RuleSpec,
    driver::{LoadBalancerRule, VpcFirewall},
    provider_rules, validate_cluster,
};

use crate::{
    trees::{FirewallState, LbState, StoredLoadBalancer},
    view::ClusterView,
};

/// The required rules of `view` (an address plan the provisioner validated always yields
/// them; a failure is a bug, reported as internal).
pub fn required(view: &ClusterView) -> Result<Vec<ProviderRule>, DomainError> {
    let network = validate_cluster(&view.network(), "network").map_err(|e| {
        DomainError::Internal(accord_core::error::InternalError::new(format!(
            "cluster {} has a network the firewall engine refuses: {e}",
            view.id
        )))
    })?;
    Ok(provider_rules(&network))
}

/// The names of the required rules of `view`.
pub fn required_names(view: &ClusterView) -> Result<Vec<String>, DomainError> {
    Ok(required(view)?.into_iter().map(|r| r.name).collect())
}

/// The rule set `view` should have at `state`'s revision with `customer` rules and the rules
/// of its load balancers that are not being deleted.
pub fn desired(
    view: &ClusterView,
    state: &FirewallState,
    customer: Vec<RuleSpec>,
    lbs: &[StoredLoadBalancer],
) -> Result<VpcFirewall, DomainError> {
    Ok(VpcFirewall {
        cluster: view.id,
        revision: state.revision,
        network: view.network(),
        required: required_names(view)?,
        customer,
        load_balancers: lbs
            .iter()
            .filter(|lb| lb.state != LbState::Deleting)
            .map(|lb| LoadBalancerRule {
                name: lb.name.clone(),
                source_ranges: lb.source_ranges.clone(),
                node_ports: lb.ports.iter().map(|p| p.node_port).collect(),
            })
            .collect(),
    })
}
