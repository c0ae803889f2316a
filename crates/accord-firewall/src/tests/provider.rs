//! The provider tier per CNI mode, and a load balancer's rule.

use std::collections::HashSet;

use super::cluster;
use crate::{
    Cni, Direction, Flow, PortRange, Protocol, Tunnel, load_balancer_rule, provider_rules,
};

fn flows(cni: Cni) -> HashSet<Flow> {
    provider_rules(&cluster(cni))
        .iter()
        .map(|r| r.flow)
        .collect()
}

#[test]
fn every_mode_has_the_kubernetes_flows_and_its_own_cni_flows() {
    let always = [
        Flow::Kubelet,
        Flow::ApiServer,
        Flow::CniHealth,
        Flow::CniIcmp,
        Flow::NodePorts,
        Flow::Management,
        Flow::Telemetry,
    ];
    for (tunnel, own, not) in [
        (
            Tunnel::Vxlan,
            Flow::CniVxlan,
            [Flow::CniGeneve, Flow::CniNativeRouting],
        ),
        (
            Tunnel::Geneve,
            Flow::CniGeneve,
            [Flow::CniVxlan, Flow::CniNativeRouting],
        ),
        (
            Tunnel::Native,
            Flow::CniNativeRouting,
            [Flow::CniVxlan, Flow::CniGeneve],
        ),
    ] {
        let got = flows(Cni {
            tunnel,
            ..Cni::default()
        });
        for flow in always.iter().chain([&own]) {
            assert!(got.contains(flow), "{tunnel:?} lacks {flow}");
        }
        for flow in not.iter().chain([&Flow::WireGuard, &Flow::Hubble]) {
            assert!(!got.contains(flow), "{tunnel:?} has {flow}");
        }
    }
    let got = flows(Cni {
        tunnel: Tunnel::Vxlan,
        wireguard: true,
        hubble: true,
    });
    assert!(got.contains(&Flow::WireGuard) && got.contains(&Flow::Hubble));
}

#[test]
fn rules_are_named_uniquely_and_say_their_flow() {
    let c = cluster(Cni {
        tunnel: Tunnel::Native,
        wireguard: true,
        hubble: true,
    });
    let rules = provider_rules(&c);
    let names: HashSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), rules.len());
    for rule in &rules {
        assert!(rule.name.starts_with("accord-"), "{}", rule.name);
        assert!(rule.name.contains(rule.flow.as_str()), "{}", rule.name);
        assert!(!rule.flow.description().is_empty());
    }
    let kubelet = rules.iter().find(|r| r.flow == Flow::Kubelet).unwrap();
    assert_eq!(kubelet.selector.direction, Direction::Ingress);
    assert_eq!(kubelet.selector.ports, [PortRange::single(10_250)]);
    assert_eq!(kubelet.selector.peers, [c.provider.control_plane]);
    let nodeports: Vec<_> = rules.iter().filter(|r| r.flow == Flow::NodePorts).collect();
    assert_eq!(nodeports.len(), 2);
    let protocols: HashSet<Protocol> = nodeports.iter().map(|r| r.selector.protocol).collect();
    assert_eq!(protocols, HashSet::from([Protocol::Tcp, Protocol::Udp]));
    for rule in nodeports {
        assert_eq!(rule.selector.ports, [PortRange::NODE_PORTS]);
        assert!(rule.selector.peers.contains(&c.provider.load_balancers));
    }
    let native = rules
        .iter()
        .find(|r| r.flow == Flow::CniNativeRouting)
        .unwrap();
    assert_eq!(native.selector.protocol, Protocol::Any);
    assert!(native.selector.peers.contains(&c.pod_cidr));
}

#[test]
fn a_load_balancer_opens_its_node_ports_to_its_source_ranges() {
    let rule =
        load_balancer_rule("web", &["192.0.2.0/24".parse().unwrap()], &[30_080, 30_443]).unwrap();
    assert_eq!(rule.name, "accord-lb-web");
    assert_eq!(rule.flow, Flow::LoadBalancer);
    assert_eq!(rule.selector.protocol, Protocol::Tcp);
    assert_eq!(
        rule.selector.ports,
        [PortRange::single(30_080), PortRange::single(30_443)]
    );
    let open = load_balancer_rule("any", &[], &[30_080]).unwrap();
    assert_eq!(open.selector.peers, ["0.0.0.0/0".parse().unwrap()]);

    let err = load_balancer_rule("web", &[], &[443]).unwrap_err();
    assert_eq!(err.field, "ports[0].node_port");
    assert!(load_balancer_rule("Web!", &[], &[30_080]).is_err());
    assert_eq!(
        load_balancer_rule("web", &[], &[]).unwrap_err().field,
        "ports"
    );
}

#[test]
fn rules_serialise_with_their_flow_and_as_written() {
    let c = cluster(Cni::default());
    let kubelet = provider_rules(&c).into_iter().next().unwrap();
    assert_eq!(
        serde_json::to_value(&kubelet).unwrap(),
        serde_json::json!({
            "name": "accord-kubelet-ingress",
            "flow": "kubelet",
            "description": Flow::Kubelet.description(),
            "direction": "ingress",
            "action": "allow",
            "protocol": "tcp",
            "ports": ["10250"],
            "sources": ["198.18.0.0/24"],
            "targets": "all-nodes",
        })
    );
    let rule = crate::validate_rule(
        &super::spec(
            "web",
            7,
            "egress",
            "deny",
            "udp",
            &["53", "8000-8100"],
            &["0.0.0.0/0"],
        ),
        "rule",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&rule).unwrap(),
        serde_json::json!({
            "name": "web",
            "priority": 7,
            "direction": "egress",
            "action": "deny",
            "protocol": "udp",
            "ports": ["53", "8000-8100"],
            "destinations": ["0.0.0.0/0"],
            "targets": "all-nodes",
        })
    );
}
