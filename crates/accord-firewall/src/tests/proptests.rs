//! The index answers exactly as the linear scan does, and the whole-set shadow analysis finds
//! exactly the pairs a pairwise comparison finds — on random rules and packets.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;

use super::cluster;
use crate::shadow::WarningKind;
use crate::{
    Action, Cni, CustomerRule, Direction, Firewall, NodePool, Packet, PacketProtocol, PortRange,
    Protocol, Selector, Target, Tunnel, analyze, linear_scan, warnings_for_rule,
};

/// Addresses near a few boundaries, so CIDRs nest, touch and miss.
fn address() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        (0u8..4, any::<u8>()).prop_map(|(c, d)| Ipv4Addr::new(10, 0, c, d)),
        (0u8..4, any::<u8>()).prop_map(|(c, d)| Ipv4Addr::new(192, 0, c, d)),
        any::<u32>().prop_map(Ipv4Addr::from),
    ]
}

fn cidr() -> impl Strategy<Value = Ipv4Net> {
    (address(), prop_oneof![Just(0u8), 8u8..=32])
        .prop_map(|(a, len)| Ipv4Net::new(a, len).map(|n| n.trunc()).unwrap_or_default())
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![1u16..30, 440u16..450, 1u16..=u16::MAX]
}

fn ports() -> impl Strategy<Value = Vec<PortRange>> {
    prop::collection::vec(
        (port(), 0u16..20).prop_map(|(lo, width)| PortRange {
            lo,
            hi: lo.saturating_add(width),
        }),
        0..4,
    )
}

fn rule() -> impl Strategy<Value = CustomerRule> {
    (
        0u16..6,
        prop::bool::ANY,
        prop::bool::ANY,
        prop_oneof![
            Just(Protocol::Tcp),
            Just(Protocol::Udp),
            Just(Protocol::Icmp),
            Just(Protocol::Any)
        ],
        ports(),
        prop::collection::vec(cidr(), 1..4),
        prop_oneof![
            3 => Just(Target::AllNodes),
            1 => Just(Target::Pool("a".into())),
            1 => Just(Target::Pool("b".into())),
            1 => Just(Target::Pool("missing".into())),
        ],
    )
        .prop_map(
            |(priority, ingress, allow, protocol, ports, peers, target)| CustomerRule {
                name: String::new(),
                priority,
                action: if allow { Action::Allow } else { Action::Deny },
                selector: Selector {
                    direction: if ingress {
                        Direction::Ingress
                    } else {
                        Direction::Egress
                    },
                    protocol,
                    ports: if protocol.has_ports() {
                        ports
                    } else {
                        Vec::new()
                    },
                    peers,
                    target,
                },
            },
        )
}

fn rules(max: usize) -> impl Strategy<Value = Vec<CustomerRule>> {
    prop::collection::vec(rule(), 0..max).prop_map(|mut rules| {
        for (i, r) in rules.iter_mut().enumerate() {
            r.name = format!("r{i}");
        }
        rules
    })
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        prop::bool::ANY,
        prop_oneof![
            Just(PacketProtocol::Tcp),
            Just(PacketProtocol::Udp),
            Just(PacketProtocol::Icmp)
        ],
        port(),
        address(),
        address(),
    )
        .prop_map(|(ingress, protocol, port, peer, node)| {
            let direction = if ingress {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            let (from, to) = if ingress { (peer, node) } else { (node, peer) };
            Packet {
                direction,
                protocol,
                port: (protocol != PacketProtocol::Icmp).then_some(port),
                from,
                to,
            }
        })
}

fn pools() -> Vec<NodePool> {
    vec![
        NodePool {
            name: "a".into(),
            nodes: vec![
                "10.0.1.0/24".parse().unwrap(),
                "10.0.3.128/25".parse().unwrap(),
            ],
        },
        NodePool {
            name: "b".into(),
            nodes: vec![
                "10.0.2.0/24".parse().unwrap(),
                "10.0.3.7/32".parse().unwrap(),
            ],
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_index_decides_as_the_linear_scan(
        rules in rules(40),
        packets in prop::collection::vec(packet(), 1..40),
        native in prop::bool::ANY,
    ) {
        let mut c = cluster(Cni {
            tunnel: if native { Tunnel::Native } else { Tunnel::Vxlan },
            ..Cni::default()
        });
        c.pools = pools();
        let firewall = Firewall::new(c.clone(), rules.clone());
        for packet in &packets {
            let fast = firewall.evaluate(packet);
            let slow = linear_scan(&c, firewall.provider_rules(), &rules, packet);
            prop_assert_eq!(fast, slow, "{:?}", packet);
            // Without the provider tier, the customer tier itself is compared.
            let customer_only = Firewall::with_provider_rules(c.clone(), Vec::new(), rules.clone());
            prop_assert_eq!(
                customer_only.evaluate(packet),
                linear_scan(&c, &[], &rules, packet),
                "{:?}", packet
            );
        }
    }

    #[test]
    fn the_set_analysis_finds_every_shadowed_rule(rules in rules(11)) {
        let mut c = cluster(Cni::default());
        c.pools = pools();
        let pairs = |warnings: Vec<crate::Warning>| -> BTreeSet<(String, String)> {
            warnings
                .into_iter()
                .filter_map(|w| match w.kind {
                    WarningKind::ShadowedBy { by } => Some((w.rule, by)),
                    _ => None,
                })
                .collect()
        };
        let fast = pairs(analyze(&c, &[], &rules));
        // Pairwise (at most 10 rules shadow one, so no cap applies): the rules before each
        // one as `warnings_for_rule` sees them, and each later rule as a rule joining after it.
        let mut slow = BTreeSet::new();
        for (i, r) in rules.iter().enumerate() {
            slow.extend(pairs(warnings_for_rule(&c, &[], &rules[..i], r)));
            for (j, later) in rules.iter().enumerate().skip(i + 1) {
                if later.key(j) < r.key(i)
                    && warnings_for_rule(&c, &[], std::slice::from_ref(r), later)
                        .iter()
                        .any(|w| w.kind == WarningKind::Shadows { other: r.name.clone() })
                {
                    slow.insert((r.name.clone(), later.name.clone()));
                }
            }
        }
        prop_assert_eq!(fast, slow);
    }
}
