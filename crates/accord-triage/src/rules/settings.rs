//! The engine's tunable numbers ([`Settings`], the `settings:` section of the rule file), their
//! defaults, and the ranges a file's values must fall in.

use serde::Deserialize;

use super::{Problem, RuleError};

/// The engine's tunable numbers (the `settings:` section of the file).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Added to a rule whose component or hints the ticket's `component` field names.
    pub hint_weight: f32,
    /// Added to every rule of a layer the `component` field names (`networking`).
    pub layer_hint_weight: f32,
    /// Multiplies the weight of a pattern found in the title.
    pub title_boost: f32,
    /// Below this score a rule is no match; no rule reaching it means the fallback.
    pub min_score: f32,
    /// The score at which the evidence term of the confidence reaches one half.
    pub evidence_half: f32,
    /// A classification whose confidence is below this needs review.
    pub review_below: f32,
    /// The score a customer-component rule needs for the component to count as present in the
    /// ticket (precedence 1).
    pub culprit_min: f32,
    /// The score the control-plane symptoms need (precedence 1).
    pub symptom_min: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hint_weight: 4.0,
            layer_hint_weight: 1.5,
            title_boost: 1.5,
            min_score: 2.0,
            evidence_half: 3.0,
            review_below: 0.4,
            culprit_min: 3.0,
            symptom_min: 5.0,
        }
    }
}

impl Settings {
    pub(super) fn validate(&self) -> Result<(), RuleError> {
        let checks: [(&'static str, f32, f32, f32, &'static str); 8] = [
            (
                "settings.hint_weight",
                self.hint_weight,
                0.0,
                100.0,
                "0..=100",
            ),
            (
                "settings.layer_hint_weight",
                self.layer_hint_weight,
                0.0,
                100.0,
                "0..=100",
            ),
            (
                "settings.title_boost",
                self.title_boost,
                1.0,
                10.0,
                "1..=10",
            ),
            (
                "settings.min_score",
                self.min_score,
                0.1,
                100.0,
                "0.1..=100",
            ),
            (
                "settings.evidence_half",
                self.evidence_half,
                0.1,
                100.0,
                "0.1..=100",
            ),
            (
                "settings.review_below",
                self.review_below,
                0.0,
                1.0,
                "0..=1",
            ),
            (
                "settings.culprit_min",
                self.culprit_min,
                0.1,
                100.0,
                "0.1..=100",
            ),
            (
                "settings.symptom_min",
                self.symptom_min,
                0.1,
                100.0,
                "0.1..=100",
            ),
        ];
        for (field, value, low, high, range) in checks {
            if !(low..=high).contains(&value) {
                return Err(RuleError::File {
                    field,
                    problem: Problem::OutOfRange { value, range },
                });
            }
        }
        Ok(())
    }
}
