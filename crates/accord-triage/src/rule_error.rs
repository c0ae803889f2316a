//! Why a rule file is refused: [`RuleError`] names where (the rule or add-on and the field),
//! [`Problem`] says what.
//!
//! Invariant: every validation failure names the rule (by id, or by position when the id itself
//! is missing) or the add-on, and the field; messages are lowercase, without a final period.

use std::path::PathBuf;

use crate::{action::Action, matcher::IndexError, rules::Trigger, ticket::Category};

/// Highest pattern weight.
pub const MAX_WEIGHT: u8 = 10;

/// Why a rule file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("cannot read rule file {}", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML of the rule-file schema (the message has the line and column).
    #[error("rule file does not parse: {0}")]
    Parse(String),
    /// A rule is invalid.
    #[error("rule `{rule}`, field `{field}`: {problem}")]
    Rule {
        /// The rule's id (or its position when the id itself is the problem).
        rule: String,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// An add-on entry is invalid.
    #[error("add-on `{addon}`, field `{field}`: {problem}")]
    Addon {
        /// The add-on's name.
        addon: String,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// A file-level field (version, settings, the set of rules) is invalid.
    #[error("rule file, field `{field}`: {problem}")]
    File {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// The pattern automaton could not be built.
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// A required field is absent or empty.
    #[error("missing or empty")]
    Missing,
    /// The id is used by an earlier rule.
    #[error("duplicate id (first used by rule number {first})")]
    DuplicateId {
        /// 1-based position of the first rule with this id.
        first: usize,
    },
    /// Not lowercase letters, digits and dashes.
    #[error("`{0}` is not kebab-case")]
    NotKebabCase(String),
    /// The id does not start with its category's prefix.
    #[error("a {category} rule id starts with `{expected}`")]
    IdPrefix {
        /// The prefix expected.
        expected: &'static str,
        /// The rule's category.
        category: Category,
    },
    /// Not one of the three categories.
    #[error("unknown category `{0}` (expected supported, best-effort or customer-owned)")]
    UnknownCategory(String),
    /// Not a component id of the responsibility matrix.
    #[error("unknown component id `{0}` (not in accord_core::responsibility::COMPONENTS)")]
    UnknownComponent(String),
    /// The category contradicts the matrix without a reason.
    #[error(
        "category {category} disagrees with the matrix, where `{component}` is {matrix}; \
         fix the category or say why in `differs_because`"
    )]
    DisagreesWithMatrix {
        /// The rule's category.
        category: Category,
        /// The component id.
        component: String,
        /// The component's support scope in the matrix.
        matrix: Category,
    },
    /// A reason for differing is given, but the category agrees with the matrix.
    #[error("given, but the category agrees with the matrix")]
    NeedlessReason,
    /// Not one of the matrix's Best-Effort topics.
    #[error("unknown best-effort topic `{0}` (not in BEST_EFFORT_TOPICS)")]
    UnknownTopic(String),
    /// Not one of the matrix's customer-owned kinds.
    #[error("unknown customer-owned kind `{0}` (not in CUSTOMER_OWNED_KINDS)")]
    UnknownKind(String),
    /// The field is only allowed on rules of another category.
    #[error("only allowed on {0} rules")]
    OnlyFor(Category),
    /// A scoring rule without patterns.
    #[error("a scoring rule needs at least one pattern")]
    NoPatterns,
    /// A pattern, anchor or hint that normalises to nothing.
    #[error("`{0}` is empty once normalised")]
    EmptyPattern(String),
    /// A weight outside 1..=10.
    #[error("weight {0} is outside 1..={MAX_WEIGHT}")]
    BadWeight(u8),
    /// Not one of the actions.
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    /// An action listed twice.
    #[error("action `{0}` listed twice")]
    DuplicateAction(Action),
    /// The category's required action is missing.
    #[error("a {category} rule must name one of: {required}")]
    MissingRequiredAction {
        /// The rule's category.
        category: Category,
        /// The acceptable actions.
        required: String,
    },
    /// A Customer-Owned checklist of the wrong length.
    #[error("{0} items; a customer-owned rule carries 2 to 4")]
    ChecklistLength(usize),
    /// Not one of the triggers.
    #[error("unknown trigger `{0}`")]
    UnknownTrigger(String),
    /// A special rule of the wrong category.
    #[error("a `{trigger}` rule must be {expected}")]
    TriggerCategory {
        /// The trigger.
        trigger: Trigger,
        /// The category its path assigns.
        expected: Category,
    },
    /// A field that this trigger does not use.
    #[error("not used by a `{0}` rule")]
    NotForTrigger(Trigger),
    /// A special rule without an action its path needs.
    #[error("a `{trigger}` rule must name the action `{action}`")]
    TriggerNeedsAction {
        /// The trigger.
        trigger: Trigger,
        /// The action missing.
        action: Action,
    },
    /// Too many or too few rules with a trigger.
    #[error("{found} `{trigger}` rules; expected {expected}")]
    TriggerCount {
        /// The trigger.
        trigger: Trigger,
        /// How many rules have it.
        found: usize,
        /// What is allowed.
        expected: &'static str,
    },
    /// A setting outside its range.
    #[error("{value} is outside {range}")]
    OutOfRange {
        /// The value given.
        value: f32,
        /// The allowed range.
        range: &'static str,
    },
    /// More entries than the engine supports.
    #[error("{found} entries; at most {max}")]
    TooMany {
        /// How many were given.
        found: usize,
        /// The limit.
        max: usize,
    },
}
