//! Watch agent releases (the provider's own image).
//!
//! Invariant: oldest first; [`DEFAULT`] is one of them.

/// The catalogue, oldest first.
pub const RELEASES: &[&str] = &["1.2.3", "1.3.0", "1.4.0"];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "1.4.0";

/// The catalogue spelling of `version`.
pub fn find(version: &str) -> Result<&'static str, String> {
    addon_kit::versions::find(RELEASES, version, |r| r).copied()
}
