//! Published worker images as the provisioner knows them, and what a pool may run.
//!
//! The image-builder publishes; the provisioner learns images only from its `image.*` events
//! (durable consumer `provisioner-images`, [`SUBSCRIPTION`]) and is the one writer of its copy
//! ([`IMAGES`], keyed by the id's hex digits). An `image.published` is stored only when its
//! canonical manifest hashes to its id and the provider's Ed25519 signature over that id
//! verifies with the trusted public key ([`learn`]); anything else is refused and counted,
//! never stored. Without a trusted key every image is refused (fail closed). The signature is
//! checked again before a node boots an image ([`bootable`], the controller and the pool
//! planner), so a record altered at rest cannot boot.
//!
//! Pools pick here: the newest usable image of their channel and driver branch qualified for
//! their instance type and Kubernetes minor ([`newest`]); a pool shows "update available"
//! (a newer active image of its channel and branch) and "update required" (its image was
//! withdrawn, with the reason) from [`pool_view`].

use accord_core::{
    DomainError,
    image::{ImageEvent, PublishedImage},
    nodepool::NodePool,
    validation::quote,
};
use accord_image::{
    Channel, ImageRecord, ImageVersion, Manifest, ManifestId, ManifestSignature, Status,
    VerifyingKey,
    lifecycle::{Action, Transition},
};
use accord_runtime::consume::Subscription;
use accord_store::{Expect, Table};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{change::Change, trees::Reader};

/// Published images, by the hex digits of their id.
pub const IMAGES: Table<KnownImage> = Table::new("images");

/// The most images kept; past it a new image is refused (dead-lettered) and logged: the
/// operator prunes withdrawn images at the source (no eviction here yet).
pub const MAX_IMAGES: usize = 1000;

/// What the images consumer takes.
pub const SUBSCRIPTION: Subscription<ImageEvent> = Subscription {
    durable: "provisioner-images",
    inputs: &[("image", |ev| ev.decode_data())],
};

/// A published image: its lifecycle record, canonical manifest and signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownImage {
    pub record: ImageRecord,
    /// The canonical manifest (what the id hashes).
    pub manifest: String,
    pub signature: ManifestSignature,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// What pools ask of it, read from the manifest once when it was learnt.
    #[serde(default)]
    pub facts: ImageFacts,
}

/// The manifest's facts a pool's choice needs (no parse per request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    pub driver_version: String,
    pub instance_types: std::collections::BTreeSet<String>,
    /// Kubernetes minors it carries a kubelet for (`1.32`).
    pub minors: std::collections::BTreeSet<String>,
}

impl ImageFacts {
    fn of(m: &Manifest) -> Self {
        Self {
            driver_version: m.gpu_driver.version.clone(),
            instance_types: m.instance_types.clone(),
            minors: m.kubelet.keys().cloned().collect(),
        }
    }
}

impl KnownImage {
    /// The manifest, parsed (stored images were checked canonical when learnt).
    pub fn parsed(&self) -> Option<Manifest> {
        accord_image::parse_canonical(self.manifest.as_bytes()).ok()
    }

    /// Whether nodes of `instance_type` on Kubernetes `minor` (`1.32`) may run it.
    pub fn qualifies(&self, instance_type: &str, minor: &str) -> bool {
        if self.facts.minors.is_empty() {
            // Learnt before the facts were kept.
            return self.parsed().is_some_and(|m| {
                m.instance_types.contains(instance_type) && m.kubelet.contains_key(minor)
            });
        }
        self.facts.instance_types.contains(instance_type) && self.facts.minors.contains(minor)
    }

    /// The signature check: the manifest hashes to the signed id, signed by `key`.
    pub fn verify(&self, key: Option<&VerifyingKey>) -> Result<(), String> {
        let key = key.ok_or("no trusted image key is configured")?;
        if self.signature.manifest_id != self.record.id {
            return Err("the signature is over another image".into());
        }
        accord_image::verify_bytes(self.manifest.as_bytes(), &self.signature, key)
            .map_err(|e| e.to_string())
    }
}

/// The table key of an image id.
pub fn key_of(id: &ManifestId) -> String {
    let text = id.to_string();
    text.strip_prefix("sha256:").unwrap_or(&text).to_owned()
}

/// What [`learn`] did with an event (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    Updated,
    /// Already known with this state (a redelivery).
    Unchanged,
    /// Refused: not canonical, wrong id, bad or missing signature.
    Refused,
    /// About an image never (validly) published here.
    Unknown,
    /// A build event: nothing to keep.
    Ignored,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Refused => "refused",
            Self::Unknown => "unknown",
            Self::Ignored => "ignored",
        }
    }
}

/// The change one `image.*` event makes to the provisioner's images.
pub fn learn(
    reader: &Reader,
    key: Option<&VerifyingKey>,
    event: ImageEvent,
    now: OffsetDateTime,
) -> Result<(Change, Outcome), DomainError> {
    let mut ch = Change::platform();
    match event {
        ImageEvent::Published { image } => {
            let known = match admit(&image, key) {
                Ok(known) => known,
                Err(why) => {
                    tracing::warn!(image = %quote(&image.id), version = %quote(&image.version), reason = %why, "refused a published image");
                    return Ok((ch, Outcome::Refused));
                }
            };
            let k = key_of(&known.record.id);
            if let Some(existing) = reader.get::<KnownImage>(IMAGES, &k)? {
                // A redelivery, or a republish after the builder lost its store: keep the
                // lifecycle we know (a withdrawal is final).
                if existing.record.id == known.record.id {
                    return Ok((ch, Outcome::Unchanged));
                }
            }
            if reader.list(IMAGES, "")?.len() >= MAX_IMAGES {
                tracing::warn!(image = %known.record.id, "the image table is full; refused");
                return Ok((ch, Outcome::Refused));
            }
            ch.put(IMAGES, &k, &known, Expect::Absent)?;
            Ok((ch, Outcome::Stored))
        }
        ImageEvent::Promoted { image, by, .. } => transition(reader, &image, &mut ch, |r| {
            if r.channel == Channel::Stable {
                return None;
            }
            r.channel = Channel::Stable;
            Some(entry(Action::Promoted, &by, "promoted to stable", now))
        }),
        ImageEvent::Deprecated {
            image, reason, by, ..
        } => transition(reader, &image, &mut ch, |r| {
            if r.status != Status::Active {
                return None;
            }
            r.status = Status::Deprecated {
                reason: reason.clone(),
            };
            Some(entry(Action::Deprecated, &by, &reason, now))
        }),
        ImageEvent::Withdrawn {
            image, reason, by, ..
        } => transition(reader, &image, &mut ch, |r| {
            if matches!(r.status, Status::Withdrawn { .. }) {
                return None;
            }
            r.status = Status::Withdrawn {
                reason: reason.clone(),
            };
            Some(entry(Action::Withdrawn, &by, &reason, now))
        }),
        ImageEvent::BuildStarted { .. }
        | ImageEvent::BuildFailed { .. }
        | ImageEvent::BuildSucceeded { .. } => Ok((ch, Outcome::Ignored)),
    }
}

fn entry(action: Action, by: &str, reason: &str, at: OffsetDateTime) -> Transition {
    Transition {
        action,
        by: cut(by, 128),
        reason: cut(reason, 512),
        at,
    }
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn transition(
    reader: &Reader,
    image: &str,
    ch: &mut Change,
    apply: impl FnOnce(&mut ImageRecord) -> Option<Transition>,
) -> Result<(Change, Outcome), DomainError> {
    let Ok(id) = image.parse::<ManifestId>() else {
        return Ok((std::mem::replace(ch, Change::platform()), Outcome::Unknown));
    };
    let k = key_of(&id);
    let Some(mut known) = reader.get::<KnownImage>(IMAGES, &k)? else {
        return Ok((std::mem::replace(ch, Change::platform()), Outcome::Unknown));
    };
    let Some(t) = apply(&mut known.record) else {
        return Ok((
            std::mem::replace(ch, Change::platform()),
            Outcome::Unchanged,
        ));
    };
    if known.record.history.len() < 32 {
        known.record.history.push(t);
    }
    ch.put(IMAGES, &k, &known, Expect::Any)?;
    Ok((std::mem::replace(ch, Change::platform()), Outcome::Updated))
}

/// Checks a published image end to end: label, branch, channel, canonical manifest whose id
/// is the one announced, and the signature over it with the trusted key.
fn admit(image: &PublishedImage, key: Option<&VerifyingKey>) -> Result<KnownImage, String> {
    let id: ManifestId = image
        .id
        .parse()
        .map_err(|_| "malformed image id".to_owned())?;
    let version: ImageVersion = image
        .version
        .parse()
        .map_err(|_| "malformed version label".to_owned())?;
    let channel: Channel = image
        .channel
        .parse()
        .map_err(|_| "unknown channel".to_owned())?;
    let manifest = accord_image::parse_canonical(image.manifest.as_bytes())
        .map_err(|_| "the manifest is not canonical JSON".to_owned())?;
    if ManifestId::of_bytes(image.manifest.as_bytes()) != id {
        return Err("the manifest does not hash to the image id".into());
    }
    if manifest.gpu_driver.branch != image.driver_branch {
        return Err("the driver branch differs from the manifest's".into());
    }
    let signature = ManifestSignature {
        manifest_id: id.clone(),
        key_id: cut(&image.key_id, 64),
        signature: cut(&image.signature, 128),
    };
    let mut record = accord_image::publish(
        id,
        version,
        &image.driver_branch,
        "image-builder",
        image.published_at,
    )
    .map_err(|e| e.to_string())?;
    if channel == Channel::Stable {
        record.channel = Channel::Stable;
    }
    let known = KnownImage {
        record,
        manifest: image.manifest.clone(),
        signature,
        published_at: image.published_at,
        facts: ImageFacts::of(&manifest),
    };
    known.verify(key)?;
    Ok(known)
}

/// Every known image, newest first.
pub fn all(reader: &Reader) -> Result<Vec<KnownImage>, DomainError> {
    let mut images: Vec<KnownImage> = reader.list(IMAGES, "")?;
    images.sort_by(|a, b| {
        b.record
            .version
            .cmp(&a.record.version)
            .then_with(|| a.record.driver_branch.cmp(&b.record.driver_branch))
    });
    Ok(images)
}

/// The image a pool names: its label on the pool's driver branch.
pub fn resolve<'a>(
    images: &'a [KnownImage],
    version: &str,
    branch: &str,
) -> Option<&'a KnownImage> {
    images
        .iter()
        .find(|i| i.record.version.to_string() == version && i.record.driver_branch == branch)
}

/// Whether new nodes may boot `image`: not withdrawn, signature verified.
pub fn bootable(image: &KnownImage, key: Option<&VerifyingKey>) -> Result<(), String> {
    if let Status::Withdrawn { reason } = &image.record.status {
        return Err(format!(
            "image {} was withdrawn: {reason}",
            image.record.version
        ));
    }
    image
        .verify(key)
        .map_err(|e| format!("image {} failed verification: {e}", image.record.version))
}

/// The newest active image of `branch` in `channel` qualified for the pool's instance type and
/// Kubernetes minor.
pub fn newest<'a>(
    images: &'a [KnownImage],
    branch: &str,
    channel: Channel,
    instance_type: &str,
    minor: &str,
) -> Option<&'a KnownImage> {
    images
        .iter()
        .filter(|i| {
            i.record.driver_branch == branch
                && i.record.status == Status::Active
                && channel.includes(i.record.channel)
                && i.qualifies(instance_type, minor)
        })
        .max_by_key(|i| i.record.version)
}

/// A pool's image facts, as its status shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolImageView {
    pub image_id: String,
    pub driver_version: String,
    /// The newest image of the pool's channel and branch newer than its own.
    pub update_available: Option<String>,
    /// The withdrawal's reason.
    pub update_required: Option<String>,
    pub deprecation: Option<String>,
}

/// What `pool`'s status shows about its image; images of the pool's `disabled` revisions
/// (halted or rolled back) are not offered as updates.
pub fn pool_view(images: &[KnownImage], pool: &NodePool, disabled: &[&str]) -> PoolImageView {
    let s = &pool.spec;
    let offered: Vec<KnownImage> = images
        .iter()
        .filter(|i| !disabled.contains(&i.record.version.to_string().as_str()))
        .cloned()
        .collect();
    let images_for_updates = offered.as_slice();
    let minor = s.kubelet_version.to_string();
    let Some(current) = resolve(images, &s.image_version, &s.driver_branch) else {
        // The pool runs an image this provisioner does not know (e.g. another branch): offer
        // the branch's newest.
        let channel = s.image_channel.parse().unwrap_or(Channel::Stable);
        return PoolImageView {
            update_available: newest(
                images_for_updates,
                &s.driver_branch,
                channel,
                &s.instance_type,
                &minor,
            )
            .map(|i| i.record.version.to_string()),
            ..PoolImageView::default()
        };
    };
    let channel = s.image_channel.parse().unwrap_or(Channel::Stable);
    let candidates: Vec<ImageRecord> = images_for_updates
        .iter()
        .filter(|i| i.qualifies(&s.instance_type, &minor))
        .map(|i| i.record.clone())
        .collect();
    PoolImageView {
        image_id: current.record.id.to_string(),
        driver_version: current.facts.driver_version.clone(),
        update_available: accord_image::update_available(
            &current.record,
            &candidates,
            channel,
            &s.driver_branch,
        )
        .map(|i| i.version.to_string()),
        update_required: accord_image::update_required(&current.record).map(str::to_owned),
        deprecation: accord_image::deprecation_warning(&current.record).map(str::to_owned),
    }
}

impl crate::service::Provisioner {
    /// Takes one `image.*` event: learns it under the write lock (the provisioner is the one
    /// writer of its images) and kicks every cluster when an image's state changed (pools show
    /// updates; a withdrawn target stops cycles).
    ///
    /// Without a trusted key the event waits (retried: configuring the key later learns it);
    /// a refused image (bad manifest or signature) is dead-lettered for the operator to see.
    pub async fn on_image_event(&self, event: ImageEvent) -> Result<(), DomainError> {
        let Some(key) = self.image_key().cloned() else {
            return Err(DomainError::Unavailable(
                "no trusted image-signing key is configured".into(),
            ));
        };
        let key = Some(key);
        let outcome = {
            let mut w = self.engine.lock().await;
            let (ch, outcome) =
                learn(&self.reader, key.as_ref(), event, OffsetDateTime::now_utc())?;
            if !ch.is_empty() {
                w.commit(ch).await?;
            }
            outcome
        };
        self.metrics
            .image_events
            .get_or_create(&[("outcome", outcome.label())])
            .inc();
        if outcome == Outcome::Refused {
            return Err(DomainError::invalid(
                "image",
                "refused: its manifest or signature does not verify with the provider key",
            ));
        }
        if matches!(outcome, Outcome::Stored | Outcome::Updated) {
            for c in self.reader.clusters(None)? {
                let _ = self
                    .kick_tx
                    .send(crate::controller::Kick::Cluster(c.metadata.id));
            }
        }
        Ok(())
    }
}
