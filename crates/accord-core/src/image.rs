//! The facts the image-builder service publishes (`image.*`): builds starting, finishing and
//! failing, and each published image's lifecycle (published, promoted, deprecated, withdrawn).
//!
//! Images are platform-wide, not a project's: every project's pools may run them, so these
//! events carry no project. An `image.published` event carries everything a consumer needs to
//! trust the image on its own: the canonical manifest (RFC 8785 JSON, whose SHA-256 is the id)
//! and the provider's Ed25519 signature over that id. The provisioner verifies the signature
//! with the provider's public key before storing the image and again before a node boots it;
//! this crate only carries the strings (the image engine, `accord-image`, interprets them).

use serde::{Deserialize, Serialize};

use crate::events::DomainEvent;

/// A published image as it travels on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedImage {
    /// The content id, `sha256:<64 hex>` of the canonical manifest.
    pub id: String,
    /// The release label, e.g. `2026.12.0` (one label may name one image per driver branch).
    pub version: String,
    /// `candidate` or `stable`.
    pub channel: String,
    /// The GPU driver branch the image carries (`lts`, `production`, `new_feature`).
    pub driver_branch: String,
    /// The canonical manifest (UTF-8 JSON, RFC 8785).
    pub manifest: String,
    /// The signature (base64 Ed25519 over the id; see `accord_image::signature`).
    pub signature: String,
    /// Which provider key signed it (`ed25519:<hex>`).
    pub key_id: String,
    /// When it was published (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: time::OffsetDateTime,
}

/// Facts about images and builds; see each variant for its subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ImageEvent {
    /// A build was accepted (`image.build-started.<build>`).
    BuildStarted {
        build: String,
        /// The release label the build will publish.
        version: String,
        /// The operator who asked.
        by: String,
    },
    /// A build failed at a stage (`image.build-failed.<build>`).
    BuildFailed {
        build: String,
        version: String,
        stage: String,
        reason: String,
    },
    /// A build published its image (`image.build-succeeded.<build>`).
    BuildSucceeded {
        build: String,
        version: String,
        /// The image id.
        image: String,
    },
    /// An image entered a channel (`image.published.<hex>`).
    Published { image: PublishedImage },
    /// An image moved to the stable channel (`image.promoted.<hex>`).
    Promoted {
        image: String,
        version: String,
        channel: String,
        by: String,
    },
    /// Still usable, pools running it warned (`image.deprecated.<hex>`).
    Deprecated {
        image: String,
        version: String,
        reason: String,
        by: String,
    },
    /// Refused for new nodes; pools running it must update (`image.withdrawn.<hex>`).
    Withdrawn {
        image: String,
        version: String,
        reason: String,
        by: String,
    },
}

impl ImageEvent {
    /// The image id an image event is about (`None` for build events).
    pub fn image_id(&self) -> Option<&str> {
        match self {
            Self::Published { image } => Some(&image.id),
            Self::Promoted { image, .. }
            | Self::Deprecated { image, .. }
            | Self::Withdrawn { image, .. } => Some(image),
            Self::BuildStarted { .. } | Self::BuildFailed { .. } | Self::BuildSucceeded { .. } => {
                None
            }
        }
    }
}

/// The subject token of an image id: its hex digits (`sha256:` dropped; a colon is legal in a
/// subject but the hex alone is what operators paste).
fn token(id: &str) -> String {
    id.strip_prefix("sha256:").unwrap_or(id).to_owned()
}

impl DomainEvent for ImageEvent {
    fn resource(&self) -> &'static str {
        "image"
    }

    fn event(&self) -> &'static str {
        match self {
            Self::BuildStarted { .. } => "build-started",
            Self::BuildFailed { .. } => "build-failed",
            Self::BuildSucceeded { .. } => "build-succeeded",
            Self::Published { .. } => "published",
            Self::Promoted { .. } => "promoted",
            Self::Deprecated { .. } => "deprecated",
            Self::Withdrawn { .. } => "withdrawn",
        }
    }

    /// The build's id for build events, the image id's hex digits for the others.
    fn resource_id(&self) -> String {
        match self {
            Self::BuildStarted { build, .. }
            | Self::BuildFailed { build, .. }
            | Self::BuildSucceeded { build, .. } => build.clone(),
            Self::Published { image } => token(&image.id),
            Self::Promoted { image, .. }
            | Self::Deprecated { image, .. }
            | Self::Withdrawn { image, .. } => token(image),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_build_or_the_digest() {
        let e = ImageEvent::Withdrawn {
            image: format!("sha256:{}", "ab".repeat(32)),
            version: "2026.12.0".into(),
            reason: "CVE-2026-1234".into(),
            by: "ops".into(),
        };
        assert_eq!(e.resource(), "image");
        assert_eq!(e.event(), "withdrawn");
        assert_eq!(e.resource_id(), "ab".repeat(32));
        assert_eq!(
            e.image_id(),
            Some(format!("sha256:{}", "ab".repeat(32)).as_str())
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["event"], "withdrawn");
        let b = ImageEvent::BuildStarted {
            build: "bld_1".into(),
            version: "2026.12.0".into(),
            by: "ops".into(),
        };
        assert_eq!(
            (b.event(), b.resource_id()),
            ("build-started", "bld_1".into())
        );
        assert_eq!(b.image_id(), None);
    }
}
