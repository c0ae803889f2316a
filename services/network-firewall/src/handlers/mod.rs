//! network-firewall's handlers: plain functions from (what is stored, an input) to a
//! [`Change`] — writes and `firewall.*` events — that the engine commits in one batch. No IO:
//! the reconciler asks the VPC firewall and hands what it saw to [`apply`].
//!
//! - [`cluster_view`]: the read model and each cluster's rule-set revision, from `cluster.*`,
//!   `nodepool.*` and `node.*` events;
//! - [`rules`]: the customer's rules, created (validated, warned about) and deleted;
//! - [`apply`]: what the reconciler records after talking to the VPC firewall;
//! - [`desired`]: the rule set a cluster should have in the VPC firewall.

pub mod apply;
pub mod cluster_view;
pub mod desired;
pub mod lbs;
pub mod rules;

use accord_core::{DomainError, error::FieldViolation, firewall::FirewallEvent};

/// A change of network-firewall's store.
pub type Change = accord_runtime::Change<FirewallEvent>;
pub use accord_runtime::Ctx;

/// Moves `view`'s rule set one revision on, in `ch` (every change of what the VPC firewall
/// should hold does).
pub fn bump(
    ch: &mut Change,
    view: &crate::view::ClusterView,
    state: &accord_store::Versioned<crate::trees::FirewallState>,
) -> Result<(), DomainError> {
    ch.put(
        crate::trees::FIREWALLS,
        &view.id.to_string(),
        &state.value.bumped(),
        accord_store::Expect::Version(state.version),
    )?;
    Ok(())
}

/// The engine's field errors as `INVALID_ARGUMENT`, fields named as in the request (the
/// engine names them under `rule.`).
pub fn invalid(errors: &accord_firewall::FieldErrors) -> DomainError {
    let mut violations: Vec<FieldViolation> = errors
        .errors()
        .iter()
        .map(|e| {
            let field = e.field.strip_prefix("rule.").unwrap_or(&e.field);
            FieldViolation::new(field, e.message.clone())
        })
        .collect();
    if errors.omitted() > 0 {
        violations.push(FieldViolation::new(
            "rule",
            format!("and {} more problems", errors.omitted()),
        ));
    }
    DomainError::InvalidArgument(violations)
}

#[cfg(test)]
mod tests;
