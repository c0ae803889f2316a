//! Every validation error names its field, and never repeats unbounded input.

use super::spec;
use crate::limits::{MAX_CIDRS_PER_RULE, MAX_PORTS_PER_RULE, MAX_RULES_PER_CLUSTER};
use crate::{
    ClusterSpec, Cni, PacketSpec, PoolSpec, RuleSpec, check_addition, validate_cluster,
    validate_packet, validate_rule, validate_rules,
};

fn good() -> RuleSpec {
    spec(
        "web",
        100,
        "ingress",
        "allow",
        "tcp",
        &["443", "8000-8100"],
        &["0.0.0.0/0"],
    )
}

/// The errors of one rule as `field: message` strings.
fn errors_of(change: impl FnOnce(&mut RuleSpec)) -> Vec<String> {
    let mut rule = good();
    change(&mut rule);
    match validate_rules(&[good_named("first"), rule]) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().iter().map(|e| e.to_string()).collect(),
    }
}

fn good_named(name: &str) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        ..good()
    }
}

#[track_caller]
fn refused(change: impl FnOnce(&mut RuleSpec), field: &str, words: &str) {
    let errors = errors_of(change);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{field}: ")) && e.contains(words)),
        "expected {field}: …{words}…, got {errors:?}"
    );
}

#[test]
fn a_good_rule_passes_and_round_trips() {
    let rules = validate_rules(&[good()]).unwrap();
    assert_eq!(rules[0].priority, 100);
    let back = rules[0].to_spec();
    assert_eq!(back.ports, ["443", "8000-8100"]);
    assert_eq!(back.targets, "all-nodes");
    assert_eq!(validate_rule(&back, "rule").unwrap(), rules[0]);
}

#[test]
fn names() {
    refused(|r| r.name = "Web_1".into(), "rules[1].name", "lowercase");
    refused(|r| r.name = String::new(), "rules[1].name", "empty");
    refused(
        |r| r.name = "accord-kubelet".into(),
        "rules[1].name",
        "reserved",
    );
    refused(
        |r| r.name = "first".into(),
        "rules[1].name",
        "already the name of rules[0]",
    );
}

#[test]
fn priority_direction_action_protocol() {
    refused(
        |r| r.priority = 65_536,
        "rules[1].priority",
        "out of range 0-65535",
    );
    refused(|r| r.priority = -1, "rules[1].priority", "out of range");
    refused(
        |r| r.direction = "inbound".into(),
        "rules[1].direction",
        "\"ingress\" or \"egress\"",
    );
    refused(
        |r| r.action = "drop".into(),
        "rules[1].action",
        "\"allow\" or \"deny\"",
    );
    refused(
        |r| r.protocol = "sctp".into(),
        "rules[1].protocol",
        "tcp, udp, icmp, any",
    );
    assert!(errors_of(|r| r.priority = 65_535).is_empty());
    assert!(errors_of(|r| r.priority = 0).is_empty());
}

#[test]
fn ports() {
    refused(
        |r| r.ports[1] = "http".into(),
        "rules[1].ports[1]",
        "not a port",
    );
    refused(
        |r| r.ports[1] = "0".into(),
        "rules[1].ports[1]",
        "out of range 1-65535",
    );
    refused(
        |r| r.ports[1] = "70000".into(),
        "rules[1].ports[1]",
        "out of range 1-65535",
    );
    refused(
        |r| r.ports[1] = "9000-8000".into(),
        "rules[1].ports[1]",
        "did you mean 8000-9000",
    );
    refused(
        |r| r.ports[1] = "400-500".into(),
        "rules[1].ports[1]",
        "overlaps ports[0] 443",
    );
    refused(
        |r| {
            r.protocol = "icmp".into();
        },
        "rules[1].ports",
        "only to tcp and udp",
    );
    refused(
        |r| r.ports = vec!["1".into(); MAX_PORTS_PER_RULE + 1],
        "rules[1].ports",
        "at most 64",
    );
}

#[test]
fn cidrs() {
    refused(
        |r| r.sources[0] = "10.0.0.1/16".into(),
        "rules[1].sources[0]",
        "did you mean 10.0.0.0/16",
    );
    refused(
        |r| r.sources[0] = "2001:db8::/32".into(),
        "rules[1].sources[0]",
        "IPv6 is not supported yet",
    );
    refused(
        |r| r.sources[0] = "10.0.0.0/33".into(),
        "rules[1].sources[0]",
        "not an IPv4 CIDR",
    );
    refused(
        |r| r.sources[0] = "010.0.0.0/8".into(),
        "rules[1].sources[0]",
        "no leading zeros",
    );
    refused(
        |r| r.sources[0] = "10.0.0.5".into(),
        "rules[1].sources[0]",
        "write 10.0.0.5/32",
    );
    refused(
        |r| {
            r.sources = vec![
                "10.0.0.0/8".into(),
                "192.0.2.0/24".into(),
                "10.1.0.0/16".into(),
            ]
        },
        "rules[1].sources[2]",
        "10.1.0.0/16 is inside sources[0] 10.0.0.0/8",
    );
    refused(
        |r| r.sources = vec!["10.1.0.0/16".into(), "10.0.0.0/8".into()],
        "rules[1].sources[1]",
        "contains sources[0]",
    );
    refused(
        |r| r.sources.clear(),
        "rules[1].sources",
        "at least one CIDR",
    );
    refused(
        |r| r.destinations = vec!["10.0.0.0/8".into()],
        "rules[1].destinations",
        "ingress rules have sources, not destinations",
    );
    refused(
        |r| {
            r.direction = "egress".into();
        },
        "rules[1].destinations",
        "at least one CIDR",
    );
    refused(
        |r| r.sources = vec!["10.0.0.0/32".into(); MAX_CIDRS_PER_RULE + 1],
        "rules[1].sources",
        "at most 256",
    );
}

#[test]
fn targets() {
    refused(
        |r| r.targets = "gpu".into(),
        "rules[1].targets",
        "\"all-nodes\" or \"pool:<name>\"",
    );
    refused(
        |r| r.targets = "pool:GPU".into(),
        "rules[1].targets",
        "pool name",
    );
    assert!(errors_of(|r| r.targets = "pool:gpu".into()).is_empty());
    assert!(errors_of(|r| r.targets = "all-nodes".into()).is_empty());
}

#[test]
fn messages_never_repeat_unbounded_input() {
    let huge = "x".repeat(100_000);
    for change in [
        Box::new(|r: &mut RuleSpec| r.name = huge.clone()) as Box<dyn FnOnce(&mut RuleSpec)>,
        Box::new(|r: &mut RuleSpec| r.ports[0] = huge.clone()),
        Box::new(|r: &mut RuleSpec| r.sources[0] = huge.clone()),
        Box::new(|r: &mut RuleSpec| r.protocol = huge.clone()),
    ] {
        let errors = errors_of(change);
        assert!(!errors.is_empty());
        for e in errors {
            assert!(e.len() < 400, "{} bytes: {}", e.len(), &e[..200]);
        }
    }
}

#[test]
fn the_rule_count_is_bounded() {
    let specs: Vec<RuleSpec> = (0..=MAX_RULES_PER_CLUSTER)
        .map(|i| good_named(&format!("r{i}")))
        .collect();
    let err = validate_rules(&specs).unwrap_err();
    assert_eq!(err.errors()[0].field, "rules");
    assert!(
        err.to_string().contains("at most 10000 rules per cluster"),
        "{err}"
    );

    let existing = validate_rules(&specs[..3]).unwrap();
    let dup = validate_rule(&good_named("r1"), "rule").unwrap();
    assert_eq!(
        check_addition(&existing, &dup).unwrap_err().field,
        "rule.name"
    );
    let new = validate_rule(&good_named("r9"), "rule").unwrap();
    assert!(check_addition(&existing, &new).is_ok());
}

#[test]
fn many_errors_are_counted_not_listed() {
    let specs: Vec<RuleSpec> = (0..50)
        .map(|i| RuleSpec {
            name: format!("r{i}"),
            priority: -1,
            ..good()
        })
        .collect();
    let err = validate_rules(&specs).unwrap_err();
    assert_eq!(err.errors().len(), crate::limits::MAX_REPORTED_ERRORS);
    assert_eq!(err.omitted(), 30);
    assert!(err.to_string().ends_with("; and 30 more"), "{err}");
}

#[test]
fn clusters_and_packets_name_their_fields() {
    let cluster = |change: fn(&mut ClusterSpec)| {
        let mut spec = ClusterSpec {
            vpc_subnet: "10.0.0.0/16".into(),
            pod_cidr: "10.244.0.0/16".into(),
            service_cidr: "10.96.0.0/12".into(),
            cni: Cni::default(),
            pools: Vec::new(),
        };
        change(&mut spec);
        validate_cluster(&spec, "cluster").map_err(|e| e.to_string())
    };
    assert!(cluster(|_| {}).is_ok());
    let err = cluster(|c| c.vpc_subnet = "fd00::/64".into()).unwrap_err();
    assert!(
        err.starts_with("cluster.vpc_subnet: ") && err.contains("IPv6"),
        "{err}"
    );
    let err = cluster(|c| c.pod_cidr = "10.0.0.0/8".into()).unwrap_err();
    assert!(
        err.contains("cluster.pod_cidr: 10.0.0.0/8 overlaps vpc_subnet"),
        "{err}"
    );
    let err = cluster(|c| {
        c.pools = vec![
            PoolSpec {
                name: "a".into(),
                nodes: vec!["10.0.1.0/24".into()],
            },
            PoolSpec {
                name: "b".into(),
                nodes: vec!["10.0.2.1".into(), "10.0.1.9".into()],
            },
        ]
    })
    .unwrap_err();
    assert!(
        err.contains("cluster.pools[1].nodes[1]: overlaps pools[0].nodes[0]"),
        "{err}"
    );

    let c = super::cluster(Cni::default());
    let packet = |change: fn(&mut PacketSpec)| {
        let mut spec = PacketSpec {
            direction: "ingress".into(),
            protocol: "tcp".into(),
            port: Some(443),
            from: "internet".into(),
            to: "node".into(),
        };
        change(&mut spec);
        validate_packet(&spec, &c, "packet").map_err(|e| e.to_string())
    };
    let ok = packet(|_| {}).unwrap();
    assert_eq!(ok.to.to_string(), "10.0.0.1");
    assert_eq!(ok.from.to_string(), "203.0.113.10");
    for (change, expected) in [
        (
            (|p: &mut PacketSpec| p.port = None) as fn(&mut PacketSpec),
            "packet.port: tcp and udp packets need a port",
        ),
        (
            |p| p.port = Some(70_000),
            "packet.port: 70000 is out of range",
        ),
        (
            |p| p.protocol = "icmp".into(),
            "packet.port: icmp packets have no port",
        ),
        (|p| p.protocol = "any".into(), "packet.protocol: "),
        (
            |p| p.from = "::1".into(),
            "packet.from: \"::1\": IPv6 is not supported yet",
        ),
        (
            |p| p.to = "internet".into(),
            "packet.to: an ingress packet goes to a node",
        ),
        (
            |p| {
                p.direction = "egress".into();
            },
            "packet.from: an egress packet goes from a node",
        ),
        (|p| p.direction = "sideways".into(), "packet.direction: "),
    ] {
        let err = packet(change).unwrap_err();
        assert!(err.starts_with(expected), "{err}");
    }
}
