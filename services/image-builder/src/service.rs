//! The image-builder engine: runs handlers and commits what they decided with their `image.*`
//! events (transactional outbox) under the kit's one write lock; reads for the API.
//!
//! Invariants: image-builder is the single writer of images and builds; every read that
//! decides a write (is the id published? which labels exist? how many builds run?) is taken
//! under the lock; the signing key never leaves this struct (the API serves the public key).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use accord_core::{DomainError, image::ImageEvent};
use accord_image::{
    Archive, BaseRelease, DEFAULT_ARCHIVE_YAML, DEFAULT_MATRIX_YAML, Matrix, SigningKey,
    VerifyingKey, default_base, key_id, parse_archive, parse_matrix,
};
use accord_runtime::{Engine, metrics::Metrics};
use accord_store::Store;
use tokio::sync::Notify;

use crate::{
    handlers::{
        Ctx, Farm,
        base::publish_base,
        build::{BuildRequest, accept},
        lifecycle::{Step, apply, status},
        resolve::resolve,
    },
    trees::{MAX_KEPT_BUILDS, Reader, Stage, StoredBuild, StoredImage},
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "image-builder";

/// How long each stage of a simulated build takes by default.
pub const DEFAULT_STAGE_DURATION: Duration = Duration::from_secs(1);

/// Settings of the engine.
#[derive(Clone)]
pub struct Settings {
    /// The provider's signing key (Ed25519).
    pub signing_key: SigningKey,
    /// The instance types manifests may name (the platform's catalogue).
    pub instance_types: Vec<String>,
    /// Simulated build-farm time per stage.
    pub stage_duration: Duration,
    /// The compatibility matrix (YAML); `None`: the one shipped with `accord-image`.
    pub matrix_yaml: Option<String>,
    /// The package archive (YAML) a build without a manifest is resolved against; `None`: the
    /// one shipped with `accord-image`.
    pub archive_yaml: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("key_id", &key_id(&self.signing_key.verifying_key()))
            .field("instance_types", &self.instance_types)
            .field("stage_duration", &self.stage_duration)
            .field("matrix_yaml", &self.matrix_yaml.as_ref().map(String::len))
            .field("archive_yaml", &self.archive_yaml.as_ref().map(String::len))
            .finish()
    }
}

impl Settings {
    /// Defaults: [`DEFAULT_STAGE_DURATION`], the shipped matrix and package archive.
    pub fn new(signing_key: SigningKey, instance_types: Vec<String>) -> Self {
        Self {
            signing_key,
            instance_types,
            stage_duration: DEFAULT_STAGE_DURATION,
            matrix_yaml: None,
            archive_yaml: None,
        }
    }
}

/// The engine.
pub struct ImageBuilder {
    pub(crate) reader: Reader,
    pub(crate) engine: Arc<Engine<ImageEvent>>,
    key: SigningKey,
    instance_types: Vec<String>,
    matrix: Matrix,
    matrix_yaml: String,
    archive: Archive,
    base: BaseRelease,
    pub(crate) stage_duration: Duration,
    /// Woken when a build is accepted.
    pub(crate) kick: Arc<Notify>,
    /// The stage each build runs in this process (a running stage not listed here was left
    /// by a process that stopped: it is restarted).
    pub(crate) running_here: Mutex<HashMap<String, Stage>>,
}

impl std::fmt::Debug for ImageBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageBuilder")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl ImageBuilder {
    /// The engine on `store`; refuses a matrix, package archive or base release that does not
    /// validate (against the instance types).
    pub fn new(store: Store, settings: Settings, metrics: &Metrics) -> anyhow::Result<Arc<Self>> {
        let matrix_yaml = settings
            .matrix_yaml
            .unwrap_or_else(|| DEFAULT_MATRIX_YAML.to_owned());
        let matrix = parse_matrix(&matrix_yaml, &settings.instance_types)
            .map_err(|e| anyhow::anyhow!("the compatibility matrix: {e}"))?;
        let archive = parse_archive(
            settings
                .archive_yaml
                .as_deref()
                .unwrap_or(DEFAULT_ARCHIVE_YAML),
        )
        .map_err(|e| anyhow::anyhow!("the package archive: {e}"))?;
        let base = default_base(&settings.instance_types)
            .map_err(|e| anyhow::anyhow!("the base release: {e}"))?;
        let engine = Engine::new(SERVICE, store.clone(), metrics);
        Ok(Arc::new(Self {
            reader: Reader::new(store),
            engine: Arc::new(engine),
            key: settings.signing_key,
            instance_types: settings.instance_types,
            matrix,
            matrix_yaml,
            archive,
            base,
            stage_duration: settings.stage_duration,
            kick: Arc::new(Notify::new()),
            running_here: Mutex::new(HashMap::new()),
        }))
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    pub fn engine(&self) -> &Arc<Engine<ImageEvent>> {
        &self.engine
    }

    pub(crate) fn farm(&self) -> Farm<'_> {
        Farm {
            instance_types: &self.instance_types,
            matrix: &self.matrix,
            archive: &self.archive,
            key: &self.key,
        }
    }

    /// The public half of the signing key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// `ed25519:<hex>` of the signing key.
    pub fn key_id(&self) -> String {
        key_id(&self.verifying_key())
    }

    /// The matrix in force and its YAML.
    pub fn matrix(&self) -> (&Matrix, &str) {
        (&self.matrix, &self.matrix_yaml)
    }

    /// Publishes the base release's images not stored yet (all of them on an empty store);
    /// returns how many were published.
    pub async fn publish_base(&self) -> Result<usize, DomainError> {
        let mut w = self.engine.lock().await;
        let ctx = Ctx::new(crate::handlers::base::BOOTSTRAP_ACTOR);
        let reader = &self.reader;
        let change = publish_base(
            &self.base,
            |id| reader.image(id).ok().flatten().is_some(),
            &self.farm(),
            &ctx,
        )?;
        let published = change.events.len();
        w.commit(change).await?;
        Ok(published)
    }

    /// Accepts a build (see `handlers::build`) and wakes the reconciler.
    pub async fn build(&self, ctx: &Ctx, req: &BuildRequest) -> Result<StoredBuild, DomainError> {
        let mut w = self.engine.lock().await;
        let images = self.reader.images()?;
        let builds = self.reader.builds()?;
        let id = format!("bld-{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        let (change, build) = accept(req, &images, &builds, &self.base, &self.farm(), ctx, &id)?;
        w.commit(change).await?;
        self.kick.notify_one();
        Ok(build)
    }

    pub fn get_build(&self, id: &str) -> Result<StoredBuild, DomainError> {
        self.reader
            .build(id)?
            .map(|b| b.value)
            .ok_or_else(|| DomainError::not_found("build", accord_core::error::echo(id)))
    }

    /// The kept builds, newest first (at most [`MAX_KEPT_BUILDS`]).
    pub fn list_builds(&self) -> Result<Vec<StoredBuild>, DomainError> {
        let mut builds = self.reader.builds()?;
        builds.reverse();
        builds.truncate(MAX_KEPT_BUILDS);
        Ok(builds)
    }

    /// The image `name` names (see `handlers::resolve`).
    pub fn image(&self, name: &str) -> Result<StoredImage, DomainError> {
        let images = self.reader.candidates(name)?;
        resolve(name, &images).cloned()
    }

    /// Published images, newest label first, filtered by channel and branch (empty: any);
    /// withdrawn ones only with `include_withdrawn`.
    pub fn list_images(
        &self,
        channel: &str,
        branch: &str,
        include_withdrawn: bool,
    ) -> Result<Vec<StoredImage>, DomainError> {
        let mut images: Vec<StoredImage> = self
            .reader
            .images()?
            .into_iter()
            .filter(|i| channel.is_empty() || i.record.channel.as_str() == channel)
            .filter(|i| branch.is_empty() || i.record.driver_branch == branch)
            .filter(|i| include_withdrawn || status(i).0 != "withdrawn")
            .collect();
        images.sort_by(|a, b| {
            (b.record.version, b.published_at, &b.record.driver_branch).cmp(&(
                a.record.version,
                a.published_at,
                &a.record.driver_branch,
            ))
        });
        Ok(images)
    }

    /// Promotes, deprecates or withdraws the image `name` names.
    pub async fn transition(
        &self,
        ctx: &Ctx,
        step: Step,
        name: &str,
        reason: &str,
    ) -> Result<StoredImage, DomainError> {
        let mut w = self.engine.lock().await;
        let images = self.reader.candidates(name)?;
        let id = resolve(name, &images)?.record.id.clone();
        let stored = self
            .reader
            .image(&id)?
            .ok_or_else(|| DomainError::not_found("image", id.to_string()))?;
        let (change, image) = apply(step, &stored, reason, &self.farm(), ctx)?;
        w.commit(change).await?;
        Ok(image)
    }
}
