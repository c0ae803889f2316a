//! The rule file as serde reads it: unknown fields refused, nothing validated yet (that is
//! `compile`'s job).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Settings;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub(super) version: u32,
    #[serde(default)]
    pub(super) settings: Settings,
    #[serde(default)]
    pub(super) addons: BTreeMap<String, RawAddon>,
    pub(super) rules: Vec<RawRule>,
}

/// One entry of `addons:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAddon {
    #[serde(default)]
    pub(super) component: String,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
}

/// One entry of `rules:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) id: String,
    #[serde(default)]
    pub(super) category: String,
    #[serde(default)]
    pub(super) component: Option<String>,
    #[serde(default)]
    pub(super) trigger: Option<String>,
    #[serde(default)]
    pub(super) priority: i32,
    #[serde(default)]
    pub(super) text: String,
    #[serde(default)]
    pub(super) actions: Vec<String>,
    #[serde(default)]
    pub(super) checklist: Vec<String>,
    #[serde(default)]
    pub(super) patterns: BTreeMap<u8, Vec<String>>,
    #[serde(default)]
    pub(super) requires: Vec<String>,
    #[serde(default)]
    pub(super) hints: Vec<String>,
    #[serde(default)]
    pub(super) topic: Option<String>,
    #[serde(default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) provider_fault: bool,
    #[serde(default)]
    pub(super) differs_because: Option<String>,
    #[serde(default)]
    pub(super) blame: Option<RawBlame>,
}

/// The `blame:` section of a `breaks-*` rule: the cue phrases that decide whether a customer
/// component is present and is the cause (see the engine's precedence 1).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBlame {
    #[serde(default)]
    pub(super) owned: Vec<String>,
    #[serde(default)]
    pub(super) owners: Vec<String>,
    #[serde(default)]
    pub(super) subjects: Vec<String>,
    #[serde(default)]
    pub(super) changes: Vec<String>,
    #[serde(default)]
    pub(super) back_refs: Vec<String>,
    #[serde(default)]
    pub(super) co_occurrence: Vec<String>,
    #[serde(default)]
    pub(super) negations: Vec<String>,
    #[serde(default)]
    pub(super) causes: Vec<String>,
    #[serde(default)]
    pub(super) agents: Vec<String>,
    #[serde(default)]
    pub(super) in_path: Vec<String>,
    #[serde(default)]
    pub(super) victims: Vec<String>,
    #[serde(default)]
    pub(super) denials: Vec<String>,
    #[serde(default)]
    pub(super) provider_installed: Vec<String>,
}
