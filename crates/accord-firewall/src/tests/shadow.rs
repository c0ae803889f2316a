//! Warnings: provider overrides name the required flows; shadowing both ways; unknown pools.

use std::collections::HashSet;

use super::{cluster, rules, spec};
use crate::{Cni, Flow, WarningKind, analyze, provider_rules, validate_rule, warnings_for_rule};

fn flows_of(warnings: &[crate::Warning]) -> HashSet<Flow> {
    warnings
        .iter()
        .filter_map(|w| match w.kind {
            WarningKind::ProviderOverride { flow, .. } => Some(flow),
            _ => None,
        })
        .collect()
}

#[test]
fn a_lockdown_is_told_which_required_flows_it_cannot_touch() {
    let c = cluster(Cni {
        wireguard: true,
        ..Cni::default()
    });
    let provider = provider_rules(&c);
    let lockdown = validate_rule(
        &spec("lockdown", 0, "ingress", "deny", "any", &[], &["0.0.0.0/0"]),
        "rule",
    )
    .unwrap();
    let warnings = warnings_for_rule(&c, &provider, &[], &lockdown);
    assert_eq!(
        flows_of(&warnings),
        HashSet::from([
            Flow::Kubelet,
            Flow::CniVxlan,
            Flow::CniHealth,
            Flow::CniIcmp,
            Flow::WireGuard,
            Flow::NodePorts,
            Flow::Management,
        ])
    );
    let kubelet = warnings
        .iter()
        .find(|w| {
            matches!(
                w.kind,
                WarningKind::ProviderOverride {
                    flow: Flow::Kubelet,
                    ..
                }
            )
        })
        .unwrap();
    assert!(
        kubelet.message.starts_with(
            "deny any from 0.0.0.0/0: has no effect on the kubelet flow the cluster needs"
        ),
        "{}",
        kubelet.message
    );
    assert_eq!(kubelet.rule, "lockdown");

    let egress = validate_rule(
        &spec("no-egress", 0, "egress", "deny", "any", &[], &["0.0.0.0/0"]),
        "rule",
    )
    .unwrap();
    let flows = flows_of(&warnings_for_rule(&c, &provider, &[], &egress));
    assert!(flows.contains(&Flow::ApiServer) && flows.contains(&Flow::Telemetry));
    assert!(!flows.contains(&Flow::Kubelet));
}

#[test]
fn only_the_overlapping_part_is_reported() {
    let c = cluster(Cni::default());
    let provider = provider_rules(&c);
    let kubelet = validate_rule(
        &spec(
            "no-kubelet",
            5,
            "ingress",
            "deny",
            "tcp",
            &["10250"],
            &["198.18.0.0/16"],
        ),
        "rule",
    )
    .unwrap();
    let warnings = warnings_for_rule(&c, &provider, &[], &kubelet);
    assert_eq!(flows_of(&warnings), HashSet::from([Flow::Kubelet]));
    assert!(warnings[0].message.starts_with(
        "deny 10250/tcp from 198.18.0.0/16: has no effect on the kubelet flow the cluster needs"
    ));
    // From the internet, 10250 is not required: no warning.
    let internet = validate_rule(
        &spec(
            "no-kubelet",
            5,
            "ingress",
            "deny",
            "tcp",
            &["10250"],
            &["203.0.113.0/24"],
        ),
        "rule",
    )
    .unwrap();
    assert!(warnings_for_rule(&c, &provider, &[], &internet).is_empty());
    // An allow the provider also allows changes nothing: no warning.
    let allow = validate_rule(
        &spec("ok", 5, "ingress", "allow", "any", &[], &["0.0.0.0/0"]),
        "rule",
    )
    .unwrap();
    assert!(warnings_for_rule(&c, &provider, &[], &allow).is_empty());
}

#[test]
fn shadowing_both_ways() {
    let c = cluster(Cni::default());
    let existing = rules(&[
        spec(
            "wide",
            10,
            "ingress",
            "allow",
            "tcp",
            &["443"],
            &["10.0.0.0/8"],
        ),
        spec(
            "narrow",
            20,
            "ingress",
            "deny",
            "tcp",
            &["443"],
            &["10.1.0.0/16"],
        ),
        spec(
            "partial",
            30,
            "ingress",
            "deny",
            "tcp",
            &["443", "8443"],
            &["10.2.0.0/16"],
        ),
    ]);
    let warnings = analyze(&c, &[], &existing);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].rule, "narrow");
    assert_eq!(
        warnings[0].kind,
        WarningKind::ShadowedBy { by: "wide".into() }
    );
    assert!(
        warnings[0].message.contains("never decides a packet"),
        "{}",
        warnings[0].message
    );

    // A new rule shadowed by an existing one, and one shadowing existing ones.
    let late = validate_rule(
        &spec(
            "late",
            50,
            "ingress",
            "allow",
            "tcp",
            &["443"],
            &["10.3.0.0/16"],
        ),
        "rule",
    )
    .unwrap();
    let w = warnings_for_rule(&c, &[], &existing, &late);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, WarningKind::ShadowedBy { by: "wide".into() });

    let first = validate_rule(
        &spec("first", 1, "ingress", "deny", "any", &[], &["0.0.0.0/0"]),
        "rule",
    )
    .unwrap();
    let shadowed: HashSet<String> = warnings_for_rule(&c, &[], &existing, &first)
        .into_iter()
        .filter_map(|w| match w.kind {
            WarningKind::Shadows { other } => Some(other),
            _ => None,
        })
        .collect();
    assert_eq!(
        shadowed,
        HashSet::from(["wide".into(), "narrow".into(), "partial".into()])
    );
}

#[test]
fn ties_and_unions_count() {
    let c = cluster(Cni::default());
    // Same priority: deny comes first, so it shadows the allow (even listed later).
    let set = rules(&[
        spec(
            "allow",
            10,
            "ingress",
            "allow",
            "udp",
            &["53"],
            &["192.0.2.0/24"],
        ),
        spec(
            "deny",
            10,
            "ingress",
            "deny",
            "udp",
            &["1-1000"],
            &["192.0.2.0/25", "192.0.2.128/25"],
        ),
    ]);
    let warnings = analyze(&c, &[], &set);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].rule, "allow");
    assert_eq!(
        warnings[0].kind,
        WarningKind::ShadowedBy { by: "deny".into() }
    );
}

#[test]
fn unknown_pools_are_flagged() {
    let c = cluster(Cni::default());
    let mut s = spec(
        "ssh",
        10,
        "ingress",
        "allow",
        "tcp",
        &["22"],
        &["0.0.0.0/0"],
    );
    s.targets = "pool:gpu".into();
    let rule = validate_rule(&s, "rule").unwrap();
    let w = warnings_for_rule(&c, &[], &[], &rule);
    assert_eq!(w[0].kind, WarningKind::UnknownPool { pool: "gpu".into() });
}

#[test]
fn warnings_serialise_flat_with_their_kind() {
    let c = cluster(Cni::default());
    let rule = validate_rule(
        &spec(
            "no-kubelet",
            5,
            "ingress",
            "deny",
            "tcp",
            &["1-65535"],
            &["198.18.0.0/24"],
        ),
        "rule",
    )
    .unwrap();
    let warnings = warnings_for_rule(&c, &provider_rules(&c), &[], &rule);
    let value = serde_json::to_value(&warnings[0]).unwrap();
    assert_eq!(value["rule"], "no-kubelet");
    assert_eq!(value["kind"], "provider-override");
    assert_eq!(value["flow"], "kubelet");
    assert_eq!(value["provider_rule"], "accord-kubelet-ingress");
    assert!(value["message"].as_str().unwrap().contains("kubelet flow"));

    // "1-65535" and "every port" are the same set of packets.
    let all = validate_rule(
        &spec("all", 9, "ingress", "allow", "tcp", &[], &["198.18.0.0/24"]),
        "rule",
    )
    .unwrap();
    let w = warnings_for_rule(&c, &[], std::slice::from_ref(&rule), &all);
    assert_eq!(
        w[0].kind,
        WarningKind::ShadowedBy {
            by: "no-kubelet".into()
        }
    );
}
