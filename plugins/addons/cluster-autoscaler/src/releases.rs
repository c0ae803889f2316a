//! Cluster Autoscaler releases of the provider's build. Upstream releases one autoscaler minor
//! per Kubernetes minor and supports it only with that control-plane minor, so rendering checks
//! the match.
//!
//! Invariant: oldest first, one per Kubernetes minor Accord offers; [`DEFAULT`] matches Accord's
//! default Kubernetes version (1.32).

/// The catalogue, oldest first.
pub const RELEASES: &[&str] = &["1.30.4", "1.31.2", "1.32.1", "1.33.0"];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "1.32.1";

/// The catalogue spelling of `version`.
pub fn find(version: &str) -> Result<&'static str, String> {
    addon_kit::versions::find(RELEASES, version, |r| r).copied()
}
