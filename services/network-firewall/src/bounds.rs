//! What every firewall request is held to before any work is done on it: each string and each
//! repeated field against the platform's limits, so nothing oversized reaches scoping, the
//! engine or the write lock. The engine then validates the content field by field.
//!
//! | field                                                   | limit                          |
//! |---------------------------------------------------------|--------------------------------|
//! | `project`, `cluster`, `name`, `direction`, `action`, `protocol`, `targets` | [`MAX_REF_BYTES`] (253 bytes) |
//! | `ports`                                                 | 64 entries of 16 bytes         |
//! | `sources`, `destinations`                               | 256 entries of 64 bytes        |
//! | load balancers: `ports` / `source_ranges`               | 16 entries / 64 entries of 64 bytes |
//!
//! Invariant: a field over its limit is `INVALID_ARGUMENT` naming the field and the limit,
//! never repeating the value.

use accord_core::{
    DomainError,
    error::Violations,
    limits::{self, MAX_REF_BYTES},
};
use accord_firewall::limits::{MAX_CIDRS_PER_RULE, MAX_PORTS_PER_RULE};
use accord_proto::firewall::v1 as pb;

/// Longest port entry (`65535-65535` is 11).
const MAX_PORT_BYTES: usize = 16;
/// Longest CIDR entry (`255.255.255.255/32` is 18).
const MAX_CIDR_BYTES: usize = 64;

fn scope(v: &mut Violations, project: &str, cluster: &str) {
    limits::text(v, "project", project, MAX_REF_BYTES);
    limits::text(v, "cluster", cluster, MAX_REF_BYTES);
}

/// `ListFirewallRules`.
pub fn list(r: &pb::ListFirewallRulesRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    scope(&mut v, &r.project, &r.cluster);
    v.into_result()
}

/// `CreateFirewallRule`.
pub fn create(r: &pb::CreateFirewallRuleRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    scope(&mut v, &r.project, &r.cluster);
    for (field, value) in [
        ("name", &r.name),
        ("direction", &r.direction),
        ("action", &r.action),
        ("protocol", &r.protocol),
        ("targets", &r.targets),
    ] {
        limits::text(&mut v, field, value, MAX_REF_BYTES);
    }
    limits::text_items(
        &mut v,
        "ports",
        &r.ports,
        MAX_PORTS_PER_RULE,
        MAX_PORT_BYTES,
    );
    for (field, values) in [("sources", &r.sources), ("destinations", &r.destinations)] {
        limits::text_items(&mut v, field, values, MAX_CIDRS_PER_RULE, MAX_CIDR_BYTES);
    }
    v.into_result()
}

/// `DeleteFirewallRule`.
pub fn delete(r: &pb::DeleteFirewallRuleRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    scope(&mut v, &r.project, &r.cluster);
    limits::text(&mut v, "name", &r.name, MAX_REF_BYTES);
    v.into_result()
}

/// `CreateLoadBalancer`.
pub fn create_lb(r: &pb::CreateLoadBalancerRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    scope(&mut v, &r.project, &r.cluster);
    limits::text(&mut v, "name", &r.name, MAX_REF_BYTES);
    limits::items(
        &mut v,
        "ports",
        r.ports.len(),
        crate::handlers::lbs::MAX_PORTS,
    );
    for (i, p) in r
        .ports
        .iter()
        .take(crate::handlers::lbs::MAX_PORTS)
        .enumerate()
    {
        limits::text(
            &mut v,
            &format!("ports[{i}].protocol"),
            &p.protocol,
            MAX_REF_BYTES,
        );
    }
    limits::text_items(
        &mut v,
        "source_ranges",
        &r.source_ranges,
        crate::handlers::lbs::MAX_SOURCE_RANGES,
        MAX_CIDR_BYTES,
    );
    v.into_result()
}

/// `ListLoadBalancers`.
pub fn list_lbs(r: &pb::ListLoadBalancersRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    scope(&mut v, &r.project, &r.cluster);
    v.into_result()
}

/// `DeleteLoadBalancer`.
pub fn delete_lb(r: &pb::DeleteLoadBalancerRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    scope(&mut v, &r.project, &r.cluster);
    limits::text(&mut v, "name", &r.name, MAX_REF_BYTES);
    v.into_result()
}
