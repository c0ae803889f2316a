//! Automatic installs — the add-ons a new cluster opted into, the Network Operator when an
//! InfiniBand pool appears — and what a failure leaves behind: a [`PendingInstall`] record that
//! is retried with exponential backoff until the install succeeds.
//!
//! Every decision here is a plain function of the pending record, the plugin's result and
//! `ctx.now` (the retry loop passes its clock in; tests pass theirs):
//! - success: the installation ([`super::install::install`]) and, in the same change, the
//!   deletion of the record;
//! - failure: the record, created (attempt 1) or updated (one more attempt), with the error cut
//!   to [`MAX_ERROR_BYTES`] and the next attempt [`BACKOFF`] later: 30 s after the first
//!   failure, then 1, 2, 4 and 8 min, then every 10 min. There is no giving up: a plugin that
//!   comes back (a fixed push, a lifted quarantine) is picked up at the next attempt, and the
//!   customer can stop it by uninstalling the add-on;
//! - `addon.install-failed` on the first failure of an episode and then on every
//!   [`REMIND_EVERY`]th attempt (attempt 6 comes ≈ 15 min after the first failure, then about
//!   hourly), each carrying the attempt count — not one event per retry;
//! - a record that no longer applies is dropped without an event ([`obsolete`]); the customer's
//!   own install, declaration or uninstall of the add-on supersedes it ([`resolve`]).
//!
//! Invariants: a record never stands beside an installation of the same add-on (the change
//! that installs deletes it); its error text is bounded, whatever the plugin said.

use std::time::Duration;

use accord_core::{
    DomainError,
    addon::{AddonEvent, AddonInstallation, AddonSource, PendingInstall},
};
use accord_store::{Expect, Versioned};
use time::OffsetDateTime;

use super::{
    Change, Ctx, Rendered,
    install::{Installing, install},
};
use crate::{
    trees::{PENDING_INSTALLS, addon_key},
    view::ClusterView,
};

/// Exponential backoff between the attempts of one automatic install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

/// 30 s after the first failure, doubling, at most 10 min apart. The first attempts come
/// quickly (a plugin push being swapped in, a brief quarantine); beyond that a broken plugin
/// costs one call every 10 minutes per pending install.
pub const BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(30),
    cap: Duration::from_secs(10 * 60),
};

/// `addon.install-failed` is repeated on every this-many attempts (besides the first failure).
pub const REMIND_EVERY: u32 = 6;

/// The most of an error a record and its event keep (plugin errors can carry plugin text).
pub const MAX_ERROR_BYTES: usize = 512;

impl Backoff {
    /// The wait after the `attempts`th failure (1-based): `base · 2^(attempts − 1)`, at most
    /// `cap`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// When to try again after the `attempts`th failure at `now`.
    pub fn next_attempt(&self, now: OffsetDateTime, attempts: u32) -> OffsetDateTime {
        time::Duration::try_from(self.delay(attempts))
            .ok()
            .and_then(|d| now.checked_add(d))
            // Only past the end of the calendar: try again at once rather than never.
            .unwrap_or(now)
    }
}

/// Whether the `attempts`th failure is announced with `addon.install-failed`.
pub fn announces(attempts: u32) -> bool {
    attempts == 1 || attempts.is_multiple_of(REMIND_EVERY)
}

/// What an attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Installed; the pending record, if there was one, is deleted in the same change.
    Installed(AddonInstallation),
    /// Failed: the record as it now stands.
    Failed(PendingInstall),
}

/// Decides an automatic install of `name` on `cluster` (not installed) from the plugin work's
/// `result`, given the add-on's pending record when this is a retry. `source` is why the
/// platform installs it (a retry passes the record's).
pub fn attempt(
    ctx: &Ctx,
    cluster: &ClusterView,
    pending: Option<&Versioned<PendingInstall>>,
    name: &str,
    source: AddonSource,
    result: Result<Rendered, DomainError>,
    backoff: &Backoff,
) -> Result<(Change, Outcome), DomainError> {
    let error = match result {
        Ok(rendered) => {
            let (mut ch, inst) = install(
                ctx,
                cluster,
                None,
                name,
                source,
                Installing::Rendered(rendered),
            )?;
            if let Some(p) = pending {
                resolve(&mut ch, p);
            }
            return Ok((ch, Outcome::Installed(inst)));
        }
        Err(e) => bounded_error(&e),
    };
    let (record, expect) = match pending {
        Some(p) => (
            PendingInstall {
                attempts: p.value.attempts.saturating_add(1),
                last_failed_at: ctx.now,
                last_error: error,
                ..p.value.clone()
            },
            Expect::Version(p.version),
        ),
        None => (
            PendingInstall {
                cluster: cluster.id,
                project: cluster.project,
                name: name.to_owned(),
                source,
                attempts: 1,
                first_failed_at: ctx.now,
                last_failed_at: ctx.now,
                last_error: error,
                next_attempt_at: ctx.now,
            },
            Expect::Absent,
        ),
    };
    let record = PendingInstall {
        next_attempt_at: backoff.next_attempt(ctx.now, record.attempts),
        ..record
    };
    let mut ch = Change::in_project(record.project);
    ch.put(
        PENDING_INSTALLS,
        &addon_key(record.cluster, &record.name),
        &record,
        expect,
    )?;
    if announces(record.attempts) {
        ch.event(AddonEvent::InstallFailed {
            cluster: record.cluster,
            project: record.project,
            addon: record.name.clone(),
            error: record.last_error.clone(),
            attempts: record.attempts,
        });
    }
    Ok((ch, Outcome::Failed(record)))
}

/// Why `pending` no longer applies, if it does not: the add-on is installed, the cluster is
/// gone (`cluster` is `None`), or no InfiniBand pool requires the Network Operator any more.
pub fn obsolete(
    pending: &PendingInstall,
    cluster: Option<&ClusterView>,
    installed: bool,
) -> Option<&'static str> {
    match cluster {
        _ if installed => Some("the add-on is installed"),
        None => Some("the cluster is gone"),
        Some(c) if pending.source == AddonSource::RequiredByInfiniband && !c.has_infiniband() => {
            Some("no InfiniBand pool requires it any more")
        }
        Some(_) => None,
    }
}

/// Deletes `pending` in `change`: it was installed, superseded by the customer's own install or
/// uninstall, its cluster was deleted, or it no longer applies.
pub fn resolve(change: &mut Change, pending: &Versioned<PendingInstall>) {
    let p = &pending.value;
    change.delete(
        PENDING_INSTALLS,
        &addon_key(p.cluster, &p.name),
        Expect::Version(pending.version),
    );
}

/// The records due at `now`, longest overdue first, at most `max` of them.
pub fn due(pending: &[PendingInstall], now: OffsetDateTime, max: usize) -> Vec<&PendingInstall> {
    let mut due: Vec<_> = pending
        .iter()
        .filter(|p| p.next_attempt_at <= now)
        .collect();
    due.sort_by_key(|p| p.next_attempt_at);
    due.truncate(max);
    due
}

/// `e` as a record keeps it: control characters escaped, at most [`MAX_ERROR_BYTES`] bytes
/// (cut on a character boundary, with the original length when cut).
pub fn bounded_error(e: &DomainError) -> String {
    // Room for the "… (N bytes)" note.
    const NOTE_ROOM: usize = 48;
    let full = e.to_string();
    let mut out = String::new();
    let mut cut_at = None;
    for c in full.chars() {
        let before = out.len();
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        if out.len() > MAX_ERROR_BYTES - NOTE_ROOM {
            let cut = *cut_at.get_or_insert(before);
            if out.len() > MAX_ERROR_BYTES {
                out.truncate(cut);
                out.push_str(&format!("… ({} bytes)", full.len()));
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_seconds_to_a_10_minute_cap() {
        let secs: Vec<u64> = (1..=8).map(|a| BACKOFF.delay(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 600, 600, 600]);
        assert_eq!(BACKOFF.delay(0).as_secs(), 30);
        assert_eq!(BACKOFF.delay(u32::MAX).as_secs(), 600);
    }

    #[test]
    fn failures_are_announced_first_and_then_every_sixth_attempt() {
        let announced: Vec<u32> = (1..=25).filter(|a| announces(*a)).collect();
        assert_eq!(announced, [1, 6, 12, 18, 24]);
    }

    #[test]
    fn errors_are_cut_on_a_character_boundary_and_escaped() {
        let long = DomainError::Unavailable(format!("plugin said: {}", "é\n".repeat(4000)));
        let cut = bounded_error(&long);
        assert!(cut.len() <= MAX_ERROR_BYTES, "{}", cut.len());
        assert!(cut.ends_with(" bytes)"), "{cut}");
        assert!(!cut.contains('\n'), "{cut}");
        let short = DomainError::Unavailable("gone".into());
        assert_eq!(bounded_error(&short), "unavailable: gone");
        // Just under the limit: kept whole.
        let fits = DomainError::Unavailable("x".repeat(MAX_ERROR_BYTES - "unavailable: ".len()));
        assert_eq!(bounded_error(&fits).len(), MAX_ERROR_BYTES);
    }
}
