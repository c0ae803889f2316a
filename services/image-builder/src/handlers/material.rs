//! What the simulated build farm makes of a manifest. No OS is assembled, but everything the
//! farm emits is real: the gate's verdict, the SBOM document (CycloneDX 1.6,
//! `accord_image::sbom`), and the scan's findings over that document.
//!
//! - [`parse`]: a manifest as the operator wrote it (YAML, or JSON when it starts with `{`);
//! - [`gate`]: the compatibility gate over the manifest alone and over every instance type it
//!   is qualified for (rules scoped to instance types only match then);
//! - [`pinned`]: the components a manifest pins, as the SBOM must list them;
//! - [`sbom`]: the SBOM document of an image;
//! - [`scan`]: every pinned component appears in the SBOM with its pinned version.

use std::collections::BTreeSet;

use accord_core::DomainError;
use accord_image::{
    Manifest, Matrix, Target, check,
    sbom::{self, Bom, ComponentKind, Package, SbomInput},
};
use time::OffsetDateTime;

/// Parses an operator's manifest: JSON when its first non-blank character is `{`, else YAML.
pub fn parse(text: &str) -> Result<Manifest, DomainError> {
    let parsed = if text.trim_start().starts_with('{') {
        accord_image::parse_manifest_json(text.as_bytes())
    } else {
        accord_image::parse_manifest_yaml(text)
    };
    parsed.map_err(DomainError::from)
}

/// Refuses `manifest` when the matrix knows a pair in it to be broken, on its own or on one of
/// the instance types it names (FAILED_PRECONDITION naming the pair and the rule).
pub fn gate(manifest: &Manifest, matrix: &Matrix) -> Result<(), DomainError> {
    let targets =
        std::iter::once(Target::default()).chain(manifest.instance_types.iter().map(|t| Target {
            instance_type: Some(t.as_str()),
            kubernetes: None,
        }));
    for target in targets {
        if let Err(refusal) = check(manifest, &target, matrix) {
            return Err(DomainError::FailedPrecondition(format!(
                "the compatibility matrix (version {}) refuses this manifest: {refusal}",
                matrix.version
            )));
        }
    }
    Ok(())
}

/// One component a manifest pins: its SBOM name, version and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub name: String,
    pub version: String,
    pub kind: ComponentKind,
}

fn pin(name: impl Into<String>, version: &str, kind: ComponentKind) -> Pin {
    Pin {
        name: name.into(),
        version: version.to_owned(),
        kind,
    }
}

/// Every component `manifest` pins: the OS release, kernel, containerd, runc, one kubelet per
/// Kubernetes minor, the GPU driver, fabric manager, DOCA-OFED, CUDA compat and each firmware
/// minimum.
pub fn pinned(m: &Manifest) -> Vec<Pin> {
    let mut out = vec![
        pin(
            m.os.id.as_str(),
            &m.os.version_id,
            ComponentKind::OperatingSystem,
        ),
        pin(
            "linux-image",
            &m.kernel.version,
            ComponentKind::OperatingSystem,
        ),
        pin(
            "containerd",
            &m.containerd.version,
            ComponentKind::Application,
        ),
        pin("runc", &m.runc.version, ComponentKind::Application),
    ];
    out.extend(
        m.kubelet
            .values()
            .map(|v| pin("kubelet", v, ComponentKind::Application)),
    );
    out.extend([
        pin(
            "nvidia-driver",
            &m.gpu_driver.version,
            ComponentKind::DeviceDriver,
        ),
        pin(
            "nvidia-fabricmanager",
            &m.fabric_manager.version,
            ComponentKind::Application,
        ),
        pin(
            "doca-ofed",
            &m.doca_ofed.version,
            ComponentKind::DeviceDriver,
        ),
        pin(
            "cuda-compat",
            &m.cuda_compat.version,
            ComponentKind::Library,
        ),
    ]);
    out.extend(
        m.firmware
            .iter()
            .map(|(name, v)| pin(format!("{name}-firmware"), v, ComponentKind::Firmware)),
    );
    out
}

/// The SBOM's packages: every pinned component with its origin (purl), supplier and the facts
/// an auditor asks for.
fn packages(m: &Manifest) -> Vec<Package> {
    let release = format!("{}-{}", m.os.id, m.os.version_id);
    pinned(m)
        .into_iter()
        .map(|p| match p.name.as_str() {
            n if n == m.os.id => Package::bare(n, &p.version, p.kind).with_supplier("Canonical"),
            "linux-image" => Package::deb(&m.os.id, &release, "amd64", &p.name, &p.version)
                .with_kind(p.kind)
                .with_supplier("Canonical"),
            "containerd" => Package::generic("containerd", &p.name, &p.version, p.kind),
            "runc" => Package::generic("opencontainers", &p.name, &p.version, p.kind),
            "kubelet" => Package::generic("kubernetes", &p.name, &p.version, p.kind),
            "nvidia-driver" => Package::generic("nvidia", &p.name, &p.version, p.kind)
                .with_supplier("NVIDIA")
                .with_property("accord:driver-branch", &m.gpu_driver.branch),
            _ if p.kind == ComponentKind::Firmware => {
                Package::generic("nvidia", &p.name, &p.version, p.kind)
                    .with_property("accord:minimum", "true")
            }
            _ => Package::generic("nvidia", &p.name, &p.version, p.kind).with_supplier("NVIDIA"),
        })
        .collect()
}

/// The image's SBOM document (compact JSON), created at `at`.
pub fn sbom(
    m: &Manifest,
    id: &str,
    version: &str,
    at: OffsetDateTime,
) -> Result<String, DomainError> {
    let input = SbomInput {
        image_id: id.to_owned(),
        name: format!(
            "accord-worker-{}-{}-{}",
            m.os.id, m.os.version_id, m.gpu_driver.branch
        ),
        version: version.to_owned(),
        digest: id.to_owned(),
        packages: packages(m),
        created_at: at,
    };
    sbom::generate(&input)
        .map(|bom| bom.to_json())
        .map_err(|e| DomainError::internal(format!("generating the SBOM: {e}")))
}

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Components in the document.
    pub components: usize,
    /// Pinned components found with their pinned version.
    pub pinned: usize,
}

/// Checks the SBOM of image `id` against its manifest: the document parses, names this image
/// (serial number and image hash), and lists every pinned component with its pinned version.
/// The error says what is missing.
pub fn scan(m: &Manifest, id: &str, document: &str) -> Result<ScanReport, String> {
    let bom = Bom::from_json(document).map_err(|e| format!("the SBOM does not parse: {e}"))?;
    if bom.serial_number != sbom::serial_number(id) {
        return Err(format!(
            "the SBOM's serial number {} is not this image's",
            bom.serial_number
        ));
    }
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    if !bom
        .metadata
        .component
        .hashes
        .iter()
        .any(|h| h.content == hex)
    {
        return Err("the SBOM does not carry this image's digest".into());
    }
    let listed: BTreeSet<(&str, &str)> = bom
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_str()))
        .collect();
    let wanted = pinned(m);
    let missing: Vec<String> = wanted
        .iter()
        .filter(|p| !listed.contains(&(p.name.as_str(), p.version.as_str())))
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "pinned components missing from the SBOM: {}",
            missing.join(", ")
        ));
    }
    Ok(ScanReport {
        components: bom.components.len(),
        pinned: wanted.len(),
    })
}
