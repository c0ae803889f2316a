//! The handlers without a runtime: rule sets follow the cluster, customer rules are validated
//! and warned about, required rules are refused, reconciler outcomes.

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    firewall::FirewallEvent,
    ids::{ClusterId, NodePoolId, ProjectId},
};
use accord_firewall::{Cni, RuleSpec, driver::VpcFirewall};
use accord_store::Versioned;
use time::OffsetDateTime;

use super::{Change, Ctx, apply, desired, rules};
use crate::{
    trees::{FirewallState, StoredRule},
    view::{ClusterView, PoolView},
};

fn view() -> ClusterView {
    let mut pools = BTreeMap::new();
    pools.insert(
        NodePoolId::generate(),
        PoolView {
            name: "gpu".into(),
            nodes: [("node-a".to_owned(), "10.0.1.5".to_owned())].into(),
        },
    );
    ClusterView {
        id: ClusterId::generate(),
        name: "demo".into(),
        project: ProjectId::generate(),
        vpc_subnet: "10.0.0.0/16".into(),
        pod_cidr: "10.244.0.0/16".into(),
        service_cidr: "10.96.0.0/12".into(),
        cni: Cni::default(),
        pools,
        deleting: false,
    }
}

fn state(v: &ClusterView) -> Versioned<FirewallState> {
    Versioned {
        version: 3,
        value: FirewallState::new(v.id),
    }
}

fn deny_all() -> RuleSpec {
    RuleSpec {
        name: "lockdown".into(),
        priority: 0,
        direction: "ingress".into(),
        action: "deny".into(),
        protocol: "any".into(),
        sources: vec!["0.0.0.0/0".into()],
        ..RuleSpec::default()
    }
}

fn events(ch: &Change) -> Vec<&FirewallEvent> {
    ch.events.iter().collect()
}

fn field_of(e: &DomainError) -> Vec<String> {
    match e {
        DomainError::InvalidArgument(v) => v.iter().map(|f| f.field.clone()).collect(),
        other => panic!("not INVALID_ARGUMENT: {other:?}"),
    }
}

#[test]
fn a_deny_all_rule_is_accepted_with_warnings_naming_the_required_flows() {
    let v = view();
    let (ch, rule, warnings) =
        rules::create(&Ctx::new("ada"), &v, &state(&v), &[], deny_all()).unwrap();
    assert_eq!(rule.name, "lockdown");
    let text: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    for flow in ["kubelet", "nodeports"] {
        assert!(
            text.iter().any(|t| t.contains(flow)),
            "no warning about {flow}: {text:?}"
        );
    }
    let [FirewallEvent::RuleCreated { warnings: said, .. }] = events(&ch)[..] else {
        panic!("{:?}", ch.events)
    };
    assert_eq!(said.len(), warnings.len());
}

/// A customer's cluster's firewall events go out under its project's subject (what the
/// customer's NATS permissions allow): its rules' and its reconciler outcomes alike.
#[test]
fn a_clusters_firewall_events_are_published_under_its_project() {
    use accord_core::events::DomainEvent;

    let v = view();
    let project = v.project.to_string();
    let (created, ..) = rules::create(&Ctx::new("ada"), &v, &state(&v), &[], deny_all()).unwrap();
    let applied = apply::applied(&state(&v), v.project, 1, OffsetDateTime::now_utc()).unwrap();
    for ch in [created, applied] {
        let entries = ch.outbox("network-firewall").unwrap();
        assert_eq!(entries.len(), 1, "{:?}", ch.event_names());
        let ev = &ch.events[0];
        assert!(
            entries[0]
                .subject
                .starts_with(&format!("accord.evt.{project}.")),
            "{}",
            entries[0].subject
        );
        assert_eq!(
            entries[0].subject,
            accord_bus::subjects::event(&project, ev.resource(), ev.event(), &ev.resource_id())
                .unwrap()
        );
    }
}

#[test]
fn bad_fields_are_named_as_in_the_request_and_names_are_unique() {
    let v = view();
    let bad = RuleSpec {
        name: "Web!".into(),
        priority: 70_000,
        ports: vec!["443".into()],
        protocol: "icmp".into(),
        ..deny_all()
    };
    let err = rules::create(&Ctx::new("ada"), &v, &state(&v), &[], bad).unwrap_err();
    let fields = field_of(&err);
    for f in ["name", "priority"] {
        assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
    }
    assert!(fields.iter().any(|x| x.starts_with("ports")), "{fields:?}");

    let taken = vec![(
        "k".to_owned(),
        Versioned {
            version: 1,
            value: StoredRule {
                spec: deny_all(),
                created_at: OffsetDateTime::now_utc(),
                created_by: "ada".into(),
            },
        },
    )];
    let err = rules::create(&Ctx::new("ada"), &v, &state(&v), &taken, deny_all()).unwrap_err();
    assert!(matches!(err, DomainError::AlreadyExists { .. }), "{err:?}");
}

#[test]
fn required_rules_are_the_providers_and_a_deleting_cluster_takes_no_rules() {
    let v = view();
    let required = desired::required_names(&v).unwrap();
    assert!(
        required
            .iter()
            .all(|n| n.starts_with(rules::REQUIRED_PREFIX))
    );
    let err = rules::delete(&v, &state(&v), None, &required[0]).unwrap_err();
    let DomainError::PermissionDenied(msg) = err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains("Networking") && msg.contains("provider"),
        "{msg}"
    );
    let err = rules::delete(&v, &state(&v), None, "missing").unwrap_err();
    assert!(matches!(err, DomainError::NotFound { .. }));
    let gone = ClusterView {
        deleting: true,
        ..view()
    };
    let err = rules::create(&Ctx::new("ada"), &gone, &state(&gone), &[], deny_all()).unwrap_err();
    assert!(matches!(err, DomainError::FailedPrecondition(_)));
}

#[test]
fn the_desired_rule_set_lists_the_required_rules_and_the_pools() {
    let v = view();
    let want = desired::desired(&v, &state(&v).value, vec![deny_all()], &[]).unwrap();
    assert_eq!(want.revision, 1);
    assert_eq!(want.network.pools[0].nodes, ["10.0.1.5"]);
    assert_eq!(want.customer, [deny_all()]);
    // The VPC firewall's view of it still lets the kubelet reach every node.
    let fw = want.firewall().unwrap();
    let kubelet = accord_firewall::Packet {
        direction: accord_firewall::Direction::Ingress,
        protocol: accord_firewall::PacketProtocol::Tcp,
        port: Some(10250),
        from: accord_firewall::CONTROL_PLANE_RANGE.addr(),
        to: "10.0.1.5".parse().unwrap(),
    };
    assert_eq!(
        fw.evaluate(&kubelet).verdict,
        accord_firewall::Verdict::Allow
    );
}

#[test]
fn reconciler_outcomes_record_the_revision_failures_with_backoff_and_drift() {
    let v = view();
    let s = state(&v);
    let ch = apply::failed(
        &s,
        v.project,
        1,
        "VPC API unavailable",
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert!(matches!(
        events(&ch)[..],
        [FirewallEvent::ApplyFailed { attempts: 1, .. }]
    ));
    assert!(apply::backoff(1) < apply::backoff(3));
    assert_eq!(apply::backoff(30), apply::MAX_BACKOFF);

    let want = desired::desired(&v, &s.value, vec![], &[]).unwrap();
    let actual = VpcFirewall {
        required: want.required[1..].to_vec(),
        ..want.clone()
    };
    let ch =
        apply::drift_repaired(&s, v.project, &want, &actual, OffsetDateTime::now_utc()).unwrap();
    let Some(FirewallEvent::DriftRepaired { missing, .. }) = ch.events.last() else {
        panic!("{:?}", ch.events)
    };
    assert_eq!(missing, &[want.required[0].clone()]);
    let ch = apply::applied(&s, v.project, 1, OffsetDateTime::now_utc()).unwrap();
    assert!(matches!(
        events(&ch)[..],
        [FirewallEvent::Applied { revision: 1, .. }]
    ));
}
