//! Scoring, precedence and tie-break: [`RuleSet::classify`].
//!
//! One pass of the rule set's automaton over the normalised title and description gives every
//! rule a text score: the sum of the weights of its distinct patterns found (each pattern counts
//! once however often a pasted log repeats it; a pattern found in the title counts
//! `title_boost` times). A second, tiny pass over the `component` field finds the rules, add-ons
//! and layers it names. Then, in this order:
//!
//! 1. **A customer component breaks the control plane or the fabric.** Two paths, tried in this
//!    order: the `breaks-control-plane` rule (the API server, etcd, the control plane) and the
//!    `breaks-fabric` rule (the InfiniBand fabric). A path applies when its rule's anchors
//!    (`requires`) are in the ticket, its symptom patterns (failing, timing out, rejecting,
//!    degraded, congested …) score at least `symptom_min`, and a customer component is named
//!    **and** blamed, by the cue phrases of the rule's `blame:` section:
//!    - *named*: an `owned` phrase (`our operator`, `the webhook we deployed`, `our training
//!      job`), a rule with a customer-owned `kind` scoring at least `culprit_min` (a product
//!      name: Kyverno, Istio … — not when a `provider_installed` phrase says the provider
//!      installed what is named), or a *declared* component: a name from
//!      `context.customer_components` in the text or the `component` field, a `kind` rule the
//!      `component` field names, or an `in_path` phrase (a customer component in the request
//!      path of what fails: `our admission webhook`, `the gatekeeper we installed`);
//!    - *blamed*: a `causes` phrase (`since we installed`, `caused by our`, `failed calling
//!      webhook`); or word order — an `agents` verb (`flooding`, `saturating`) at most
//!      [`AGENT_WINDOW_WORDS`] words after an `owned` phrase or a product name (`our operator is
//!      flooding`, `our pretraining job is the noisy neighbour`; not `the API is flooded … our
//!      operator`); or, for a declared component, no `victims` phrase (`cannot reconcile`,
//!      `because the API server`): the platform or the customer already said the component is
//!      theirs and the control plane is degraded. Weaker, inferred causes blame only when no
//!      victim cue is present: a `back_refs` phrase (`since then`, `ever since`) at most
//!      [`BACK_REF_WINDOW_WORDS`] words after a `changes` phrase (`we installed Linkerd.
//!      Since then …`), or a `co_occurrence` phrase (`when our`, `every time our`) followed
//!      within [`CO_OCCURRENCE_WINDOW_WORDS`] words by a symptom weighing `symptom_min` alone
//!      (`when our job does its all-to-all, other teams' jobs slow down`). A `denials` phrase
//!      (`nothing changed on our side`), or an owned phrase right after a `negations` phrase
//!      (`we don't run any operators of our own`), blames nothing. Owned phrases also come from
//!      an `owners` word with a `subjects` noun at most [`AGENT_WINDOW_WORDS`] words after it
//!      (`our 1024-GPU pretraining job`); a victim cue ends the turn of the component named
//!      before it (`our job is the victim of a noisy neighbour`). The cues live in
//!      the private module `engine/blame.rs`.
//!
//!    The answer is the path's rule, Customer-Owned with `restore-control-plane` and
//!    `notify-customer`: the provider restores baseline health (for the fabric: isolates the
//!    traffic) and does not debug the component.
//!
//!    When a path's symptoms are present and a victim, denial or provider-installed cue explains
//!    the component it names, the rules with a `kind` (customer-installed components) do not
//!    compete in the score (4): "the API server is flooded and our operator cannot reconcile" is
//!    about the API server, not the operator.
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
//! the symptoms of a path 1 that did not apply while the context lists customer components, or
//! the ticket names a customer component without a cause or a victim cue (the category then
//! stays the text's, but a human should check whether the component is the cause).
//!
//! Cost: one `String` for the normalised text (plus one for a component field), two small
//! vectors sized by the rule and pattern counts, and the answer's ticket id; the blame cues are
//! fixed-size state updated during the same automaton pass; the rest of the answer shares the
//! rule set's strings.

use std::{cmp::Ordering, sync::Arc};

use accord_core::responsibility::Component;

mod blame;

pub use blame::{AGENT_WINDOW_WORDS, BACK_REF_WINDOW_WORDS, CO_OCCURRENCE_WINDOW_WORDS};
use blame::{Blame, BlameScan};

use crate::{
    matcher::{normalise, normalise_into},
    rules::{Addon, BREAKS_PATHS, HintTarget, Rule, RuleSet, TextTarget, Trigger},
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
    blame: [BlameScan; BREAKS_PATHS.len()],
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
        let mut symptoms_seen = false;
        let mut unexplained = false;
        let mut exonerated = false;
        for path in 0..BREAKS_PATHS.len() {
            let Some((index, symptoms)) = self.breaks_symptoms(&scan, path) else {
                continue;
            };
            symptoms_seen = true;
            match self.blame(ticket, &scan, path) {
                Blame::Blamed => return self.breaks_answer(ticket, index, symptoms),
                Blame::NotBlamed { explained } => {
                    unexplained |= !explained;
                    exonerated |= explained;
                }
                Blame::NoneNamed => {}
            }
        }
        // A customer component the ticket says suffers from (or has nothing to do with) the
        // failure is not its subject: the rules about customer-installed components sit out.
        let ranking = self.rank(&scan, exonerated);
        if let Some(answer) = self.addon_path(ticket, &scan, ranking) {
            return answer;
        }
        let listed = ticket
            .context
            .as_ref()
            .is_some_and(|c| !c.customer_components.is_empty());
        self.by_score(ticket, ranking, symptoms_seen && (listed || unexplained))
    }

    fn scan(&self, ticket: &Ticket) -> Scan {
        let mut text = String::with_capacity(ticket.title.len() + ticket.description.len() + 4);
        normalise_into(&mut text, &ticket.title);
        let title_end = text.len();
        normalise_into(&mut text, &ticket.description);

        let mut rules = vec![RuleScore::default(); self.rules.len()];
        let mut seen = vec![0u64; self.text_index.len().div_ceil(64)];
        let mut text_addons = 0u64;
        let mut blame = [BlameScan::default(); BREAKS_PATHS.len()];
        let mut product_end: Option<usize> = None;
        let boost = self.settings.title_boost;
        let symptom_min = self.settings.symptom_min;
        self.text_index
            .for_each_match(&text, |pattern, start, end, targets| {
                let (word, bit) = (pattern / 64, 1u64 << (pattern % 64));
                // Scores count a pattern once; positions (for the blame cues' word order) are
                // noted at every occurrence.
                let first = match seen.get_mut(word) {
                    Some(w) if *w & bit == 0 => {
                        *w |= bit;
                        true
                    }
                    Some(_) => false,
                    None => return,
                };
                // `start` is the space before the first word: the word is in the title when the
                // character after that space is.
                let factor = if start + 1 < title_end { boost } else { 1.0 };
                for target in targets {
                    match *target {
                        TextTarget::Score {
                            rule,
                            weight,
                            culprit,
                        } => {
                            if culprit {
                                product_end = Some(end);
                            }
                            if weight >= symptom_min {
                                let rule = Some(usize::from(rule));
                                for (b, _) in blame
                                    .iter_mut()
                                    .zip(self.breaks)
                                    .filter(|(_, r)| *r == rule)
                                {
                                    b.note_strong_symptom(start, &text);
                                }
                            }
                            if first && let Some(r) = rules.get_mut(usize::from(rule)) {
                                r.text += weight * factor;
                            }
                        }
                        TextTarget::Blame { path, cue } => {
                            if let Some(b) = blame.get_mut(usize::from(path)) {
                                b.note(cue, start, end, product_end, &text);
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
            self.hint_index.for_each_match(hint, |_, _, _, targets| {
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
            blame,
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

    /// Precedence 3–4 over the `text` rules; without the rules describing customer-installed
    /// components (`kind`) when `exonerated`.
    fn rank(&self, scan: &Scan, exonerated: bool) -> Ranking {
        let competes = |rule: &Rule, score: &RuleScore| {
            rule.trigger == Trigger::Text
                && (!rule.needs_anchor || score.anchored)
                && !(exonerated && rule.kind.is_some())
        };
        let mut best: Option<(usize, f32)> = None;
        for (index, (rule, score)) in self.rules.iter().zip(&scan.rules).enumerate() {
            if !competes(rule, score) {
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
                .filter(|(r, s)| competes(r, s) && r.category != category)
                .map(|(_, s)| self.total(s))
                .fold(0.0, f32::max)
        });
        Ranking {
            best,
            other_category,
        }
    }

    /// The breaks rule of `path` and its symptom score, when its anchors are present and the
    /// score reaches `symptom_min`.
    fn breaks_symptoms(&self, scan: &Scan, path: usize) -> Option<(usize, f32)> {
        let index = (*self.breaks.get(path)?)?;
        let rule = self.rules.get(index)?;
        let score = scan.rules.get(index)?;
        let anchored = !rule.needs_anchor || score.anchored;
        (anchored && score.text >= self.settings.symptom_min).then_some((index, score.text))
    }

    /// The answer of a breaks path: its rule, confidence 0.6–1 by symptom strength.
    fn breaks_answer(&self, ticket: &Ticket, index: usize, symptoms: f32) -> Classification {
        let evidence = symptoms / (symptoms + self.settings.evidence_half);
        self.answer(
            ticket,
            index,
            Subject::Rule,
            round2(0.6 + 0.4 * evidence),
            false,
        )
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
mod tests;
