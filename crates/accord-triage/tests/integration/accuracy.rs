//! Accuracy of the shipped rules on labelled tickets.
//!
//! `data/labelled-tickets.jsonl` was written before the rules; the rules were then tuned on it
//! (by vocabulary, not by copying phrasings). `data/heldout-tickets.jsonl` was written after the
//! rules were final and never used for tuning: it is the honest estimate. Each line is a ticket
//! plus `"expected": "<category>"` and optionally `"expected_rule": "<rule id>"`.
//!
//! History (the JSON Lines files cannot carry comments, so it is kept here):
//! - rules v2: 17 held-out tickets ho-066..ho-082 (customer components breaking the control
//!   plane or the fabric, and look-alikes) were written after v2 was frozen and scored 12/17
//!   (held-out overall 73/82 = 89.0 %).
//! - rules v3 was tuned on them, so they moved to the labelled set as lab-137..lab-153 (same
//!   expected labels, same order). The held-out set keeps ho-001..ho-065 and continues at
//!   ho-083 with tickets written after v3 was frozen (see the rule file's HISTORY).
//!
//! Run with `cargo test -p accord-triage --test integration accuracy -- --nocapture` to see the
//! per-category table and every misclassified ticket.

// Test helpers outside #[test] functions may unwrap and panic too (as in the other crates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use accord_triage::{Category, RuleSet, Ticket};

struct Labelled {
    ticket: Ticket,
    expected: Category,
    expected_rule: Option<String>,
}

fn load(name: &str) -> Vec<Labelled> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let mut value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", n + 1));
            let object = value.as_object_mut().unwrap();
            let expected = serde_json::from_value(object.remove("expected").unwrap())
                .unwrap_or_else(|e| panic!("{name}:{}: expected: {e}", n + 1));
            let expected_rule = object
                .remove("expected_rule")
                .map(|v| v.as_str().unwrap().to_string());
            let ticket = serde_json::from_value(value)
                .unwrap_or_else(|e| panic!("{name}:{}: ticket: {e}", n + 1));
            Labelled {
                ticket,
                expected,
                expected_rule,
            }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    total: usize,
    correct: usize,
}

impl Tally {
    fn pct(&self) -> f64 {
        if self.total == 0 {
            return 100.0;
        }
        100.0 * self.correct as f64 / self.total as f64
    }
}

/// Classifies a set, prints its report and returns the overall category accuracy in percent.
fn evaluate(rules: &RuleSet, name: &str) -> f64 {
    evaluate_where(rules, name, |_| true)
}

/// The held-out batch written after rules v3 was frozen (ho-083 on).
fn in_v3_batch(id: &str) -> bool {
    id.strip_prefix("ho-")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n >= 83)
}

fn evaluate_where(rules: &RuleSet, name: &str, keep: impl Fn(&str) -> bool) -> f64 {
    let set: Vec<Labelled> = load(name)
        .into_iter()
        .filter(|l| keep(&l.ticket.id))
        .collect();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut overall = Tally::default();
    let mut rule_tally = Tally::default();
    let mut review = 0;
    let mut wrong_but_flagged = 0;
    let mut misses = Vec::new();
    for item in &set {
        let answer = rules.classify(&item.ticket);
        let ok = answer.category == item.expected;
        let tally = by_category.entry(item.expected.to_string()).or_default();
        tally.total += 1;
        overall.total += 1;
        if ok {
            tally.correct += 1;
            overall.correct += 1;
        } else if answer.needs_review {
            wrong_but_flagged += 1;
        }
        if answer.needs_review {
            review += 1;
        }
        if let Some(rule) = &item.expected_rule {
            rule_tally.total += 1;
            if *answer.rule.id == **rule {
                rule_tally.correct += 1;
            } else if ok {
                misses.push(format!(
                    "  rule only  {:<8} expected rule {rule}, got {} ({}) — {:?}",
                    item.ticket.id, answer.rule.id, answer.confidence, item.ticket.title
                ));
            }
        }
        if !ok {
            misses.push(format!(
                "  CATEGORY   {:<8} expected {}, got {} via {} ({}{}) — {:?}",
                item.ticket.id,
                item.expected,
                answer.category,
                answer.rule.id,
                answer.confidence,
                if answer.needs_review { ", review" } else { "" },
                item.ticket.title
            ));
        }
    }
    eprintln!("\n== {name}: {} tickets ==", overall.total);
    for (category, tally) in &by_category {
        eprintln!(
            "  {category:<15} {:>3}/{:<3} {:6.1} %",
            tally.correct,
            tally.total,
            tally.pct()
        );
    }
    eprintln!(
        "  {:<15} {:>3}/{:<3} {:6.1} %",
        "overall",
        overall.correct,
        overall.total,
        overall.pct()
    );
    eprintln!(
        "  rule id exact {}/{} ({:.1} %); needs_review {}; wrong but flagged for review {}",
        rule_tally.correct,
        rule_tally.total,
        rule_tally.pct(),
        review,
        wrong_but_flagged
    );
    for miss in &misses {
        eprintln!("{miss}");
    }
    overall.pct()
}

#[test]
fn labelled_set_is_large_enough_and_covers_every_category() {
    let set = load("labelled-tickets.jsonl");
    assert!(set.len() >= 100, "{} labelled tickets", set.len());
    for category in [
        Category::Supported,
        Category::BestEffort,
        Category::CustomerOwned,
    ] {
        assert!(set.iter().any(|l| l.expected == category), "{category}");
    }
    let held_out = load("heldout-tickets.jsonl");
    assert!(held_out.len() >= 30, "{} held-out tickets", held_out.len());
}

#[test]
fn expected_rules_exist_and_agree_with_the_expected_category() {
    let rules = RuleSet::shipped().unwrap();
    for name in ["labelled-tickets.jsonl", "heldout-tickets.jsonl"] {
        for item in load(name) {
            if let Some(id) = &item.expected_rule {
                let rule = rules
                    .rule(id)
                    .unwrap_or_else(|| panic!("{name} {}: no rule {id}", item.ticket.id));
                assert_eq!(rule.category(), item.expected, "{name} {}", item.ticket.id);
            }
        }
    }
}

#[test]
fn accuracy_on_labelled_and_held_out_tickets() {
    let rules = RuleSet::shipped().unwrap();
    let labelled = evaluate(&rules, "labelled-tickets.jsonl");
    let held_out = evaluate(&rules, "heldout-tickets.jsonl");
    let first = evaluate_where(&rules, "heldout-tickets.jsonl", |id| !in_v3_batch(id));
    let v3 = evaluate_where(&rules, "heldout-tickets.jsonl", in_v3_batch);
    eprintln!(
        "\nlabelled {labelled:.1} %, held-out {held_out:.1} % (first set {first:.1} %, \
         v3 batch {v3:.1} %)"
    );
    assert!(labelled >= 95.0, "labelled accuracy {labelled:.1} % < 95 %");
    // The 90 % bar holds on the held-out set it was set for (ho-001..ho-065).
    assert!(
        first >= 90.0,
        "held-out accuracy (first set) {first:.1} % < 90 %"
    );
    // The batch written after rules v3 (customer components breaking the control plane or the
    // fabric, and their look-alikes) scores 75 % (15/20): the 90 % target is NOT met there
    // yet. This floor only catches regressions; raising it is the next rules version's job,
    // with a new batch written after that version is frozen.
    assert!(v3 >= 70.0, "held-out accuracy (v3 batch) {v3:.1} % < 70 %");
}
