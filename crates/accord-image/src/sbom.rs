//! The software bill of materials of a built worker image: a **CycloneDX 1.6 JSON** document
//! generated from the image's packages (OS packages, kernel, containerd, runc, kubelet, the
//! NVIDIA driver, fabric manager, DOCA-OFED, CUDA compat, firmware), and its summary for
//! `accord describe image`.
//!
//! The input is this module's own [`SbomInput`] (the image's id, name, version, digest and
//! packages) so that it does not depend on the manifest model; the service maps a manifest onto
//! it. [`Package::deb`] and [`Package::generic`] build the usual package kinds.
//!
//! Why serde structs and not the `cyclonedx-bom` crate: its newest release (0.8.1) serialises
//! at most spec 1.5, pulls in about ten crates the workspace does not have (xml-rs, spdx with
//! its licence tables, uuid, fluent-uri, purl, strum, ordered-float, a proc-macro crate), and
//! wraps every string in its own validated types. We need a dozen fields of one format; the
//! format's own validator (Python `cyclonedx-python-lib`'s `JsonStrictValidator`) checks the
//! output in the test suite.
//!
//! Invariants:
//! - **Deterministic**: the same input gives byte-identical JSON. Components are sorted by
//!   `bom-ref`, properties by name, there are no maps with unspecified order, and the timestamp
//!   is the caller's (`created_at`, rendered in UTC, RFC 3339).
//! - **Serial number** (`urn:uuid:…`) is a name-based UUID derived from the image id alone:
//!   RFC 9562 UUIDv8 with SHA-256, as in its Appendix B.2 — the first 16 bytes of
//!   SHA-256([`SERIAL_NAMESPACE`] ‖ image id) with the version nibble set to 8 and the variant
//!   bits to `10`. (UUIDv5 would mean SHA-1; the CycloneDX 1.6 schema accepts any version.)
//!   An image id names immutable content, so one serial number with `version: 1` is right.
//! - `metadata.component` is the image itself (type `operating-system`: a bootable worker OS
//!   image, not an OCI container) with its SHA-256 hash = the image digest, and the dependency
//!   graph says the image contains every component.
//! - Every `bom-ref` is unique (a component's purl, else `name@version`); duplicates are
//!   refused, not merged.
//! - Bounded: at most [`MAX_PACKAGES`] packages, each text field at most [`MAX_TEXT`] bytes and
//!   free of hidden characters; errors quote values only through
//!   [`accord_core::validation::quote`].
//! - purls are built with the purl spec's percent-encoding (everything but `A–Z a–z 0–9 . - _ ~`
//!   and `:` is encoded; qualifiers sorted by key): `pkg:deb/ubuntu/NAME@VERSION?arch=…&distro=…`
//!   and `pkg:generic/NAMESPACE/NAME@VERSION`.

use std::collections::BTreeMap;

use accord_core::validation::{plain_text, quote};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

/// `bomFormat`.
pub const BOM_FORMAT: &str = "CycloneDX";
/// `specVersion`.
pub const SPEC_VERSION: &str = "1.6";
/// `$schema`.
pub const SCHEMA_URL: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
/// The namespace of the serial numbers' name-based UUIDs (fixed forever: changing it changes
/// every image's serial number).
pub const SERIAL_NAMESPACE: [u8; 16] = [
    0x6f, 0x1c, 0x3a, 0x52, 0x9e, 0x0b, 0x4d, 0x27, 0x8a, 0x41, 0xc5, 0x7e, 0x13, 0xd2, 0x90, 0x6b,
];
/// Packages in one SBOM (a GPU worker image has about 1–2 thousand).
pub const MAX_PACKAGES: usize = 20_000;
/// Bytes in one text field (name, version, supplier, licence, property).
pub const MAX_TEXT: usize = 256;
/// Bytes in an explicit purl.
pub const MAX_PURL: usize = 1024;
/// Properties on one package.
pub const MAX_PROPERTIES: usize = 16;

/// What the SBOM is generated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomInput {
    /// The image's id (its content id); the serial number derives from it.
    pub image_id: String,
    /// The image's name, e.g. `accord-worker-ubuntu-22.04-h100`.
    pub name: String,
    /// The image's version.
    pub version: String,
    /// The image digest: 64 hex digits, optionally prefixed `sha256:`.
    pub digest: String,
    /// Everything the image contains.
    pub packages: Vec<Package>,
    /// When the SBOM was created (passed in: the engine has no clock).
    pub created_at: OffsetDateTime,
}

/// One package of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The CycloneDX component type.
    pub kind: ComponentKind,
    /// Where the package comes from, which gives its purl; `None`: no purl.
    pub origin: Option<Origin>,
    pub licence: Option<Licence>,
    /// The supplier's name (`Canonical`, `NVIDIA`).
    pub supplier: Option<String>,
    /// SHA-256 of the artefact, 64 hex digits.
    pub sha256: Option<String>,
    /// Extra facts, e.g. `accord:driver-branch` = `550`.
    pub properties: BTreeMap<String, String>,
}

impl Package {
    /// An Ubuntu (or other Debian-family) package: `pkg:deb/DISTRO/NAME@VERSION?arch=…&distro=…`.
    pub fn deb(distro: &str, distro_release: &str, arch: &str, name: &str, version: &str) -> Self {
        Self::bare(name, version, ComponentKind::Library).with_origin(Origin::Deb {
            distro: distro.into(),
            distro_release: distro_release.into(),
            arch: arch.into(),
        })
    }

    /// A package without a standard purl type: `pkg:generic/NAMESPACE/NAME@VERSION`.
    pub fn generic(namespace: &str, name: &str, version: &str, kind: ComponentKind) -> Self {
        Self::bare(name, version, kind).with_origin(Origin::Generic {
            namespace: Some(namespace.into()),
        })
    }

    /// A package with no origin (and so no purl).
    pub fn bare(name: &str, version: &str, kind: ComponentKind) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            kind,
            origin: None,
            licence: None,
            supplier: None,
            sha256: None,
            properties: BTreeMap::new(),
        }
    }

    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }
    pub fn with_kind(mut self, kind: ComponentKind) -> Self {
        self.kind = kind;
        self
    }
    pub fn with_licence(mut self, licence: Licence) -> Self {
        self.licence = Some(licence);
        self
    }
    pub fn with_supplier(mut self, supplier: &str) -> Self {
        self.supplier = Some(supplier.into());
        self
    }
    pub fn with_sha256(mut self, hex: &str) -> Self {
        self.sha256 = Some(hex.into());
        self
    }
    pub fn with_property(mut self, name: &str, value: &str) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }
}

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A Debian-family package, e.g. distro `ubuntu`, release `ubuntu-22.04`, arch `amd64`.
    Deb {
        distro: String,
        distro_release: String,
        arch: String,
    },
    /// No standard purl type (vendor tarballs and `.run` installers).
    Generic { namespace: Option<String> },
    /// A purl the caller already has (`pkg:github/containerd/containerd@v1.7.20`).
    Purl(String),
}

/// A package's licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Licence {
    /// An SPDX licence expression (`GPL-2.0-only`, `Apache-2.0 OR MIT`).
    Spdx(String),
    /// A licence without an SPDX id (`NVIDIA Software License`).
    Named(String),
}

/// The CycloneDX component types an image's SBOM uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    Application,
    Framework,
    Library,
    Container,
    Platform,
    OperatingSystem,
    DeviceDriver,
    Firmware,
    File,
}

impl ComponentKind {
    /// The spelling in the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Framework => "framework",
            Self::Library => "library",
            Self::Container => "container",
            Self::Platform => "platform",
            Self::OperatingSystem => "operating-system",
            Self::DeviceDriver => "device-driver",
            Self::Firmware => "firmware",
            Self::File => "file",
        }
    }
}

/// Why no SBOM could be generated. Each names its field; values are quoted bounded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbomError {
    #[error("{field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
    #[error("packages: at most {MAX_PACKAGES} packages, got {0}")]
    TooManyPackages(usize),
    #[error("{field}: component {bom_ref} appears twice")]
    Duplicate { field: String, bom_ref: String },
}

fn invalid(field: &str, reason: impl Into<String>) -> SbomError {
    SbomError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

// ---- the document (the subset of CycloneDX 1.6 we write) ----

/// A CycloneDX 1.6 BOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    #[serde(rename = "$schema")]
    pub schema: String,
    pub bom_format: String,
    pub spec_version: String,
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub timestamp: String,
    pub tools: Tools,
    pub component: Component,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tools {
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: ComponentKind,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Supplier>,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hash {
    pub alg: String,
    pub content: String,
}

/// One entry of `licenses`: a named licence or a single SPDX expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LicenseChoice {
    Expression { expression: String },
    License { license: NamedLicense },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLicense {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl Bom {
    /// The document as compact JSON (deterministic: struct field order, sorted lists).
    pub fn to_json(&self) -> String {
        // Serialising these plain structs (strings, integers, vectors) cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The document as indented JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a stored document back (e.g. to [`summary`] it).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// What `accord describe image` shows of an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomSummary {
    /// Components, the image itself not counted.
    pub components: usize,
    /// Components per CycloneDX type.
    pub by_type: BTreeMap<ComponentKind, usize>,
    /// `CycloneDX`.
    pub format: String,
    /// `1.6`.
    pub spec_version: String,
}

/// The summary of `bom`.
pub fn summary(bom: &Bom) -> SbomSummary {
    let mut by_type = BTreeMap::new();
    for component in &bom.components {
        *by_type.entry(component.kind).or_insert(0) += 1;
    }
    SbomSummary {
        components: bom.components.len(),
        by_type,
        format: bom.bom_format.clone(),
        spec_version: bom.spec_version.clone(),
    }
}

/// The SBOM of the image described by `input`.
pub fn generate(input: &SbomInput) -> Result<Bom, SbomError> {
    text("image_id", &input.image_id)?;
    text("name", &input.name)?;
    text("version", &input.version)?;
    let digest = sha256_hex("digest", &input.digest)?;
    if input.packages.len() > MAX_PACKAGES {
        return Err(SbomError::TooManyPackages(input.packages.len()));
    }
    let timestamp = input
        .created_at
        .to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|_| {
            invalid(
                "created_at",
                "cannot be written in RFC 3339 (year past 9999?)",
            )
        })?;

    let mut components = input
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| component(&format!("packages[{i}]"), p))
        .collect::<Result<Vec<_>, _>>()?;
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    for pair in components.windows(2) {
        if pair[0].bom_ref == pair[1].bom_ref {
            return Err(SbomError::Duplicate {
                field: "packages".into(),
                bom_ref: quote(pair[0].bom_ref.as_deref().unwrap_or_default()),
            });
        }
    }

    let image_ref = format!("accord-image:{}", input.image_id);
    let image = Component {
        kind: ComponentKind::OperatingSystem,
        bom_ref: Some(image_ref.clone()),
        supplier: None,
        name: input.name.clone(),
        version: input.version.clone(),
        hashes: vec![Hash {
            alg: "SHA-256".into(),
            content: digest,
        }],
        licenses: Vec::new(),
        purl: None,
        properties: vec![Property {
            name: "accord:image-id".into(),
            value: input.image_id.clone(),
        }],
    };
    let tool = Component {
        kind: ComponentKind::Application,
        bom_ref: None,
        supplier: None,
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        hashes: Vec::new(),
        licenses: Vec::new(),
        purl: None,
        properties: Vec::new(),
    };
    let mut dependencies = vec![Dependency {
        reference: image_ref,
        depends_on: components
            .iter()
            .filter_map(|c| c.bom_ref.clone())
            .collect(),
    }];
    // Every component is in the graph; what each depends on is not known (empty).
    dependencies.extend(components.iter().filter_map(|c| {
        c.bom_ref.clone().map(|r| Dependency {
            reference: r,
            depends_on: Vec::new(),
        })
    }));

    Ok(Bom {
        schema: SCHEMA_URL.into(),
        bom_format: BOM_FORMAT.into(),
        spec_version: SPEC_VERSION.into(),
        serial_number: serial_number(&input.image_id),
        version: 1,
        metadata: Metadata {
            timestamp,
            tools: Tools {
                components: vec![tool],
            },
            component: image,
        },
        components,
        dependencies,
    })
}

/// `urn:uuid:` + the name-based UUIDv8 (SHA-256) of `image_id` in [`SERIAL_NAMESPACE`].
pub fn serial_number(image_id: &str) -> String {
    format!(
        "urn:uuid:{}",
        uuid_v8_sha256(&SERIAL_NAMESPACE, image_id.as_bytes())
    )
}

/// RFC 9562 name-based UUIDv8 with SHA-256 (Appendix B.2), in its hyphenated lowercase form.
pub fn uuid_v8_sha256(namespace: &[u8; 16], name: &[u8]) -> String {
    let hash = Sha256::new()
        .chain_update(namespace)
        .chain_update(name)
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn component(field: &str, p: &Package) -> Result<Component, SbomError> {
    text(&format!("{field}.name"), &p.name)?;
    text(&format!("{field}.version"), &p.version)?;
    let purl = match &p.origin {
        None => None,
        Some(origin) => Some(purl(
            &format!("{field}.origin"),
            origin,
            &p.name,
            &p.version,
        )?),
    };
    let supplier = match &p.supplier {
        Some(s) => {
            text(&format!("{field}.supplier"), s)?;
            Some(Supplier { name: s.clone() })
        }
        None => None,
    };
    let licenses = match &p.licence {
        None => Vec::new(),
        Some(Licence::Spdx(expr)) => {
            spdx_expression(&format!("{field}.licence"), expr)?;
            vec![LicenseChoice::Expression {
                expression: expr.clone(),
            }]
        }
        Some(Licence::Named(name)) => {
            text(&format!("{field}.licence"), name)?;
            vec![LicenseChoice::License {
                license: NamedLicense { name: name.clone() },
            }]
        }
    };
    let hashes = match &p.sha256 {
        None => Vec::new(),
        Some(h) => vec![Hash {
            alg: "SHA-256".into(),
            content: sha256_hex(&format!("{field}.sha256"), h)?,
        }],
    };
    if p.properties.len() > MAX_PROPERTIES {
        return Err(invalid(
            &format!("{field}.properties"),
            format!("at most {MAX_PROPERTIES} properties"),
        ));
    }
    let mut properties = Vec::with_capacity(p.properties.len());
    for (name, value) in &p.properties {
        text(&format!("{field}.properties"), name)?;
        text(&format!("{field}.properties[{name}]"), value)?;
        properties.push(Property {
            name: name.clone(),
            value: value.clone(),
        });
    }
    let bom_ref = purl
        .clone()
        .unwrap_or_else(|| format!("{}@{}", p.name, p.version));
    Ok(Component {
        kind: p.kind,
        bom_ref: Some(bom_ref),
        supplier,
        name: p.name.clone(),
        version: p.version.clone(),
        hashes,
        licenses,
        purl,
        properties,
    })
}

/// A text field: present, at most [`MAX_TEXT`] bytes, no hidden characters.
fn text(field: &str, value: &str) -> Result<(), SbomError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if value.len() > MAX_TEXT {
        return Err(invalid(
            field,
            format!("{} is longer than {MAX_TEXT} bytes", quote(value)),
        ));
    }
    plain_text(value).map_err(|reason| invalid(field, reason))
}

/// A purl token (distro, arch, namespace): 1–64 of `a–z 0–9 . - _`.
fn token(field: &str, value: &str) -> Result<(), SbomError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{} is not 1-64 of a-z 0-9 . - _", quote(value)),
        ))
    }
}

/// 64 hex digits (optionally after `sha256:`), returned in lowercase.
fn sha256_hex(field: &str, value: &str) -> Result<String, SbomError> {
    let hex = value.strip_prefix("sha256:").unwrap_or(value);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_lowercase())
    } else {
        Err(invalid(
            field,
            format!("{} is not a SHA-256 digest (64 hex digits)", quote(value)),
        ))
    }
}

/// Light syntax check of an SPDX expression: ids, `AND`/`OR`/`WITH`, parentheses.
fn spdx_expression(field: &str, value: &str) -> Result<(), SbomError> {
    text(field, value)?;
    let ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" .-+:()".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "{} is not an SPDX expression (use Licence::Named)",
                quote(value)
            ),
        ))
    }
}

fn purl(field: &str, origin: &Origin, name: &str, version: &str) -> Result<String, SbomError> {
    let (name, version) = (purl_encode(name), purl_encode(version));
    match origin {
        Origin::Deb {
            distro,
            distro_release,
            arch,
        } => {
            token(&format!("{field}.distro"), distro)?;
            token(&format!("{field}.distro_release"), distro_release)?;
            token(&format!("{field}.arch"), arch)?;
            Ok(format!(
                "pkg:deb/{distro}/{name}@{version}?arch={arch}&distro={distro_release}"
            ))
        }
        Origin::Generic { namespace: None } => Ok(format!("pkg:generic/{name}@{version}")),
        Origin::Generic {
            namespace: Some(ns),
        } => {
            token(&format!("{field}.namespace"), ns)?;
            Ok(format!("pkg:generic/{ns}/{name}@{version}"))
        }
        Origin::Purl(purl) => {
            let ok = purl.len() <= MAX_PURL
                && purl.strip_prefix("pkg:").is_some_and(|rest| {
                    let ty = rest.split('/').next().unwrap_or_default();
                    !ty.is_empty()
                        && rest.len() > ty.len() + 1
                        && ty.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b".+-".contains(&b)
                        })
                })
                && purl.bytes().all(|b| b.is_ascii_graphic());
            if ok {
                Ok(purl.clone())
            } else {
                Err(invalid(
                    &format!("{field}.purl"),
                    format!("{} is not a package URL (pkg:TYPE/…)", quote(purl)),
                ))
            }
        }
    }
}

/// Percent-encodes a purl name or version: unreserved characters and `:` stay.
pub fn purl_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b".-_~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "tests/sbom.rs"]
mod tests;
