//! Warnings about customer rules: the parts the provider tier overrides, rules that can never
//! decide a packet because another comes first and matches everything they do, and targets
//! naming pools the cluster does not have.
//!
//! - **Provider override**: a *deny* rule sharing packets with a required rule (same direction,
//!   a common protocol and port, overlapping peers) — the required rule is evaluated first, so
//!   that part of the deny has no effect: `deny 10250/tcp from 10.0.0.0/16: has no effect on
//!   the kubelet flow the cluster needs (…)`. One warning per flow. (An *allow* rule the provider
//!   tier also allows changes nothing, so it gets no warning.)
//! - **Shadowing**: rule A fully shadows rule B when A comes first in the customer order
//!   ([`CustomerRule::key`]: priority, deny before allow, list order) and matches every packet B
//!   matches (same direction, A's protocol covers B's, A's ports cover B's, A's peers cover
//!   B's, A's target covers B's). B then never decides anything.
//!
//! [`warnings_for_rule`] answers for one rule joining a set (what creating a rule returns):
//! O(n). [`analyze`] answers for a whole set: each rule's shadowers are looked for only among
//! the rules with a CIDR containing the first address of the rule's first peer (every
//! shadower has one), found by masking that address at each prefix length present — so a
//! 10,000-rule set is analysed without comparing every pair.
//!
//! Invariant: at most [`MAX_SHADOW_WARNINGS_PER_RULE`] shadow warnings per rule; shadowers
//! beyond that are not listed.

use std::cell::OnceCell;
use std::collections::HashMap;

use serde::Serialize;

use crate::addr::bounds;
use crate::cluster::ClusterNetwork;
use crate::limits::MAX_SHADOW_WARNINGS_PER_RULE;
use crate::provider::{Flow, ProviderRule};
use crate::rule::{Action, CustomerRule, PacketProtocol, PortRange, Protocol, Selector, Target};

/// What a warning is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum WarningKind {
    /// Part of the rule is overridden by the provider tier's rule for `flow`.
    ProviderOverride {
        /// The required flow it cannot touch.
        flow: Flow,
        /// The provider rule that wins.
        provider_rule: String,
    },
    /// The rule never decides a packet: `by` comes first and matches all it does.
    ShadowedBy {
        /// The shadowing rule's name.
        by: String,
    },
    /// The rule comes first and matches everything `other` does: `other` never decides.
    Shadows {
        /// The shadowed rule's name.
        other: String,
    },
    /// The rule targets a pool the cluster does not list: it applies to no node.
    UnknownPool {
        /// The pool's name.
        pool: String,
    },
}

/// One warning about one customer rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Warning {
    /// The rule the warning is about.
    pub rule: String,
    /// What kind of warning.
    #[serde(flatten)]
    pub kind: WarningKind,
    /// The warning in words.
    pub message: String,
}

/// Sorted, merged inclusive intervals (addresses or ports).
#[derive(Debug, Clone, Default)]
struct Intervals(Vec<(u32, u32)>);

impl Intervals {
    fn new(mut spans: Vec<(u32, u32)>) -> Self {
        spans.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(spans.len());
        for (lo, hi) in spans {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Intervals(merged)
    }

    /// Whether `(lo, hi)` lies inside the union.
    fn covers(&self, (lo, hi): (u32, u32)) -> bool {
        let at = self.0.partition_point(|(l, _)| *l <= lo);
        at.checked_sub(1)
            .and_then(|i| self.0.get(i))
            .is_some_and(|(_, h)| *h >= hi)
    }
}

/// A rule prepared for coverage checks.
struct Prepared<'a> {
    rule: &'a CustomerRule,
    /// `describe()`, computed once when a warning needs it.
    description: OnceCell<String>,
    key: u64,
    peers: Intervals,
    ports: Intervals,
}

impl<'a> Prepared<'a> {
    fn new(rule: &'a CustomerRule, position: usize) -> Self {
        let s = &rule.selector;
        let ports = if s.protocol.has_ports() {
            s.effective_ports()
        } else {
            std::slice::from_ref(&PortRange::ALL)
        };
        Prepared {
            rule,
            description: OnceCell::new(),
            key: rule.key(position),
            peers: Intervals::new(s.peers.iter().map(bounds).collect()),
            ports: Intervals::new(
                // Port 0 is never a packet's port: "every port" and "1-65535" are the same.
                ports
                    .iter()
                    .map(|r| (u32::from(r.lo.max(1)), u32::from(r.hi)))
                    .collect(),
            ),
        }
    }

    fn describe(&self) -> &str {
        self.description.get_or_init(|| self.rule.describe())
    }

    /// Whether `self` matches every packet `other` matches.
    fn covers(&self, other: &Prepared<'_>) -> bool {
        let (a, b) = (&self.rule.selector, &other.rule.selector);
        a.direction == b.direction
            && (a.protocol == Protocol::Any || a.protocol == b.protocol)
            && a.target.covers(&b.target)
            && (!b.protocol.has_ports()
                || other.ports.0.iter().all(|span| self.ports.covers(*span)))
            && other.peers.0.iter().all(|span| self.peers.covers(*span))
    }
}

fn shared_protocols(a: Protocol, b: Protocol) -> impl Iterator<Item = PacketProtocol> {
    PacketProtocol::ALL
        .into_iter()
        .filter(move |p| a.covers(*p) && b.covers(*p))
}

/// Whether some packet matches both selectors (targets aside: provider rules cover every node).
fn intersects(a: &Selector, b: &Selector) -> bool {
    fn ports_of(s: &Selector, p: PacketProtocol) -> &[PortRange] {
        if p == PacketProtocol::Icmp || !s.protocol.has_ports() {
            std::slice::from_ref(&PortRange::ALL)
        } else {
            s.effective_ports()
        }
    }
    a.direction == b.direction
        && shared_protocols(a.protocol, b.protocol).any(|p| {
            let (pa, pb) = (ports_of(a, p), ports_of(b, p));
            pa.iter().any(|x| pb.iter().any(|y| x.overlaps(y)))
        })
        && a.peers
            .iter()
            .any(|x| b.peers.iter().any(|y| x.contains(y) || y.contains(x)))
}

/// Provider-override and unknown-pool warnings for one rule.
fn own_warnings(
    cluster: &ClusterNetwork,
    provider: &[ProviderRule],
    rule: &CustomerRule,
) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Target::Pool(pool) = &rule.selector.target
        && !cluster.pools.iter().any(|p| &p.name == pool)
    {
        out.push(Warning {
            rule: rule.name.clone(),
            kind: WarningKind::UnknownPool { pool: pool.clone() },
            message: format!(
                "{} targets pool:{pool}, which this cluster does not have: it applies to no node",
                rule.name
            ),
        });
    }
    if rule.action != Action::Deny {
        return out;
    }
    let mut seen: Vec<Flow> = Vec::new();
    for required in provider {
        if seen.contains(&required.flow) || !intersects(&rule.selector, &required.selector) {
            continue;
        }
        seen.push(required.flow);
        out.push(Warning {
            rule: rule.name.clone(),
            kind: WarningKind::ProviderOverride {
                flow: required.flow,
                provider_rule: required.name.clone(),
            },
            message: format!(
                "{}: has no effect on the {} flow the cluster needs ({}; provider rule {})",
                rule.describe(),
                required.flow,
                required.flow.description(),
                required.name
            ),
        });
    }
    out
}

fn shadowed_by(shadowed: &Prepared<'_>, by: &Prepared<'_>) -> Warning {
    Warning {
        rule: shadowed.rule.name.clone(),
        kind: WarningKind::ShadowedBy {
            by: by.rule.name.clone(),
        },
        message: format!(
            "{} ({}) never decides a packet: {} ({}, priority {}) comes first and matches everything it does",
            shadowed.rule.name,
            shadowed.describe(),
            by.rule.name,
            by.describe(),
            by.rule.priority
        ),
    }
}

/// The warnings for `rule` joining `existing` (it is evaluated as the last in list order):
/// provider overrides, unknown pools, the existing rules that fully shadow it and those it
/// fully shadows.
pub fn warnings_for_rule(
    cluster: &ClusterNetwork,
    provider: &[ProviderRule],
    existing: &[CustomerRule],
    rule: &CustomerRule,
) -> Vec<Warning> {
    let mut out = own_warnings(cluster, provider, rule);
    let new = Prepared::new(rule, existing.len());
    let (mut by, mut over) = (0usize, 0usize);
    for (position, other) in existing.iter().enumerate() {
        let other = Prepared::new(other, position);
        if other.key < new.key && by < MAX_SHADOW_WARNINGS_PER_RULE && other.covers(&new) {
            by += 1;
            out.push(shadowed_by(&new, &other));
        } else if new.key < other.key && over < MAX_SHADOW_WARNINGS_PER_RULE && new.covers(&other) {
            over += 1;
            out.push(Warning {
                rule: rule.name.clone(),
                kind: WarningKind::Shadows {
                    other: other.rule.name.clone(),
                },
                message: format!(
                    "{} comes first and matches everything {} ({}) does: {} will never decide a packet",
                    rule.name,
                    other.rule.name,
                    other.describe(),
                    other.rule.name
                ),
            });
        }
    }
    out
}

/// The warnings of a whole rule set, rule by rule in list order: each rule's provider
/// overrides, unknown pool, and the rules that fully shadow it.
pub fn analyze(
    cluster: &ClusterNetwork,
    provider: &[ProviderRule],
    rules: &[CustomerRule],
) -> Vec<Warning> {
    let prepared: Vec<Prepared<'_>> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| Prepared::new(r, i))
        .collect();
    // Every CIDR of every rule: (prefix length, network) → rules, sorted by key.
    let mut by_cidr: HashMap<(u8, u32), Vec<usize>> = HashMap::new();
    let mut lengths = [false; 33];
    for (i, rule) in rules.iter().enumerate() {
        for net in &rule.selector.peers {
            by_cidr
                .entry((net.prefix_len(), bounds(net).0))
                .or_default()
                .push(i);
            if let Some(l) = lengths.get_mut(usize::from(net.prefix_len())) {
                *l = true;
            }
        }
    }
    for list in by_cidr.values_mut() {
        list.sort_unstable_by_key(|&i| prepared.get(i).map_or(u64::MAX, |p| p.key));
        list.dedup();
    }
    let masks: Vec<(u8, u32)> = (0u8..=32)
        .filter(|l| lengths.get(usize::from(*l)).copied().unwrap_or(false))
        .map(|l| {
            (
                l,
                if l == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(l))
                },
            )
        })
        .collect();

    let mut out = Vec::new();
    for (i, b) in prepared.iter().enumerate() {
        out.extend(own_warnings(cluster, provider, b.rule));
        let Some(&(first, _)) = b.peers.0.first() else {
            continue;
        };
        let mut found: Vec<usize> = Vec::new();
        'lengths: for &(len, mask) in &masks {
            let Some(candidates) = by_cidr.get(&(len, first & mask)) else {
                continue;
            };
            for &j in candidates {
                let Some(a) = prepared.get(j) else { continue };
                if a.key >= b.key {
                    break;
                }
                if j != i && !found.contains(&j) && a.covers(b) {
                    out.push(shadowed_by(b, a));
                    found.push(j);
                    if found.len() >= MAX_SHADOW_WARNINGS_PER_RULE {
                        break 'lengths;
                    }
                }
            }
        }
    }
    out
}
