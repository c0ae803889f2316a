//! The default base release: what the image-builder publishes at first start, and what
//! `accord image build` without a file starts from (resolved against the package archive,
//! [`crate::archive`]). The data is `manifests/base.yaml` (compiled in), one manifest per GPU
//! driver branch and the label of the release they were last published as; [`next_release`]
//! gives the next release of it.
//!
//! The next release keeps the base's contents and takes the next label
//! ([`ImageVersion::next`]) after the greater of the base's label and the newest label already
//! published. Whether it is a *new image* is the id's business: a manifest whose id is already
//! published is that image, and the service publishes nothing new for it.
//!
//! Invariants: every base manifest passes [`validate_manifest`]; a base holds at most one
//! manifest per driver branch (so "the base for branch `lts`" is one manifest); the next label
//! is greater than every label it was computed from.

use std::collections::BTreeSet;

use serde::Deserialize;
use time::Date;

use crate::error::{Errors, FieldError, ImageError};
use crate::limits::{MAX_BASE_BYTES, MAX_BASE_MANIFESTS};
use crate::manifest::{Manifest, SealedManifest, check_size, parse_error, seal, validate_manifest};
use crate::version::ImageVersion;

/// The base release shipped with the crate (`manifests/base.yaml`).
pub const DEFAULT_BASE_YAML: &str = include_str!("../manifests/base.yaml");

/// A base release: its label and one manifest per driver branch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseRelease {
    /// The label these manifests were last published as.
    pub version: ImageVersion,
    /// One manifest per GPU driver branch.
    pub manifests: Vec<Manifest>,
}

impl BaseRelease {
    /// The manifest of `branch`.
    pub fn for_branch(&self, branch: &str) -> Option<&Manifest> {
        self.manifests
            .iter()
            .find(|m| m.gpu_driver.branch == branch)
    }
}

/// The next release of a base: a label and the sealed manifests to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRelease {
    /// The label.
    pub version: ImageVersion,
    /// The manifests, validated, with their canonical bytes and ids.
    pub manifests: Vec<SealedManifest>,
}

/// The base release shipped with the crate, validated against `known_instance_types`.
pub fn default_base<S: AsRef<str>>(known_instance_types: &[S]) -> Result<BaseRelease, ImageError> {
    parse_base(DEFAULT_BASE_YAML, known_instance_types)
}

/// Parses and validates a base release document; a manifest's errors are named under
/// `base.manifests[i]` (`base.manifests[1].kernel.version`).
pub fn parse_base<S: AsRef<str>>(
    yaml: &str,
    known_instance_types: &[S],
) -> Result<BaseRelease, ImageError> {
    check_size("base", yaml.len(), MAX_BASE_BYTES)?;
    let base: BaseRelease =
        serde_norway::from_str(yaml).map_err(|e| parse_error("base", &e.to_string()))?;
    let mut errors = Errors::new();
    if base.manifests.is_empty() || base.manifests.len() > MAX_BASE_MANIFESTS {
        errors.push(
            "base.manifests",
            format!(
                "must hold 1–{MAX_BASE_MANIFESTS} manifests (has {})",
                base.manifests.len()
            ),
        );
        return Err(errors.into_error());
    }
    let mut branches = BTreeSet::new();
    for (i, m) in base.manifests.iter().enumerate() {
        if let Err(ImageError::Invalid { errors: found, .. }) =
            validate_manifest(m, known_instance_types)
        {
            for FieldError { field, message } in found {
                let rest = field.strip_prefix("manifest").unwrap_or(&field);
                errors.push(format!("base.manifests[{i}]{rest}"), message);
            }
        }
        if !branches.insert(m.gpu_driver.branch.as_str()) {
            errors.push(
                format!("base.manifests[{i}].gpu_driver.branch"),
                "another manifest has this branch; one manifest per branch",
            );
        }
    }
    errors.into_result(base)
}

/// The next release of `base` built on `today`, after `latest_published` (the newest label the
/// service has published, if any).
pub fn next_release<S: AsRef<str>>(
    base: &BaseRelease,
    latest_published: Option<ImageVersion>,
    today: Date,
    known_instance_types: &[S],
) -> Result<NextRelease, ImageError> {
    let after = latest_published.map_or(base.version, |v| v.max(base.version));
    let manifests = base
        .manifests
        .iter()
        .map(|m| seal(m.clone(), known_instance_types))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NextRelease {
        version: after.next(today),
        manifests,
    })
}
