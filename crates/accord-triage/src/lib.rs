//! Ticket classification: from a customer's words to a support category of the
//! shared-responsibility model. A pure library (no IO except reading a rule file on request, no
//! async), used by the support-triage service and by `accord triage classify` offline.
//!
//! - [`ticket`]: the input ([`Ticket`]) and output ([`Classification`]) types, as JSON.
//! - [`action`]: the closed set of routing [`Action`]s a classification carries.
//! - [`rules`]: the versioned rule file (`rules/triage-rules.yaml`): its model, loading and
//!   validation against the responsibility matrix of `accord_core`, and the compiled [`RuleSet`].
//! - [`rule_error`]: why a rule file is refused, naming the rule and the field.
//! - [`matcher`]: text normalisation and the Aho-Corasick pattern index built once per rule set.
//! - [`engine`]: scoring, the precedence of the special paths and the tie-break.
//! - [`jsonl`]: JSON Lines in, JSON Lines out, for the CLI.
//!
//! Invariant: classification is total and deterministic — every ticket gets exactly one rule
//! (the fallback rule when nothing matches, flagged `needs_review`), and the same ticket with the
//! same rule set always gets the same answer.

pub mod action;
pub mod engine;
pub mod jsonl;
pub mod matcher;
pub mod rule_error;
pub mod rules;
pub mod ticket;

pub use action::Action;
pub use jsonl::{JsonlSummary, classify_jsonl};
pub use matcher::normalise;
pub use rule_error::{Problem, RuleError};
pub use rules::{Rule, RuleSet, SHIPPED_RULES, Settings, Trigger};
pub use ticket::{AddonOwnership, Category, Classification, RuleRef, Ticket, TicketContext};
