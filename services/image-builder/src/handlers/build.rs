//! A build asked for (`BuildImage`): accepted as a queued build with its seven stages pending
//! and an `image.build-started` event, or refused before anything is stored.
//!
//! In order: `fail_at_stage` names a real stage (INVALID_ARGUMENT); fewer than
//! [`MAX_UNFINISHED_BUILDS`] builds are unfinished (RESOURCE_EXHAUSTED naming `builds`); the
//! manifest parses and validates (INVALID_ARGUMENT naming the field) and is taken as given — or,
//! without one, the base manifest of `driver_branch` is resolved against the package archive
//! (`accord_image::archive`: every pinned component moved to the newest version of its series),
//! refused with FAILED_PRECONDITION when nothing moves (the base is up to date); the gate passes against the matrix in force
//! (FAILED_PRECONDITION naming the pair); the id is neither published nor being built
//! (ALREADY_EXISTS); the label, given or computed, is greater than every label of the branch
//! published or being built (INVALID_ARGUMENT `version`).
//!
//! The commit that accepts a build also prunes the oldest finished builds so at most
//! [`MAX_KEPT_BUILDS`] are kept.

use accord_core::DomainError;
use accord_image::{BaseRelease, ImageVersion, resolve, seal};
use accord_store::Expect;

use super::{Change, Ctx, Farm, material};
use crate::trees::{
    ACTIVE, BUILDS, BuildState, MAX_KEPT_BUILDS, Stage, StageRecord, StageState, StoredBuild,
    StoredImage,
};

/// Builds queued or running at most.
pub const MAX_UNFINISHED_BUILDS: usize = 4;
/// The base manifest built when the request names no branch.
pub const DEFAULT_BRANCH: &str = "production";

/// A build request, bounded at the edge.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// YAML or JSON, taken as given; empty: the base manifest of `driver_branch` resolved
    /// against the package archive.
    pub manifest: String,
    pub driver_branch: String,
    /// Empty: the next label.
    pub version: String,
    /// Empty: no injected failure.
    pub fail_at_stage: String,
    pub reason: String,
}

/// Accepts `req` as build `id` (see the module docs), given every published image and every
/// kept build (oldest first).
pub fn accept(
    req: &BuildRequest,
    images: &[StoredImage],
    builds: &[StoredBuild],
    base: &BaseRelease,
    farm: &Farm<'_>,
    ctx: &Ctx,
    id: &str,
) -> Result<(Change, StoredBuild), DomainError> {
    let fail_at = match req.fail_at_stage.as_str() {
        "" => None,
        name => Some(Stage::parse(name).ok_or_else(|| {
            DomainError::invalid(
                "fail_at_stage",
                format!(
                    "must name a stage ({})",
                    Stage::ALL.map(Stage::as_str).join(", ")
                ),
            )
        })?),
    };
    let unfinished = builds.iter().filter(|b| !b.state.finished()).count();
    if unfinished >= MAX_UNFINISHED_BUILDS {
        return Err(DomainError::ResourceExhausted(format!(
            "builds: {unfinished} builds are unfinished (at most {MAX_UNFINISHED_BUILDS}); wait for one to finish"
        )));
    }
    let (manifest, upgrades) = if req.manifest.trim().is_empty() {
        let branch = match req.driver_branch.as_str() {
            "" => DEFAULT_BRANCH,
            b => b,
        };
        let base_manifest = base.for_branch(branch).ok_or_else(|| {
            DomainError::invalid(
                "driver_branch",
                format!(
                    "the base release has no manifest for this branch (it has {})",
                    base.manifests
                        .iter()
                        .map(|m| m.gpu_driver.branch.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let resolved = resolve(base_manifest, farm.archive);
        if resolved.upgrades.is_empty() {
            return Err(DomainError::FailedPrecondition(format!(
                "the base is up to date with the package archive (version {}); pass a manifest",
                farm.archive.version
            )));
        }
        let upgrades = resolved.upgrades.iter().map(ToString::to_string).collect();
        (resolved.manifest, upgrades)
    } else {
        (material::parse(&req.manifest)?, Vec::new())
    };
    let sealed = seal(manifest, farm.instance_types)?;
    material::gate(&sealed.manifest, farm.matrix)?;
    let image = sealed.id.to_string();
    if images.iter().any(|i| i.record.id == sealed.id)
        || builds
            .iter()
            .any(|b| b.image == sealed.id && !b.state.finished())
    {
        return Err(DomainError::AlreadyExists {
            kind: "image",
            name: image,
        });
    }
    let branch = sealed.manifest.gpu_driver.branch.clone();
    let newest = images
        .iter()
        .filter(|i| i.record.driver_branch == branch)
        .map(|i| i.record.version)
        .chain(
            builds
                .iter()
                .filter(|b| b.driver_branch == branch && !b.state.finished())
                .map(|b| b.version),
        )
        .max();
    let version = match req.version.as_str() {
        "" => newest
            .map_or(base.version, |v| v.max(base.version))
            .next(ctx.now.date()),
        label => {
            let v: ImageVersion = label
                .parse()
                .map_err(|e: String| DomainError::invalid("version", e))?;
            if let Some(newest) = newest
                && v <= newest
            {
                return Err(DomainError::invalid(
                    "version",
                    format!(
                        "{v} is not greater than {newest}, the newest label of the {branch} branch (labels only move forward)"
                    ),
                ));
            }
            v
        }
    };
    let canonical = String::from_utf8(sealed.bytes)
        .map_err(|_| DomainError::internal("canonical manifest is not UTF-8"))?;
    let build = StoredBuild {
        id: id.to_owned(),
        version,
        driver_branch: branch,
        image: sealed.id,
        manifest: canonical,
        upgrades,
        fail_at,
        reason: req.reason.clone(),
        by: ctx.actor.clone(),
        state: BuildState::Queued,
        stages: Stage::ALL
            .into_iter()
            .map(|stage| StageRecord {
                stage,
                state: StageState::Pending,
                started_at: None,
                finished_at: None,
                duration_ms: 0,
                log: Vec::new(),
            })
            .collect(),
        error: None,
        created_at: ctx.now,
        finished_at: None,
        sbom: None,
        signature: None,
    };
    let mut change = Change::platform();
    change.put(BUILDS, id, &build, Expect::Absent)?;
    change.put(ACTIVE, id, &(), Expect::Absent)?;
    let excess = (builds.len() + 1).saturating_sub(MAX_KEPT_BUILDS);
    for old in builds.iter().filter(|b| b.state.finished()).take(excess) {
        change.delete(BUILDS, &old.id, Expect::Any);
    }
    change.event(accord_core::image::ImageEvent::BuildStarted {
        build: id.to_owned(),
        version: version.to_string(),
        by: ctx.actor.clone(),
    });
    Ok((change, build))
}
