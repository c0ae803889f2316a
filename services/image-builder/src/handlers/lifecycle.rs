//! Promotion, deprecation and withdrawal of a published image, through
//! `accord_image::lifecycle` (which refuses what makes no sense: promoting a withdrawn or stable
//! image, deprecating twice, anything after withdrawal), each with its `image.*` event naming
//! the operator.
//!
//! Promotion checks the compatibility gate again against the matrix in force: a pair found
//! broken since the image was built keeps it out of `stable`. A promotion without a reason is
//! recorded as "promoted to stable"; deprecation and withdrawal need one (e.g. a CVE id).

use accord_core::{DomainError, image::ImageEvent};
use accord_image::{Status, parse_canonical};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx, Farm, material};
use crate::trees::{IMAGES, StoredImage, image_key};

/// A lifecycle step an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Promote,
    Deprecate,
    Withdraw,
}

/// Applies `step` to `image` (read at its version) on behalf of `ctx.actor`.
pub fn apply(
    step: Step,
    image: &Versioned<StoredImage>,
    reason: &str,
    farm: &Farm<'_>,
    ctx: &Ctx,
) -> Result<(Change, StoredImage), DomainError> {
    let mut next = image.value.clone();
    let record = next.record.clone();
    let id = record.id.to_string();
    let version = record.version.to_string();
    let by = ctx.actor.clone();
    let event = match step {
        Step::Promote => {
            let manifest = parse_canonical(next.manifest.as_bytes())?;
            material::gate(&manifest, farm.matrix)?;
            let reason = match reason.trim() {
                "" => "promoted to stable",
                r => r,
            };
            next.record = accord_image::promote(record, &by, reason, ctx.now)?;
            ImageEvent::Promoted {
                image: id,
                version,
                channel: next.record.channel.as_str().to_owned(),
                by,
            }
        }
        Step::Deprecate => {
            next.record = accord_image::deprecate(record, &by, reason, ctx.now)?;
            ImageEvent::Deprecated {
                image: id,
                version,
                reason: reason.to_owned(),
                by,
            }
        }
        Step::Withdraw => {
            next.record = accord_image::withdraw(record, &by, reason, ctx.now)?;
            ImageEvent::Withdrawn {
                image: id,
                version,
                reason: reason.to_owned(),
                by,
            }
        }
    };
    let mut change = Change::platform();
    change.put(
        IMAGES,
        &image_key(&next.record.id),
        &next,
        Expect::Version(image.version),
    )?;
    change.event(event);
    Ok((change, next))
}

/// `active`, `deprecated` or `withdrawn`, and the reason of the latter two.
pub fn status(image: &StoredImage) -> (&'static str, &str) {
    match &image.record.status {
        Status::Active => ("active", ""),
        Status::Deprecated { reason } => ("deprecated", reason),
        Status::Withdrawn { reason } => ("withdrawn", reason),
    }
}
