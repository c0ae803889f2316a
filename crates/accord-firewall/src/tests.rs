//! The crate's tests, one child module per concern, and the fixtures they share.

mod evaluation;
mod jsonl;
mod proptests;
mod provider;
mod shadow;
mod validation;

use crate::{
    ClusterNetwork, ClusterSpec, Cni, CustomerRule, RuleSpec, validate_cluster, validate_rules,
};

/// A cluster with VPC 10.0.0.0/16, pods 10.244.0.0/16, services 10.96.0.0/12.
pub(crate) fn cluster(cni: Cni) -> ClusterNetwork {
    validate_cluster(
        &ClusterSpec {
            vpc_subnet: "10.0.0.0/16".into(),
            pod_cidr: "10.244.0.0/16".into(),
            service_cidr: "10.96.0.0/12".into(),
            cni,
            pools: Vec::new(),
        },
        "cluster",
    )
    .unwrap()
}

/// A rule spec from its parts (`peers` are sources or destinations by direction).
pub(crate) fn spec(
    name: &str,
    priority: i64,
    direction: &str,
    action: &str,
    protocol: &str,
    ports: &[&str],
    peers: &[&str],
) -> RuleSpec {
    let peers: Vec<String> = peers.iter().map(|s| s.to_string()).collect();
    let (sources, destinations) = if direction == "egress" {
        (Vec::new(), peers)
    } else {
        (peers, Vec::new())
    };
    RuleSpec {
        name: name.into(),
        priority,
        direction: direction.into(),
        action: action.into(),
        protocol: protocol.into(),
        ports: ports.iter().map(|s| s.to_string()).collect(),
        sources,
        destinations,
        targets: String::new(),
    }
}

/// Validated rules, or the test fails with the errors.
pub(crate) fn rules(specs: &[RuleSpec]) -> Vec<CustomerRule> {
    validate_rules(specs).unwrap_or_else(|e| panic!("{e}"))
}
