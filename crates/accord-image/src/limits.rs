//! Every bound the image engine enforces (STYLE.md rule 14), in one place.
//!
//! Invariant: parsing and validation never read past these bounds (documents are measured
//! before they are parsed), and no error message repeats more than
//! [`accord_core::error::ECHO_LIMIT`] characters of a caller's value.

/// Largest manifest document accepted (YAML or JSON), bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Largest base-release document (several manifests), bytes.
pub const MAX_BASE_BYTES: usize = 256 * 1024;
/// Manifests one base release may hold (one per GPU driver branch, with room to spare).
pub const MAX_BASE_MANIFESTS: usize = 8;
/// Longest component version (`6.8.0-88-generic`, `24.10-2.1.8.0`).
pub const MAX_VERSION_CHARS: usize = 64;
/// Kubelets one image carries (one per Kubernetes minor).
pub const MAX_KUBELETS: usize = 8;
/// Instance types one image is qualified for.
pub const MAX_INSTANCE_TYPES: usize = 64;
/// Longest instance type name.
pub const MAX_INSTANCE_TYPE_CHARS: usize = 63;
/// Firmware minimums one image states.
pub const MAX_FIRMWARE: usize = 16;
/// Longest firmware component name (`connectx7`).
pub const MAX_FIRMWARE_NAME_CHARS: usize = 32;
/// Sysctls of the base configuration.
pub const MAX_SYSCTLS: usize = 64;
/// Longest sysctl key (`net.ipv4.tcp_rmem`).
pub const MAX_SYSCTL_KEY_CHARS: usize = 128;
/// Longest sysctl value (`4096 87380 134217728`).
pub const MAX_SYSCTL_VALUE_CHARS: usize = 128;
/// Kernel command-line arguments of the base configuration.
pub const MAX_KERNEL_ARGS: usize = 32;
/// Longest kernel command-line argument.
pub const MAX_KERNEL_ARG_CHARS: usize = 128;

/// Largest compatibility matrix document, bytes.
pub const MAX_MATRIX_BYTES: usize = 256 * 1024;
/// Rules one matrix may hold.
pub const MAX_RULES: usize = 512;
/// Longest rule id (`K-OFED-1`).
pub const MAX_RULE_ID_CHARS: usize = 32;
/// Longest version constraint (`>=535,<535.161`).
pub const MAX_CONSTRAINT_CHARS: usize = 64;
/// Instance types one rule may be scoped to.
pub const MAX_RULE_INSTANCE_TYPES: usize = 32;
/// Conflicts a gate refusal names; the rest are counted.
pub const MAX_REPORTED_CONFLICTS: usize = 10;

/// Largest package-archive document, bytes.
pub const MAX_ARCHIVE_BYTES: usize = 64 * 1024;
/// Series one component of the package archive may list.
pub const MAX_ARCHIVE_SERIES: usize = 32;

/// Longest `who` of a lifecycle transition (an operator's identity).
pub const MAX_ACTOR_CHARS: usize = 128;
/// Longest reason of a lifecycle transition or a matrix rule (`CVE-2026-12345: …`).
pub const MAX_REASON_CHARS: usize = 512;
/// Longest GPU driver branch name.
pub const MAX_BRANCH_CHARS: usize = 32;

/// Longest PEM key document accepted.
pub const MAX_KEY_PEM_CHARS: usize = 4096;
/// Longest base64 signature accepted (64 bytes encode to 88 characters).
pub const MAX_SIGNATURE_CHARS: usize = 128;

/// Field errors reported for one input; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 20;
