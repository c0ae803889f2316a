//! image-builder's handlers: plain functions from (what is stored, an input) to a [`Change`] —
//! writes and `image.*` events — that the engine commits in one batch. No IO, no clock (the
//! time is the [`Ctx`]'s).
//!
//! - [`base`]: the base release published at first start;
//! - [`build`]: a build accepted (manifest parsed, validated, gated, labelled) or refused;
//! - [`stages`]: one stage of a build started, restarted after a crash, finished or failed;
//! - [`lifecycle`]: promotion, deprecation and withdrawal;
//! - [`resolve`]: an image named by id, id prefix, label or label/branch;
//! - [`material`]: what the simulated build farm makes of a manifest (the gate over every
//!   instance type it names, the SBOM's packages, the pinned components the scan looks for).

pub mod base;
pub mod build;
pub mod lifecycle;
pub mod material;
pub mod resolve;
pub mod stages;

#[cfg(test)]
pub(crate) mod tests;

use accord_core::image::{ImageEvent, PublishedImage};
use accord_image::{Archive, Matrix, SigningKey};

use crate::trees::StoredImage;

/// A change of image-builder's store.
pub type Change = accord_runtime::Change<ImageEvent>;
pub use accord_runtime::Ctx;

/// What every handler that checks or makes an image needs: the instance types manifests may
/// name, the compatibility matrix in force, the package archive a build without a manifest is
/// resolved against and the provider's signing key.
#[derive(Debug, Clone, Copy)]
pub struct Farm<'a> {
    pub instance_types: &'a [String],
    pub matrix: &'a Matrix,
    pub archive: &'a Archive,
    pub key: &'a SigningKey,
}

/// The `image.published` event of a stored image.
pub fn published(image: &StoredImage) -> ImageEvent {
    ImageEvent::Published {
        image: PublishedImage {
            id: image.record.id.to_string(),
            version: image.record.version.to_string(),
            channel: image.record.channel.as_str().to_owned(),
            driver_branch: image.record.driver_branch.clone(),
            manifest: image.manifest.clone(),
            signature: image.signature.signature.clone(),
            key_id: image.signature.key_id.clone(),
            published_at: image.published_at,
        },
    }
}
