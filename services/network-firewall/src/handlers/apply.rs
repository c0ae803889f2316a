//! What the reconciler records after talking to the VPC firewall: a revision applied, an
//! attempt failed (with the next one's time), drift put back, a deleted cluster's rule set
//! gone. Each writes the rule set's state with the version it read, so a change committed
//! meanwhile (a rule created) wins and the next pass applies the newer revision.

use std::collections::BTreeSet;

use accord_core::{DomainError, firewall::FirewallEvent, ids::ProjectId};
use accord_firewall::driver::VpcFirewall;
use accord_store::{Expect, Versioned};
use time::{Duration, OffsetDateTime};

use super::Change;
use crate::{
    trees::{
        ApplyState, CLUSTERS, FIREWALLS, FirewallState, LOAD_BALANCERS, RULES, StoredLoadBalancer,
        StoredRule,
    },
    view::ClusterView,
};

/// The first retry after a failed apply; each failure doubles it up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::seconds(1);
/// The longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::seconds(60);

/// The wait after `attempts` failures.
pub fn backoff(attempts: u32) -> Duration {
    let factor = 1i32 << attempts.saturating_sub(1).min(10);
    (FIRST_BACKOFF * factor).min(MAX_BACKOFF)
}

fn put_state(
    ch: &mut Change,
    stored: &Versioned<FirewallState>,
    next: &FirewallState,
) -> Result<(), DomainError> {
    ch.put(
        FIREWALLS,
        &next.cluster.to_string(),
        next,
        Expect::Version(stored.version),
    )?;
    Ok(())
}

/// The state once `revision` is in the VPC firewall.
fn applied_state(
    stored: &Versioned<FirewallState>,
    revision: u64,
    now: OffsetDateTime,
) -> FirewallState {
    let mut next = stored.value.clone();
    next.applied_revision = revision;
    next.state = if revision == next.revision {
        ApplyState::Applied
    } else {
        ApplyState::Applying
    };
    next.attempts = 0;
    next.retry_at = None;
    next.message.clear();
    next.last_applied_at = Some(now);
    next
}

/// `revision` is in the VPC firewall.
pub fn applied(
    stored: &Versioned<FirewallState>,
    project: ProjectId,
    revision: u64,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let next = applied_state(stored, revision, now);
    let mut ch = Change::in_project(project);
    put_state(&mut ch, stored, &next)?;
    ch.event(FirewallEvent::Applied {
        cluster: next.cluster,
        project,
        revision,
    });
    Ok(ch)
}

/// Applying `revision` failed with `error`; the next attempt waits [`backoff`].
pub fn failed(
    stored: &Versioned<FirewallState>,
    project: ProjectId,
    revision: u64,
    error: &str,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let mut next = stored.value.clone();
    next.state = ApplyState::ApplyFailed;
    next.attempts = next.attempts.saturating_add(1);
    next.retry_at = Some(now + backoff(next.attempts));
    next.message = accord_core::error::echo(error);
    let mut ch = Change::in_project(project);
    put_state(&mut ch, stored, &next)?;
    ch.event(FirewallEvent::ApplyFailed {
        cluster: next.cluster,
        project,
        revision,
        attempts: next.attempts,
        error: next.message.clone(),
    });
    Ok(ch)
}

/// The names in a rule set (required, customer, load balancers), to say what drifted.
fn names(f: &VpcFirewall) -> BTreeSet<String> {
    f.required
        .iter()
        .cloned()
        .chain(f.customer.iter().map(|r| r.name.clone()))
        .chain(
            f.load_balancers
                .iter()
                .map(|l| format!("accord-lb-{}", l.name)),
        )
        .collect()
}

/// The VPC firewall held `actual` instead of `desired` (same revision) and `desired` was put
/// back.
pub fn drift_repaired(
    stored: &Versioned<FirewallState>,
    project: ProjectId,
    desired: &VpcFirewall,
    actual: &VpcFirewall,
    now: OffsetDateTime,
) -> Result<Change, DomainError> {
    let (want, have) = (names(desired), names(actual));
    let missing: Vec<String> = want.difference(&have).cloned().collect();
    let mut unexpected: Vec<String> = have.difference(&want).cloned().collect();
    if missing.is_empty() && unexpected.is_empty() {
        // Same names, different content: a rule was altered in place.
        unexpected = desired
            .customer
            .iter()
            .filter(|r| !actual.customer.contains(r))
            .map(|r| r.name.clone())
            .collect();
    }
    let mut next = applied_state(stored, desired.revision, now);
    next.drift_repairs = next.drift_repairs.saturating_add(1);
    let mut ch = Change::in_project(project);
    put_state(&mut ch, stored, &next)?;
    ch.event(FirewallEvent::DriftRepaired {
        cluster: desired.cluster,
        project,
        missing,
        unexpected,
    });
    Ok(ch)
}

/// A deleted cluster's rule set and load balancers are gone from the cloud: everything of the
/// cluster goes.
pub fn removed(
    view: &Versioned<ClusterView>,
    state: &Versioned<FirewallState>,
    rules: &[(String, Versioned<StoredRule>)],
    lbs: &[(String, Versioned<StoredLoadBalancer>)],
) -> Change {
    let key = view.value.id.to_string();
    let mut ch = Change::in_project(view.value.project);
    ch.delete(CLUSTERS, &key, Expect::Version(view.version));
    ch.delete(FIREWALLS, &key, Expect::Version(state.version));
    for (k, _) in rules {
        ch.delete(RULES, k, Expect::Any);
    }
    for (k, lb) in lbs {
        ch.delete(LOAD_BALANCERS, k, Expect::Any);
        ch.event(FirewallEvent::LoadBalancerDeleted {
            cluster: view.value.id,
            project: view.value.project,
            name: lb.value.name.clone(),
        });
    }
    ch.event(FirewallEvent::Deleted {
        cluster: view.value.id,
        project: view.value.project,
    });
    ch
}
