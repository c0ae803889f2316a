//! One step of a build, as the reconciler takes it: start the first stage of a queued build
//! ([`start`]), restart a stage a previous process left running ([`resume`]), or finish the
//! running stage once its time is up ([`finish`]) — doing the stage's work, then starting the
//! next stage in the same commit, or failing the build, or (after `publish`) publishing the
//! image.
//!
//! The stages' work:
//! - `resolve`: the packages the archive moved (a build without a manifest: one line per
//!   upgrade, `kernel 6.8.0-88-generic → 6.8.0-90-generic`) or that the manifest is taken as
//!   given; the stored manifest parses back canonically, validates, and passes the gate against
//!   the matrix in force *now*;
//! - `install`: the pinned packages, logged;
//! - `configure`: what is pinned and configured — kernel, driver, sysctls, kernel arguments,
//!   hardening profile;
//! - `sbom`: the CycloneDX 1.6 document, stored on the build;
//! - `scan`: every pinned component is in the SBOM with its pinned version;
//! - `sign`: the provider's Ed25519 signature over the id;
//! - `publish`: the image recorded in the `candidate` channel with its manifest, signature and
//!   SBOM; `image.published` and `image.build-succeeded`.
//!
//! A build's `fail_at` stage fails instead of doing its work (failure injection). A failure
//! ends the build (`image.build-failed` with the stage and the reason).
//!
//! Invariants: every write is conditional on the version of the build read, so a step is
//! committed at most once; a stage's log holds at most [`MAX_LOG_LINES`] lines; an image is
//! published only by the `publish` stage of a build that passed every stage before it, and at
//! most once (the image's key must be absent).

use accord_core::{DomainError, image::ImageEvent};
use accord_image::{Manifest, parse_canonical, publish, sign, validate_manifest};
use accord_store::{Expect, Versioned};
use time::{Duration, OffsetDateTime};

use super::{Change, Ctx, Farm, material, published};
use crate::trees::{
    ACTIVE, BUILDS, BuildState, IMAGES, Stage, StageRecord, StageState, StoredBuild, StoredImage,
    image_key,
};

/// Log lines one stage keeps.
pub const MAX_LOG_LINES: usize = 50;

/// Appends `line` to a stage's log, the last slot saying how many lines were dropped.
fn log(stage: &mut StageRecord, line: impl Into<String>) {
    match stage.log.len() {
        n if n + 1 < MAX_LOG_LINES => stage.log.push(line.into()),
        n if n + 1 == MAX_LOG_LINES => stage.log.push("… (1 more line)".into()),
        _ => {
            let more = stage
                .log
                .last()
                .and_then(|l| l.strip_prefix("… ("))
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            if let Some(last) = stage.log.last_mut() {
                *last = format!("… ({} more lines)", more + 1);
            }
        }
    }
}

fn stored(change: &mut Change, build: &StoredBuild, version: u64) -> Result<(), DomainError> {
    change.put(BUILDS, &build.id, build, Expect::Version(version))?;
    Ok(())
}

/// Whether the running stage of `build` has run for `stage_duration` at `now`.
pub fn due(build: &StoredBuild, now: OffsetDateTime, stage_duration: std::time::Duration) -> bool {
    build
        .current()
        .and_then(|i| build.stages[i].started_at)
        .is_some_and(|at| now - at >= stage_duration)
}

/// Starts the first stage of a queued build.
pub fn start(build: &Versioned<StoredBuild>, ctx: &Ctx) -> Result<Change, DomainError> {
    let mut b = build.value.clone();
    b.state = BuildState::Running;
    if let Some(first) = b.stages.first_mut() {
        first.state = StageState::Running;
        first.started_at = Some(ctx.now);
        log(first, format!("started by {}", b.by));
    }
    let mut change = Change::platform();
    stored(&mut change, &b, build.version)?;
    Ok(change)
}

/// Restarts the running stage from its beginning: the process that ran it stopped mid-stage.
pub fn resume(build: &Versioned<StoredBuild>, ctx: &Ctx) -> Result<Change, DomainError> {
    let mut b = build.value.clone();
    if let Some(i) = b.current() {
        let stage = &mut b.stages[i];
        stage.started_at = Some(ctx.now);
        log(
            stage,
            "resumed after a restart: the interrupted attempt is discarded and the stage runs again from its start",
        );
    }
    let mut change = Change::platform();
    stored(&mut change, &b, build.version)?;
    Ok(change)
}

/// Finishes the running stage of `build` (see the module docs). `stored_image` is the image of
/// the build's id if one is published already.
pub fn finish(
    build: &Versioned<StoredBuild>,
    stored_image: Option<&StoredImage>,
    farm: &Farm<'_>,
    ctx: &Ctx,
) -> Result<Change, DomainError> {
    let mut b = build.value.clone();
    let Some(i) = b.current() else {
        return Ok(Change::none());
    };
    let stage = b.stages[i].stage;
    let outcome = if b.fail_at == Some(stage) {
        Err(format!(
            "injected failure at stage {} (fail_at_stage)",
            stage.as_str()
        ))
    } else {
        work(&mut b, stage, stored_image, farm, ctx)
    };
    let mut change = Change::platform();
    let record = &mut b.stages[i];
    record.finished_at = Some(ctx.now);
    record.duration_ms = record.started_at.map_or(0, |at| millis(ctx.now - at));
    match outcome {
        Err(reason) => {
            record.state = StageState::Failed;
            log(record, format!("failed: {reason}"));
            b.state = BuildState::Failed;
            b.error = Some(format!("{}: {reason}", stage.as_str()));
            b.finished_at = Some(ctx.now);
            change.delete(ACTIVE, &b.id, Expect::Any);
            change.event(ImageEvent::BuildFailed {
                build: b.id.clone(),
                version: b.version.to_string(),
                stage: stage.as_str().to_owned(),
                reason,
            });
        }
        Ok(Done { lines, image }) => {
            for line in lines {
                log(record, line);
            }
            record.state = StageState::Succeeded;
            log(record, format!("succeeded in {} ms", record.duration_ms));
            if let Some(image) = image {
                change.put(IMAGES, &image_key(&image.record.id), &image, Expect::Absent)?;
                b.state = BuildState::Succeeded;
                b.finished_at = Some(ctx.now);
                change.delete(ACTIVE, &b.id, Expect::Any);
                change.event(published(&image));
                change.event(ImageEvent::BuildSucceeded {
                    build: b.id.clone(),
                    version: b.version.to_string(),
                    image: image.record.id.to_string(),
                });
            } else if let Some(next) = b.stages.get_mut(i + 1) {
                next.state = StageState::Running;
                next.started_at = Some(ctx.now);
                log(next, "started");
            }
        }
    }
    stored(&mut change, &b, build.version)?;
    Ok(change)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.whole_milliseconds()).unwrap_or(0)
}

/// What a stage did: its log lines, and the image when it published one.
struct Done {
    lines: Vec<String>,
    image: Option<StoredImage>,
}

fn lines(lines: Vec<String>) -> Result<Done, String> {
    Ok(Done { lines, image: None })
}

fn manifest_of(b: &StoredBuild) -> Result<Manifest, String> {
    parse_canonical(b.manifest.as_bytes()).map_err(|e| format!("the stored manifest: {e}"))
}

fn work(
    b: &mut StoredBuild,
    stage: Stage,
    stored_image: Option<&StoredImage>,
    farm: &Farm<'_>,
    ctx: &Ctx,
) -> Result<Done, String> {
    let m = manifest_of(b)?;
    let id = b.image.to_string();
    match stage {
        Stage::Resolve => {
            validate_manifest(&m, farm.instance_types).map_err(|e| e.to_string())?;
            material::gate(&m, farm.matrix).map_err(|e| e.to_string())?;
            let good = accord_image::known_good(&m, &Default::default(), farm.matrix).len();
            let resolved = if b.upgrades.is_empty() {
                vec!["manifest taken as given: no package resolution".to_owned()]
            } else {
                let mut out = vec![format!(
                    "the base manifest resolved against the package archive: {} upgrades",
                    b.upgrades.len()
                )];
                out.extend(b.upgrades.iter().cloned());
                out
            };
            lines([resolved, vec![
                format!(
                    "manifest {id} resolved: {} pinned components",
                    material::pinned(&m).len()
                ),
                format!(
                    "compatibility gate passed against matrix version {} ({good} known-good combinations apply)",
                    farm.matrix.version
                ),
            ]]
            .concat())
        }
        Stage::Install => lines(
            material::pinned(&m)
                .into_iter()
                .map(|p| format!("installed {} {}", p.name, p.version))
                .collect(),
        ),
        Stage::Configure => {
            let mut out = vec![
                format!("os {} {}", m.os.id, m.os.version_id),
                format!("kernel pinned at {}", m.kernel.version),
                format!(
                    "GPU driver {} (branch {}), fabric manager {}",
                    m.gpu_driver.version, m.gpu_driver.branch, m.fabric_manager.version
                ),
                format!("hardening profile {}", m.base.hardening),
            ];
            out.extend(
                m.base
                    .sysctls
                    .iter()
                    .map(|(k, v)| format!("sysctl {k} = {v}")),
            );
            out.extend(
                m.base
                    .kernel_args
                    .iter()
                    .map(|a| format!("kernel argument {a}")),
            );
            lines(out)
        }
        Stage::Sbom => {
            let doc = material::sbom(&m, &id, &b.version.to_string(), ctx.now)
                .map_err(|e| e.to_string())?;
            let line = format!("CycloneDX 1.6 document, {} bytes", doc.len());
            b.sbom = Some(doc);
            lines(vec![line])
        }
        Stage::Scan => {
            let doc = b
                .sbom
                .as_deref()
                .ok_or("no SBOM: the sbom stage did not run")?;
            let report = material::scan(&m, &id, doc)?;
            lines(vec![format!(
                "{} components listed; all {} pinned components present with their pinned versions",
                report.components, report.pinned
            )])
        }
        Stage::Sign => {
            let signature = sign(&b.image, farm.key);
            let line = format!("signed {id} with {}", signature.key_id);
            b.signature = Some(signature);
            lines(vec![line])
        }
        Stage::Publish => {
            if stored_image.is_some() {
                return Err(format!("{id} is already published"));
            }
            let (Some(sbom), Some(signature)) = (b.sbom.clone(), b.signature.clone()) else {
                return Err("no SBOM or signature: earlier stages did not run".into());
            };
            let record = publish(b.image.clone(), b.version, &b.driver_branch, &b.by, ctx.now)
                .map_err(|e| e.to_string())?;
            let image = StoredImage {
                record,
                manifest: b.manifest.clone(),
                signature,
                sbom,
                build: Some(b.id.clone()),
                published_at: ctx.now,
            };
            Ok(Done {
                lines: vec![format!("published {} as {} to candidate", id, b.version)],
                image: Some(image),
            })
        }
    }
}
