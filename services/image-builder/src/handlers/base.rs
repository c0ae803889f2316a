//! The base release published at first start: each manifest of `accord_image`'s base release
//! (one per GPU driver branch) sealed, signed, given its SBOM and recorded as published and
//! promoted to `stable` by [`BOOTSTRAP_ACTOR`], with one `image.published` event (channel
//! `stable`) each. This is the provisioner's initial set of published images.
//!
//! Idempotent: a manifest whose id is already stored is skipped, so a restart (or a base that
//! did not change) commits nothing.

use accord_core::DomainError;
use accord_image::{BaseRelease, promote, publish, seal, sign};
use accord_store::Expect;

use super::{Change, Ctx, Farm, material, published};
use crate::trees::{IMAGES, StoredImage, image_key};

/// Who publishes the base release.
pub const BOOTSTRAP_ACTOR: &str = "accord-bootstrap";

/// Publishes every manifest of `base` whose id `is_stored` does not know yet.
pub fn publish_base(
    base: &BaseRelease,
    is_stored: impl Fn(&accord_image::ManifestId) -> bool,
    farm: &Farm<'_>,
    ctx: &Ctx,
) -> Result<Change, DomainError> {
    let mut change = Change::platform();
    for manifest in &base.manifests {
        let sealed = seal(manifest.clone(), farm.instance_types)?;
        if is_stored(&sealed.id) {
            continue;
        }
        let record = publish(
            sealed.id.clone(),
            base.version,
            &manifest.gpu_driver.branch,
            BOOTSTRAP_ACTOR,
            ctx.now,
        )?;
        let record = promote(record, BOOTSTRAP_ACTOR, "the base release", ctx.now)?;
        let canonical = String::from_utf8(sealed.bytes)
            .map_err(|_| DomainError::internal("canonical manifest is not UTF-8"))?;
        let image = StoredImage {
            sbom: material::sbom(
                &sealed.manifest,
                &sealed.id.to_string(),
                &base.version.to_string(),
                ctx.now,
            )?,
            signature: sign(&sealed.id, farm.key),
            record,
            manifest: canonical,
            build: None,
            published_at: ctx.now,
        };
        change.put(IMAGES, &image_key(&sealed.id), &image, Expect::Absent)?;
        change.event(published(&image));
    }
    Ok(change)
}
