//! Scoring, precedence and tie-break: [`RuleSet::classify`].
//!
//! One pass of the rule set's automaton over the normalised title and description gives every
//! rule a text score: the sum of the weights of its distinct patterns found (each pattern counts
//! once however often a pasted log repeats it; a pattern found in the title counts
//! `title_boost` times). A second, tiny pass over the `component` field finds the rules, add-ons
//! and layers it names. Then, in this order:
//!
//! 1. **A customer component breaks the control plane.** The `breaks-control-plane` rule's
//!    anchors (`requires`: the API server, etcd, kubectl, an admission webhook call …) are in the
//!    ticket, its symptom patterns score at least `symptom_min`, and a customer component is
//!    named: a rule with a customer-owned `kind` (service mesh, webhook, operator …) scores at
//!    least `culprit_min` or is named by the `component` field, or a name from
//!    `context.customer_components` appears in the text or the field. The answer is
//!    Customer-Owned with `restore-control-plane` and `notify-customer`: the provider restores
//!    baseline health and does not debug the component.
//! 2. **An add-on the context marks customer-owned or shared is the subject.** The add-on is
//!    named by the `component` field or in the text. Customer-owned → the `addon-customer-owned`
//!    rule (the customer modified or replaced it), unless the best text rule is a
//!    `provider_fault` (hardware does not become the customer's because they changed an
//!    operator). Shared → the `addon-shared` rule (the add-on's problem stays Supported) when the
//!    field names it, or the text names it and the best text rule is absent, Supported (not a
//!    provider fault) or about the add-on's own component; otherwise the text decides. Customer-owned
//!    add-ons are considered before shared ones, add-ons named by the field before those named
//!    in the text, then by name.
//! 3. **Component hint.** Rules whose component id or `hints` the `component` field names get
//!    `hint_weight` added to their score; rules of a layer it names get `layer_hint_weight`.
//! 4. **Score.** The highest total (text + hint) among the `text` rules whose anchors, if any,
//!    are present wins; ties go to the higher `priority`, then to the smaller rule id. A total
//!    below `min_score` (or no match) gives the `fallback` rule.
//!
//! Confidence (in the category, not the rule): with `s` the winning total and `o` the best
//! total of a rule of another category, `margin = (s − o) / s` and `evidence = s / (s +
//! evidence_half)`; confidence = `margin × (0.5 + 0.5 × evidence)`, two decimals. Paths 1 and 2
//! have fixed confidences (0.95 when the field names the add-on, 0.85 from the text; 0.6–1 by
//! symptom strength for path 1). `needs_review` is set, and `manual-triage` appended to the
//! actions, when confidence is below `review_below`, for the fallback, and when the text shows
//! control-plane symptoms while the context lists customer components the ticket does not name
//! (the category then stays the text's, but a human should check whether one is the cause).
//!
//! Cost: one `String` for the normalised text (plus one for a component field), two small
//! vectors sized by the rule and pattern counts, and the answer's ticket id; the rest of the
//! answer shares the rule set's strings.

use std::{cmp::Ordering, sync::Arc};

use accord_core::responsibility::Component;

use crate::{
    matcher::{normalise, normalise_into},
    rules::{Addon, HintTarget, Rule, RuleSet, TextTarget, Trigger},
    ticket::{AddonOwnership, Category, Classification, RuleRef, Ticket},
};

/// Confidence when the component field names a customer-owned or shared add-on.
const ADDON_BY_HINT_CONFIDENCE: f32 = 0.95;
/// Confidence when only the text names it.
const ADDON_BY_TEXT_CONFIDENCE: f32 = 0.85;

/// What one rule got from the ticket.
#[derive(Debug, Clone, Copy, Default)]
struct RuleScore {
    /// Sum of the weights of the distinct patterns found.
    text: f32,
    /// One of the rule's `requires` anchors was found.
    anchored: bool,
    /// The component field names the rule's component or one of its hints.
    hinted: bool,
    /// The component field names the rule's layer.
    layer_hinted: bool,
}

/// Everything the ticket's text and component field matched.
struct Scan {
    text: String,
    hint: Option<String>,
    rules: Vec<RuleScore>,
    text_addons: u64,
    hint_addons: u64,
}

/// The best scoring rule and the best score of another category.
#[derive(Debug, Clone, Copy)]
struct Ranking {
    best: Option<(usize, f32)>,
    other_category: f32,
}

impl RuleSet {
    /// Classifies one ticket. Total and deterministic; see the module documentation for the
    /// precedence.
    pub fn classify(&self, ticket: &Ticket) -> Classification {
        let scan = self.scan(ticket);
        let ranking = self.rank(&scan);
        let symptoms = self.control_plane_symptoms(&scan);
        if symptoms.is_some()
            && let Some(answer) = self.breaks_control_plane(ticket, &scan, symptoms)
        {
            return answer;
        }
        if let Some(answer) = self.addon_path(ticket, &scan, ranking) {
            return answer;
        }
        let unnamed_customer_components = symptoms.is_some()
            && ticket
                .context
                .as_ref()
                .is_some_and(|c| !c.customer_components.is_empty());
        self.by_score(ticket, ranking, unnamed_customer_components)
    }

    fn scan(&self, ticket: &Ticket) -> Scan {
        let mut text = String::with_capacity(ticket.title.len() + ticket.description.len() + 4);
        normalise_into(&mut text, &ticket.title);
        let title_end = text.len();
        normalise_into(&mut text, &ticket.description);

        let mut rules = vec![RuleScore::default(); self.rules.len()];
        let mut seen = vec![0u64; self.text_index.len().div_ceil(64)];
        let mut text_addons = 0u64;
        let boost = self.settings.title_boost;
        self.text_index
            .for_each_match(&text, |pattern, start, targets| {
                let (word, bit) = (pattern / 64, 1u64 << (pattern % 64));
                match seen.get_mut(word) {
                    Some(w) if *w & bit == 0 => *w |= bit,
                    _ => return,
                }
                // `start` is the space before the first word: the word is in the title when the
                // character after that space is.
                let factor = if start + 1 < title_end { boost } else { 1.0 };
                for target in targets {
                    match *target {
                        TextTarget::Score { rule, weight } => {
                            if let Some(r) = rules.get_mut(usize::from(rule)) {
                                r.text += weight * factor;
                            }
                        }
                        TextTarget::Anchor { rule } => {
                            if let Some(r) = rules.get_mut(usize::from(rule)) {
                                r.anchored = true;
                            }
                        }
                        TextTarget::Addon { addon } => text_addons |= 1u64 << addon,
                    }
                }
            });

        let mut hint_addons = 0u64;
        let hint = ticket.component.as_deref().map(normalise);
        if let Some(hint) = &hint {
            self.hint_index.for_each_match(hint, |_, _, targets| {
                for target in targets {
                    match *target {
                        HintTarget::Rule { rule } => {
                            if let Some(r) = rules.get_mut(usize::from(rule)) {
                                r.hinted = true;
                            }
                        }
                        HintTarget::Addon { addon } => hint_addons |= 1u64 << addon,
                        HintTarget::Layer(layer) => {
                            let members = self.layer_rules.iter().find(|(l, _)| *l == layer);
                            for &rule in members.map(|(_, m)| m.as_slice()).unwrap_or_default() {
                                if let Some(r) = rules.get_mut(usize::from(rule)) {
                                    r.layer_hinted = true;
                                }
                            }
                        }
                    }
                }
            });
        }
        Scan {
            text,
            hint,
            rules,
            text_addons,
            hint_addons,
        }
    }

    /// Total score of a rule: text plus hint bonuses.
    fn total(&self, score: &RuleScore) -> f32 {
        let mut total = score.text;
        if score.hinted {
            total += self.settings.hint_weight;
        }
        if score.layer_hinted {
            total += self.settings.layer_hint_weight;
        }
        total
    }

    /// Precedence 3–4 over the `text` rules.
    fn rank(&self, scan: &Scan) -> Ranking {
        let mut best: Option<(usize, f32)> = None;
        for (index, (rule, score)) in self.rules.iter().zip(&scan.rules).enumerate() {
            if rule.trigger != Trigger::Text || (rule.needs_anchor && !score.anchored) {
                continue;
            }
            let total = self.total(score);
            if total <= 0.0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((current, current_total)) => {
                    beats(rule, total, &self.rules[current], current_total) == Ordering::Greater
                }
            };
            if better {
                best = Some((index, total));
            }
        }
        let other_category = best.map_or(0.0, |(winner, _)| {
            let category = self.rules[winner].category;
            self.rules
                .iter()
                .zip(&scan.rules)
                .filter(|(r, s)| {
                    r.trigger == Trigger::Text
                        && r.category != category
                        && (!r.needs_anchor || s.anchored)
                })
                .map(|(_, s)| self.total(s))
                .fold(0.0, f32::max)
        });
        Ranking {
            best,
            other_category,
        }
    }

    /// The control-plane symptom score, when the anchors are present and it reaches
    /// `symptom_min`.
    fn control_plane_symptoms(&self, scan: &Scan) -> Option<f32> {
        let index = self.breaks_control_plane?;
        let rule = self.rules.get(index)?;
        let score = scan.rules.get(index)?;
        let anchored = !rule.needs_anchor || score.anchored;
        (anchored && score.text >= self.settings.symptom_min).then_some(score.text)
    }

    /// Precedence 1.
    fn breaks_control_plane(
        &self,
        ticket: &Ticket,
        scan: &Scan,
        symptoms: Option<f32>,
    ) -> Option<Classification> {
        let symptoms = symptoms?;
        let index = self.breaks_control_plane?;
        let named_in_rules = self.rules.iter().zip(&scan.rules).any(|(rule, score)| {
            rule.trigger == Trigger::Text
                && rule.kind.is_some()
                && (score.text >= self.settings.culprit_min || score.hinted)
        });
        let named_from_context = ticket.context.as_ref().is_some_and(|ctx| {
            ctx.customer_components.iter().any(|name| {
                let name = normalise(name);
                !name.trim().is_empty()
                    && (scan.text.contains(&name)
                        || scan.hint.as_ref().is_some_and(|h| h.contains(&name)))
            })
        });
        if !named_in_rules && !named_from_context {
            return None;
        }
        let evidence = symptoms / (symptoms + self.settings.evidence_half);
        Some(self.answer(
            ticket,
            index,
            Subject::Rule,
            round2(0.6 + 0.4 * evidence),
            false,
        ))
    }

    /// Precedence 2.
    fn addon_path(&self, ticket: &Ticket, scan: &Scan, ranking: Ranking) -> Option<Classification> {
        let context = ticket.context.as_ref()?;
        let text_best = ranking
            .best
            .filter(|&(_, total)| total >= self.settings.min_score)
            .and_then(|(index, _)| self.rules.get(index));

        // (customer-owned first, named by the field first); the map iterates by name.
        let mut chosen: Option<AddonCandidate<'_>> = None;
        for (name, &ownership) in &context.addons {
            if ownership == AddonOwnership::ProviderManaged {
                continue;
            }
            let known = self.find_addon(name);
            let (by_hint, by_text) = match known {
                Some((i, _)) => (
                    scan.hint_addons & (1 << i) != 0,
                    scan.text_addons & (1 << i) != 0,
                ),
                None => {
                    let normalised = normalise(name);
                    if normalised.trim().is_empty() {
                        continue;
                    }
                    (
                        scan.hint.as_ref().is_some_and(|h| h.contains(&normalised)),
                        scan.text.contains(&normalised),
                    )
                }
            };
            if !by_hint && !by_text {
                continue;
            }
            let addon = known.map(|(_, a)| a);
            let applies = match ownership {
                AddonOwnership::CustomerOwned => !text_best.is_some_and(|r| r.provider_fault),
                AddonOwnership::Shared => {
                    by_hint
                        || text_best.is_none_or(|r| {
                            (r.category == Category::Supported && !r.provider_fault)
                                || addon.is_some_and(|a| {
                                    r.component_id.as_ref() == Some(&a.component_id)
                                })
                        })
                }
                AddonOwnership::ProviderManaged => false,
            };
            if !applies {
                continue;
            }
            let key = (ownership == AddonOwnership::CustomerOwned, by_hint);
            if chosen.as_ref().is_none_or(|c| key > c.key) {
                chosen = Some(AddonCandidate {
                    key,
                    name,
                    ownership,
                    addon,
                });
            }
        }

        let AddonCandidate {
            key: (_, by_hint),
            name,
            ownership,
            addon,
        } = chosen?;
        let confidence = if by_hint {
            ADDON_BY_HINT_CONFIDENCE
        } else {
            ADDON_BY_TEXT_CONFIDENCE
        };
        match ownership {
            AddonOwnership::CustomerOwned => {
                let index = self.addon_customer_owned?;
                Some(self.answer(ticket, index, Subject::Addon(name, None), confidence, false))
            }
            AddonOwnership::Shared => {
                let index = self.addon_shared?;
                let component = addon.map(|a| (a.component, a.component_id.clone()));
                Some(self.answer(
                    ticket,
                    index,
                    Subject::Addon(name, component),
                    confidence,
                    false,
                ))
            }
            AddonOwnership::ProviderManaged => None,
        }
    }

    /// The add-on of the table called `name` (by name, or by a normalised name or alias).
    fn find_addon(&self, name: &str) -> Option<(usize, &Addon)> {
        if let Some(found) = self
            .addons
            .iter()
            .enumerate()
            .find(|(_, a)| &*a.name == name)
        {
            return Some(found);
        }
        let normalised = normalise(name);
        self.addons
            .iter()
            .enumerate()
            .find(|(_, a)| a.names.contains(&normalised))
    }

    /// Precedence 3–4, or the fallback.
    fn by_score(
        &self,
        ticket: &Ticket,
        ranking: Ranking,
        unnamed_customer_components: bool,
    ) -> Classification {
        match ranking.best {
            Some((index, total)) if total >= self.settings.min_score => {
                let margin = ((total - ranking.other_category) / total).clamp(0.0, 1.0);
                let evidence = total / (total + self.settings.evidence_half);
                let confidence = round2(margin * (0.5 + 0.5 * evidence));
                let review = confidence < self.settings.review_below || unnamed_customer_components;
                self.answer(ticket, index, Subject::Rule, confidence, review)
            }
            _ => self.answer(ticket, self.fallback, Subject::Rule, 0.0, true),
        }
    }

    fn answer(
        &self,
        ticket: &Ticket,
        index: usize,
        subject: Subject<'_>,
        confidence: f32,
        needs_review: bool,
    ) -> Classification {
        let rule = &self.rules[index];
        let needs_review = needs_review || rule.trigger == Trigger::Fallback;
        let (component, component_id, text) = match subject {
            Subject::Rule => (rule.component, rule.component_id.clone(), rule.text.clone()),
            Subject::Addon(name, component) => {
                let text = if rule.text.contains("{addon}") {
                    Arc::from(rule.text.replace("{addon}", name))
                } else {
                    rule.text.clone()
                };
                match component {
                    Some((component, id)) => (Some(component), Some(id), text),
                    None => (rule.component, rule.component_id.clone(), text),
                }
            }
        };
        Classification {
            id: ticket.id.clone(),
            category: rule.category,
            layer: component.map(|c| c.layer),
            component: component_id,
            rule: RuleRef {
                id: rule.id.clone(),
                text,
            },
            actions: if needs_review {
                rule.review_actions.clone()
            } else {
                rule.actions.clone()
            },
            checklist: rule.checklist.clone(),
            confidence,
            needs_review,
        }
    }
}

/// An add-on of the context that the ticket names, ranked by `key`.
struct AddonCandidate<'a> {
    /// (customer-owned, named by the component field): greater wins.
    key: (bool, bool),
    name: &'a str,
    ownership: AddonOwnership,
    addon: Option<&'a Addon>,
}

/// What an answer is about: the rule's own component, or an add-on (named in the rule text,
/// and optionally replacing the rule's component).
enum Subject<'a> {
    Rule,
    Addon(&'a str, Option<(&'static Component, Arc<str>)>),
}

/// Orders two scored rules: higher total, then higher priority, then the smaller id.
fn beats(a: &Rule, a_total: f32, b: &Rule, b_total: f32) -> Ordering {
    a_total
        .total_cmp(&b_total)
        .then(a.priority.cmp(&b.priority))
        .then_with(|| b.id.cmp(&a.id))
}

fn round2(x: f32) -> f32 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{action::Action, ticket::TicketContext};

    /// Two rules that tie on the word "disk", a third that ties with them on priority too.
    const TIES: &str = r#"
version: 7
settings: {min_score: 1, review_below: 0}
rules:
  - id: sup-persistent-disk
    category: supported
    component: persistent-disk
    priority: 10
    text: Disk.
    actions: [open-provider-incident]
    patterns: {2: [disk], 3: [attach failed]}
  - id: cust-storage-classes
    category: customer-owned
    component: storage-classes
    priority: 5
    text: StorageClass.
    actions: [answer-with-checklist]
    checklist: [a, b]
    hints: [sc]
    patterns: {2: [disk], 4: [storageclass]}
  - id: cust-pvc
    category: customer-owned
    component: persistent-volume-claims
    priority: 5
    text: PVC.
    actions: [answer-with-checklist]
    checklist: [a, b]
    patterns: {2: [claim]}
  - id: cust-a-claims
    category: customer-owned
    component: persistent-volume-claims
    priority: 5
    text: Claims.
    actions: [answer-with-checklist]
    checklist: [a, b]
    patterns: {2: [claim]}
  - id: be-unclassified
    category: best-effort
    trigger: fallback
    text: Unclassified.
    actions: [advise]
"#;

    fn ties() -> RuleSet {
        RuleSet::from_yaml_str(TIES).unwrap()
    }

    fn shipped() -> RuleSet {
        RuleSet::shipped().unwrap()
    }

    #[test]
    fn equal_scores_go_to_the_higher_priority_then_the_smaller_id() {
        let set = ties();
        let c = set.classify(&Ticket::new("t", "disk", ""));
        assert_eq!(&*c.rule.id, "sup-persistent-disk");
        // A tie between categories is no confidence at all.
        assert_eq!(c.confidence, 0.0);

        let c = set.classify(&Ticket::new("t", "claim", ""));
        assert_eq!(&*c.rule.id, "cust-a-claims");
        // Same category on both sides: the category is certain even if the rule is a tie.
        assert!(c.confidence > 0.5, "{c:?}");
    }

    #[test]
    fn score_beats_priority_and_hints_add_weight() {
        let set = ties();
        let c = set.classify(&Ticket::new("t", "disk", "storageclass"));
        assert_eq!(&*c.rule.id, "cust-storage-classes");
        // The component field names the rule's hint (or its component id).
        let c = set.classify(&Ticket::new("t", "disk", "").with_component("SC"));
        assert_eq!(&*c.rule.id, "cust-storage-classes");
        let c = set.classify(&Ticket::new("t", "disk", "").with_component("storage-classes"));
        assert_eq!(&*c.rule.id, "cust-storage-classes");
    }

    #[test]
    fn title_matches_weigh_more_and_repeats_count_once() {
        let set = ties();
        // "disk" in the title (2 × 1.5) beats "claim" in the description (2).
        let c = set.classify(&Ticket::new("t", "disk", "claim"));
        assert_eq!(&*c.rule.id, "sup-persistent-disk");
        // A log repeating a word does not outweigh one occurrence of something else.
        let c = set.classify(&Ticket::new("t", "", "disk disk disk disk storageclass"));
        assert_eq!(&*c.rule.id, "cust-storage-classes");
    }

    #[test]
    fn gibberish_needs_review_with_the_fallback() {
        for set in [ties(), shipped()] {
            let c = set.classify(&Ticket::new("g", "asdf qwer", "zxcv uiop lorem"));
            assert_eq!(&*c.rule.id, "be-unclassified");
            assert_eq!(c.category, Category::BestEffort);
            assert!(c.needs_review);
            assert_eq!(c.confidence, 0.0);
            assert_eq!(c.layer, None);
            assert_eq!(c.actions.last(), Some(&Action::ManualTriage));
        }
    }

    #[test]
    fn customer_component_breaking_the_control_plane_is_customer_owned_with_restore_actions() {
        let set = shipped();
        let c = set.classify(&Ticket::new(
            "t",
            "kubectl apply fails since we added a validating webhook",
            "Internal error occurred: failed calling webhook \"check.example.com\": \
             context deadline exceeded",
        ));
        assert_eq!(&*c.rule.id, "cust-breaks-control-plane");
        assert_eq!(c.category, Category::CustomerOwned);
        assert!(c.actions.contains(&Action::RestoreControlPlane), "{c:?}");
        assert!(c.actions.contains(&Action::NotifyCustomer), "{c:?}");
        assert!(!c.checklist.is_empty());
        assert!(!c.needs_review);

        // The same symptoms without a customer component are the provider's.
        let c = set.classify(&Ticket::new(
            "t",
            "api server returns 503",
            "kubectl hangs, then: the server is currently unable to handle the request",
        ));
        assert_eq!(&*c.rule.id, "sup-control-plane-api");
        assert_eq!(c.category, Category::Supported);
        assert!(c.actions.contains(&Action::PageOnCall));
        assert!(!c.needs_review);

        // A component listed in the context and named in the text counts as the culprit.
        let ctx = TicketContext::default().with_customer_component("acme-sync");
        let c = set.classify(
            &Ticket::new(
                "t",
                "api server 503",
                "acme-sync floods the API with list calls",
            )
            .with_context(ctx.clone()),
        );
        assert_eq!(&*c.rule.id, "cust-breaks-control-plane");
        // Listed but not named: the provider's, flagged for a human to check.
        let c = set.classify(
            &Ticket::new("t", "api server 503", "kubectl hangs since this morning")
                .with_context(ctx),
        );
        assert_eq!(c.category, Category::Supported);
        assert!(c.needs_review);
    }

    #[test]
    fn customer_owned_addon_makes_its_problem_customer_owned() {
        let set = shipped();
        let ticket = Ticket::new(
            "t",
            "gpu operator driver pods crashlooping",
            "nvidia driver daemonset fails to start on 3 nodes",
        );
        // Without context: the provider's GPU driver.
        assert_eq!(set.classify(&ticket).category, Category::Supported);

        let modified = ticket.clone().with_context(
            TicketContext::default()
                .with_addon("nvidia-gpu-operator", AddonOwnership::CustomerOwned),
        );
        let c = set.classify(&modified);
        assert_eq!(&*c.rule.id, "cust-addon-modified");
        assert_eq!(c.category, Category::CustomerOwned);
        assert!(
            c.rule.text.contains("nvidia-gpu-operator"),
            "{}",
            c.rule.text
        );
        assert!((2..=4).contains(&c.checklist.len()));

        // Shared: still supported, and the rule text says why.
        let shared = ticket.clone().with_context(
            TicketContext::default().with_addon("nvidia-gpu-operator", AddonOwnership::Shared),
        );
        let c = set.classify(&shared);
        assert_eq!(&*c.rule.id, "sup-addon-shared");
        assert_eq!(c.category, Category::Supported);
        assert_eq!(c.component.as_deref(), Some("core-addons"));
        assert!(c.rule.text.contains("shared"), "{}", c.rule.text);

        // An add-on the ticket does not mention changes nothing.
        let unrelated = Ticket::new("t", "need more H100 quota", "raise our project GPU quota")
            .with_context(
                TicketContext::default().with_addon("cilium", AddonOwnership::CustomerOwned),
            );
        assert_ne!(set.classify(&unrelated).category, Category::CustomerOwned);
    }

    #[test]
    fn component_field_names_the_addon_and_hardware_faults_stay_the_providers() {
        let set = shipped();
        let ctx = TicketContext::default().with_addon("cilium", AddonOwnership::CustomerOwned);
        let c = set.classify(
            &Ticket::new("t", "policies not enforced", "")
                .with_component("Cilium")
                .with_context(ctx),
        );
        assert_eq!(&*c.rule.id, "cust-addon-modified");
        assert_eq!(c.confidence, ADDON_BY_HINT_CONFIDENCE);

        let ctx = TicketContext::default()
            .with_addon("nvidia-gpu-operator", AddonOwnership::CustomerOwned);
        let c = set.classify(
            &Ticket::new(
                "t",
                "Xid 79",
                "GPU has fallen off the bus; we changed the gpu operator",
            )
            .with_context(ctx),
        );
        assert_eq!(c.category, Category::Supported);
        assert_eq!(&*c.rule.id, "sup-gpu-hardware");
    }

    #[test]
    fn classification_serialises_with_the_documented_names() {
        let set = shipped();
        let c = set.classify(&Ticket::new(
            "t-1",
            "help us tune NCCL",
            "all-reduce busbw is low",
        ));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["id"], "t-1");
        assert_eq!(json["category"], "best-effort");
        assert_eq!(json["rule"]["id"], "be-nccl-tuning");
        assert_eq!(json["actions"][0], "advise");
        assert!(json["confidence"].as_f64().unwrap() > 0.0);
        assert_eq!(json["needs_review"], false);
        let back: Classification = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }
}
