//! Network Operator releases this plugin renders, with the component versions each release
//! ships (DOCA-OFED driver container and RDMA shared device plugin).
//!
//! Invariant: oldest first; [`DEFAULT`] is one of them.

/// One Network Operator release.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    /// Chart version, e.g. `25.4.0` (the operator image is tagged `v25.4.0`).
    pub version: &'static str,
    /// DOCA-OFED driver container version installed when `ofedDriver.version` is empty.
    pub default_ofed: &'static str,
    /// RDMA shared device plugin image repository.
    pub rdma_plugin_repository: &'static str,
    /// RDMA shared device plugin image tag.
    pub rdma_plugin_version: &'static str,
}

/// The catalogue, oldest first.
pub const RELEASES: &[Release] = &[
    Release {
        version: "24.10.1",
        default_ofed: "24.10-0.7.0.0-0",
        rdma_plugin_repository: "ghcr.io/mellanox",
        rdma_plugin_version: "v1.5.2",
    },
    Release {
        version: "25.4.0",
        default_ofed: "25.04-0.6.1.0-2",
        rdma_plugin_repository: "nvcr.io/nvidia/mellanox",
        rdma_plugin_version: "network-operator-v25.4.0",
    },
    Release {
        version: "25.7.0",
        default_ofed: "25.07-0.9.7.0-0",
        rdma_plugin_repository: "nvcr.io/nvidia/mellanox",
        rdma_plugin_version: "network-operator-v25.7.0",
    },
];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "25.4.0";

/// The release named `version`.
pub fn find(version: &str) -> Result<&'static Release, String> {
    addon_kit::versions::find(RELEASES, version, |r| r.version)
}
