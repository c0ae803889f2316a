//! image-builder's store layout: typed tables, the records in them, and the reads the engine
//! and the API make.
//!
//! Trees (values JSON, versioned by the store):
//! - `images` `<64 hex>` → [`StoredImage`]: a published image — its lifecycle record
//!   (`accord_image::ImageRecord`), its canonical manifest, signature and SBOM document exactly
//!   as published;
//! - `builds` `<build id>` → [`StoredBuild`]: a build and its stages (ids are ULIDs, so key
//!   order is creation order); at most [`MAX_KEPT_BUILDS`] are kept, the oldest finished ones
//!   pruned by the commit that accepts a new one;
//! - `active` `<build id>` → `()`: the builds not finished yet, written in the same commit as
//!   the build, so a reconciler pass reads only those (and the limit on unfinished builds is
//!   the size of this tree).
//!
//! Invariants: only image-builder opens this store and it is the single writer of images and
//! builds; a build has an `active` entry exactly while it is queued or running; an image's
//! stored manifest hashes to its key.

use accord_core::DomainError;
use accord_image::{ImageRecord, ImageVersion, ManifestId, ManifestSignature};
use accord_store::{Store, Table, Versioned};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const IMAGES: Table<StoredImage> = Table::new("images");
pub const BUILDS: Table<StoredBuild> = Table::new("builds");
pub const ACTIVE: Table<()> = Table::new("active");

/// Builds kept (and listed) at most.
pub const MAX_KEPT_BUILDS: usize = 100;

/// The store key of an image: its id's hex digits.
pub fn image_key(id: &ManifestId) -> String {
    hex::encode(id.digest())
}

/// A published image with everything it was published with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImage {
    /// Channel, status and history.
    pub record: ImageRecord,
    /// The canonical manifest (RFC 8785 JSON; its SHA-256 is the id).
    pub manifest: String,
    /// The provider's signature over the id.
    pub signature: ManifestSignature,
    /// The CycloneDX document exactly as served.
    pub sbom: String,
    /// The build that produced it (`None`: the base release published at first start).
    pub build: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

/// The stages of a build, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Resolve,
    Install,
    Configure,
    Sbom,
    Scan,
    Sign,
    Publish,
}

impl Stage {
    /// Every stage, in the order a build runs them.
    pub const ALL: [Stage; 7] = [
        Stage::Resolve,
        Stage::Install,
        Stage::Configure,
        Stage::Sbom,
        Stage::Scan,
        Stage::Sign,
        Stage::Publish,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Resolve => "resolve",
            Stage::Install => "install",
            Stage::Configure => "configure",
            Stage::Sbom => "sbom",
            Stage::Scan => "scan",
            Stage::Sign => "sign",
            Stage::Publish => "publish",
        }
    }

    /// The stage named `name`, if any.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Where a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl BuildState {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildState::Queued => "queued",
            BuildState::Running => "running",
            BuildState::Succeeded => "succeeded",
            BuildState::Failed => "failed",
        }
    }

    /// Whether the build is over.
    pub fn finished(self) -> bool {
        matches!(self, BuildState::Succeeded | BuildState::Failed)
    }
}

/// Where a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl StageState {
    pub fn as_str(self) -> &'static str {
        match self {
            StageState::Pending => "pending",
            StageState::Running => "running",
            StageState::Succeeded => "succeeded",
            StageState::Failed => "failed",
        }
    }
}

/// One stage of a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: Stage,
    pub state: StageState,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub duration_ms: u64,
    /// At most [`crate::handlers::stages::MAX_LOG_LINES`] lines.
    pub log: Vec<String>,
}

/// A build: what it builds, who asked, and its stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBuild {
    pub id: String,
    pub version: ImageVersion,
    pub driver_branch: String,
    /// The image it publishes (the manifest's content id, known from the start).
    pub image: ManifestId,
    /// The canonical manifest.
    pub manifest: String,
    /// What the package archive moved when the build had no manifest
    /// (`kernel 6.8.0-88-generic → 6.8.0-90-generic`); empty: the manifest was taken as given.
    #[serde(default)]
    pub upgrades: Vec<String>,
    /// The stage that is made to fail (failure injection), if any.
    pub fail_at: Option<Stage>,
    /// Why the operator built it.
    pub reason: String,
    pub by: String,
    pub state: BuildState,
    pub stages: Vec<StageRecord>,
    /// Why it failed.
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The SBOM document, once the `sbom` stage made it.
    pub sbom: Option<String>,
    /// The signature, once the `sign` stage made it.
    pub signature: Option<ManifestSignature>,
}

impl StoredBuild {
    /// The index of the stage running (or failed), if any.
    pub fn current(&self) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| matches!(s.state, StageState::Running | StageState::Failed))
    }
}

/// Reads of image-builder's store.
#[derive(Debug, Clone)]
pub struct Reader {
    store: Store,
}

impl Reader {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every published image, in key order.
    pub fn images(&self) -> Result<Vec<StoredImage>, DomainError> {
        Ok(IMAGES.values(&self.store, "")?)
    }

    /// The images a name may mean: for an id or hex prefix only the keys starting with it
    /// (keys are the id's hex: no other image is read); for a label, every image.
    pub fn candidates(&self, name: &str) -> Result<Vec<StoredImage>, DomainError> {
        let trimmed = name.trim();
        let hex = trimmed.strip_prefix("sha256:").unwrap_or(trimmed);
        if hex.len() >= crate::handlers::resolve::MIN_PREFIX
            && hex.len() <= 64
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(IMAGES.values(&self.store, &hex.to_ascii_lowercase())?);
        }
        self.images()
    }

    pub fn image(&self, id: &ManifestId) -> Result<Option<Versioned<StoredImage>>, DomainError> {
        Ok(IMAGES.get(&self.store, &image_key(id))?)
    }

    /// Every kept build, oldest first.
    pub fn builds(&self) -> Result<Vec<StoredBuild>, DomainError> {
        Ok(BUILDS.values(&self.store, "")?)
    }

    pub fn build(&self, id: &str) -> Result<Option<Versioned<StoredBuild>>, DomainError> {
        Ok(BUILDS.get(&self.store, id)?)
    }

    /// The builds not finished yet, oldest first.
    pub fn active_builds(&self) -> Result<Vec<Versioned<StoredBuild>>, DomainError> {
        let mut out = Vec::new();
        for (id, _) in ACTIVE.list(&self.store, "")? {
            if let Some(b) = BUILDS.get(&self.store, &id)? {
                out.push(b);
            }
        }
        Ok(out)
    }
}
