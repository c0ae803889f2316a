//! Quarantine bookkeeping of one loaded plugin, per caller: a plugin shared by many tenants
//! must not be taken away from all of them by one tenant's input.
//!
//! Calls name their caller (a tenant key such as the project id; `None` for the platform's
//! own calls). Invariants:
//! - Only plugin faults (`PluginError::is_plugin_fault`) count; a completed call — including
//!   one where the plugin returned its own error — resets its caller's count and the streak of
//!   failing callers; host errors change nothing.
//! - A caller whose calls fault `threshold` times in a row is quarantined for that plugin alone
//!   (its calls answer `Quarantined`; everyone else's still run).
//! - The plugin is quarantined for everyone when the platform's own calls fault `threshold`
//!   times in a row, or when `threshold` *different* callers fault with no success in between
//!   (the plugin, not one tenant's input, is broken).
//! - Quarantine is permanent for the loaded plugin (and all its clones): loading the same or a
//!   fixed component again gives a fresh, active plugin. The per-caller table is bounded
//!   ([`MAX_TRACKED_CALLERS`]): beyond it, callers without a quarantine are forgotten first.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::error::PluginError;
use crate::types::PluginState;

/// Callers whose streaks are remembered at once.
pub(crate) const MAX_TRACKED_CALLERS: usize = 4096;

/// The key of the platform's own calls.
const PLATFORM: &str = "";

#[derive(Debug, Default)]
struct CallerHealth {
    failures: u32,
    quarantined: Option<String>,
}

#[derive(Debug, Default)]
struct Streaks {
    by_caller: HashMap<String, CallerHealth>,
    /// Distinct callers that saw a fault since the last completed call.
    failing: BTreeSet<String>,
}

/// What one recorded outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quarantined {
    Nothing,
    /// This caller is now quarantined for this plugin.
    Caller,
    /// The plugin is now quarantined for everyone.
    Everyone,
}

#[derive(Debug)]
pub(crate) struct Health {
    threshold: u32,
    streaks: Mutex<Streaks>,
    quarantine: OnceLock<String>,
}

impl Health {
    pub(crate) fn new(threshold: u32) -> Self {
        Self {
            threshold,
            streaks: Mutex::new(Streaks::default()),
            quarantine: OnceLock::new(),
        }
    }

    fn streaks(&self) -> std::sync::MutexGuard<'_, Streaks> {
        self.streaks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The quarantine reason for everyone, when quarantined.
    pub(crate) fn quarantined(&self) -> Option<&str> {
        self.quarantine.get().map(String::as_str)
    }

    /// The reason calls of `caller` are refused: the plugin's quarantine, or the caller's own.
    pub(crate) fn quarantined_for(&self, caller: Option<&str>) -> Option<String> {
        if let Some(reason) = self.quarantined() {
            return Some(reason.to_owned());
        }
        let key = caller.unwrap_or(PLATFORM);
        self.streaks()
            .by_caller
            .get(key)
            .and_then(|c| c.quarantined.clone())
            .map(|reason| format!("for this tenant: {reason}"))
    }

    /// The longest run of consecutive faults of any one caller right now.
    pub(crate) fn failures(&self) -> u32 {
        self.streaks()
            .by_caller
            .values()
            .map(|c| c.failures)
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn state(&self) -> PluginState {
        match self.quarantined() {
            None => PluginState::Active,
            Some(reason) => PluginState::Quarantined {
                reason: reason.to_owned(),
            },
        }
    }

    /// Records the outcome of one call by `caller`.
    pub(crate) fn record<T>(
        &self,
        caller: Option<&str>,
        outcome: &Result<T, PluginError>,
    ) -> Quarantined {
        let key = caller.unwrap_or(PLATFORM);
        let mut streaks = self.streaks();
        match outcome {
            Ok(_) | Err(PluginError::Returned(_)) => {
                if let Some(c) = streaks.by_caller.get_mut(key) {
                    c.failures = 0;
                }
                streaks.failing.clear();
                Quarantined::Nothing
            }
            Err(err) if err.is_plugin_fault() => {
                if streaks.by_caller.len() >= MAX_TRACKED_CALLERS
                    && !streaks.by_caller.contains_key(key)
                {
                    streaks.by_caller.retain(|_, c| c.quarantined.is_some());
                }
                let entry = streaks.by_caller.entry(key.to_owned()).or_default();
                entry.failures = entry.failures.saturating_add(1);
                let failures = entry.failures;
                let newly = entry.quarantined.is_none() && failures >= self.threshold;
                if newly {
                    entry.quarantined = Some(format!(
                        "{failures} consecutive failed calls, the last: {err}"
                    ));
                }
                streaks.failing.insert(key.to_owned());
                let distinct = u32::try_from(streaks.failing.len()).unwrap_or(u32::MAX);
                let everyone =
                    (key == PLATFORM && failures >= self.threshold) || distinct >= self.threshold;
                if everyone
                    && self
                        .quarantine
                        .set(if key == PLATFORM {
                            format!("{failures} consecutive failed calls, the last: {err}")
                        } else {
                            format!(
                                "calls of {distinct} different tenants failed in a row, the last: {err}"
                            )
                        })
                        .is_ok()
                {
                    Quarantined::Everyone
                } else if newly {
                    Quarantined::Caller
                } else {
                    Quarantined::Nothing
                }
            }
            Err(_) => Quarantined::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault() -> Result<(), PluginError> {
        Err(PluginError::Trap("boom".into()))
    }

    #[test]
    fn consecutive_platform_faults_quarantine_and_success_resets() {
        let health = Health::new(3);
        let rec = |r| health.record(None, &r);
        assert_eq!(rec(fault()), Quarantined::Nothing);
        assert_eq!(rec(fault()), Quarantined::Nothing);
        assert_eq!(rec(Ok(())), Quarantined::Nothing);
        assert_eq!(health.failures(), 0);
        assert_eq!(rec(fault()), Quarantined::Nothing);
        assert_eq!(rec(fault()), Quarantined::Nothing);
        assert_eq!(rec(fault()), Quarantined::Everyone, "third in a row");
        assert_eq!(rec(fault()), Quarantined::Nothing, "reported once");
        let PluginState::Quarantined { reason } = health.state() else {
            panic!("expected quarantined, got {:?}", health.state());
        };
        assert!(
            reason.contains("3 consecutive") && reason.contains("boom"),
            "{reason}"
        );
    }

    #[test]
    fn one_tenants_faults_quarantine_that_tenant_only() {
        let health = Health::new(3);
        for _ in 0..2 {
            assert_eq!(health.record(Some("prj-a"), &fault()), Quarantined::Nothing);
        }
        assert_eq!(health.record(Some("prj-a"), &fault()), Quarantined::Caller);
        // Others still run, and their successes do not lift the tenant's quarantine.
        assert_eq!(health.record(Some("prj-b"), &Ok(())), Quarantined::Nothing);
        for _ in 0..10 {
            health.record(Some("prj-a"), &fault());
        }
        assert_eq!(health.state(), PluginState::Active);
        assert!(health.quarantined_for(Some("prj-a")).is_some());
        assert!(health.quarantined_for(Some("prj-b")).is_none());
        assert!(health.quarantined_for(None).is_none());
    }

    #[test]
    fn faults_of_several_tenants_in_a_row_quarantine_the_plugin() {
        let health = Health::new(3);
        assert_eq!(health.record(Some("prj-a"), &fault()), Quarantined::Nothing);
        assert_eq!(health.record(Some("prj-b"), &fault()), Quarantined::Nothing);
        assert_eq!(
            health.record(Some("prj-c"), &fault()),
            Quarantined::Everyone
        );
        assert!(health.quarantined_for(Some("prj-d")).is_some());
    }

    #[test]
    fn returned_errors_and_host_errors_do_not_count() {
        let health = Health::new(1);
        let returned: Result<(), _> = Err(PluginError::Returned("unknown version".into()));
        let engine: Result<(), _> = Err(PluginError::Engine("pool exhausted".into()));
        assert_eq!(health.record(None, &returned), Quarantined::Nothing);
        assert_eq!(health.record(Some("t"), &engine), Quarantined::Nothing);
        assert_eq!(health.state(), PluginState::Active);
    }

    #[test]
    fn the_caller_table_is_bounded() {
        let health = Health::new(2);
        for i in 0..(MAX_TRACKED_CALLERS * 2) {
            health.record(Some(&format!("t{i}")), &fault());
            health.record(None, &Ok(()));
        }
        assert!(health.streaks().by_caller.len() <= MAX_TRACKED_CALLERS);
    }
}
