//! The triage rule file: its model, loading, validation, and the compiled [`RuleSet`].
//!
//! Rules are data. The service ships `rules/triage-rules.yaml` ([`SHIPPED_RULES`], embedded at
//! build time, [`RuleSet::shipped`]); an operator can load another file at run time
//! ([`RuleSet::load`], [`RuleSet::from_yaml_str`]). The file's header comment documents the
//! format and the precedence the engine applies; [`crate::engine`] implements it.
//!
//! Validation happens once, at load, and names the rule (or add-on) and the field at fault:
//!
//! - ids are unique, kebab-case and start with the category's prefix (`sup-`, `be-`, `cust-`);
//! - every `component` is a component id of `accord_core::responsibility::COMPONENTS`, and the
//!   rule's category equals that component's support scope — unless the rule says why it
//!   differs (`differs_because`), or it is a Best-Effort rule naming one of the matrix's
//!   `BEST_EFFORT_TOPICS` (the matrix's own statement that the topic is Best-Effort whatever the
//!   component);
//! - `kind` names one of the matrix's `CUSTOMER_OWNED_KINDS` and only on Customer-Owned rules;
//! - scoring rules have at least one pattern, every pattern and hint is non-empty once
//!   normalised, weights are 1 to 10;
//! - actions are known, unique and include the one the category requires; Customer-Owned rules
//!   carry a 2–4 item checklist and only they carry one;
//! - exactly one `fallback` rule, at most one rule per special trigger, each of the category its
//!   path assigns;
//! - the `breaks-*` rules (`breaks-control-plane`, `breaks-fabric`) carry a `blame:` section with
//!   at least one cause phrase and the actions `restore-control-plane` and `notify-customer`;
//!   no other rule carries `blame:`.
//!
//! Layout: `file` (the file as serde reads it), `settings` ([`Settings`] and their ranges),
//! `rule` ([`Rule`] and its [`Trigger`]), `compile` (validation and compilation, the checks
//! above) and `set` (the compiled [`RuleSet`] with its pattern indexes). The modules are private;
//! the public items are re-exported here.
//!
//! Invariant: a [`RuleSet`] that exists is valid; the engine never re-checks it, and its
//! automata are built once here.

mod compile;
mod file;
mod rule;
mod set;
mod settings;
#[cfg(test)]
mod tests;

pub use crate::rule_error::{Problem, RuleError};
pub use rule::{Rule, Trigger};
pub use set::RuleSet;
pub(crate) use set::{Addon, BREAKS_PATHS, Cue, HintTarget, TextTarget};
pub use settings::Settings;

/// The rule file shipped with the service.
pub const SHIPPED_RULES: &str = include_str!("../rules/triage-rules.yaml");

/// Highest pattern weight.
pub const MAX_WEIGHT: u8 = crate::rule_error::MAX_WEIGHT;

/// How many add-ons the table may hold (mentions are tracked in a `u64` bit set).
pub const MAX_ADDONS: usize = 64;
