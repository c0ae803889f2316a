//! support-triage: classifies support tickets and platform incidents.
//!
//! The classification engine lives in [`classify`]: a pure library (no IO except reading a rule
//! file on request, no async) that maps a ticket to a support category of the
//! shared-responsibility model — Supported, Best-Effort or Customer-Owned — with the layer and
//! component it concerns, the rule that decided, routing actions, a checklist for the customer
//! and a confidence. The rules are data: `rules/triage-rules.yaml`, embedded as the default and
//! loadable from a path at run time.

pub mod classify;

pub use classify::{
    Action, AddonOwnership, Category, Classification, JsonlSummary, Problem, Rule, RuleError,
    RuleRef, RuleSet, SHIPPED_RULES, Settings, Ticket, TicketContext, Trigger, classify_jsonl,
    normalise,
};
