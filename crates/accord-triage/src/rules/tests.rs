//! Tests of loading and validation: a minimal valid file, broken one thing at a time, and
//! loading from a path.

use super::*;
use crate::ticket::Category;

/// A minimal valid file; tests break one thing at a time.
const MINIMAL: &str = r#"
version: 1
rules:
  - id: sup-etcd
    category: supported
    component: etcd
    text: etcd is the provider's.
    actions: [open-provider-incident]
    patterns: {3: [etcd]}
  - id: cust-rbac
    category: customer-owned
    component: kubernetes-rbac
    text: RBAC is the customer's.
    actions: [answer-with-checklist]
    checklist: [check the role, check the binding]
    patterns: {3: [forbidden]}
  - id: be-unclassified
    category: best-effort
    trigger: fallback
    text: Unclassified.
    actions: [advise, manual-triage]
"#;

fn with(from: &str, to: &str) -> Result<RuleSet, RuleError> {
    assert!(MINIMAL.contains(from), "{from}");
    RuleSet::from_yaml_str(&MINIMAL.replacen(from, to, 1))
}

fn problem(result: Result<RuleSet, RuleError>) -> (String, &'static str, Problem) {
    match result {
        Err(RuleError::Rule {
            rule,
            field,
            problem,
        }) => (rule, field, problem),
        other => panic!("expected a rule error, got {other:?}"),
    }
}

#[test]
fn minimal_file_compiles() {
    let set = RuleSet::from_yaml_str(MINIMAL).unwrap();
    assert_eq!(set.version(), 1);
    assert_eq!(set.rules().len(), 3);
    assert_eq!(set.rule("cust-rbac").unwrap().checklist().len(), 2);
}

#[test]
fn duplicate_id_names_the_rule_and_the_first_use() {
    let (rule, field, p) = problem(with("id: cust-rbac", "id: sup-etcd"));
    // The duplicate is caught before the category prefix is checked.
    assert_eq!((rule.as_str(), field), ("sup-etcd", "id"));
    assert_eq!(p, Problem::DuplicateId { first: 1 });
}

#[test]
fn unknown_component_is_refused() {
    let err = with("component: etcd", "component: etcd-cluster").unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule `sup-etcd`, field `component`: unknown component id `etcd-cluster` \
         (not in accord_core::responsibility::COMPONENTS)"
    );
}

#[test]
fn bad_category_is_refused_by_name_and_against_the_matrix() {
    let (rule, field, p) = problem(with("category: supported", "category: supportd"));
    assert_eq!((rule.as_str(), field), ("sup-etcd", "category"));
    assert_eq!(p, Problem::UnknownCategory("supportd".into()));

    // RBAC is customer-owned in the matrix; a supported rule on it must say why.
    let file = MINIMAL
        .replacen("id: cust-rbac", "id: sup-rbac", 1)
        .replacen("category: customer-owned", "category: supported", 1)
        .replacen("[answer-with-checklist]", "[open-provider-incident]", 1)
        .replacen("checklist: [check the role, check the binding]", "", 1);
    let (rule, field, p) = problem(RuleSet::from_yaml_str(&file));
    assert_eq!((rule.as_str(), field), ("sup-rbac", "category"));
    assert_eq!(
        p,
        Problem::DisagreesWithMatrix {
            category: Category::Supported,
            component: "kubernetes-rbac".into(),
            matrix: Category::CustomerOwned
        }
    );
    let explained = file.replacen(
        "text: RBAC is the customer's.",
        "text: x\n    differs_because: a test says so",
        1,
    );
    RuleSet::from_yaml_str(&explained).unwrap();
}

#[test]
fn needless_reason_and_wrong_prefix_are_refused() {
    let (_, field, p) = problem(with(
        "text: etcd is the provider's.",
        "text: x\n    differs_because: no reason",
    ));
    assert_eq!((field, p), ("differs_because", Problem::NeedlessReason));
    let (_, field, p) = problem(with("id: sup-etcd", "id: etcd-rule"));
    assert_eq!(field, "id");
    assert!(matches!(
        p,
        Problem::IdPrefix {
            expected: "sup-",
            ..
        }
    ));
}

#[test]
fn patterns_must_exist_and_be_meaningful() {
    let (_, field, p) = problem(with("patterns: {3: [etcd]}", "patterns: {}"));
    assert_eq!((field, p), ("patterns", Problem::NoPatterns));
    let (_, field, p) = problem(with("patterns: {3: [etcd]}", "patterns: {3: [\"the !\"]}"));
    assert_eq!(
        (field, p),
        ("patterns", Problem::EmptyPattern("the !".into()))
    );
    let (_, _, p) = problem(with("patterns: {3: [etcd]}", "patterns: {11: [etcd]}"));
    assert_eq!(p, Problem::BadWeight(11));
}

#[test]
fn actions_and_checklists_follow_the_category() {
    let (_, field, p) = problem(with("[open-provider-incident]", "[advise]"));
    assert_eq!(field, "actions");
    assert!(matches!(p, Problem::MissingRequiredAction { .. }));
    let (_, _, p) = problem(with(
        "[open-provider-incident]",
        "[open-provider-incident, page]",
    ));
    assert_eq!(p, Problem::UnknownAction("page".into()));
    let (rule, field, p) = problem(with(
        "checklist: [check the role, check the binding]",
        "checklist: [check the role]",
    ));
    assert_eq!(
        (rule.as_str(), field, p),
        ("cust-rbac", "checklist", Problem::ChecklistLength(1))
    );
}

#[test]
fn topics_and_kinds_come_from_the_matrix() {
    let (_, field, p) = problem(with(
        "text: RBAC is the customer's.",
        "text: x\n    kind: service-meshes",
    ));
    assert_eq!(
        (field, p),
        ("kind", Problem::UnknownKind("service-meshes".into()))
    );
    let (_, field, p) = problem(with(
        "text: etcd is the provider's.",
        "text: x\n    topic: nccl-tuning",
    ));
    assert_eq!(
        (field, p),
        ("topic", Problem::OnlyFor(Category::BestEffort))
    );
}

#[test]
fn exactly_one_fallback_and_unknown_fields_are_refused() {
    let err = with("trigger: fallback", "trigger: text").unwrap_err();
    // As a text rule it would need a component and patterns.
    assert!(
        matches!(
            err,
            RuleError::Rule {
                field: "component",
                ..
            }
        ),
        "{err}"
    );
    let no_fallback = MINIMAL.split("  - id: be-unclassified").next().unwrap();
    let err = RuleSet::from_yaml_str(no_fallback).unwrap_err();
    assert!(
        matches!(
            err,
            RuleError::File {
                problem: Problem::TriggerCount {
                    trigger: Trigger::Fallback,
                    found: 0,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
    let err = with("text: Unclassified.", "text: x\n    colour: red");
    let Err(RuleError::Parse(msg)) = err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("unknown field `colour`"), "{msg}");
}

#[test]
fn addon_entries_are_checked() {
    let file = format!("{MINIMAL}addons:\n  cilium: {{component: cni, aliases: [cilium]}}\n");
    let err = RuleSet::from_yaml_str(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add-on `cilium`, field `component`: unknown component id `cni` \
         (not in accord_core::responsibility::COMPONENTS)"
    );
}

#[test]
fn settings_are_range_checked() {
    let file = format!("{MINIMAL}settings:\n  review_below: 1.5\n");
    let err = RuleSet::from_yaml_str(&file).unwrap_err();
    assert!(
        matches!(
            err,
            RuleError::File {
                field: "settings.review_below",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn load_reads_a_path_and_names_it_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(RuleSet::load(&path).unwrap().rules().len(), 3);
    let missing = dir.path().join("missing.yaml");
    let err = RuleSet::load(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.yaml"), "{err}");
}

/// MINIMAL with a breaks rule inserted before the fallback.
fn with_breaks(rule: &str) -> Result<RuleSet, RuleError> {
    let file = MINIMAL.replacen(
        "  - id: be-unclassified",
        &format!("{rule}  - id: be-unclassified"),
        1,
    );
    RuleSet::from_yaml_str(&file)
}

const FABRIC: &str = r#"  - id: cust-breaks-fabric
    trigger: breaks-fabric
    category: customer-owned
    component: infiniband-fabric
    differs_because: the customer's job degrades the provider's fabric
    text: A customer job degrades the fabric.
    actions: [restore-control-plane, notify-customer]
    checklist: [the job's NCCL settings, pause the job]
    requires: [fabric]
    patterns: {5: [congested]}
    blame: {owned: [our job], causes: [caused by our], agents: [saturating]}
"#;

#[test]
fn breaks_rules_need_blame_cues_and_restore_actions() {
    let set = with_breaks(FABRIC).unwrap();
    assert_eq!(
        set.rule("cust-breaks-fabric").unwrap().trigger(),
        Trigger::BreaksFabric
    );

    let (rule, field, p) = problem(with_breaks(&FABRIC.replace(
        "    blame: {owned: [our job], causes: [caused by our], agents: [saturating]}\n",
        "",
    )));
    assert_eq!(
        (rule.as_str(), field, p),
        ("cust-breaks-fabric", "blame.causes", Problem::Missing)
    );
    let (_, field, p) = problem(with_breaks(
        &FABRIC.replace("causes: [caused by our], ", ""),
    ));
    assert_eq!((field, p), ("blame.causes", Problem::Missing));
    let (_, field, p) = problem(with_breaks(
        &FABRIC.replace("agents: [saturating]", "agents: [\"the\"]"),
    ));
    assert_eq!(
        (field, p),
        ("blame.agents", Problem::EmptyPattern("the".into()))
    );
    let (_, field, p) = problem(with_breaks(&FABRIC.replace("restore-control-plane, ", "")));
    assert_eq!(
        (field, p),
        (
            "actions",
            Problem::TriggerNeedsAction {
                trigger: Trigger::BreaksFabric,
                action: crate::action::Action::RestoreControlPlane
            }
        )
    );
    let err =
        with_breaks(&FABRIC.replace("blame: {owned", "blame: {colour: [red], owned")).unwrap_err();
    assert!(matches!(err, RuleError::Parse(_)), "{err}");
}

#[test]
fn blame_is_only_for_breaks_rules_and_each_breaks_trigger_is_unique() {
    let (rule, field, p) = problem(with(
        "patterns: {3: [forbidden]}",
        "patterns: {3: [forbidden]}\n    blame: {causes: [caused by our]}",
    ));
    assert_eq!(
        (rule.as_str(), field, p),
        ("cust-rbac", "blame", Problem::NotForTrigger(Trigger::Text))
    );
    let twice = format!(
        "{FABRIC}{}",
        FABRIC.replace("id: cust-breaks-fabric", "id: cust-breaks-fabric-2")
    );
    let err = with_breaks(&twice).unwrap_err();
    assert!(
        matches!(
            err,
            RuleError::File {
                problem: Problem::TriggerCount {
                    trigger: Trigger::BreaksFabric,
                    found: 2,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
}
