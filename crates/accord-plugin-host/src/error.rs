//! [`PluginError`]: every way a plugin load or call can fail, and the one place that turns a
//! wasmtime error into it ([`classify`]).
//!
//! Invariants:
//! - No wasmtime type appears in a [`PluginError`]; wasmtime errors are rendered to strings.
//! - Only the plugin's own faults ([`PluginError::is_plugin_fault`]) count towards quarantine;
//!   a busy or broken host ([`PluginError::Engine`]) never quarantines a plugin.

use std::time::Duration;

use wasmtime::Trap;

use crate::store::{HostDenied, LimitExceeded};

/// Why a plugin could not be loaded or a call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The call used its epoch deadline (CPU) or the outer call timeout (wall clock).
    #[error("plugin call timed out after {after:?}")]
    Timeout { after: Duration },
    /// The plugin tried to grow its memory beyond the host's limit.
    #[error("plugin exceeded its memory limit")]
    MemoryLimit,
    /// The plugin exhausted the wasm call stack (deep recursion).
    #[error("plugin exhausted its call stack")]
    StackOverflow,
    /// The plugin trapped: a panic, an `unreachable`, an out-of-bounds access, or a call to a
    /// host function plugins may not use.
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The plugin ran fine and returned its own error (a WIT `result` error).
    #[error("plugin returned an error: {0}")]
    Returned(String),
    /// Not a component of the expected world, or its `describe()` answer makes no sense.
    #[error("invalid plugin: {0}")]
    Invalid(String),
    /// The plugin failed too often in a row; calls fail fast until it is reloaded.
    #[error("plugin {name} is quarantined: {reason}")]
    Quarantined { name: String, reason: String },
    /// The host could not run the call (no pool slot, engine set-up, a failed task).
    #[error("plugin host: {0}")]
    Engine(String),
    /// The input has no form in the plugin's interface version (e.g. a finding kind newer than
    /// the policy world), so the plugin was not called.
    #[error("not in the plugin interface: {0}")]
    Unsupported(String),
}

impl PluginError {
    /// True for failures caused by the plugin's code: these count towards quarantine.
    pub fn is_plugin_fault(&self) -> bool {
        matches!(
            self,
            PluginError::Timeout { .. }
                | PluginError::MemoryLimit
                | PluginError::StackOverflow
                | PluginError::Trap(_)
        )
    }
}

/// Turns the error of an instantiation or a call into a [`PluginError`].
///
/// Wasmtime reports an epoch interruption as `Trap::Interrupt` and a stack overflow as
/// `Trap::StackOverflow`; a refused memory grow carries our own [`LimitExceeded`] (wasmtime
/// does not make it a `Trap`), a refused WASI function our own [`HostDenied`].
pub(crate) fn classify(err: &wasmtime::Error, epoch_deadline: Duration) -> PluginError {
    if err.is::<LimitExceeded>() {
        return PluginError::MemoryLimit;
    }
    if err.is::<wasmtime::PoolConcurrencyLimitError>() {
        return PluginError::Engine(format!("no free instance slot: {err:#}"));
    }
    if let Some(denied) = err.downcast_ref::<HostDenied>() {
        return PluginError::Trap(denied.to_string());
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout {
            after: epoch_deadline,
        },
        Some(Trap::StackOverflow) => PluginError::StackOverflow,
        // The trap alone ("wasm trap: wasm `unreachable` instruction executed"); the wasm
        // backtrace around it names no functions in a stripped release component.
        Some(trap) => PluginError::Trap(trap.to_string()),
        None => PluginError::Trap(format!("{err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: Duration = Duration::from_millis(100);

    #[test]
    fn traps_map_to_their_variants() {
        let interrupt = wasmtime::Error::from(Trap::Interrupt);
        assert_eq!(
            classify(&interrupt, DEADLINE),
            PluginError::Timeout { after: DEADLINE }
        );
        let overflow = wasmtime::Error::from(Trap::StackOverflow).context("while calling decide");
        assert_eq!(classify(&overflow, DEADLINE), PluginError::StackOverflow);
        let unreachable = wasmtime::Error::from(Trap::UnreachableCodeReached);
        assert!(matches!(
            classify(&unreachable, DEADLINE),
            PluginError::Trap(msg) if msg.contains("unreachable")
        ));
    }

    #[test]
    fn our_own_limit_error_is_found_under_context() {
        let err = wasmtime::Error::from(LimitExceeded::Memory {
            desired: 128 << 20,
            limit: 64 << 20,
        })
        .context("growing memory");
        assert_eq!(classify(&err, DEADLINE), PluginError::MemoryLimit);
    }

    #[test]
    fn only_plugin_faults_count_towards_quarantine() {
        assert!(PluginError::Trap("x".into()).is_plugin_fault());
        assert!(PluginError::MemoryLimit.is_plugin_fault());
        assert!(!PluginError::Returned("x".into()).is_plugin_fault());
        assert!(!PluginError::Engine("x".into()).is_plugin_fault());
        assert!(!PluginError::Unsupported("x".into()).is_plugin_fault());
        assert!(!PluginError::Invalid("x".into()).is_plugin_fault());
    }
}
