//! GPU Operator releases this plugin renders, with each release's default data-centre driver
//! and the driver branches Accord qualifies with it (a provider policy, narrower than NVIDIA's
//! own support matrix).
//!
//! Invariant: oldest first; [`DEFAULT`] is one of them.

/// One GPU Operator release.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    /// Chart and operator version, e.g. `v25.3.4`.
    pub version: &'static str,
    /// Driver the release installs when `driver.version` is empty.
    pub default_driver: &'static str,
    /// Driver branches (major versions) allowed in `driver.version` with this release.
    pub driver_branches: &'static [u32],
    /// Whether the chart takes `driver.kernelModuleType` (v25.3+) rather than
    /// `driver.useOpenKernelModules`.
    pub kernel_module_type: bool,
}

/// The catalogue, oldest first.
pub const RELEASES: &[Release] = &[
    Release {
        version: "v24.9.2",
        default_driver: "550.144.03",
        driver_branches: &[535, 550],
        kernel_module_type: false,
    },
    Release {
        version: "v25.3.2",
        default_driver: "570.172.08",
        driver_branches: &[535, 550, 570],
        kernel_module_type: true,
    },
    Release {
        version: "v25.3.4",
        default_driver: "570.195.03",
        driver_branches: &[535, 550, 570],
        kernel_module_type: true,
    },
    Release {
        version: "v25.10.0",
        default_driver: "580.95.05",
        driver_branches: &[570, 580],
        kernel_module_type: true,
    },
];

/// Installed when no version is asked for.
pub const DEFAULT: &str = "v25.3.4";

/// The release named `version`.
pub fn find(version: &str) -> Result<&'static Release, String> {
    addon_kit::versions::find(RELEASES, version, |r| r.version)
}

/// The branch (major) of a driver version: `570.195.03` → 570.
pub fn driver_branch(driver: &str) -> Option<u32> {
    driver.split('.').next()?.parse().ok()
}
