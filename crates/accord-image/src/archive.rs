//! The simulated package archive and the "resolve packages" stage of a quick-try build: the
//! data is `manifests/archive.yaml` (compiled in; the image-builder may be given another file),
//! the newest version available of each component *series* (`6.8.0-*` → `6.8.0-90-generic`,
//! `1.7.*` → `1.7.29`, `570.*` → `570.211.01`); [`resolve`] moves every pinned component of a
//! manifest to the newest version of its own series.
//!
//! Resolution, component by component (kernel, containerd, runc, each kubelet, GPU driver,
//! DOCA-OFED): the series whose prefix the pinned version starts with gives the candidate; it
//! replaces the pinned version only when it is greater (compared as dotted numbers, so
//! `6.8.0-90-generic` > `6.8.0-88-generic`) — a manifest ahead of the archive keeps its
//! version. The fabric manager follows the GPU driver (they must be equal); the OS release and
//! the CUDA compatibility package are chosen, never resolved. A version no series covers stays.
//!
//! Invariants: [`resolve`] is a pure, deterministic function of the manifest and the archive;
//! it never moves a component to another series nor to an older version; resolving its output
//! again changes nothing (a fixpoint). A parsed archive holds only known resolvable components,
//! each series a prefix (`6.8.0-*`), at most [`MAX_ARCHIVE_SERIES`] per component, none
//! overlapping another of its component, each newest version valid for its component and inside
//! its series; documents are measured before they are parsed.

use std::collections::BTreeMap;
use std::fmt;

use accord_core::validation::quote;
use serde::Deserialize;

use crate::compat::{Component, Constraint, compare, leading_numbers};
use crate::error::{Errors, ImageError};
use crate::limits::{MAX_ARCHIVE_BYTES, MAX_ARCHIVE_SERIES, MAX_VERSION_CHARS};
use crate::manifest::{Manifest, check_size, dotted, kernel_version, ofed_version, parse_error};

/// The package archive shipped with the crate (`manifests/archive.yaml`).
pub const DEFAULT_ARCHIVE_YAML: &str = include_str!("../manifests/archive.yaml");

/// The components the archive resolves, in the order upgrades are listed.
pub const RESOLVED: [Component; 6] = [
    Component::Kernel,
    Component::Containerd,
    Component::Runc,
    Component::Kubelet,
    Component::GpuDriver,
    Component::DocaOfed,
];

/// A validated package archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Version of the data, bumped on every change.
    pub version: u32,
    /// Component → series prefix (`6.8.0-`) → the newest version of that series.
    pub series: BTreeMap<Component, BTreeMap<String, String>>,
}

impl Archive {
    /// The newest version of `component` in the series `pinned` belongs to, when it is greater
    /// than `pinned`.
    pub fn newer(&self, component: Component, pinned: &str) -> Option<&str> {
        let newest = self
            .series
            .get(&component)?
            .iter()
            .find(|(prefix, _)| pinned.starts_with(prefix.as_str()))
            .map(|(_, newest)| newest.as_str())?;
        (compare(&leading_numbers(newest), &leading_numbers(pinned)) == std::cmp::Ordering::Greater)
            .then_some(newest)
    }
}

/// One component moved by [`resolve`]: `kernel 6.8.0-88-generic → 6.8.0-90-generic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The component (`kernel`, `kubelet 1.32`, `fabric_manager`).
    pub component: String,
    /// The version the manifest pinned.
    pub from: String,
    /// The archive's newest version of the same series.
    pub to: String,
}

impl fmt::Display for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} → {}", self.component, self.from, self.to)
    }
}

/// A manifest resolved against the archive, and what moved (empty: it was up to date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The manifest with every component at the newest version of its series.
    pub manifest: Manifest,
    /// What moved, in [`RESOLVED`] order (kubelets by minor; the fabric manager after the
    /// driver).
    pub upgrades: Vec<Upgrade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveDoc {
    version: u32,
    series: BTreeMap<String, BTreeMap<String, String>>,
}

/// The archive shipped with the crate.
pub fn default_archive() -> Result<Archive, ImageError> {
    parse_archive(DEFAULT_ARCHIVE_YAML)
}

/// Parses and validates an archive document; every problem is reported, each naming its path
/// (`archive.series.kernel`, `archive.series.containerd."2.0.*"`).
pub fn parse_archive(yaml: &str) -> Result<Archive, ImageError> {
    check_size("archive", yaml.len(), MAX_ARCHIVE_BYTES)?;
    let doc: ArchiveDoc =
        serde_norway::from_str(yaml).map_err(|e| parse_error("archive", &e.to_string()))?;
    let mut errors = Errors::new();
    if doc.version == 0 {
        errors.push("archive.version", "must be at least 1");
    }
    let mut series = BTreeMap::new();
    for (key, listed) in doc.series {
        let at = format!("archive.series.{}", quote(&key));
        let Some(component) = Component::parse(&key).filter(|c| RESOLVED.contains(c)) else {
            errors.push(
                at,
                format!(
                    "is not a component the archive resolves ({})",
                    RESOLVED.map(Component::key).join(", ")
                ),
            );
            continue;
        };
        let at = format!("archive.series.{key}");
        if listed.is_empty() || listed.len() > MAX_ARCHIVE_SERIES {
            errors.push(
                at,
                format!(
                    "must list 1–{MAX_ARCHIVE_SERIES} series (has {})",
                    listed.len()
                ),
            );
            continue;
        }
        let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
        for (text, newest) in listed {
            let at = format!("{at}.{}", quote(&text));
            let prefix = match Constraint::parse(&text) {
                Ok(Constraint::Prefix(p)) => p,
                Ok(_) => {
                    errors.push(
                        at,
                        "must be a series: a prefix ending in '.' or '-' and '*'",
                    );
                    continue;
                }
                Err(e) => {
                    errors.push(at, e);
                    continue;
                }
            };
            if !valid_version(component, &newest) {
                errors.push(
                    at,
                    format!(
                        "{} is not a valid {} version (at most {MAX_VERSION_CHARS} characters)",
                        quote(&newest),
                        component.key()
                    ),
                );
                continue;
            }
            if !newest.starts_with(prefix.as_str()) {
                errors.push(at, format!("{} is outside its series", quote(&newest)));
                continue;
            }
            if let Some(other) = prefixes
                .keys()
                .find(|p| p.starts_with(prefix.as_str()) || prefix.starts_with(p.as_str()))
            {
                errors.push(
                    at,
                    format!(
                        "overlaps the series {}* (a version must belong to one series)",
                        quote(other)
                    ),
                );
                continue;
            }
            prefixes.insert(prefix, newest);
        }
        series.insert(component, prefixes);
    }
    errors.into_result(Archive {
        version: doc.version,
        series,
    })
}

fn valid_version(component: Component, version: &str) -> bool {
    version.len() <= MAX_VERSION_CHARS
        && match component {
            Component::Kernel => kernel_version(version),
            Component::Containerd | Component::Runc | Component::Kubelet => dotted(version, 3, 3),
            Component::GpuDriver => dotted(version, 2, 3),
            Component::DocaOfed => ofed_version(version),
            _ => false,
        }
}

/// `manifest` with every pinned component moved to the archive's newest version of its series
/// (see the module docs), and the list of what moved.
pub fn resolve(manifest: &Manifest, archive: &Archive) -> Resolved {
    let mut m = manifest.clone();
    let mut upgrades = Vec::new();
    let bump = |upgrades: &mut Vec<Upgrade>, name: String, c: Component, v: &mut String| {
        if let Some(newest) = archive.newer(c, v) {
            upgrades.push(Upgrade {
                component: name,
                from: std::mem::replace(v, newest.to_owned()),
                to: newest.to_owned(),
            });
        }
    };
    bump(
        &mut upgrades,
        "kernel".into(),
        Component::Kernel,
        &mut m.kernel.version,
    );
    bump(
        &mut upgrades,
        "containerd".into(),
        Component::Containerd,
        &mut m.containerd.version,
    );
    bump(
        &mut upgrades,
        "runc".into(),
        Component::Runc,
        &mut m.runc.version,
    );
    for (minor, version) in &mut m.kubelet {
        bump(
            &mut upgrades,
            format!("kubelet {minor}"),
            Component::Kubelet,
            version,
        );
    }
    bump(
        &mut upgrades,
        "gpu_driver".into(),
        Component::GpuDriver,
        &mut m.gpu_driver.version,
    );
    if m.fabric_manager.version != m.gpu_driver.version
        && m.fabric_manager.version == manifest.gpu_driver.version
    {
        upgrades.push(Upgrade {
            component: "fabric_manager".into(),
            from: std::mem::replace(&mut m.fabric_manager.version, m.gpu_driver.version.clone()),
            to: m.gpu_driver.version.clone(),
        });
    }
    bump(
        &mut upgrades,
        "doca_ofed".into(),
        Component::DocaOfed,
        &mut m.doca_ofed.version,
    );
    Resolved {
        manifest: m,
        upgrades,
    }
}
