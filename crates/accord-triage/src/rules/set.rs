//! The compiled [`RuleSet`]: rules in file order, the add-on table, and the two pattern indexes
//! (ticket text, component hint) the engine matches with; plus how to load one.

use std::{path::Path, sync::Arc};

use accord_core::responsibility::{Component, Layer};

use super::{Rule, RuleError, SHIPPED_RULES, Settings, Trigger, compile::compile, file::RuleFile};
use crate::matcher::PatternIndex;

/// A core add-on the platform installs, with the words that name it.
#[derive(Debug, Clone)]
pub(crate) struct Addon {
    pub(crate) name: Arc<str>,
    /// The normalised name and aliases (each padded with spaces).
    pub(crate) names: Vec<String>,
    pub(crate) component: &'static Component,
    pub(crate) component_id: Arc<str>,
}

/// What a text pattern contributes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextTarget {
    /// Adds `weight` to the rule's score. `culprit`: the rule describes something customers
    /// install (it has a `kind`), so the match names a possible culprit at its position.
    Score {
        rule: u16,
        weight: f32,
        culprit: bool,
    },
    /// A cue phrase of the `blame:` section of the breaks rule in slot `path`
    /// ([`BREAKS_PATHS`]).
    Blame { path: u8, cue: Cue },
    /// Satisfies the rule's `requires`.
    Anchor { rule: u16 },
    /// Names an add-on.
    Addon { addon: u8 },
}

/// The kinds of cue phrase of a breaks rule's `blame:` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    /// Names a component as the customer's (`our operator`, `we installed`).
    Owned,
    /// A possessive (`our`, `my`): with a [`Cue::Subject`] noun shortly after, an owned phrase.
    Owner,
    /// A component noun (`job`, `operator`): owned when an [`Cue::Owner`] word precedes it
    /// closely (`our 1024-GPU pretraining job`).
    Subject,
    /// A change the customer made (`we installed`, `we scaled`); also an owned phrase.
    Change,
    /// Refers back to an earlier change (`since then`, `ever since`): a weak cause after a
    /// [`Cue::Change`].
    BackRef,
    /// Introduces something of the customer's that a symptom co-occurs with (`when our`,
    /// `every time our`): a weak cause when a strong symptom follows.
    CoOccurrence,
    /// Negates the ownership that follows (`we don't run any`): the owned phrase is a denial.
    Negation,
    /// Says a customer component is the cause (`since we installed`, `caused by our`).
    Cause,
    /// A verb that makes the culprit named just before it the cause (`flooding`, `saturating`).
    Agent,
    /// Names a customer component that sits in the request path of what fails (`our admission
    /// webhook`): blamed like a declared one, unless a victim cue says otherwise.
    InPath,
    /// Says the customer's component suffers from the failure (`cannot reconcile`).
    Victim,
    /// Says nothing of the customer's is involved (`nothing changed on our side`).
    Denial,
    /// Says the provider installed what is named (`installed by the provider`).
    ProviderInstalled,
}

/// The breaks paths in the order the engine tries them: slot 0 the control plane, slot 1 the
/// fabric.
pub(crate) const BREAKS_PATHS: [Trigger; 2] = [Trigger::BreaksControlPlane, Trigger::BreaksFabric];

/// What a component-hint pattern designates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HintTarget {
    /// A rule (by its component id or one of its hints).
    Rule { rule: u16 },
    /// An add-on (by its name or an alias).
    Addon { addon: u8 },
    /// A whole layer.
    Layer(Layer),
}

/// A validated rule file, compiled for classification. Cheap to share behind an `Arc`; classify
/// takes `&self`.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) version: u32,
    pub(crate) settings: Settings,
    pub(crate) rules: Vec<Rule>,
    pub(crate) addons: Vec<Addon>,
    pub(crate) text_index: PatternIndex<TextTarget>,
    pub(crate) hint_index: PatternIndex<HintTarget>,
    pub(crate) layer_rules: Vec<(Layer, Vec<u16>)>,
    pub(crate) fallback: usize,
    /// The rule of each breaks path, by slot of [`BREAKS_PATHS`].
    pub(crate) breaks: [Option<usize>; 2],
    pub(crate) addon_customer_owned: Option<usize>,
    pub(crate) addon_shared: Option<usize>,
}

impl RuleSet {
    /// The rule file shipped with the service ([`SHIPPED_RULES`]). A test keeps it valid.
    pub fn shipped() -> Result<RuleSet, RuleError> {
        RuleSet::from_yaml_str(SHIPPED_RULES)
    }

    /// Reads and compiles the rule file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<RuleSet, RuleError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RuleSet::from_yaml_str(&text)
    }

    /// Parses, validates and compiles a rule file.
    pub fn from_yaml_str(yaml: &str) -> Result<RuleSet, RuleError> {
        let file: RuleFile =
            serde_norway::from_str(yaml).map_err(|e| RuleError::Parse(e.to_string()))?;
        compile(file)
    }

    /// The rule file's version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The engine settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with `id`.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.id == id)
    }

    /// The names of the add-ons the rule file knows.
    pub fn addon_names(&self) -> impl Iterator<Item = &str> {
        self.addons.iter().map(|a| &*a.name)
    }
}
