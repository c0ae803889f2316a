//! Cilium releases this plugin renders and the Kubernetes minors Accord runs each on (a
//! provider qualification within Cilium's own compatibility list).
//!
//! Invariant: oldest first; [`DEFAULT`] covers every Kubernetes minor Accord offers (1.30–1.33).

/// One Cilium release.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    /// Version, e.g. `1.18.2` (images are tagged `v1.18.2`).
    pub version: &'static str,
    /// Oldest Kubernetes minor (`1.x`) this release is run on.
    pub min_kubernetes: u64,
    /// Newest Kubernetes minor (`1.x`) this release is run on.
    pub max_kubernetes: u64,
}

/// The catalogue, oldest first.
pub const RELEASES: &[Release] = &[
    Release {
        version: "1.16.6",
        min_kubernetes: 27,
        max_kubernetes: 31,
    },
    Release {
        version: "1.17.6",
        min_kubernetes: 28,
        max_kubernetes: 32,
    },
    Release {
        version: "1.18.2",
        min_kubernetes: 30,
        max_kubernetes: 33,
    },
];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "1.18.2";

/// The release named `version`.
pub fn find(version: &str) -> Result<&'static Release, String> {
    addon_kit::versions::find(RELEASES, version, |r| r.version)
}
