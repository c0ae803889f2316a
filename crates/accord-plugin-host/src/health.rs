//! Quarantine bookkeeping of one loaded plugin: consecutive faults and the one-way switch to
//! quarantined.
//!
//! Invariants:
//! - Only plugin faults (`PluginError::is_plugin_fault`) count; a completed call — including
//!   one where the plugin returned its own error — resets the count; host errors change
//!   nothing.
//! - Quarantine is permanent for the loaded plugin (and all its clones): loading the same or a
//!   fixed component again gives a fresh, active plugin.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::PluginError;
use crate::types::PluginState;

#[derive(Debug)]
pub(crate) struct Health {
    threshold: u32,
    failures: AtomicU32,
    quarantine: OnceLock<String>,
}

impl Health {
    pub(crate) fn new(threshold: u32) -> Self {
        Self {
            threshold,
            failures: AtomicU32::new(0),
            quarantine: OnceLock::new(),
        }
    }

    /// The quarantine reason, when quarantined.
    pub(crate) fn quarantined(&self) -> Option<&str> {
        self.quarantine.get().map(String::as_str)
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    pub(crate) fn state(&self) -> PluginState {
        match self.quarantined() {
            None => PluginState::Active,
            Some(reason) => PluginState::Quarantined {
                reason: reason.to_owned(),
            },
        }
    }

    /// Records the outcome of one call; true when this outcome quarantined the plugin.
    pub(crate) fn record<T>(&self, outcome: &Result<T, PluginError>) -> bool {
        match outcome {
            Ok(_) | Err(PluginError::Returned(_)) => {
                self.failures.store(0, Ordering::Relaxed);
                false
            }
            Err(err) if err.is_plugin_fault() => {
                let failures = self
                    .failures
                    .fetch_add(1, Ordering::Relaxed)
                    .saturating_add(1);
                failures >= self.threshold
                    && self
                        .quarantine
                        .set(format!(
                            "{failures} consecutive failed calls, the last: {err}"
                        ))
                        .is_ok()
            }
            Err(_) => false,
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
    fn consecutive_faults_quarantine_and_success_resets() {
        let health = Health::new(3);
        assert!(!health.record(&fault()));
        assert!(!health.record(&fault()));
        assert!(!health.record(&Ok(())));
        assert_eq!(health.failures(), 0);
        assert!(!health.record(&fault()));
        assert!(!health.record(&fault()));
        assert!(health.record(&fault()), "third in a row quarantines");
        assert!(
            !health.record(&fault()),
            "only the first transition reports"
        );
        let PluginState::Quarantined { reason } = health.state() else {
            panic!("expected quarantined, got {:?}", health.state());
        };
        assert!(
            reason.contains("3 consecutive") && reason.contains("boom"),
            "{reason}"
        );
    }

    #[test]
    fn returned_errors_and_host_errors_do_not_count() {
        let health = Health::new(1);
        let returned: Result<(), _> = Err(PluginError::Returned("unknown version".into()));
        let engine: Result<(), _> = Err(PluginError::Engine("pool exhausted".into()));
        assert!(!health.record(&returned));
        assert!(!health.record(&engine));
        assert_eq!(health.state(), PluginState::Active);
    }
}
