//! The `accord:plugin/log` import: plugin log lines become `tracing` events with target
//! `accord_plugin` and the plugin's name as the `plugin` field.
//!
//! Invariants:
//! - Logging never blocks and never fails the call: a message longer than
//!   [`MAX_MESSAGE_BYTES`] is cut (at a character boundary) and marked, and after
//!   [`MAX_LINES_PER_CALL`] lines in one call the rest are counted and dropped, with one
//!   warning saying so.

use crate::bindings;
use crate::store::CallState;

/// Longest message kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Lines one call may log.
pub const MAX_LINES_PER_CALL: u32 = 100;

/// Log lines left for the current call.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    used: u32,
}

/// The WIT level, shared by every world's bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Implements one world's `log` and `types` hosts over [`emit`]: each bindgen module has its
/// own copy of the traits, and every world's `log` is the same interface.
macro_rules! log_host {
    ($world:ident) => {
        impl bindings::$world::accord::plugin::log::Host for CallState {
            fn log(
                &mut self,
                level: bindings::$world::accord::plugin::log::Level,
                message: String,
            ) {
                use bindings::$world::accord::plugin::log::Level as L;
                let level = match level {
                    L::Trace => Level::Trace,
                    L::Debug => Level::Debug,
                    L::Info => Level::Info,
                    L::Warn => Level::Warn,
                    L::Error => Level::Error,
                };
                emit(self, level, &message);
            }
        }

        impl bindings::$world::accord::plugin::types::Host for CallState {}
    };
}

log_host!(policy_v02);
log_host!(policy_v01);
log_host!(addon);

fn emit(state: &mut CallState, level: Level, message: &str) {
    state.log_budget.used = state.log_budget.used.saturating_add(1);
    let plugin = &*state.plugin;
    if state.log_budget.used > MAX_LINES_PER_CALL {
        if state.log_budget.used == MAX_LINES_PER_CALL + 1 {
            tracing::warn!(
                target: "accord_plugin",
                plugin,
                "plugin logged more than {MAX_LINES_PER_CALL} lines in one call; dropping the rest"
            );
        }
        return;
    }
    let message = truncate(message, MAX_MESSAGE_BYTES);
    match level {
        Level::Trace => tracing::trace!(target: "accord_plugin", plugin, "{message}"),
        Level::Debug => tracing::debug!(target: "accord_plugin", plugin, "{message}"),
        Level::Info => tracing::info!(target: "accord_plugin", plugin, "{message}"),
        Level::Warn => tracing::warn!(target: "accord_plugin", plugin, "{message}"),
        Level::Error => tracing::error!(target: "accord_plugin", plugin, "{message}"),
    }
}

/// `message` cut to at most `max` bytes at a character boundary, with a marker saying how
/// much was cut.
fn truncate(message: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if message.len() <= max {
        return message.into();
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &message[..end], message.len() - end).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_kept() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        // "é" is two bytes: cutting at 3 would split the second one
        assert_eq!(truncate("éééé", 3), "é… (6 bytes cut)");
        assert_eq!(
            truncate(&"x".repeat(2000), 1024).len(),
            1024 + "… (976 bytes cut)".len()
        );
    }
}
