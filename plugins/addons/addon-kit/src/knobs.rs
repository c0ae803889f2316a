//! Customer knobs and the ownership rule for configuration changes.
//!
//! The source model: the provider ships a reference configuration; the customer may customise
//! some settings (driver versions and the like) and the add-on stays shared; if the customer
//! significantly modifies the provider's configuration (or replaces the add-on) it becomes
//! customer-owned. Here that is:
//!
//! - merged configuration equal to the reference → provider-managed;
//! - every difference covered by a [`Knob`] → shared (the reason lists the knobs);
//! - any other difference → customer-owned (the reason names the fields and the rule).
//!
//! Invariant: the verdict depends only on the reference and the next configuration; the
//! previous configuration only adds "what this change touched" to the reason.

use serde_json::Value;

use crate::config::{changed_paths, lookup};
use crate::model::{Ownership, Verdict};

/// The rule quoted in customer-owned verdicts.
pub const RULE: &str = "a significantly modified core add-on becomes the customer's";

/// A configuration path the customer may change while the add-on stays shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// The value at this path, and everything below it, may change freely.
    Path(&'static str),
    /// The list at this path may gain entries; every reference entry must stay. Shown as
    /// `path[+]` in `customer-knobs`.
    Additions(&'static str),
}

impl Knob {
    /// The dotted path.
    pub fn path(self) -> &'static str {
        match self {
            Knob::Path(p) | Knob::Additions(p) => p,
        }
    }

    /// How `describe` lists it: `driver.version`, `tolerations[+]`.
    pub fn display(self) -> String {
        match self {
            Knob::Path(p) => p.to_owned(),
            Knob::Additions(p) => format!("{p}[+]"),
        }
    }

    /// Whether this knob covers a change at `path` (itself or below it).
    fn covers(self, path: &str) -> bool {
        let p = self.path();
        path == p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('.'))
    }
}

/// Why one changed path is not allowed, if it is not.
fn disallowed(knobs: &[Knob], reference: &Value, next: &Value, path: &str) -> Option<String> {
    match knobs.iter().find(|k| k.covers(path)) {
        None => Some(format!("{path} (not a customer knob)")),
        Some(Knob::Path(_)) => None,
        Some(Knob::Additions(p)) => {
            let keeps_reference = match (lookup(reference, p), lookup(next, p)) {
                (Some(Value::Array(r)), Some(Value::Array(n))) => r.iter().all(|e| n.contains(e)),
                (None, _) => true,
                _ => false,
            };
            if keeps_reference {
                None
            } else {
                Some(format!(
                    "{path} (reference entries removed; only additions are allowed)"
                ))
            }
        }
    }
}

/// Judges `next` (already merged over the reference) against `reference`. `previous` (merged
/// too) only enriches the reason.
pub fn classify(
    reference: &Value,
    knobs: &[Knob],
    previous: Option<&Value>,
    next: &Value,
) -> Verdict {
    let deviations = changed_paths(reference, next);
    let touched = previous
        .map(|p| changed_paths(p, next))
        .filter(|t| !t.is_empty())
        .map(|t| format!("; this change touched {}", t.join(", ")))
        .unwrap_or_default();
    if deviations.is_empty() {
        return Verdict {
            ownership: Ownership::ProviderManaged,
            reason: format!(
                "configuration matches the provider's reference configuration{touched}"
            ),
        };
    }
    let significant: Vec<String> = deviations
        .iter()
        .filter_map(|path| disallowed(knobs, reference, next, path))
        .collect();
    if significant.is_empty() {
        Verdict {
            ownership: Ownership::Shared,
            reason: format!(
                "only customer knobs differ from the reference configuration: {}; the add-on stays shared{touched}",
                deviations.join(", ")
            ),
        }
    } else {
        Verdict {
            ownership: Ownership::CustomerOwned,
            reason: format!(
                "significant modification of the reference configuration: {}; {RULE}{touched}",
                significant.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::merge;
    use serde_json::json;

    const KNOBS: &[Knob] = &[
        Knob::Path("driver.version"),
        Knob::Path("scaleDown"),
        Knob::Additions("tolerations"),
    ];

    fn reference() -> Value {
        json!({
            "driver": {"enabled": true, "version": ""},
            "scaleDown": {"enabled": true, "delay": "10m"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]
        })
    }

    #[test]
    fn classifies_against_the_reference() {
        let cases = [
            (json!({}), Ownership::ProviderManaged, "matches"),
            (
                json!({"driver": {"version": "570.195.03"}}),
                Ownership::Shared,
                "driver.version",
            ),
            (
                json!({"scaleDown": {"delay": "20m"}}),
                Ownership::Shared,
                "scaleDown.delay",
            ),
            (
                json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}, {"key": "team", "operator": "Exists"}]}),
                Ownership::Shared,
                "tolerations",
            ),
            (
                json!({"tolerations": []}),
                Ownership::CustomerOwned,
                "reference entries removed",
            ),
            (
                json!({"driver": {"enabled": false}}),
                Ownership::CustomerOwned,
                "driver.enabled (not a customer knob)",
            ),
            (
                json!({"driver": {"enabled": false, "version": "570.195.03"}}),
                Ownership::CustomerOwned,
                RULE,
            ),
        ];
        for (overlay, ownership, needle) in cases {
            let next = merge(&reference(), &overlay);
            let verdict = classify(&reference(), KNOBS, None, &next);
            assert_eq!(
                verdict.ownership, ownership,
                "{overlay}: {}",
                verdict.reason
            );
            assert!(
                verdict.reason.contains(needle),
                "{overlay}: {}",
                verdict.reason
            );
        }
    }

    #[test]
    fn names_what_the_change_touched() {
        let previous = merge(&reference(), &json!({"driver": {"version": "570.172.08"}}));
        let next = merge(&reference(), &json!({"driver": {"version": "570.195.03"}}));
        let verdict = classify(&reference(), KNOBS, Some(&previous), &next);
        assert!(
            verdict
                .reason
                .ends_with("this change touched driver.version"),
            "{}",
            verdict.reason
        );
    }

    #[test]
    fn knob_prefixes_stop_at_dots() {
        assert!(Knob::Path("scaleDown").covers("scaleDown.delay"));
        assert!(!Knob::Path("scaleDown").covers("scaleDownExtra"));
        assert_eq!(Knob::Additions("tolerations").display(), "tolerations[+]");
    }
}
