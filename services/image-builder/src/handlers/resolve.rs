//! An image as a caller names it (the proto's conventions): its id `sha256:<64 hex>`, a unique
//! prefix of at least [`MIN_PREFIX`] hex digits (with or without `sha256:`), its release label
//! when one image carries it, or `label/branch`.
//!
//! Unknown names answer NOT_FOUND; a label several branches carry, or a prefix several ids
//! share, is INVALID_ARGUMENT listing the candidates.

use accord_core::{DomainError, validation::quote};
use accord_image::ImageVersion;

use crate::trees::StoredImage;

/// Shortest id prefix accepted.
pub const MIN_PREFIX: usize = 8;

/// The image `name` names among `images`.
pub fn resolve<'a>(name: &str, images: &'a [StoredImage]) -> Result<&'a StoredImage, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid(
            "image",
            "is required (an id, an id prefix, a label or label/branch)",
        ));
    }
    let not_found = || DomainError::not_found("image", quote(name));
    if let Some((label, branch)) = name.split_once('/') {
        let version: ImageVersion = label.parse().map_err(|_| not_found())?;
        return images
            .iter()
            .find(|i| i.record.version == version && i.record.driver_branch == branch)
            .ok_or_else(not_found);
    }
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if hex.len() >= MIN_PREFIX && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hex = hex.to_ascii_lowercase();
        let found = images
            .iter()
            .filter(|i| i.record.id.to_string()["sha256:".len()..].starts_with(&hex));
        return single(found, not_found, |many| {
            format!(
                "the prefix {} names {} images; give more digits",
                quote(name),
                many.len()
            )
        });
    }
    let Ok(version) = name.parse::<ImageVersion>() else {
        return Err(not_found());
    };
    let found = images.iter().filter(|i| i.record.version == version);
    single(found, not_found, |many| {
        format!(
            "{version} names one image per driver branch ({}): say {version}/<branch>",
            many.iter()
                .map(|i| i.record.driver_branch.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The one image `found` holds; NOT_FOUND for none, INVALID_ARGUMENT (`image`, saying
/// `ambiguous` of the candidates) for several.
fn single<'a>(
    found: impl Iterator<Item = &'a StoredImage>,
    not_found: impl FnOnce() -> DomainError,
    ambiguous: impl FnOnce(&[&'a StoredImage]) -> String,
) -> Result<&'a StoredImage, DomainError> {
    let found: Vec<&StoredImage> = found.collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(not_found()),
        many => Err(DomainError::invalid("image", ambiguous(many))),
    }
}
