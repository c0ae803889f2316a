//! Customer rules as written ([`RuleSpec`]) and their field-by-field validation into
//! [`CustomerRule`]s.
//!
//! Every error names its field relative to the prefix the caller gives (`rules[2].ports[1]`,
//! `rule.priority`). Refused: names that are not DNS-1123 labels or start with `accord-`
//! (reserved for the provider's rules), duplicate names, priorities outside 0–65535, unknown
//! directions, actions and protocols, ports on icmp/any rules, ports outside 1–65535 or reversed
//! ranges, overlapping port entries within a rule, CIDRs that do not parse, have host bits set
//! or are IPv6, overlapping CIDRs within a rule, `sources` on an egress rule or `destinations` on
//! an ingress one, a missing peer list, targets other than `all-nodes` and `pool:<name>`, and
//! more entries than the [`crate::limits`] allow.
//!
//! Invariant: validation never looks past a list's limit, so its work is bounded by the limits.

use std::collections::HashMap;

use accord_core::validation::{dns_label, quote};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::addr::{bounds, parse_cidr};
use crate::error::{FieldError, FieldErrors};
use crate::limits::{
    MAX_CIDRS_PER_RULE, MAX_PORTS_PER_RULE, MAX_RULES_PER_CLUSTER, RESERVED_PREFIX,
};
use crate::rule::{Action, CustomerRule, Direction, PortRange, Protocol, Selector, Target};

/// A customer rule as written (JSON, or a request's fields), before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The rule's name.
    pub name: String,
    /// 0–65535 (lower wins); wider here so out-of-range values can be named.
    pub priority: i64,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `allow` or `deny`.
    pub action: String,
    /// `tcp`, `udp`, `icmp` or `any`.
    pub protocol: String,
    /// `"443"` or `"8000-8100"` entries (tcp and udp only); empty: every port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// Source CIDRs (ingress rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Destination CIDRs (egress rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<String>,
    /// `all-nodes` (the default when empty) or `pool:<name>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub targets: String,
}

impl CustomerRule {
    /// The rule as written, normalised (what a listing shows).
    pub fn to_spec(&self) -> RuleSpec {
        let peers: Vec<String> = self.selector.peers.iter().map(|p| p.to_string()).collect();
        let (sources, destinations) = match self.selector.direction {
            Direction::Ingress => (peers, Vec::new()),
            Direction::Egress => (Vec::new(), peers),
        };
        RuleSpec {
            name: self.name.clone(),
            priority: i64::from(self.priority),
            direction: self.selector.direction.as_str().to_owned(),
            action: self.action.as_str().to_owned(),
            protocol: self.selector.protocol.as_str().to_owned(),
            ports: self.selector.ports.iter().map(|p| p.to_string()).collect(),
            sources,
            destinations,
            targets: self.selector.target.to_string(),
        }
    }
}

/// A customer rule serialises as written ([`RuleSpec`], normalised).
impl Serialize for CustomerRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_spec().serialize(s)
    }
}

/// Parses a port entry: `443` or `8000-8100`.
pub fn parse_ports(s: &str) -> Result<PortRange, String> {
    let port = |p: &str| -> Result<u16, String> {
        let bad = || {
            format!(
                "{} is not a port or range such as 443 or 8000-8100 (ports are 1-65535)",
                quote(s)
            )
        };
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        match p.parse::<u32>() {
            Ok(n @ 1..=65535) => u16::try_from(n).map_err(|_| bad()),
            Ok(n) => Err(format!("port {n} is out of range 1-65535")),
            Err(_) => Err(bad()),
        }
    };
    let range = match s.split_once('-') {
        Some((lo, hi)) => PortRange {
            lo: port(lo)?,
            hi: port(hi)?,
        },
        None => PortRange::single(port(s)?),
    };
    if range.lo > range.hi {
        return Err(format!(
            "range {}-{} ends before it starts; did you mean {}-{}?",
            range.lo, range.hi, range.hi, range.lo
        ));
    }
    Ok(range)
}

/// Parses a target: `all-nodes` (also when empty) or `pool:<name>`.
pub fn parse_target(s: &str) -> Result<Target, String> {
    match s {
        "" | "all-nodes" => Ok(Target::AllNodes),
        _ => match s.strip_prefix("pool:") {
            Some(pool) => dns_label(pool)
                .map(|()| Target::Pool(pool.to_owned()))
                .map_err(|e| format!("pool name {e}")),
            None => Err(format!(
                "{} must be \"all-nodes\" or \"pool:<name>\"",
                quote(s)
            )),
        },
    }
}

/// Validates one rule; fields are named under `prefix` (`rules[2]`, `rule`).
pub fn validate_rule(spec: &RuleSpec, prefix: &str) -> Result<CustomerRule, FieldErrors> {
    let mut errors = FieldErrors::new();
    let field = |name: &str| format!("{prefix}.{name}");

    if let Err(e) = dns_label(&spec.name) {
        errors.push(field("name"), e);
    } else if spec.name.starts_with(RESERVED_PREFIX) {
        errors.push(
            field("name"),
            format!(
                "names starting with {RESERVED_PREFIX:?} are reserved for the provider's rules"
            ),
        );
    }
    let priority = match u16::try_from(spec.priority) {
        Ok(p) => Some(p),
        Err(_) => {
            errors.push(
                field("priority"),
                format!("{} is out of range 0-65535 (lower wins)", spec.priority),
            );
            None
        }
    };
    let direction = match spec.direction.as_str() {
        "ingress" => Some(Direction::Ingress),
        "egress" => Some(Direction::Egress),
        other => {
            errors.push(
                field("direction"),
                format!("{} must be \"ingress\" or \"egress\"", quote(other)),
            );
            None
        }
    };
    let action = match spec.action.as_str() {
        "allow" => Some(Action::Allow),
        "deny" => Some(Action::Deny),
        other => {
            errors.push(
                field("action"),
                format!("{} must be \"allow\" or \"deny\"", quote(other)),
            );
            None
        }
    };
    let protocol = match spec.protocol.as_str() {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        "icmp" => Some(Protocol::Icmp),
        "any" => Some(Protocol::Any),
        other => {
            errors.push(
                field("protocol"),
                format!("{} must be one of tcp, udp, icmp, any", quote(other)),
            );
            None
        }
    };

    let ports = validate_ports(spec, protocol, prefix, &mut errors);

    let (peer_field, wrong_field, peers, wrong) = match direction {
        Some(Direction::Egress) => ("destinations", "sources", &spec.destinations, &spec.sources),
        _ => ("sources", "destinations", &spec.sources, &spec.destinations),
    };
    if direction.is_some() && !wrong.is_empty() {
        errors.push(
            field(wrong_field),
            format!(
                "{} rules have {peer_field}, not {wrong_field}",
                spec.direction
            ),
        );
    }
    let peers = validate_cidrs(peers, &field(peer_field), &mut errors);

    let target = match parse_target(&spec.targets) {
        Ok(target) => Some(target),
        Err(e) => {
            errors.push(field("targets"), e);
            None
        }
    };

    match (priority, direction, action, protocol, peers, target) {
        (
            Some(priority),
            Some(direction),
            Some(action),
            Some(protocol),
            Some(peers),
            Some(target),
        ) if errors.is_empty() => Ok(CustomerRule {
            name: spec.name.clone(),
            priority,
            action,
            selector: Selector {
                direction,
                protocol,
                ports,
                peers,
                target,
            },
        }),
        _ => Err(errors),
    }
}

fn validate_ports(
    spec: &RuleSpec,
    protocol: Option<Protocol>,
    prefix: &str,
    errors: &mut FieldErrors,
) -> Vec<PortRange> {
    if spec.ports.is_empty() {
        return Vec::new();
    }
    if let Some(protocol) = protocol
        && !protocol.has_ports()
    {
        errors.push(
            format!("{prefix}.ports"),
            format!(
                "ports apply only to tcp and udp (the protocol is {}); remove them",
                protocol.as_str()
            ),
        );
        return Vec::new();
    }
    if spec.ports.len() > MAX_PORTS_PER_RULE {
        errors.push(
            format!("{prefix}.ports"),
            format!(
                "at most {MAX_PORTS_PER_RULE} entries (has {}); use ranges",
                spec.ports.len()
            ),
        );
        return Vec::new();
    }
    let mut ranges: Vec<(PortRange, usize)> = Vec::with_capacity(spec.ports.len());
    for (i, entry) in spec.ports.iter().enumerate() {
        match parse_ports(entry) {
            Ok(range) => ranges.push((range, i)),
            Err(e) => errors.push(format!("{prefix}.ports[{i}]"), e),
        }
    }
    let mut sorted = ranges.clone();
    sorted.sort();
    for pair in sorted.windows(2) {
        let ((a, ai), (b, bi)) = (pair[0], pair[1]);
        if a.overlaps(&b) {
            let (first, second, later) = if ai < bi { (a, b, bi) } else { (b, a, ai) };
            let earlier = ai.min(bi);
            errors.push(
                format!("{prefix}.ports[{later}]"),
                format!("{second} overlaps ports[{earlier}] {first}; merge them"),
            );
        }
    }
    ranges.into_iter().map(|(r, _)| r).collect()
}

fn validate_cidrs(
    entries: &[String],
    field: &str,
    errors: &mut FieldErrors,
) -> Option<Vec<Ipv4Net>> {
    if entries.is_empty() {
        errors.push(
            field,
            "at least one CIDR is required (0.0.0.0/0 means anywhere)",
        );
        return None;
    }
    if entries.len() > MAX_CIDRS_PER_RULE {
        errors.push(
            field,
            format!(
                "at most {MAX_CIDRS_PER_RULE} CIDRs (has {}); use wider ranges or more rules",
                entries.len()
            ),
        );
        return None;
    }
    let mut nets: Vec<(Ipv4Net, usize)> = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (i, entry) in entries.iter().enumerate() {
        match parse_cidr(entry) {
            Ok(net) => nets.push((net, i)),
            Err(e) => {
                ok = false;
                errors.push(format!("{field}[{i}]"), e);
            }
        }
    }
    // CIDRs either nest or are disjoint: sorted by first address (wider first), an entry
    // overlaps an earlier one exactly when it starts before the furthest end seen so far.
    let mut sorted = nets.clone();
    sorted.sort_by_key(|(net, i)| (bounds(net).0, net.prefix_len(), *i));
    let mut widest: Option<(Ipv4Net, usize)> = None;
    for (net, i) in sorted {
        if let Some((outer, oi)) = widest
            && bounds(&net).0 <= bounds(&outer).1
        {
            ok = false;
            let (inner, ii, outer, oi) = if i > oi {
                (net, i, outer, oi)
            } else {
                (outer, oi, net, i)
            };
            let how = if inner == outer {
                "repeats"
            } else if outer.contains(&inner) {
                "is inside"
            } else {
                "contains"
            };
            let leaf = field.rsplit('.').next().unwrap_or(field);
            errors.push(
                format!("{field}[{ii}]"),
                format!("{inner} {how} {leaf}[{oi}] {outer}; keep one"),
            );
            continue;
        }
        widest = Some((net, i));
    }
    ok.then(|| nets.into_iter().map(|(n, _)| n).collect())
}

/// Validates a whole rule set (a cluster's customer tier); fields are named `rules[i]…`.
pub fn validate_rules(specs: &[RuleSpec]) -> Result<Vec<CustomerRule>, FieldErrors> {
    if specs.len() > MAX_RULES_PER_CLUSTER {
        return Err(FieldError::new(
            "rules",
            format!(
                "at most {MAX_RULES_PER_CLUSTER} rules per cluster (has {})",
                specs.len()
            ),
        )
        .into());
    }
    let mut errors = FieldErrors::new();
    let mut rules = Vec::with_capacity(specs.len());
    let mut names: HashMap<&str, usize> = HashMap::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        match validate_rule(spec, &format!("rules[{i}]")) {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.extend(e),
        }
        if let Some(first) = names.insert(&spec.name, i) {
            names.insert(&spec.name, first);
            errors.push(
                format!("rules[{i}].name"),
                format!(
                    "{} is already the name of rules[{first}]",
                    quote(&spec.name)
                ),
            );
        }
    }
    errors.into_result(rules)
}

/// Checks that `rule` may join `existing` (a cluster's rules): its name is new and the cluster
/// stays within [`MAX_RULES_PER_CLUSTER`].
pub fn check_addition(existing: &[CustomerRule], rule: &CustomerRule) -> Result<(), FieldError> {
    if existing.len() >= MAX_RULES_PER_CLUSTER {
        return Err(FieldError::new(
            "rule",
            format!("the cluster already has {MAX_RULES_PER_CLUSTER} rules, the most it may have"),
        ));
    }
    if existing.iter().any(|r| r.name == rule.name) {
        return Err(FieldError::new(
            "rule.name",
            format!(
                "{} is already the name of a rule of this cluster",
                quote(&rule.name)
            ),
        ));
    }
    Ok(())
}
