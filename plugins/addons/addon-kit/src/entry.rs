//! The [`Addon`] trait an add-on implements and the generic entry points behind the five
//! `addon-api` functions.
//!
//! The entry points own everything the add-ons share, in this order:
//! - `validate_config`: JSON object → schema (types, ranges, enums, unknown keys) → the add-on's
//!   cross-field [`Addon::check`] on the merged configuration → its admission check
//!   [`Addon::admit`] (only here: see below).
//! - `render`: validation (violations become the error) → version lookup → [`Addon::render`]
//!   with the configuration merged over the reference.
//! - `classify_change`: a configuration that does not validate cannot be vouched for by the
//!   provider → customer-owned; otherwise [`crate::knobs::classify`], ignoring the host-owned
//!   [`PLATFORM`] key.
//! - `plan_upgrade`: validation → both versions known → same version is an empty plan, a
//!   downgrade is refused → [`Addon::plan_upgrade`].
//!
//! Host-owned facts: the top-level key [`PLATFORM`] (`platform`) is not the customer's. The host
//! (the addon-manager) writes the facts it owns there — e.g. `platform.nfsEnabled`, the
//! provider's per-project NFS gate — into every configuration it hands an add-on that declares
//! them in its reference, and refuses customer values that contain the key. The facts may
//! change after a configuration was accepted, so a rule that depends on them and refuses a
//! configuration belongs in [`Addon::admit`] (run by `validate-config` only), not in
//! [`Addon::check`]: rendering an accepted configuration after the fact changed must still work.

use serde_json::Value;

use crate::config::{self, Config};
use crate::knobs::{self, Knob};
use crate::model::{
    AddonInfo, Cluster, Installer, Ownership, Rendered, UpgradePlan, Verdict, Violation,
};
use crate::schema::{self, Field};
use crate::versions;

/// One add-on's own knowledge. Everything else is shared.
pub trait Addon {
    /// Stable name, e.g. `nvidia-gpu-operator`.
    const NAME: &'static str;
    /// What it is and who does what.
    const DESCRIPTION: &'static str;
    /// The plugin's own version (`env!("CARGO_PKG_VERSION")`).
    const PLUGIN_VERSION: &'static str;
    /// Who installs it.
    const INSTALLER: Installer;
    /// Required on clusters with InfiniBand pools.
    const REQUIRED_WITH_INFINIBAND: bool = false;
    /// Version rendered when none is asked for.
    const DEFAULT_VERSION: &'static str;

    /// Renderable versions, oldest first.
    fn versions() -> Vec<&'static str>;
    /// The configuration schema.
    fn schema() -> &'static [Field];
    /// What the customer may change while the add-on stays shared.
    fn knobs() -> &'static [Knob];
    /// The provider's reference configuration (a complete instance of the schema).
    fn reference() -> Value;
    /// Cross-field checks on a schema-valid configuration merged over the reference.
    fn check(_merged: &Config, _out: &mut Vec<Violation>) {}
    /// Checks of a configuration being submitted (`validate-config` only) that may refuse it
    /// on the host-owned [`PLATFORM`] facts; render, classify and plan accept what passed
    /// [`Addon::check`], because those facts may change after the configuration was accepted.
    fn admit(_merged: &Config, _out: &mut Vec<Violation>) {}
    /// Renders a known `version` with a valid, merged configuration.
    fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String>;
    /// Plans an upgrade between two known versions, `current` older than `target`.
    fn plan_upgrade(current: &str, target: &str, config: &Config) -> Result<UpgradePlan, String>;
}

/// `describe`.
pub fn describe<A: Addon>() -> AddonInfo {
    AddonInfo {
        name: A::NAME.to_owned(),
        description: A::DESCRIPTION.to_owned(),
        plugin_version: A::PLUGIN_VERSION.to_owned(),
        versions: A::versions().into_iter().map(str::to_owned).collect(),
        default_version: A::DEFAULT_VERSION.to_owned(),
        default_config: A::reference().to_string(),
        required_with_infiniband: A::REQUIRED_WITH_INFINIBAND,
        installer: A::INSTALLER,
        customer_knobs: A::knobs().iter().map(|k| k.display()).collect(),
    }
}

/// Parses and validates; `Ok` carries the configuration merged over the reference.
fn load<A: Addon>(json: &str) -> Result<Config, Vec<Violation>> {
    let overlay = config::parse(json).map_err(|e| vec![Violation::new(".", e)])?;
    let violations = schema::validate(A::schema(), &overlay);
    if !violations.is_empty() {
        return Err(violations);
    }
    let merged = Config::new(config::merge(&A::reference(), &overlay));
    let mut violations = Vec::new();
    A::check(&merged, &mut violations);
    if violations.is_empty() {
        Ok(merged)
    } else {
        Err(violations)
    }
}

/// Joins violations into one error message.
fn joined(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The top-level configuration key whose values the host sets (see the module docs).
pub const PLATFORM: &str = "platform";

/// `validate-config`: an empty list means valid.
pub fn validate_config<A: Addon>(json: &str) -> Vec<Violation> {
    match load::<A>(json) {
        Ok(merged) => {
            let mut violations = Vec::new();
            A::admit(&merged, &mut violations);
            violations
        }
        Err(violations) => violations,
    }
}

/// `value` without the host-owned [`PLATFORM`] key: host facts are not configuration choices.
fn without_platform(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove(PLATFORM);
    }
    value
}

/// The catalogue's spelling of `version`, or an error listing the known ones.
fn known<A: Addon>(version: &str) -> Result<&'static str, String> {
    versions::find(&A::versions(), version, |v| v)
        .copied()
        .map_err(|e| format!("{}: {e}", A::NAME))
}

/// `render`.
pub fn render<A: Addon>(cluster: &Cluster, version: &str, json: &str) -> Result<Rendered, String> {
    let config = load::<A>(json)
        .map_err(|v| format!("{}: invalid configuration: {}", A::NAME, joined(&v)))?;
    let version = known::<A>(version)?;
    A::render(cluster, version, &config)
}

/// `classify-change`.
pub fn classify_change<A: Addon>(previous: &str, next: &str) -> Verdict {
    let next = match load::<A>(next) {
        Ok(next) => next,
        Err(violations) => {
            return Verdict {
                ownership: Ownership::CustomerOwned,
                reason: format!(
                    "configuration does not validate ({}), so the provider cannot vouch for it; {}",
                    joined(&violations),
                    knobs::RULE
                ),
            };
        }
    };
    // An unreadable previous configuration only costs the "this change touched" detail.
    let previous = load::<A>(previous)
        .ok()
        .map(|p| without_platform(p.value()));
    knobs::classify(
        &without_platform(&A::reference()),
        A::knobs(),
        previous.as_ref(),
        &without_platform(next.value()),
    )
}

/// `plan-upgrade`.
pub fn plan_upgrade<A: Addon>(
    current: &str,
    target: &str,
    json: &str,
) -> Result<UpgradePlan, String> {
    let config = load::<A>(json)
        .map_err(|v| format!("{}: invalid configuration: {}", A::NAME, joined(&v)))?;
    let current = known::<A>(current)?;
    let target = known::<A>(target)?;
    match versions::compare(current, target) {
        Some(std::cmp::Ordering::Equal) => Ok(UpgradePlan::default()),
        Some(std::cmp::Ordering::Greater) => Err(format!(
            "{}: downgrade from {current} to {target} refused (roll forward instead)",
            A::NAME
        )),
        Some(std::cmp::Ordering::Less) => A::plan_upgrade(current, target, &config),
        None => Err(format!("{}: cannot order {current} and {target}", A::NAME)),
    }
}
