//! Worker image manifests: what an image contains ([`Manifest`]), the rules every field
//! follows ([`validate_manifest`]), its canonical bytes ([`canonical_bytes`]) and its content
//! id ([`ManifestId`], `sha256:<hex>` of the canonical bytes).
//!
//! **Canonical form.** RFC 8785 (JCS) as implemented by `serde_jcs`: object keys sorted by
//! UTF-16 code units, no insignificant whitespace, UTF-8, strings escaped minimally. The
//! manifest holds only strings, string maps (`BTreeMap`), string sets (`BTreeSet`, serialised
//! sorted) and string lists — no numbers, so JCS's float formatting never comes into play, and
//! every validated string is printable ASCII, so UTF-16 order is byte order and no Unicode
//! normalisation question arises. `kernel_args` keep their order: the kernel command line is
//! ordered, and a different order is a different image.
//!
//! **What is hashed.** Exactly the bytes [`canonical_bytes`] returns — what
//! `accord image manifest ID` prints — so `accord image manifest ID | sha256sum` reproduces the
//! id. The version label (`2026.12.0`, [`crate::version`]) is *not* in the manifest: the id
//! names content, so a rebuild of unchanged content is recognised as the same image rather than
//! published again under a new label. The label lives on the image record
//! ([`crate::lifecycle::ImageRecord`]).
//!
//! **Fields** (every one required; paths as errors name them):
//! - `manifest.api_version`: [`API_VERSION`].
//! - `manifest.os.id` / `.version_id`: `ubuntu` `22.04` or `24.04`.
//! - `manifest.kernel.version`: `6.8.0-88-generic` (dotted numeric, optional `-suffix`).
//! - `manifest.containerd.version`, `manifest.runc.version`: `2.0.6`, `1.2.6`.
//! - `manifest.kubelet.<minor>`: one kubelet per Kubernetes minor the image serves; every key
//!   a supported minor written `1.32` ([`accord_core::validation::SUPPORTED_VERSIONS`]), every
//!   value a `1.32.<patch>` of that minor. Not every supported minor must be present.
//! - `manifest.gpu_driver.branch` ([`DRIVER_BRANCHES`]) and `.version` (`570.195.03`).
//! - `manifest.fabric_manager.version`: equal to the GPU driver's (NVIDIA ships them in lock
//!   step; a mismatch keeps NVSwitch systems from starting the fabric).
//! - `manifest.doca_ofed.version`: `24.10-2.1.8.0`; `manifest.cuda_compat.version`: `12.8`.
//! - `manifest.firmware.<component>`: minimum firmware, e.g. `connectx7: 28.43.2026`.
//! - `manifest.instance_types`: the instance types the image is qualified for, each one known
//!   to the caller's catalogue (passed in: this crate does not depend on the simulator).
//! - `manifest.base.sysctls`, `.kernel_args`, `.hardening` ([`HARDENING_PROFILES`]).
//!
//! Invariants: the id is a pure function of the canonical bytes; [`parse_canonical`] accepts
//! only bytes that re-serialise to themselves; documents are measured before they are parsed.

use std::collections::{BTreeMap, BTreeSet};
use std::{fmt, str::FromStr};

use accord_core::validation::{KubeVersion, quote};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Errors, ImageError};
use crate::limits::{
    MAX_FIRMWARE, MAX_FIRMWARE_NAME_CHARS, MAX_INSTANCE_TYPE_CHARS, MAX_INSTANCE_TYPES,
    MAX_KERNEL_ARG_CHARS, MAX_KERNEL_ARGS, MAX_KUBELETS, MAX_MANIFEST_BYTES, MAX_SYSCTL_KEY_CHARS,
    MAX_SYSCTL_VALUE_CHARS, MAX_SYSCTLS, MAX_VERSION_CHARS,
};

/// The manifest format this crate writes and reads.
pub const API_VERSION: &str = "image.accord.dev/v1";
/// Operating systems images are built on (`os.id`).
pub const OS_IDS: [&str; 1] = ["ubuntu"];
/// Releases of them (`os.version_id`).
pub const OS_VERSIONS: [&str; 2] = ["22.04", "24.04"];
/// NVIDIA driver branches (`gpu_driver.branch`).
pub const DRIVER_BRANCHES: [&str; 3] = ["lts", "production", "new_feature"];
/// Hardening profiles of the base configuration (`base.hardening`).
pub const HARDENING_PROFILES: [&str; 2] = ["cis_level1", "cis_level2"];
/// Prefix of every manifest id.
pub const ID_PREFIX: &str = "sha256:";

/// What a worker image contains. Field docs are in the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Manifest {
    /// [`API_VERSION`].
    pub api_version: String,
    /// The OS release.
    pub os: OsRelease,
    /// The kernel.
    pub kernel: Pinned,
    /// containerd.
    pub containerd: Pinned,
    /// runc.
    pub runc: Pinned,
    /// Kubernetes minor (`1.32`) → kubelet version (`1.32.9`).
    pub kubelet: BTreeMap<String, String>,
    /// The NVIDIA driver.
    pub gpu_driver: GpuDriver,
    /// NVIDIA Fabric Manager (same version as the driver).
    pub fabric_manager: Pinned,
    /// NVIDIA DOCA-OFED (the InfiniBand / RDMA stack).
    pub doca_ofed: Pinned,
    /// The CUDA forward-compatibility package.
    pub cuda_compat: Pinned,
    /// Firmware component → minimum version the image requires.
    pub firmware: BTreeMap<String, String>,
    /// Instance types the image is qualified for.
    pub instance_types: BTreeSet<String>,
    /// The base configuration.
    pub base: BaseConfig,
}

/// An OS release, as `/etc/os-release` names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OsRelease {
    /// `ID`, e.g. `ubuntu`.
    pub id: String,
    /// `VERSION_ID`, e.g. `24.04`.
    pub version_id: String,
}

/// A component pinned to one version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pinned {
    /// The version.
    pub version: String,
}

/// The GPU driver: its branch and version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpuDriver {
    /// One of [`DRIVER_BRANCHES`].
    pub branch: String,
    /// E.g. `570.195.03`.
    pub version: String,
}

/// Node configuration the image bakes in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaseConfig {
    /// Sysctl key → value.
    pub sysctls: BTreeMap<String, String>,
    /// Kernel command-line arguments, in order.
    pub kernel_args: Vec<String>,
    /// One of [`HARDENING_PROFILES`].
    pub hardening: String,
}

/// A manifest's content id: `sha256:` and the lowercase hex SHA-256 of its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManifestId([u8; 32]);

impl ManifestId {
    /// The id of `canonical` (the caller vouches that the bytes are canonical).
    pub fn of_bytes(canonical: &[u8]) -> Self {
        Self(Sha256::digest(canonical).into())
    }

    /// The raw SHA-256 digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ManifestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ID_PREFIX}{}", hex::encode(self.0))
    }
}

impl FromStr for ManifestId {
    type Err = String;

    /// Accepts exactly `sha256:` and 64 lowercase hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{} is not a manifest id (sha256:<64 hex digits>)", quote(s));
        let hex_part = s.strip_prefix(ID_PREFIX).ok_or_else(bad)?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut digest).map_err(|_| bad())?;
        Ok(Self(digest))
    }
}

impl Serialize for ManifestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ManifestId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A validated manifest with its canonical bytes and id, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedManifest {
    /// The manifest.
    pub manifest: Manifest,
    /// Its canonical bytes (what is hashed and what `accord image manifest` prints).
    pub bytes: Vec<u8>,
    /// `sha256` of [`Self::bytes`].
    pub id: ManifestId,
}

/// The canonical (RFC 8785) bytes of `manifest`.
pub fn canonical_bytes(manifest: &Manifest) -> Result<Vec<u8>, ImageError> {
    // Only maps with non-string keys or non-finite floats make JCS fail; a manifest has neither.
    serde_jcs::to_vec(manifest)
        .map_err(|e| ImageError::Internal(format!("canonical manifest serialisation: {e}")))
}

/// The content id of `manifest`.
pub fn manifest_id(manifest: &Manifest) -> Result<ManifestId, ImageError> {
    canonical_bytes(manifest).map(|b| ManifestId::of_bytes(&b))
}

/// Validates `manifest` and computes its canonical bytes and id.
pub fn seal<S: AsRef<str>>(
    manifest: Manifest,
    known_instance_types: &[S],
) -> Result<SealedManifest, ImageError> {
    validate_manifest(&manifest, known_instance_types)?;
    let bytes = canonical_bytes(&manifest)?;
    let id = ManifestId::of_bytes(&bytes);
    Ok(SealedManifest {
        manifest,
        bytes,
        id,
    })
}

/// Parses a manifest written as YAML (what an operator hands to `accord image build -f`).
pub fn parse_manifest_yaml(text: &str) -> Result<Manifest, ImageError> {
    check_size("manifest", text.len(), MAX_MANIFEST_BYTES)?;
    serde_norway::from_str(text).map_err(|e| parse_error("manifest", &e.to_string()))
}

/// Parses a manifest written as JSON (any key order, any whitespace).
pub fn parse_manifest_json(bytes: &[u8]) -> Result<Manifest, ImageError> {
    check_size("manifest", bytes.len(), MAX_MANIFEST_BYTES)?;
    serde_json::from_slice(bytes).map_err(|e| parse_error("manifest", &e.to_string()))
}

/// Parses bytes that must already be canonical (a stored manifest, a downloaded one whose id
/// is about to be checked): refused when they do not re-serialise to themselves. Does not
/// validate the fields: call [`validate_manifest`] for that.
pub fn parse_canonical(bytes: &[u8]) -> Result<Manifest, ImageError> {
    let manifest = parse_manifest_json(bytes)?;
    if canonical_bytes(&manifest)? != bytes {
        return Err(ImageError::invalid(
            "manifest",
            "is not in canonical form (RFC 8785: sorted keys, no whitespace)",
        ));
    }
    Ok(manifest)
}

pub(crate) fn check_size(field: &str, len: usize, max: usize) -> Result<(), ImageError> {
    if len > max {
        return Err(ImageError::invalid(
            field,
            format!("must be at most {max} bytes (has {len})"),
        ));
    }
    Ok(())
}

/// A parser's message, bounded: serde's messages name the unknown or mistyped field and its
/// line, and may quote input, so they are cut like any echoed value.
pub(crate) fn parse_error(field: &str, message: &str) -> ImageError {
    ImageError::invalid(
        field,
        format!("does not parse: {}", accord_core::error::echo(message)),
    )
}

/// Checks every field of `manifest`; all problems are reported at once, each naming its path.
pub fn validate_manifest<S: AsRef<str>>(
    manifest: &Manifest,
    known_instance_types: &[S],
) -> Result<(), ImageError> {
    let mut errors = Errors::new();
    let m = manifest;
    if m.api_version != API_VERSION {
        errors.push(
            "manifest.api_version",
            format!("must be {API_VERSION} (has {})", quote(&m.api_version)),
        );
    }
    one_of(&mut errors, "manifest.os.id", &m.os.id, &OS_IDS);
    one_of(
        &mut errors,
        "manifest.os.version_id",
        &m.os.version_id,
        &OS_VERSIONS,
    );
    version(
        &mut errors,
        "manifest.kernel.version",
        &m.kernel.version,
        kernel_version,
    );
    let three = |v: &str| dotted(v, 3, 3);
    version(
        &mut errors,
        "manifest.containerd.version",
        &m.containerd.version,
        three,
    );
    version(&mut errors, "manifest.runc.version", &m.runc.version, three);
    kubelets(&mut errors, &m.kubelet);
    one_of(
        &mut errors,
        "manifest.gpu_driver.branch",
        &m.gpu_driver.branch,
        &DRIVER_BRANCHES,
    );
    let driver = |v: &str| dotted(v, 2, 3);
    let driver_ok = version(
        &mut errors,
        "manifest.gpu_driver.version",
        &m.gpu_driver.version,
        driver,
    );
    let fm_ok = version(
        &mut errors,
        "manifest.fabric_manager.version",
        &m.fabric_manager.version,
        driver,
    );
    if driver_ok && fm_ok && m.fabric_manager.version != m.gpu_driver.version {
        errors.push(
            "manifest.fabric_manager.version",
            format!(
                "must equal the GPU driver's version {} (has {})",
                quote(&m.gpu_driver.version),
                quote(&m.fabric_manager.version)
            ),
        );
    }
    version(
        &mut errors,
        "manifest.doca_ofed.version",
        &m.doca_ofed.version,
        ofed_version,
    );
    version(
        &mut errors,
        "manifest.cuda_compat.version",
        &m.cuda_compat.version,
        |v| dotted(v, 2, 2),
    );
    firmware(&mut errors, &m.firmware);
    instance_types(&mut errors, &m.instance_types, known_instance_types);
    base(&mut errors, &m.base);
    errors.into_result(())
}

fn one_of(errors: &mut Errors, field: &str, value: &str, allowed: &[&str]) {
    if value.is_empty() {
        errors.push(field, "is required");
    } else if !allowed.contains(&value) {
        errors.push(
            field,
            format!("{} must be one of {}", quote(value), allowed.join(", ")),
        );
    }
}

/// Checks a required, bounded version; whether it passed.
fn version(errors: &mut Errors, field: &str, value: &str, rule: impl Fn(&str) -> bool) -> bool {
    let message = if value.is_empty() {
        "is required".to_owned()
    } else if value.len() > MAX_VERSION_CHARS {
        format!(
            "must be at most {MAX_VERSION_CHARS} characters (has {})",
            value.len()
        )
    } else if !rule(value) {
        format!("{} is not a valid version here", quote(value))
    } else {
        return true;
    };
    errors.push(field, message);
    false
}

/// `min..=max` dot-separated runs of ASCII digits.
pub(crate) fn dotted(value: &str, min: usize, max: usize) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    (min..=max).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `6.8.0` or `6.8.0-88-generic`.
pub(crate) fn kernel_version(value: &str) -> bool {
    let (numbers, suffix) = value.split_once('-').unwrap_or((value, ""));
    dotted(numbers, 3, 3)
        && (value.len() == numbers.len()
            || (!suffix.is_empty()
                && !suffix.ends_with('-')
                && !suffix.ends_with('.')
                && suffix.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                })))
}

/// `24.10` or `24.10-2.1.8.0`.
pub(crate) fn ofed_version(value: &str) -> bool {
    match value.split_once('-') {
        Some((release, build)) => dotted(release, 2, 2) && dotted(build, 1, 5),
        None => dotted(value, 2, 2),
    }
}

fn kubelets(errors: &mut Errors, kubelet: &BTreeMap<String, String>) {
    if kubelet.is_empty() {
        errors.push(
            "manifest.kubelet",
            "needs a kubelet for at least one Kubernetes minor",
        );
        return;
    }
    if kubelet.len() > MAX_KUBELETS {
        errors.push(
            "manifest.kubelet",
            format!(
                "must list at most {MAX_KUBELETS} minors (has {})",
                kubelet.len()
            ),
        );
        return;
    }
    for (minor, patch) in kubelet {
        let field = format!("manifest.kubelet.{}", accord_core::error::echo(minor));
        let parsed = match KubeVersion::parse_supported(minor) {
            Ok(v) if v.to_string() == *minor => v,
            Ok(v) => {
                errors.push(field, format!("write the minor as {v}"));
                continue;
            }
            Err(message) => {
                errors.push(field, message);
                continue;
            }
        };
        let ok = dotted(patch, 3, 3)
            && patch.len() <= MAX_VERSION_CHARS
            && patch.parse::<KubeVersion>().is_ok_and(|v| v == parsed);
        if !ok {
            errors.push(
                field,
                format!(
                    "{} must be a {parsed}.<patch> kubelet version",
                    quote(patch)
                ),
            );
        }
    }
}

fn firmware(errors: &mut Errors, firmware: &BTreeMap<String, String>) {
    if firmware.len() > MAX_FIRMWARE {
        errors.push(
            "manifest.firmware",
            format!(
                "must list at most {MAX_FIRMWARE} components (has {})",
                firmware.len()
            ),
        );
        return;
    }
    for (name, minimum) in firmware {
        let name_ok = name.len() <= MAX_FIRMWARE_NAME_CHARS
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            errors.push(
                "manifest.firmware",
                format!(
                    "{} is not a firmware component name (lowercase letters, digits, '_', at most {MAX_FIRMWARE_NAME_CHARS})",
                    quote(name)
                ),
            );
            continue;
        }
        // Firmware versions mix decimal and hex segments (a VBIOS is `96.00.9F.00.01`).
        let rule = |v: &str| {
            v.bytes().next().is_some_and(|b| b.is_ascii_digit())
                && v.split('.').count() <= 6
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        };
        version(errors, &format!("manifest.firmware.{name}"), minimum, rule);
    }
}

fn instance_types<S: AsRef<str>>(errors: &mut Errors, types: &BTreeSet<String>, known: &[S]) {
    const FIELD: &str = "manifest.instance_types";
    if types.is_empty() {
        errors.push(
            FIELD,
            "needs at least one instance type the image is qualified for",
        );
        return;
    }
    if types.len() > MAX_INSTANCE_TYPES {
        errors.push(
            FIELD,
            format!(
                "must list at most {MAX_INSTANCE_TYPES} (has {})",
                types.len()
            ),
        );
        return;
    }
    for name in types {
        if name.len() > MAX_INSTANCE_TYPE_CHARS || !known.iter().any(|k| k.as_ref() == name) {
            errors.push(FIELD, format!("unknown instance type {}", quote(name)));
        }
    }
}

fn base(errors: &mut Errors, base: &BaseConfig) {
    if base.sysctls.len() > MAX_SYSCTLS {
        errors.push(
            "manifest.base.sysctls",
            format!(
                "must list at most {MAX_SYSCTLS} (has {})",
                base.sysctls.len()
            ),
        );
    } else {
        for (key, value) in &base.sysctls {
            if !sysctl_key(key) {
                errors.push(
                    "manifest.base.sysctls",
                    format!(
                        "{} is not a sysctl key (e.g. net.core.rmem_max)",
                        quote(key)
                    ),
                );
                continue;
            }
            let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
            if value.is_empty()
                || value.len() > MAX_SYSCTL_VALUE_CHARS
                || !printable
                || value.trim() != value
            {
                errors.push(
                    format!("manifest.base.sysctls.{key}"),
                    format!(
                        "{} must be 1–{MAX_SYSCTL_VALUE_CHARS} printable ASCII characters without surrounding spaces",
                        quote(value)
                    ),
                );
            }
        }
    }
    if base.kernel_args.len() > MAX_KERNEL_ARGS {
        errors.push(
            "manifest.base.kernel_args",
            format!(
                "must list at most {MAX_KERNEL_ARGS} (has {})",
                base.kernel_args.len()
            ),
        );
    } else {
        let mut seen = BTreeSet::new();
        for (i, arg) in base.kernel_args.iter().enumerate() {
            let field = format!("manifest.base.kernel_args[{i}]");
            let ok = !arg.is_empty()
                && arg.len() <= MAX_KERNEL_ARG_CHARS
                && arg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.,=:/-".contains(&b));
            if !ok {
                errors.push(field, format!("{} is not a kernel argument", quote(arg)));
            } else if !seen.insert(arg) {
                errors.push(field, format!("{} is listed twice", quote(arg)));
            }
        }
    }
    one_of(
        errors,
        "manifest.base.hardening",
        &base.hardening,
        &HARDENING_PROFILES,
    );
}

/// `net.core.rmem_max`: at least two segments of lowercase letters, digits and `_`, separated
/// by `.` (sysctl's `/` form is refused so one setting has one spelling).
fn sysctl_key(key: &str) -> bool {
    key.len() <= MAX_SYSCTL_KEY_CHARS
        && key.split('.').count() >= 2
        && key.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
}
