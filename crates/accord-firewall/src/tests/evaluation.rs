//! Every rule of the evaluation order: provider first, customer by priority (ties: deny),
//! the implied defaults.

use std::net::Ipv4Addr;

use super::{cluster, rules, spec};
use crate::{
    Cni, DEFAULT_ALLOW_EGRESS, DEFAULT_DENY_INGRESS, Direction, Firewall, NodePool, Packet,
    PacketProtocol, Tier, Tunnel, Verdict, linear_scan,
};

const NODE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OTHER_NODE: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 7);
const CONTROL_PLANE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const INTERNET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

fn tcp_in(from: Ipv4Addr, port: u16) -> Packet {
    Packet {
        direction: Direction::Ingress,
        protocol: PacketProtocol::Tcp,
        port: Some(port),
        from,
        to: NODE,
    }
}

fn decide(firewall: &Firewall, packet: &Packet) -> (Verdict, Tier, String) {
    let d = firewall.evaluate(packet);
    let reference = linear_scan(
        firewall.cluster(),
        firewall.provider_rules(),
        firewall.customer_rules(),
        packet,
    );
    assert_eq!(d, reference, "index and linear scan disagree on {packet:?}");
    (d.verdict, d.tier, d.rule.to_owned())
}

#[test]
fn the_provider_tier_wins_over_a_customer_deny() {
    let fw = Firewall::new(
        cluster(Cni::default()),
        rules(&[
            spec("lockdown", 0, "ingress", "deny", "any", &[], &["0.0.0.0/0"]),
            spec("no-egress", 0, "egress", "deny", "any", &[], &["0.0.0.0/0"]),
        ]),
    );
    assert_eq!(
        decide(&fw, &tcp_in(CONTROL_PLANE, 10_250)),
        (
            Verdict::Allow,
            Tier::Provider,
            "accord-kubelet-ingress".into()
        )
    );
    let to_api = Packet {
        direction: Direction::Egress,
        protocol: PacketProtocol::Tcp,
        port: Some(6443),
        from: NODE,
        to: CONTROL_PLANE,
    };
    assert_eq!(
        decide(&fw, &to_api),
        (
            Verdict::Allow,
            Tier::Provider,
            "accord-api-server-egress".into()
        )
    );
    let vxlan = Packet {
        direction: Direction::Ingress,
        protocol: PacketProtocol::Udp,
        port: Some(8472),
        from: OTHER_NODE,
        to: NODE,
    };
    assert_eq!(
        decide(&fw, &vxlan),
        (
            Verdict::Allow,
            Tier::Provider,
            "accord-cni-vxlan-ingress".into()
        )
    );
    // Everything the provider does not need is the customer's to close.
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 22)),
        (Verdict::Deny, Tier::Customer, "lockdown".into())
    );
    // Kubelet from anywhere but the control plane is not a required flow.
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 10_250)),
        (Verdict::Deny, Tier::Customer, "lockdown".into())
    );
    let out = Packet {
        direction: Direction::Egress,
        protocol: PacketProtocol::Tcp,
        port: Some(443),
        from: NODE,
        to: INTERNET,
    };
    assert_eq!(
        decide(&fw, &out),
        (Verdict::Deny, Tier::Customer, "no-egress".into())
    );
}

#[test]
fn the_lower_priority_wins() {
    let specs = [
        spec(
            "allow-https",
            100,
            "ingress",
            "allow",
            "tcp",
            &["443"],
            &["0.0.0.0/0"],
        ),
        spec(
            "block-range",
            50,
            "ingress",
            "deny",
            "tcp",
            &["443"],
            &["203.0.113.0/24"],
        ),
    ];
    let fw = Firewall::new(cluster(Cni::default()), rules(&specs));
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 443)),
        (Verdict::Deny, Tier::Customer, "block-range".into())
    );
    assert_eq!(
        decide(&fw, &tcp_in(Ipv4Addr::new(192, 0, 2, 1), 443)),
        (Verdict::Allow, Tier::Customer, "allow-https".into())
    );
    let mut specs = specs;
    specs[0].priority = 10;
    let fw = Firewall::new(cluster(Cni::default()), rules(&specs));
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 443)),
        (Verdict::Allow, Tier::Customer, "allow-https".into())
    );
}

#[test]
fn at_equal_priority_deny_wins_and_then_the_earlier_rule() {
    let fw = Firewall::new(
        cluster(Cni::default()),
        rules(&[
            spec(
                "allow-web",
                10,
                "ingress",
                "allow",
                "tcp",
                &["80", "443"],
                &["0.0.0.0/0"],
            ),
            spec(
                "deny-web",
                10,
                "ingress",
                "deny",
                "tcp",
                &["443"],
                &["203.0.113.0/24"],
            ),
            spec(
                "deny-again",
                10,
                "ingress",
                "deny",
                "any",
                &[],
                &["203.0.113.0/24"],
            ),
        ]),
    );
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 443)),
        (Verdict::Deny, Tier::Customer, "deny-web".into())
    );
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 80)),
        (Verdict::Deny, Tier::Customer, "deny-again".into())
    );
    assert_eq!(
        decide(&fw, &tcp_in(Ipv4Addr::new(192, 0, 2, 1), 80)),
        (Verdict::Allow, Tier::Customer, "allow-web".into())
    );
}

#[test]
fn the_implied_defaults_deny_ingress_and_allow_egress() {
    let fw = Firewall::new(cluster(Cni::default()), Vec::new());
    assert_eq!(
        decide(&fw, &tcp_in(INTERNET, 443)),
        (Verdict::Deny, Tier::Default, DEFAULT_DENY_INGRESS.into())
    );
    let out = Packet {
        direction: Direction::Egress,
        protocol: PacketProtocol::Udp,
        port: Some(53),
        from: NODE,
        to: INTERNET,
    };
    assert_eq!(
        decide(&fw, &out),
        (Verdict::Allow, Tier::Default, DEFAULT_ALLOW_EGRESS.into())
    );
    // A rule of the other direction changes neither default.
    let fw = Firewall::new(
        cluster(Cni::default()),
        rules(&[spec(
            "out-web",
            5,
            "egress",
            "allow",
            "tcp",
            &["443"],
            &["0.0.0.0/0"],
        )]),
    );
    assert_eq!(decide(&fw, &tcp_in(INTERNET, 443)).1, Tier::Default);
}

#[test]
fn pool_targets_apply_to_their_pools_nodes_only() {
    let mut c = cluster(Cni::default());
    c.pools = vec![NodePool {
        name: "gpu".into(),
        nodes: vec![
            "10.0.1.0/24".parse().unwrap(),
            "10.0.9.9/32".parse().unwrap(),
        ],
    }];
    let mut ssh = spec(
        "ssh-gpu",
        10,
        "ingress",
        "allow",
        "tcp",
        &["22"],
        &["0.0.0.0/0"],
    );
    ssh.targets = "pool:gpu".into();
    let fw = Firewall::new(c, rules(&[ssh]));
    for (node, verdict) in [
        (Ipv4Addr::new(10, 0, 1, 5), Verdict::Allow),
        (Ipv4Addr::new(10, 0, 9, 9), Verdict::Allow),
        (Ipv4Addr::new(10, 0, 2, 5), Verdict::Deny),
    ] {
        let packet = Packet {
            to: node,
            ..tcp_in(INTERNET, 22)
        };
        assert_eq!(decide(&fw, &packet).0, verdict, "{node}");
    }
}

#[test]
fn a_lockdown_never_blocks_a_required_flow_in_any_cni_mode() {
    for tunnel in [Tunnel::Vxlan, Tunnel::Geneve, Tunnel::Native] {
        let cni = Cni {
            tunnel,
            wireguard: true,
            hubble: true,
        };
        let fw = Firewall::new(
            cluster(cni),
            rules(&[
                spec("lockdown", 0, "ingress", "deny", "any", &[], &["0.0.0.0/0"]),
                spec("no-egress", 0, "egress", "deny", "any", &[], &["0.0.0.0/0"]),
            ]),
        );
        let encap = match tunnel {
            Tunnel::Vxlan => Some(8472),
            Tunnel::Geneve => Some(6081),
            Tunnel::Native => None,
        };
        let mut flows = vec![
            (PacketProtocol::Tcp, Some(4240)),
            (PacketProtocol::Icmp, None),
            (PacketProtocol::Udp, Some(51_871)),
            (PacketProtocol::Tcp, Some(4244)),
            (PacketProtocol::Tcp, Some(31_000)),
        ];
        flows.extend(encap.map(|p| (PacketProtocol::Udp, Some(p))));
        for (protocol, port) in flows {
            for direction in [Direction::Ingress, Direction::Egress] {
                if port == Some(31_000) && direction == Direction::Egress {
                    continue;
                }
                let (from, to) = match direction {
                    Direction::Ingress => (OTHER_NODE, NODE),
                    Direction::Egress => (NODE, OTHER_NODE),
                };
                let packet = Packet {
                    direction,
                    protocol,
                    port,
                    from,
                    to,
                };
                let (verdict, tier, rule) = decide(&fw, &packet);
                assert_eq!(
                    (verdict, tier),
                    (Verdict::Allow, Tier::Provider),
                    "{tunnel:?} {packet:?} decided by {rule}"
                );
            }
        }
        assert_eq!(
            decide(&fw, &tcp_in(CONTROL_PLANE, 10_250)).1,
            Tier::Provider
        );
        // Pods' own addresses cross the VPC only with native routing.
        let from_pod = tcp_in(Ipv4Addr::new(10, 244, 3, 4), 8080);
        let expected = if tunnel == Tunnel::Native {
            Tier::Provider
        } else {
            Tier::Customer
        };
        assert_eq!(decide(&fw, &from_pod).1, expected, "{tunnel:?}");
    }
}
