//! CSI driver chart releases (the provider's own chart; chart and image share the version).
//!
//! Invariant: oldest first; [`DEFAULT`] is one of them.

/// The catalogue, oldest first.
pub const RELEASES: &[&str] = &["1.3.2", "1.4.0", "1.5.1"];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "1.5.1";

/// The catalogue spelling of `version`.
pub fn find(version: &str) -> Result<&'static str, String> {
    addon_kit::versions::find(RELEASES, version, |r| r).copied()
}
