//! Precedence 1's blame cues: which customer component a ticket names, and whether the text
//! makes it the cause of the control plane's or the fabric's failure (see the engine's module
//! documentation for the decision, and the rule file's `blame:` sections for the phrases).
//!
//! The cues are noted during the engine's single automaton pass, in the order matches end: a
//! [`BlameScan`] is fixed-size state (flags and a few offsets), so word order ("our operator is
//! flooding", "we installed Linkerd. Since then …", "when our job … the fabric is congested")
//! costs no allocation. Offsets are into the normalised text, where words are separated by
//! exactly one space, so a gap's word count is its space count.
//!
//! Strong cues (a `causes` phrase, an `agents` verb after the component) blame even when a victim
//! cue is present too ("our operator floods the API; our other pods cannot reach it"). Weak,
//! inferential cues — a back-reference to an earlier change, a co-occurrence — blame only when
//! no victim cue is present: a customer component that suffers is never made the culprit by
//! inference.

use super::{Scan, normalise};
use crate::{
    rules::{Cue, RuleSet, Trigger},
    ticket::Ticket,
};

/// How many words may separate a culprit from the `agents` verb that blames it ("our operator
/// is now constantly flooding": `now constantly` are two), an `owners` word from the `subjects`
/// noun it owns ("our 1024-GPU pretraining job"), and a `negations` phrase from the owned
/// phrase it negates ("we don't run any operators of our own").
pub const AGENT_WINDOW_WORDS: usize = 3;
/// How many words may separate a customer's change (`changes`: "we installed Linkerd") from a
/// back-reference to it (`back_refs`: "since then", "ever since") — about one sentence.
pub const BACK_REF_WINDOW_WORDS: usize = 15;
/// How many words may separate a co-occurrence cue (`co_occurrence`: "when our", "every time
/// our") from a symptom strong enough alone (weight >= `symptom_min`) that it introduces.
pub const CO_OCCURRENCE_WINDOW_WORDS: usize = 12;

/// The blame cues one breaks path found in the text.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct BlameScan {
    owned: bool,
    in_path: bool,
    cause: bool,
    victim: bool,
    denial: bool,
    provider_installed: bool,
    /// An `agents` verb followed an `owned` phrase closely enough.
    agent_after_owned: bool,
    /// An `agents` verb followed a product name (a `kind` rule's pattern) closely enough.
    agent_after_product: bool,
    /// A `back_refs` phrase followed a `changes` phrase closely enough (weak).
    back_ref_after_change: bool,
    /// A symptom strong enough alone followed a `co_occurrence` phrase closely enough (weak).
    symptom_after_co_occurrence: bool,
    /// End offset of the last `owned` phrase (or owned `subjects` noun) seen; cleared by a
    /// victim cue, which ends the component's turn as a subject ("our job is the victim of a
    /// noisy neighbour").
    last_owned_end: Option<usize>,
    /// End offsets of the last `owners` word, `changes` phrase, `co_occurrence` phrase and
    /// `negations` phrase seen.
    last_owner_end: Option<usize>,
    last_change_end: Option<usize>,
    last_co_occurrence_end: Option<usize>,
    last_negation_end: Option<usize>,
    /// End offsets of the last `back_refs` phrase and the last victim cue seen.
    last_back_ref_end: Option<usize>,
    last_victim_end: Option<usize>,
}

impl BlameScan {
    /// Notes one cue phrase matched at `start..end` of the normalised `text`; `product_end` is
    /// the end of the last product name (a pattern of a rule with a `kind`) seen.
    pub(super) fn note(
        &mut self,
        cue: Cue,
        start: usize,
        end: usize,
        product_end: Option<usize>,
        text: &str,
    ) {
        match cue {
            Cue::Owned => self.own(start, end, text),
            Cue::Owner => self.last_owner_end = Some(end),
            Cue::Subject => {
                if follows(text, self.last_owner_end, start, AGENT_WINDOW_WORDS) {
                    self.own(start, end, text);
                }
            }
            Cue::Change => {
                self.own(start, end, text);
                self.last_change_end = Some(end);
            }
            Cue::Cause => self.cause = true,
            Cue::InPath => self.in_path = true,
            Cue::Agent => {
                // A victim cue between the product and the verb ends the product's turn too.
                let product_end =
                    product_end.filter(|&p| self.last_victim_end.is_none_or(|v| p > v));
                self.agent_after_owned |=
                    follows(text, self.last_owned_end, start, AGENT_WINDOW_WORDS);
                self.agent_after_product |= follows(text, product_end, start, AGENT_WINDOW_WORDS);
            }
            Cue::BackRef => {
                self.back_ref_after_change |=
                    follows(text, self.last_change_end, start, BACK_REF_WINDOW_WORDS);
                self.last_back_ref_end = Some(end);
            }
            Cue::CoOccurrence => {
                // "when our …" names something of the customer's.
                self.owned = true;
                self.last_co_occurrence_end = Some(end);
            }
            Cue::Negation => self.last_negation_end = Some(end),
            // A victim phrase that shares its first word with a back-reference ("ever since,
            // the API server …" is not "… fails since the API server …") is not one.
            Cue::Victim if self.last_back_ref_end.is_some_and(|e| start + 1 < e) => {}
            Cue::Victim => {
                self.victim = true;
                self.last_owned_end = None;
                self.last_victim_end = Some(end);
            }
            Cue::Denial => self.denial = true,
            Cue::ProviderInstalled => self.provider_installed = true,
        }
    }

    /// Notes a symptom of the path's rule strong enough to satisfy `symptom_min` alone, at
    /// `start`.
    pub(super) fn note_strong_symptom(&mut self, start: usize, text: &str) {
        self.symptom_after_co_occurrence |= follows(
            text,
            self.last_co_occurrence_end,
            start,
            CO_OCCURRENCE_WINDOW_WORDS,
        );
    }

    /// An owned phrase at `start..end`: names a customer component, or — right after a
    /// `negations` phrase — denies having one ("we don't run any operators of our own").
    fn own(&mut self, start: usize, end: usize, text: &str) {
        self.owned = true;
        if follows(text, self.last_negation_end, start, AGENT_WINDOW_WORDS) {
            self.denial = true;
        } else {
            self.last_owned_end = Some(end);
        }
    }
}

/// Whether a match starting at `start` follows one that ended at `prev_end` with at most
/// `window` words between them. Matches share their padding space, so adjacent ones have
/// `prev_end == start + 1`.
pub(super) fn follows(text: &str, prev_end: Option<usize>, start: usize, window: usize) -> bool {
    let Some(gap_start) = prev_end.and_then(|e| e.checked_sub(1)) else {
        return false;
    };
    gap_start <= start
        && text
            .as_bytes()
            .get(gap_start..start)
            .is_some_and(|gap| gap.iter().filter(|&&b| b == b' ').count() <= window)
}

/// What the blame cues of a breaks path decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Blame {
    /// A customer component is named and is the cause.
    Blamed,
    /// A customer component is named but not blamed; `explained` when a victim or denial cue
    /// says why.
    NotBlamed { explained: bool },
    /// No customer component is named.
    NoneNamed,
}

impl RuleSet {
    /// Precedence 1: whether the ticket names a customer component and blames it, by the cues of
    /// the breaks rule of `path` (see the module documentation).
    pub(super) fn blame(&self, ticket: &Ticket, scan: &Scan, path: usize) -> Blame {
        let Some(cues) = scan.blame.get(path) else {
            return Blame::NoneNamed;
        };
        let mut product = false;
        let mut hinted = false;
        for (rule, score) in self.rules.iter().zip(&scan.rules) {
            if rule.trigger == Trigger::Text && rule.kind.is_some() {
                product |= score.text >= self.settings.culprit_min;
                hinted |= score.hinted;
            }
        }
        let provider_product = product && cues.provider_installed;
        let product = product && !cues.provider_installed;
        let declared = hinted
            || cues.in_path
            || ticket.context.as_ref().is_some_and(|ctx| {
                ctx.customer_components.iter().any(|name| {
                    let name = normalise(name);
                    !name.trim().is_empty()
                        && (scan.text.contains(&name)
                            || scan.hint.as_ref().is_some_and(|h| h.contains(&name)))
                })
            });
        if !cues.owned && !product && !declared {
            // A product the text says the provider installed is explained, not unnamed.
            return if provider_product {
                Blame::NotBlamed { explained: true }
            } else {
                Blame::NoneNamed
            };
        }
        if cues.denial {
            return Blame::NotBlamed { explained: true };
        }
        let caused = cues.cause
            || cues.agent_after_owned
            || (cues.agent_after_product && !cues.provider_installed);
        // Inference (a back-reference, a co-occurrence) never overrides a victim cue.
        let inferred =
            (cues.back_ref_after_change || cues.symptom_after_co_occurrence) && !cues.victim;
        if caused || inferred || (declared && !cues.victim) {
            Blame::Blamed
        } else {
            Blame::NotBlamed {
                explained: cues.victim,
            }
        }
    }
}
