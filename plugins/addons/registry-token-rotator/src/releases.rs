//! Rotator releases (the provider's own image and chart share the version).
//!
//! Invariant: oldest first; [`DEFAULT`] is one of them.

/// The catalogue, oldest first.
pub const RELEASES: &[&str] = &["0.4.2", "0.5.0", "0.6.1"];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "0.6.1";

/// The catalogue spelling of `version`.
pub fn find(version: &str) -> Result<&'static str, String> {
    addon_kit::versions::find(RELEASES, version, |r| r).copied()
}
