//! Validation and compilation of a parsed rule file into a [`RuleSet`]: every check listed in
//! the parent module's documentation, each error naming the rule (or add-on) and the field.

use std::{collections::HashMap, sync::Arc};

use accord_core::responsibility::{self, BEST_EFFORT_TOPICS, CUSTOMER_OWNED_KINDS, Layer};

use super::{
    Addon, BREAKS_PATHS, Cue, HintTarget, MAX_ADDONS, MAX_WEIGHT, Problem, Rule, RuleError,
    RuleSet, TextTarget, Trigger,
    file::{RawAddon, RawBlame, RawRule, RuleFile},
};
use crate::{
    action::Action,
    matcher::{PatternIndex, normalise},
    ticket::Category,
};

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
    let id = layer.as_str();
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
    blame: Vec<(String, Cue)>,
}

pub(super) fn compile(file: RuleFile) -> Result<RuleSet, RuleError> {
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
    let mut special = [None; 4];
    for (slot, trigger) in special.iter_mut().zip([
        Trigger::BreaksControlPlane,
        Trigger::BreaksFabric,
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
    let [
        breaks_control_plane,
        breaks_fabric,
        addon_customer_owned,
        addon_shared,
    ] = special;

    let mut text_entries = Vec::new();
    let mut hint_entries = Vec::new();
    let mut layer_rules: Vec<(Layer, Vec<u16>)> =
        Layer::ALL.iter().map(|&l| (l, Vec::new())).collect();
    let mut rules = Vec::with_capacity(compiled.len());
    for (index, c) in compiled.into_iter().enumerate() {
        let rule = u16::try_from(index).unwrap_or(u16::MAX);
        let culprit = c.rule.trigger == Trigger::Text && c.rule.kind.is_some();
        for (pattern, weight) in c.patterns {
            text_entries.push((
                pattern,
                TextTarget::Score {
                    rule,
                    weight,
                    culprit,
                },
            ));
        }
        for anchor in c.anchors {
            text_entries.push((anchor, TextTarget::Anchor { rule }));
        }
        if let Some(path) = BREAKS_PATHS.iter().position(|&t| t == c.rule.trigger) {
            let path = u8::try_from(path).unwrap_or(u8::MAX);
            for (phrase, cue) in c.blame {
                text_entries.push((phrase, TextTarget::Blame { path, cue }));
            }
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
        breaks: [breaks_control_plane, breaks_fabric],
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
    let blame = match (&raw.blame, trigger.is_breaks()) {
        (Some(_), false) => return Err(err("blame", Problem::NotForTrigger(trigger))),
        (None, true) => return Err(err("blame.causes", Problem::Missing)),
        (None, false) => Vec::new(),
        (Some(raw_blame), true) => compile_blame(raw_blame, &err)?,
    };

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
    if trigger.is_breaks() {
        for action in [Action::RestoreControlPlane, Action::NotifyCustomer] {
            if !actions.contains(&action) {
                return Err(err(
                    "actions",
                    Problem::TriggerNeedsAction { trigger, action },
                ));
            }
        }
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
        blame,
    })
}

/// Normalises the cue phrases of a `blame:` section; a breaks rule needs at least one cause
/// phrase (without one, no ticket could blame a component the text names).
fn compile_blame(
    raw: &RawBlame,
    err: &impl Fn(&'static str, Problem) -> RuleError,
) -> Result<Vec<(String, Cue)>, RuleError> {
    if raw.causes.is_empty() {
        return Err(err("blame.causes", Problem::Missing));
    }
    let lists: [(&'static str, &[String], Cue); 13] = [
        ("blame.owned", &raw.owned, Cue::Owned),
        ("blame.owners", &raw.owners, Cue::Owner),
        ("blame.subjects", &raw.subjects, Cue::Subject),
        ("blame.changes", &raw.changes, Cue::Change),
        ("blame.back_refs", &raw.back_refs, Cue::BackRef),
        ("blame.co_occurrence", &raw.co_occurrence, Cue::CoOccurrence),
        ("blame.negations", &raw.negations, Cue::Negation),
        ("blame.causes", &raw.causes, Cue::Cause),
        ("blame.agents", &raw.agents, Cue::Agent),
        ("blame.in_path", &raw.in_path, Cue::InPath),
        ("blame.victims", &raw.victims, Cue::Victim),
        ("blame.denials", &raw.denials, Cue::Denial),
        (
            "blame.provider_installed",
            &raw.provider_installed,
            Cue::ProviderInstalled,
        ),
    ];
    let mut cues = Vec::new();
    for (field, phrases, cue) in lists {
        for p in phrases {
            cues.push((phrase(p, |pr| err(field, pr))?, cue));
        }
    }
    Ok(cues)
}
