//! [`HostConfig`]: the limits every plugin call runs under.
//!
//! Invariant: a configuration accepted by `PluginHost::new` has an epoch deadline of at least
//! one epoch tick, a non-zero call timeout, a memory limit that fits a Rust component in a
//! 32-bit memory, and a quarantine threshold and concurrency of at least one. The call timeout
//! should exceed the epoch deadline (the defaults: 1 s and 100 ms) so that the epoch stops
//! runaway wasm and the outer timeout stays the backstop.

use std::time::Duration;

use crate::error::PluginError;

/// How often the engine-wide ticker advances the epoch: the longest stretch a plugin call runs
/// wasm on a tokio worker without yielding, and the granularity of `epoch_deadline`.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The smallest memory limit accepted: a Rust `wasm32-wasip2` component starts with a 1 MiB
/// shadow stack plus its data, so less than this cannot even instantiate.
pub const MIN_MEMORY_LIMIT: usize = 2 << 20;

/// Limits for plugin calls. `Default` gives the production values; `with_*` adjusts one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// How long a single call (instantiation included) may run wasm before wasmtime interrupts
    /// it (`Trap::Interrupt` → [`PluginError::Timeout`]). Wall-clock time since the call's
    /// store was made, checked at every epoch tick: the wasm stops at the first tick after it
    /// (at most one [`EPOCH_TICK`] late).
    pub epoch_deadline: Duration,
    /// Linear memory a call may grow to, summed over the component's memories.
    pub memory_limit: usize,
    /// Wall-clock bound on a call as the caller sees it (waiting for a call slot included); the
    /// backstop for anything the epoch deadline cannot interrupt. At this deadline the call is
    /// dropped, which cancels it.
    pub call_timeout: Duration,
    /// Consecutive failed calls (traps, timeouts, limit hits) after which a plugin is
    /// quarantined.
    pub quarantine_after: u32,
    /// Plugin calls running at once, host-wide; further calls wait for a slot. Also sizes the
    /// pooling allocator.
    pub max_concurrent_calls: u32,
    /// Instances, memories and fiber stacks come from wasmtime's pooling allocator (reserved
    /// once, reused call after call) rather than from the OS per call. On by default; off only
    /// to measure what it saves.
    pub pooling_allocator: bool,
    /// Directory of wasmtime's compilation cache: a component compiled once (keyed by its bytes
    /// and the engine's settings) is loaded from here on later starts instead of recompiled.
    /// `None` compiles every time. The directory must belong to the service's user: what is in
    /// it runs as native code. Default: [`default_compile_cache`].
    pub compile_cache: Option<std::path::PathBuf>,
}

/// Environment variable naming the compilation cache directory (`off` disables it).
pub const COMPILE_CACHE_ENV: &str = "ACCORD_WASM_CACHE";

/// The default compilation cache: `$ACCORD_WASM_CACHE` (`off`: none), else
/// `$XDG_CACHE_HOME/accord/wasmtime`, else `$HOME/.cache/accord/wasmtime`; only absolute paths.
pub fn default_compile_cache() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = match from_env(COMPILE_CACHE_ENV) {
        Some(dir) if dir.as_os_str() == "off" => return None,
        Some(dir) => dir,
        None => match from_env("XDG_CACHE_HOME") {
            Some(cache) => cache.join("accord").join("wasmtime"),
            None => from_env("HOME")?
                .join(".cache")
                .join("accord")
                .join("wasmtime"),
        },
    };
    dir.is_absolute().then_some(dir)
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            epoch_deadline: Duration::from_millis(100),
            memory_limit: 64 << 20,
            call_timeout: Duration::from_secs(1),
            quarantine_after: 3,
            max_concurrent_calls: 64,
            pooling_allocator: true,
            compile_cache: default_compile_cache(),
        }
    }
}

impl HostConfig {
    pub fn with_epoch_deadline(mut self, deadline: Duration) -> Self {
        self.epoch_deadline = deadline;
        self
    }

    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    pub fn with_quarantine_after(mut self, failures: u32) -> Self {
        self.quarantine_after = failures;
        self
    }

    pub fn with_max_concurrent_calls(mut self, calls: u32) -> Self {
        self.max_concurrent_calls = calls;
        self
    }

    pub fn with_pooling_allocator(mut self, pooling: bool) -> Self {
        self.pooling_allocator = pooling;
        self
    }

    /// Uses `dir` as the compilation cache (`None`: compile every time).
    pub fn with_compile_cache(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.compile_cache = dir;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), PluginError> {
        let invalid = |what: String| Err(PluginError::Engine(format!("host config: {what}")));
        if self.epoch_deadline < EPOCH_TICK {
            return invalid(format!(
                "epoch_deadline {:?} is shorter than one epoch tick ({EPOCH_TICK:?})",
                self.epoch_deadline
            ));
        }
        // A call_timeout below the epoch deadline is allowed (the outer timeout then answers
        // first and cancels the call), but zero is not.
        if self.call_timeout.is_zero() {
            return invalid("call_timeout must not be zero".to_owned());
        }
        if self.memory_limit < MIN_MEMORY_LIMIT {
            return invalid(format!(
                "memory_limit {} bytes is below the minimum of {MIN_MEMORY_LIMIT}",
                self.memory_limit
            ));
        }
        if u32::try_from(self.memory_limit).is_err() {
            return invalid(format!(
                "memory_limit {} bytes exceeds a 32-bit linear memory",
                self.memory_limit
            ));
        }
        if self.quarantine_after == 0 {
            return invalid("quarantine_after must be at least 1".to_owned());
        }
        if self.max_concurrent_calls == 0 {
            return invalid("max_concurrent_calls must be at least 1".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values_and_valid() {
        let config = HostConfig::default();
        assert_eq!(config.epoch_deadline, Duration::from_millis(100));
        assert_eq!(config.memory_limit, 64 * 1024 * 1024);
        assert_eq!(config.call_timeout, Duration::from_secs(1));
        assert_eq!(config.quarantine_after, 3);
        assert!(config.pooling_allocator);
        config.validate().unwrap();
    }

    #[test]
    fn nonsense_is_rejected_with_the_field_named() {
        let cases = [
            (
                HostConfig::default().with_epoch_deadline(Duration::from_millis(1)),
                "epoch_deadline",
            ),
            (
                HostConfig::default().with_call_timeout(Duration::ZERO),
                "call_timeout",
            ),
            (
                HostConfig::default().with_memory_limit(4096),
                "memory_limit",
            ),
            (
                HostConfig::default().with_quarantine_after(0),
                "quarantine_after",
            ),
            (
                HostConfig::default().with_max_concurrent_calls(0),
                "max_concurrent_calls",
            ),
        ];
        for (config, field) in cases {
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }
}
