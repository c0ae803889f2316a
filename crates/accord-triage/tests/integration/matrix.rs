//! The shipped rule file against the responsibility matrix of `accord_core`.

// Test helpers outside #[test] functions may unwrap and panic too (as in the other crates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_core::responsibility::{
    BEST_EFFORT_TOPICS, COMPONENTS, CUSTOMER_OWNED_KINDS, Layer, SupportScope,
};
use accord_triage::{Action, Category, RuleSet, Trigger};

fn shipped() -> RuleSet {
    RuleSet::shipped().unwrap()
}

#[test]
fn shipped_rules_load_and_are_versioned() {
    let rules = shipped();
    assert!(rules.version() >= 1);
    assert!(rules.rules().len() > 40);
    for trigger in [
        Trigger::BreaksControlPlane,
        Trigger::BreaksFabric,
        Trigger::AddonCustomerOwned,
        Trigger::AddonShared,
        Trigger::Fallback,
    ] {
        assert_eq!(
            rules
                .rules()
                .iter()
                .filter(|r| r.trigger() == trigger)
                .count(),
            1,
            "{trigger}"
        );
    }
}

#[test]
fn every_rule_agrees_with_the_matrix_or_says_why() {
    for rule in shipped().rules() {
        let Some(component) = rule.component() else {
            assert_eq!(rule.trigger(), Trigger::Fallback, "{}", rule.id());
            continue;
        };
        // The loader enforces this; the test states it against the matrix directly.
        assert!(
            COMPONENTS.iter().any(|c| c.id == component.id),
            "{}",
            rule.id()
        );
        if component.support != rule.category() {
            let topic_explains = rule.category() == Category::BestEffort && rule.topic().is_some();
            assert!(
                topic_explains || rule.differs_because().is_some(),
                "{} is {} but {} is {}",
                rule.id(),
                rule.category(),
                component.id,
                component.support
            );
        }
        assert_eq!(rule.layer(), Some(component.layer));
    }
}

#[test]
fn every_best_effort_topic_and_customer_owned_kind_has_a_rule() {
    let rules = shipped();
    for (topic, _) in BEST_EFFORT_TOPICS {
        assert!(
            rules.rules().iter().any(|r| r.topic() == Some(*topic)),
            "no rule for best-effort topic {topic}"
        );
    }
    for (kind, _) in CUSTOMER_OWNED_KINDS {
        assert!(
            rules.rules().iter().any(|r| r.kind() == Some(*kind)),
            "no rule for customer-owned kind {kind}"
        );
    }
}

#[test]
fn the_source_models_support_scope_is_covered() {
    let rules = shipped();
    let has = |component: &str, category: SupportScope| {
        rules.rules().iter().any(|r| {
            r.trigger() == Trigger::Text
                && r.category() == category
                && r.component().is_some_and(|c| c.id == component)
        })
    };
    // Supported: the control plane, node OS, GPU drivers, Cilium, disks, metrics, LBs, IB, hardware.
    for component in [
        "kube-apiserver",
        "etcd",
        "kube-scheduler",
        "kube-controller-manager",
        "node-base-image",
        "core-addons",
        "cni-cilium",
        "persistent-disk",
        "shared-disk-nfs",
        "load-balancers",
        "infiniband-fabric",
        "gpu-cpu-hardware",
        "cluster-metrics",
    ] {
        assert!(has(component, SupportScope::Supported), "{component}");
    }
    // Customer-owned: every customer component of the matrix has a rule.
    for component in COMPONENTS
        .iter()
        .filter(|c| c.support == SupportScope::CustomerOwned)
    {
        assert!(
            has(component.id, SupportScope::CustomerOwned),
            "no customer-owned rule for {}",
            component.id
        );
    }
    // Every layer is reachable.
    for layer in Layer::ALL {
        assert!(
            rules.rules().iter().any(|r| r.layer() == Some(layer)),
            "no rule in {layer}"
        );
    }
}

#[test]
fn actions_route_by_category() {
    for rule in shipped().rules() {
        let actions = rule.actions();
        match rule.category() {
            Category::Supported => {
                assert!(
                    actions.contains(&Action::OpenProviderIncident),
                    "{}",
                    rule.id()
                );
                assert!(rule.checklist().is_empty(), "{}", rule.id());
            }
            Category::BestEffort => assert!(actions.contains(&Action::Advise), "{}", rule.id()),
            Category::CustomerOwned => {
                assert!((2..=4).contains(&rule.checklist().len()), "{}", rule.id());
                assert!(!actions.contains(&Action::PageOnCall), "{}", rule.id());
            }
        }
        if rule.trigger().is_breaks() {
            assert!(
                actions.contains(&Action::RestoreControlPlane),
                "{}",
                rule.id()
            );
            assert!(actions.contains(&Action::NotifyCustomer), "{}", rule.id());
            assert_eq!(rule.category(), Category::CustomerOwned, "{}", rule.id());
        }
        // Each breaks path names the component the customer broke.
        let broken = match rule.trigger() {
            Trigger::BreaksControlPlane => Some("kube-apiserver"),
            Trigger::BreaksFabric => Some("infiniband-fabric"),
            _ => None,
        };
        if let Some(component) = broken {
            assert_eq!(
                rule.component().map(|c| c.id),
                Some(component),
                "{}",
                rule.id()
            );
        }
    }
}

#[test]
fn the_addon_table_names_the_platforms_addons() {
    let rules = shipped();
    let names: Vec<_> = rules.addon_names().collect();
    for addon in [
        "cilium",
        "nvidia-gpu-operator",
        "nvidia-network-operator",
        "csi-driver",
        "cluster-autoscaler",
        "registry-token-rotator",
        "watch-agent",
    ] {
        assert!(names.contains(&addon), "{addon}");
    }
}
