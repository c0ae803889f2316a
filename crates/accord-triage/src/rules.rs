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
//!   path assigns.
//!
//! Invariant: a [`RuleSet`] that exists is valid; the engine never re-checks it, and its
//! automata are built once here.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::Path,
    sync::Arc,
};

use accord_core::responsibility::{
    self, BEST_EFFORT_TOPICS, CUSTOMER_OWNED_KINDS, Component, Layer,
};
use serde::Deserialize;

pub use crate::rule_error::{Problem, RuleError};
use crate::{
    action::Action,
    matcher::{PatternIndex, normalise},
    ticket::Category,
};

/// The rule file shipped with the service.
pub const SHIPPED_RULES: &str = include_str!("../rules/triage-rules.yaml");

/// Highest pattern weight.
pub const MAX_WEIGHT: u8 = crate::rule_error::MAX_WEIGHT;

/// How many add-ons the table may hold (mentions are tracked in a `u64` bit set).
pub const MAX_ADDONS: usize = 64;

/// How a rule takes part in classification (see the engine's precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Scores on the ticket's text and component hint (precedence 3–4).
    Text,
    /// A customer component breaks or degrades the control plane (precedence 1). Its patterns
    /// are the control-plane symptoms; its `requires` anchors say the control plane is involved.
    BreaksControlPlane,
    /// The ticket is about an add-on the context marks customer-owned (precedence 2).
    AddonCustomerOwned,
    /// The ticket is about an add-on the context marks shared (precedence 2).
    AddonShared,
    /// Nothing matched well enough: the unclassified default.
    Fallback,
}

impl Trigger {
    const ALL: [Trigger; 5] = [
        Trigger::Text,
        Trigger::BreaksControlPlane,
        Trigger::AddonCustomerOwned,
        Trigger::AddonShared,
        Trigger::Fallback,
    ];

    /// The name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Text => "text",
            Trigger::BreaksControlPlane => "breaks-control-plane",
            Trigger::AddonCustomerOwned => "addon-customer-owned",
            Trigger::AddonShared => "addon-shared",
            Trigger::Fallback => "fallback",
        }
    }

    /// The category a special path assigns (`None` for text rules).
    fn category(self) -> Option<Category> {
        match self {
            Trigger::Text => None,
            Trigger::BreaksControlPlane | Trigger::AddonCustomerOwned => {
                Some(Category::CustomerOwned)
            }
            Trigger::AddonShared => Some(Category::Supported),
            Trigger::Fallback => Some(Category::BestEffort),
        }
    }

    /// Whether rules with this trigger score on patterns.
    fn scores(self) -> bool {
        matches!(self, Trigger::Text | Trigger::BreaksControlPlane)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    fn validate(&self) -> Result<(), RuleError> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: u32,
    #[serde(default)]
    settings: Settings,
    #[serde(default)]
    addons: BTreeMap<String, RawAddon>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddon {
    #[serde(default)]
    component: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    text: String,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    checklist: Vec<String>,
    #[serde(default)]
    patterns: BTreeMap<u8, Vec<String>>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    hints: Vec<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    provider_fault: bool,
    #[serde(default)]
    differs_because: Option<String>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) id: Arc<str>,
    pub(crate) category: Category,
    pub(crate) component: Option<&'static Component>,
    pub(crate) component_id: Option<Arc<str>>,
    pub(crate) trigger: Trigger,
    pub(crate) priority: i32,
    pub(crate) text: Arc<str>,
    pub(crate) actions: Arc<[Action]>,
    pub(crate) review_actions: Arc<[Action]>,
    pub(crate) checklist: Arc<[String]>,
    pub(crate) topic: Option<&'static str>,
    pub(crate) kind: Option<&'static str>,
    pub(crate) provider_fault: bool,
    pub(crate) needs_anchor: bool,
    pub(crate) differs_because: Option<String>,
}

impl Rule {
    /// The rule id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The category the rule assigns.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The matrix component the rule concerns (`None` only for the fallback).
    pub fn component(&self) -> Option<&'static Component> {
        self.component
    }

    /// The layer of the rule's component.
    pub fn layer(&self) -> Option<Layer> {
        self.component.map(|c| c.layer)
    }

    /// How the rule takes part in classification.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// Tie-break rank: higher wins a tie on score.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// The rule's explanation.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The routing actions.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// What the customer should check (Customer-Owned rules).
    pub fn checklist(&self) -> &[String] {
        &self.checklist
    }

    /// The matrix's Best-Effort topic the rule encodes.
    pub fn topic(&self) -> Option<&'static str> {
        self.topic
    }

    /// The matrix's customer-owned kind the rule describes (a component the customer installs).
    pub fn kind(&self) -> Option<&'static str> {
        self.kind
    }

    /// Whether the rule describes a fault of hardware the provider runs.
    pub fn provider_fault(&self) -> bool {
        self.provider_fault
    }

    /// Why the category differs from the matrix's support scope of the component, if it does.
    pub fn differs_because(&self) -> Option<&str> {
        self.differs_because.as_deref()
    }
}

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
    /// Adds `weight` to the rule's score.
    Score { rule: u16, weight: f32 },
    /// Satisfies the rule's `requires`.
    Anchor { rule: u16 },
    /// Names an add-on.
    Addon { addon: u8 },
}

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
    pub(crate) breaks_control_plane: Option<usize>,
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

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_category(s: &str) -> Option<Category> {
    match s {
        "supported" => Some(Category::Supported),
        "best-effort" => Some(Category::BestEffort),
        "customer-owned" => Some(Category::CustomerOwned),
        _ => None,
    }
}

fn id_prefix(category: Category) -> &'static str {
    match category {
        Category::Supported => "sup-",
        Category::BestEffort => "be-",
        Category::CustomerOwned => "cust-",
    }
}

/// The names a component hint may use for a layer: its title and its kebab-case id.
fn layer_names(layer: Layer) -> [&'static str; 2] {
    let id = match layer {
        Layer::Infrastructure => "infrastructure",
        Layer::ControlPlane => "control-plane",
        Layer::WorkerNodes => "worker-nodes",
        Layer::Networking => "networking",
        Layer::Storage => "storage",
        Layer::AddOns => "add-ons",
        Layer::Identity => "identity",
        Layer::Observability => "observability",
        Layer::ApplicationConfig => "application-config",
        Layer::Workloads => "workloads",
    };
    [layer.title(), id]
}

/// Normalises a phrase, refusing one that normalises to nothing.
fn phrase(text: &str, problem_at: impl FnOnce(Problem) -> RuleError) -> Result<String, RuleError> {
    let normalised = normalise(text);
    if normalised.trim().is_empty() {
        return Err(problem_at(Problem::EmptyPattern(text.to_string())));
    }
    Ok(normalised)
}

struct Compiled {
    rule: Rule,
    patterns: Vec<(String, f32)>,
    anchors: Vec<String>,
    hints: Vec<String>,
}

fn compile(file: RuleFile) -> Result<RuleSet, RuleError> {
    if file.version == 0 {
        return Err(RuleError::File {
            field: "version",
            problem: Problem::Missing,
        });
    }
    file.settings.validate()?;
    if file.addons.len() > MAX_ADDONS {
        return Err(RuleError::File {
            field: "addons",
            problem: Problem::TooMany {
                found: file.addons.len(),
                max: MAX_ADDONS,
            },
        });
    }
    if file.rules.len() > usize::from(u16::MAX) {
        return Err(RuleError::File {
            field: "rules",
            problem: Problem::TooMany {
                found: file.rules.len(),
                max: usize::from(u16::MAX),
            },
        });
    }

    let mut addons = Vec::with_capacity(file.addons.len());
    for (name, raw) in &file.addons {
        addons.push(compile_addon(name, raw)?);
    }

    let mut first_use: HashMap<&str, usize> = HashMap::new();
    let mut compiled = Vec::with_capacity(file.rules.len());
    for (pos, raw) in file.rules.iter().enumerate() {
        if let Some(first) = first_use.insert(raw.id.as_str(), pos + 1) {
            return Err(RuleError::Rule {
                rule: raw.id.clone(),
                field: "id",
                problem: Problem::DuplicateId { first },
            });
        }
        compiled.push(compile_rule(pos, raw)?);
    }

    let position = |trigger: Trigger| {
        let found: Vec<usize> = compiled
            .iter()
            .enumerate()
            .filter(|(_, c)| c.rule.trigger == trigger)
            .map(|(i, _)| i)
            .collect();
        found
    };
    let fallbacks = position(Trigger::Fallback);
    let [fallback] = fallbacks[..] else {
        return Err(RuleError::File {
            field: "rules",
            problem: Problem::TriggerCount {
                trigger: Trigger::Fallback,
                found: fallbacks.len(),
                expected: "exactly one",
            },
        });
    };
    let mut special = [None; 3];
    for (slot, trigger) in special.iter_mut().zip([
        Trigger::BreaksControlPlane,
        Trigger::AddonCustomerOwned,
        Trigger::AddonShared,
    ]) {
        let found = position(trigger);
        if found.len() > 1 {
            return Err(RuleError::File {
                field: "rules",
                problem: Problem::TriggerCount {
                    trigger,
                    found: found.len(),
                    expected: "at most one",
                },
            });
        }
        *slot = found.first().copied();
    }
    let [breaks_control_plane, addon_customer_owned, addon_shared] = special;

    let mut text_entries = Vec::new();
    let mut hint_entries = Vec::new();
    let mut layer_rules: Vec<(Layer, Vec<u16>)> =
        Layer::ALL.iter().map(|&l| (l, Vec::new())).collect();
    let mut rules = Vec::with_capacity(compiled.len());
    for (index, c) in compiled.into_iter().enumerate() {
        let rule = u16::try_from(index).unwrap_or(u16::MAX);
        for (pattern, weight) in c.patterns {
            text_entries.push((pattern, TextTarget::Score { rule, weight }));
        }
        for anchor in c.anchors {
            text_entries.push((anchor, TextTarget::Anchor { rule }));
        }
        if c.rule.trigger == Trigger::Text {
            for hint in c.hints {
                hint_entries.push((hint, HintTarget::Rule { rule }));
            }
            if let Some(component) = c.rule.component {
                hint_entries.push((normalise(component.id), HintTarget::Rule { rule }));
                if let Some((_, members)) =
                    layer_rules.iter_mut().find(|(l, _)| *l == component.layer)
                {
                    members.push(rule);
                }
            }
        }
        rules.push(c.rule);
    }
    for (index, addon) in addons.iter().enumerate() {
        let addon_index = u8::try_from(index).unwrap_or(u8::MAX);
        for name in &addon.names {
            text_entries.push((name.clone(), TextTarget::Addon { addon: addon_index }));
            hint_entries.push((name.clone(), HintTarget::Addon { addon: addon_index }));
        }
    }
    for layer in Layer::ALL {
        for name in layer_names(layer) {
            hint_entries.push((normalise(name), HintTarget::Layer(layer)));
        }
    }

    Ok(RuleSet {
        version: file.version,
        settings: file.settings,
        rules,
        addons,
        text_index: PatternIndex::build(text_entries)?,
        hint_index: PatternIndex::build(hint_entries)?,
        layer_rules,
        fallback,
        breaks_control_plane,
        addon_customer_owned,
        addon_shared,
    })
}

fn compile_addon(name: &str, raw: &RawAddon) -> Result<Addon, RuleError> {
    let err = |field: &'static str, problem: Problem| RuleError::Addon {
        addon: name.to_string(),
        field,
        problem,
    };
    if !is_kebab(name) {
        return Err(err("name", Problem::NotKebabCase(name.to_string())));
    }
    let component = responsibility::component(&raw.component).ok_or_else(|| {
        if raw.component.is_empty() {
            err("component", Problem::Missing)
        } else {
            err(
                "component",
                Problem::UnknownComponent(raw.component.clone()),
            )
        }
    })?;
    let mut names = vec![normalise(name)];
    for alias in &raw.aliases {
        names.push(phrase(alias, |p| err("aliases", p))?);
    }
    names.dedup();
    Ok(Addon {
        name: Arc::from(name),
        names,
        component,
        component_id: Arc::from(component.id),
    })
}

fn compile_rule(pos: usize, raw: &RawRule) -> Result<Compiled, RuleError> {
    let name = if raw.id.is_empty() {
        format!("#{}", pos + 1)
    } else {
        raw.id.clone()
    };
    let err = |field: &'static str, problem: Problem| RuleError::Rule {
        rule: name.clone(),
        field,
        problem,
    };

    if raw.id.is_empty() {
        return Err(err("id", Problem::Missing));
    }
    if !is_kebab(&raw.id) {
        return Err(err("id", Problem::NotKebabCase(raw.id.clone())));
    }
    if raw.category.is_empty() {
        return Err(err("category", Problem::Missing));
    }
    let category = parse_category(&raw.category)
        .ok_or_else(|| err("category", Problem::UnknownCategory(raw.category.clone())))?;
    let expected_prefix = id_prefix(category);
    if !raw.id.starts_with(expected_prefix) {
        return Err(err(
            "id",
            Problem::IdPrefix {
                expected: expected_prefix,
                category,
            },
        ));
    }

    let trigger = match raw.trigger.as_deref() {
        None => Trigger::Text,
        Some(t) => Trigger::ALL
            .into_iter()
            .find(|x| x.as_str() == t)
            .ok_or_else(|| err("trigger", Problem::UnknownTrigger(t.to_string())))?,
    };
    if let Some(expected) = trigger.category()
        && expected != category
    {
        return Err(err(
            "category",
            Problem::TriggerCategory { trigger, expected },
        ));
    }

    if raw.text.trim().is_empty() {
        return Err(err("text", Problem::Missing));
    }

    let topic = match &raw.topic {
        None => None,
        Some(_) if category != Category::BestEffort => {
            return Err(err("topic", Problem::OnlyFor(Category::BestEffort)));
        }
        Some(t) => Some(
            BEST_EFFORT_TOPICS
                .iter()
                .find(|(id, _)| id == t)
                .map(|(id, _)| *id)
                .ok_or_else(|| err("topic", Problem::UnknownTopic(t.clone())))?,
        ),
    };
    let kind = match &raw.kind {
        None => None,
        Some(_) if category != Category::CustomerOwned => {
            return Err(err("kind", Problem::OnlyFor(Category::CustomerOwned)));
        }
        Some(k) => Some(
            CUSTOMER_OWNED_KINDS
                .iter()
                .find(|(id, _)| id == k)
                .map(|(id, _)| *id)
                .ok_or_else(|| err("kind", Problem::UnknownKind(k.clone())))?,
        ),
    };

    let component = match raw.component.as_deref() {
        None if trigger == Trigger::Fallback => None,
        None | Some("") => return Err(err("component", Problem::Missing)),
        Some(id) => Some(
            responsibility::component(id)
                .ok_or_else(|| err("component", Problem::UnknownComponent(id.to_string())))?,
        ),
    };
    let reason = raw
        .differs_because
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(comp) = component {
        let agrees = comp.support == category;
        let explained = reason.is_some() || (category == Category::BestEffort && topic.is_some());
        if !agrees && !explained {
            return Err(err(
                "category",
                Problem::DisagreesWithMatrix {
                    category,
                    component: comp.id.to_string(),
                    matrix: comp.support,
                },
            ));
        }
        if agrees && reason.is_some() {
            return Err(err("differs_because", Problem::NeedlessReason));
        }
    }

    let mut patterns = Vec::new();
    for (&weight, phrases) in &raw.patterns {
        if weight == 0 || weight > MAX_WEIGHT {
            return Err(err("patterns", Problem::BadWeight(weight)));
        }
        for p in phrases {
            patterns.push((phrase(p, |pr| err("patterns", pr))?, f32::from(weight)));
        }
    }
    let mut anchors = Vec::new();
    for a in &raw.requires {
        anchors.push(phrase(a, |pr| err("requires", pr))?);
    }
    let mut hints = Vec::new();
    for h in &raw.hints {
        hints.push(phrase(h, |pr| err("hints", pr))?);
    }
    if trigger.scores() {
        if patterns.is_empty() {
            return Err(err("patterns", Problem::NoPatterns));
        }
    } else if !patterns.is_empty() {
        return Err(err("patterns", Problem::NotForTrigger(trigger)));
    } else if !anchors.is_empty() {
        return Err(err("requires", Problem::NotForTrigger(trigger)));
    }
    if trigger != Trigger::Text && !hints.is_empty() {
        return Err(err("hints", Problem::NotForTrigger(trigger)));
    }

    let mut actions = Vec::with_capacity(raw.actions.len() + 1);
    for a in &raw.actions {
        let action =
            Action::parse(a).ok_or_else(|| err("actions", Problem::UnknownAction(a.clone())))?;
        if actions.contains(&action) {
            return Err(err("actions", Problem::DuplicateAction(action)));
        }
        actions.push(action);
    }
    let required = Action::required_for(category);
    if !required.iter().any(|r| actions.contains(r)) {
        return Err(err(
            "actions",
            Problem::MissingRequiredAction {
                category,
                required: required
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        ));
    }
    let mut review_actions = actions.clone();
    if !review_actions.contains(&Action::ManualTriage) {
        review_actions.push(Action::ManualTriage);
    }

    let checklist: Vec<String> = raw.checklist.iter().map(|s| s.trim().to_string()).collect();
    if checklist.iter().any(String::is_empty) {
        return Err(err("checklist", Problem::Missing));
    }
    match category {
        Category::CustomerOwned if !(2..=4).contains(&checklist.len()) => {
            return Err(err("checklist", Problem::ChecklistLength(checklist.len())));
        }
        Category::Supported | Category::BestEffort if !checklist.is_empty() => {
            return Err(err("checklist", Problem::OnlyFor(Category::CustomerOwned)));
        }
        _ => {}
    }

    Ok(Compiled {
        rule: Rule {
            id: Arc::from(raw.id.as_str()),
            category,
            component,
            component_id: component.map(|c| Arc::from(c.id)),
            trigger,
            priority: raw.priority,
            text: Arc::from(raw.text.trim()),
            actions: Arc::from(actions),
            review_actions: Arc::from(review_actions),
            checklist: Arc::from(checklist),
            topic,
            kind,
            provider_fault: raw.provider_fault,
            needs_anchor: !anchors.is_empty(),
            differs_because: reason.map(str::to_string),
        },
        patterns,
        anchors,
        hints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid file; tests break one thing at a time.
    const MINIMAL: &str = r#"
version: 1
rules:
  - id: sup-etcd
    category: supported
    component: etcd
    text: etcd is the provider's.
    actions: [open-provider-incident]
    patterns: {3: [etcd]}
  - id: cust-rbac
    category: customer-owned
    component: kubernetes-rbac
    text: RBAC is the customer's.
    actions: [answer-with-checklist]
    checklist: [check the role, check the binding]
    patterns: {3: [forbidden]}
  - id: be-unclassified
    category: best-effort
    trigger: fallback
    text: Unclassified.
    actions: [advise, manual-triage]
"#;

    fn with(from: &str, to: &str) -> Result<RuleSet, RuleError> {
        assert!(MINIMAL.contains(from), "{from}");
        RuleSet::from_yaml_str(&MINIMAL.replacen(from, to, 1))
    }

    fn problem(result: Result<RuleSet, RuleError>) -> (String, &'static str, Problem) {
        match result {
            Err(RuleError::Rule {
                rule,
                field,
                problem,
            }) => (rule, field, problem),
            other => panic!("expected a rule error, got {other:?}"),
        }
    }

    #[test]
    fn minimal_file_compiles() {
        let set = RuleSet::from_yaml_str(MINIMAL).unwrap();
        assert_eq!(set.version(), 1);
        assert_eq!(set.rules().len(), 3);
        assert_eq!(set.rule("cust-rbac").unwrap().checklist().len(), 2);
    }

    #[test]
    fn duplicate_id_names_the_rule_and_the_first_use() {
        let (rule, field, p) = problem(with("id: cust-rbac", "id: sup-etcd"));
        // The duplicate is caught before the category prefix is checked.
        assert_eq!((rule.as_str(), field), ("sup-etcd", "id"));
        assert_eq!(p, Problem::DuplicateId { first: 1 });
    }

    #[test]
    fn unknown_component_is_refused() {
        let err = with("component: etcd", "component: etcd-cluster").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule `sup-etcd`, field `component`: unknown component id `etcd-cluster` \
             (not in accord_core::responsibility::COMPONENTS)"
        );
    }

    #[test]
    fn bad_category_is_refused_by_name_and_against_the_matrix() {
        let (rule, field, p) = problem(with("category: supported", "category: supportd"));
        assert_eq!((rule.as_str(), field), ("sup-etcd", "category"));
        assert_eq!(p, Problem::UnknownCategory("supportd".into()));

        // RBAC is customer-owned in the matrix; a supported rule on it must say why.
        let file = MINIMAL
            .replacen("id: cust-rbac", "id: sup-rbac", 1)
            .replacen("category: customer-owned", "category: supported", 1)
            .replacen("[answer-with-checklist]", "[open-provider-incident]", 1)
            .replacen("checklist: [check the role, check the binding]", "", 1);
        let (rule, field, p) = problem(RuleSet::from_yaml_str(&file));
        assert_eq!((rule.as_str(), field), ("sup-rbac", "category"));
        assert_eq!(
            p,
            Problem::DisagreesWithMatrix {
                category: Category::Supported,
                component: "kubernetes-rbac".into(),
                matrix: Category::CustomerOwned
            }
        );
        let explained = file.replacen(
            "text: RBAC is the customer's.",
            "text: x\n    differs_because: a test says so",
            1,
        );
        RuleSet::from_yaml_str(&explained).unwrap();
    }

    #[test]
    fn needless_reason_and_wrong_prefix_are_refused() {
        let (_, field, p) = problem(with(
            "text: etcd is the provider's.",
            "text: x\n    differs_because: no reason",
        ));
        assert_eq!((field, p), ("differs_because", Problem::NeedlessReason));
        let (_, field, p) = problem(with("id: sup-etcd", "id: etcd-rule"));
        assert_eq!(field, "id");
        assert!(matches!(
            p,
            Problem::IdPrefix {
                expected: "sup-",
                ..
            }
        ));
    }

    #[test]
    fn patterns_must_exist_and_be_meaningful() {
        let (_, field, p) = problem(with("patterns: {3: [etcd]}", "patterns: {}"));
        assert_eq!((field, p), ("patterns", Problem::NoPatterns));
        let (_, field, p) = problem(with("patterns: {3: [etcd]}", "patterns: {3: [\"the !\"]}"));
        assert_eq!(
            (field, p),
            ("patterns", Problem::EmptyPattern("the !".into()))
        );
        let (_, _, p) = problem(with("patterns: {3: [etcd]}", "patterns: {11: [etcd]}"));
        assert_eq!(p, Problem::BadWeight(11));
    }

    #[test]
    fn actions_and_checklists_follow_the_category() {
        let (_, field, p) = problem(with("[open-provider-incident]", "[advise]"));
        assert_eq!(field, "actions");
        assert!(matches!(p, Problem::MissingRequiredAction { .. }));
        let (_, _, p) = problem(with(
            "[open-provider-incident]",
            "[open-provider-incident, page]",
        ));
        assert_eq!(p, Problem::UnknownAction("page".into()));
        let (rule, field, p) = problem(with(
            "checklist: [check the role, check the binding]",
            "checklist: [check the role]",
        ));
        assert_eq!(
            (rule.as_str(), field, p),
            ("cust-rbac", "checklist", Problem::ChecklistLength(1))
        );
    }

    #[test]
    fn topics_and_kinds_come_from_the_matrix() {
        let (_, field, p) = problem(with(
            "text: RBAC is the customer's.",
            "text: x\n    kind: service-meshes",
        ));
        assert_eq!(
            (field, p),
            ("kind", Problem::UnknownKind("service-meshes".into()))
        );
        let (_, field, p) = problem(with(
            "text: etcd is the provider's.",
            "text: x\n    topic: nccl-tuning",
        ));
        assert_eq!(
            (field, p),
            ("topic", Problem::OnlyFor(Category::BestEffort))
        );
    }

    #[test]
    fn exactly_one_fallback_and_unknown_fields_are_refused() {
        let err = with("trigger: fallback", "trigger: text").unwrap_err();
        // As a text rule it would need a component and patterns.
        assert!(
            matches!(
                err,
                RuleError::Rule {
                    field: "component",
                    ..
                }
            ),
            "{err}"
        );
        let no_fallback = MINIMAL.split("  - id: be-unclassified").next().unwrap();
        let err = RuleSet::from_yaml_str(no_fallback).unwrap_err();
        assert!(
            matches!(
                err,
                RuleError::File {
                    problem: Problem::TriggerCount {
                        trigger: Trigger::Fallback,
                        found: 0,
                        ..
                    },
                    ..
                }
            ),
            "{err}"
        );
        let err = with("text: Unclassified.", "text: x\n    colour: red");
        let Err(RuleError::Parse(msg)) = err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("unknown field `colour`"), "{msg}");
    }

    #[test]
    fn addon_entries_are_checked() {
        let file = format!("{MINIMAL}addons:\n  cilium: {{component: cni, aliases: [cilium]}}\n");
        let err = RuleSet::from_yaml_str(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add-on `cilium`, field `component`: unknown component id `cni` \
             (not in accord_core::responsibility::COMPONENTS)"
        );
    }

    #[test]
    fn settings_are_range_checked() {
        let file = format!("{MINIMAL}settings:\n  review_below: 1.5\n");
        let err = RuleSet::from_yaml_str(&file).unwrap_err();
        assert!(
            matches!(
                err,
                RuleError::File {
                    field: "settings.review_below",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn load_reads_a_path_and_names_it_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yaml");
        std::fs::write(&path, MINIMAL).unwrap();
        assert_eq!(RuleSet::load(&path).unwrap().rules().len(), 3);
        let missing = dir.path().join("missing.yaml");
        let err = RuleSet::load(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.yaml"), "{err}");
    }
}
