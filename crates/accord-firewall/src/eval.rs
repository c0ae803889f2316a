//! Evaluation: which tier and which rule decide a packet.
//!
//! The order (issue 12):
//! 1. **provider tier** — the first provider rule matching the packet allows it;
//! 2. **customer tier** — among matching customer rules, the lowest priority wins; at equal
//!    priority deny wins over allow; at equal priority and action the earlier rule in the list
//!    (the verdict is the same either way);
//! 3. **implied defaults** — ingress is denied (`accord-default-deny-ingress`), egress allowed
//!    (`accord-default-allow-egress`).
//!
//! [`Firewall`] indexes the customer tier once per rule set (the private `index` module);
//! [`linear_scan`] is the plain reference: the same answer by looking at every rule, kept
//! public for the benchmark's ratio and the property test.

use serde::Serialize;

use crate::cluster::ClusterNetwork;
use crate::index::CustomerIndex;
use crate::provider::{ProviderRule, provider_rules};
use crate::rule::{Action, CustomerRule, Direction, Packet};

/// Name of the implied rule that denies ingress nothing else decided.
pub const DEFAULT_DENY_INGRESS: &str = "accord-default-deny-ingress";
/// Name of the implied rule that allows egress nothing else decided.
pub const DEFAULT_ALLOW_EGRESS: &str = "accord-default-allow-egress";

/// What happens to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// It goes through.
    Allow,
    /// It is dropped.
    Deny,
}

impl Verdict {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

impl From<Action> for Verdict {
    fn from(action: Action) -> Self {
        match action {
            Action::Allow => Verdict::Allow,
            Action::Deny => Verdict::Deny,
        }
    }
}

/// Which tier decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// A required provider rule.
    Provider,
    /// A customer rule.
    Customer,
    /// The implied defaults.
    Default,
}

impl Tier {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Provider => "provider",
            Tier::Customer => "customer",
            Tier::Default => "default",
        }
    }
}

/// The answer for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Decision<'a> {
    /// Allow or deny.
    pub verdict: Verdict,
    /// The tier that decided.
    pub tier: Tier,
    /// The name of the rule that decided.
    pub rule: &'a str,
}

fn default_decision(direction: Direction) -> Decision<'static> {
    match direction {
        Direction::Ingress => Decision {
            verdict: Verdict::Deny,
            tier: Tier::Default,
            rule: DEFAULT_DENY_INGRESS,
        },
        Direction::Egress => Decision {
            verdict: Verdict::Allow,
            tier: Tier::Default,
            rule: DEFAULT_ALLOW_EGRESS,
        },
    }
}

fn provider_decision<'a>(
    cluster: &ClusterNetwork,
    provider: &'a [ProviderRule],
    packet: &Packet,
) -> Option<Decision<'a>> {
    provider
        .iter()
        .find(|r| {
            r.selector
                .matches(packet, |pool| cluster.in_pool(packet.node(), pool))
        })
        .map(|r| Decision {
            verdict: Verdict::Allow,
            tier: Tier::Provider,
            rule: &r.name,
        })
}

fn customer_decision(rule: &CustomerRule) -> Decision<'_> {
    Decision {
        verdict: rule.action.into(),
        tier: Tier::Customer,
        rule: &rule.name,
    }
}

/// The reference evaluation: every provider rule in order, then every customer rule, keeping
/// the smallest [`CustomerRule::key`]. Same answers as [`Firewall::evaluate`], in time linear
/// in the number of rules.
pub fn linear_scan<'a>(
    cluster: &ClusterNetwork,
    provider: &'a [ProviderRule],
    customer: &'a [CustomerRule],
    packet: &Packet,
) -> Decision<'a> {
    if let Some(decision) = provider_decision(cluster, provider, packet) {
        return decision;
    }
    let node = packet.node();
    let mut best: Option<(u64, &CustomerRule)> = None;
    for (position, rule) in customer.iter().enumerate() {
        if rule
            .selector
            .matches(packet, |pool| cluster.in_pool(node, pool))
        {
            let key = rule.key(position);
            if best.is_none_or(|(k, _)| key < k) {
                best = Some((key, rule));
            }
        }
    }
    match best {
        Some((_, rule)) => customer_decision(rule),
        None => default_decision(packet.direction),
    }
}

/// A cluster's firewall: both tiers, the customer tier indexed.
#[derive(Debug)]
pub struct Firewall {
    cluster: ClusterNetwork,
    provider: Vec<ProviderRule>,
    customer: Vec<CustomerRule>,
    index: CustomerIndex,
}

impl Firewall {
    /// A firewall with the cluster's required rules ([`provider_rules`]) and `customer`.
    pub fn new(cluster: ClusterNetwork, customer: Vec<CustomerRule>) -> Self {
        let provider = provider_rules(&cluster);
        Self::with_provider_rules(cluster, provider, customer)
    }

    /// A firewall with an explicit provider tier (the required rules plus, say, load
    /// balancers' rules).
    pub fn with_provider_rules(
        cluster: ClusterNetwork,
        provider: Vec<ProviderRule>,
        customer: Vec<CustomerRule>,
    ) -> Self {
        let index = CustomerIndex::build(&customer, &cluster.pools);
        Firewall {
            cluster,
            provider,
            customer,
            index,
        }
    }

    /// The cluster it was built for.
    pub fn cluster(&self) -> &ClusterNetwork {
        &self.cluster
    }

    /// The provider tier, in evaluation order.
    pub fn provider_rules(&self) -> &[ProviderRule] {
        &self.provider
    }

    /// The customer tier, in list order.
    pub fn customer_rules(&self) -> &[CustomerRule] {
        &self.customer
    }

    /// Decides `packet` (see the module docs for the order).
    pub fn evaluate(&self, packet: &Packet) -> Decision<'_> {
        if let Some(decision) = provider_decision(&self.cluster, &self.provider, packet) {
            return decision;
        }
        let key = self.index.lookup(
            packet.direction,
            packet.protocol,
            packet.port.unwrap_or(0),
            packet.peer(),
            packet.node(),
        );
        let position = usize::try_from(key & 0xFFFF_FFFF).unwrap_or(usize::MAX);
        match self.customer.get(position) {
            Some(rule) if key != u64::MAX => customer_decision(rule),
            _ => default_decision(packet.direction),
        }
    }
}
