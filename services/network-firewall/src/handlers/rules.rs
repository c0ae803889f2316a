//! The customer's firewall rules: created (validated field by field, within the cluster's
//! limit, returned with the engine's warnings) and deleted. Every change moves the cluster's
//! rule set one revision on, for the reconciler to apply.
//!
//! A required rule is never the customer's to edit: deleting one (`accord-…`) is
//! `PERMISSION_DENIED` naming the layer and its owner from the responsibility matrix, and a
//! customer rule may not take such a name.

use accord_core::{DomainError, firewall::FirewallEvent, responsibility::component};
use accord_firewall::{
    CustomerRule, RuleSpec, Warning, check_addition, validate_cluster, validate_rule,
    validate_rules, warnings_for_rule,
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx, bump, desired::required, invalid};
use crate::{
    trees::{FirewallState, RULES, StoredRule, rule_key},
    view::ClusterView,
};

/// The prefix of the provider's rule names.
pub const REQUIRED_PREFIX: &str = "accord-";

fn usable(view: &ClusterView) -> Result<(), DomainError> {
    if view.deleting {
        return Err(DomainError::precondition(format!(
            "cluster {} is being deleted",
            view.name
        )));
    }
    Ok(())
}

/// Creates a customer rule on `view` (whose rule set is `state`, whose rules are `existing`):
/// the change, the rule, and what creating it warns about.
pub fn create(
    ctx: &Ctx,
    view: &ClusterView,
    state: &Versioned<FirewallState>,
    existing: &[(String, Versioned<StoredRule>)],
    spec: RuleSpec,
) -> Result<(Change, CustomerRule, Vec<Warning>), DomainError> {
    usable(view)?;
    let rule = validate_rule(&spec, "rule").map_err(|e| invalid(&e))?;
    let specs: Vec<RuleSpec> = existing.iter().map(|(_, r)| r.value.spec.clone()).collect();
    let current = validate_rules(&specs).map_err(|e| {
        DomainError::Internal(accord_core::error::InternalError::new(format!(
            "stored rules of cluster {} no longer validate: {e}",
            view.id
        )))
    })?;
    if let Err(e) = check_addition(&current, &rule) {
        return Err(if e.field == "rule" {
            DomainError::ResourceExhausted(e.message)
        } else {
            DomainError::AlreadyExists {
                kind: "firewall rule",
                name: rule.name.clone(),
            }
        });
    }
    let network = validate_cluster(&view.network(), "network").map_err(|e| invalid(&e))?;
    let warnings = warnings_for_rule(&network, &required(view)?, &current, &rule);

    let mut ch = Change::in_project(view.project);
    ch.put(
        RULES,
        &rule_key(view.id, &rule.name),
        &StoredRule {
            spec: rule.to_spec(),
            created_at: ctx.now,
            created_by: ctx.actor.clone(),
        },
        Expect::Absent,
    )?;
    bump(&mut ch, view, state)?;
    ch.event(FirewallEvent::RuleCreated {
        cluster: view.id,
        project: view.project,
        rule: rule.name.clone(),
        description: rule.describe(),
        warnings: warnings.iter().map(|w| w.message.clone()).collect(),
    });
    Ok((ch, rule, warnings))
}

/// Deletes the customer rule `name` of `view`.
pub fn delete(
    view: &ClusterView,
    state: &Versioned<FirewallState>,
    existing: Option<&Versioned<StoredRule>>,
    name: &str,
) -> Result<Change, DomainError> {
    usable(view)?;
    if name.starts_with(REQUIRED_PREFIX) {
        return Err(required_rule_denied(name));
    }
    let Some(found) = existing else {
        return Err(DomainError::not_found(
            "firewall rule",
            accord_core::error::echo(name),
        ));
    };
    let mut ch = Change::in_project(view.project);
    ch.delete(
        RULES,
        &rule_key(view.id, name),
        Expect::Version(found.version),
    );
    bump(&mut ch, view, state)?;
    ch.event(FirewallEvent::RuleDeleted {
        cluster: view.id,
        project: view.project,
        rule: found.value.spec.name.clone(),
    });
    Ok(ch)
}

/// `PERMISSION_DENIED` for touching a required rule, naming the layer and its owner.
pub fn required_rule_denied(name: &str) -> DomainError {
    let what = match component("required-firewall-rules") {
        Some(c) => format!(
            "{:?} in the {} layer, owned by the {}: the provider {}",
            c.name, c.layer, c.owner, c.provider_part
        ),
        None => "the provider's".to_owned(),
    };
    DomainError::PermissionDenied(format!(
        "{} is a required firewall rule ({what}); customers read required rules and add their \
         own beside them, they cannot change or delete them",
        accord_core::error::echo(name)
    ))
}
