//! Worker images, from the image-builder (`accord.images.v1`, at its package's endpoint in the
//! profile, else `endpoint`): `accord get images|builds`, `accord describe image|build`, and
//! `accord image sbom|manifest|build|promote|deprecate|withdraw`.
//!
//! `image sbom` and `image manifest` write the document's bytes to stdout unchanged (no
//! newline added), so `accord image manifest X | sha256sum` reproduces the id.
//! `image build --wait` polls `GetBuild` every [`BUILD_POLL_INTERVAL`] until the build
//! finishes or the timeout passes, printing each stage transition as it is seen (rendering is
//! [`images::build_transitions`], a pure function of two snapshots); a failed build exits
//! non-zero naming the stage and the reason.

use std::time::Duration;

use accord_proto::images::v1 as pb;
use anyhow::{Context as _, bail};
use tokio::time::{Instant, MissedTickBehavior};

use super::{Context, images_error};
use crate::cli::{ImageBuildArgs, ImageCommand, ImageQuery, OutputFormat};
use crate::client::{Api, ApiError};
use crate::output::images;
use crate::output::{render_list, render_one, structured};

/// How often `image build --wait` asks for the build (a stage lasts seconds).
pub const BUILD_POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Runs `accord image …`.
pub async fn run(ctx: &Context, command: ImageCommand) -> anyhow::Result<()> {
    match command {
        ImageCommand::Sbom(target) => document(ctx, &target.name, Document::Sbom).await,
        ImageCommand::Manifest(target) => document(ctx, &target.name, Document::Manifest).await,
        ImageCommand::Build(args) => build(ctx, &args).await,
        ImageCommand::Promote(args) => {
            let reason = args.reason.unwrap_or_default();
            transition(ctx, Transition::Promote, &args.name, &reason).await
        }
        ImageCommand::Deprecate(args) => {
            transition(ctx, Transition::Deprecate, &args.name, &args.reason).await
        }
        ImageCommand::Withdraw(args) => {
            transition(ctx, Transition::Withdraw, &args.name, &args.reason).await
        }
    }
}

/// The `ListImages` request of `accord get images`.
pub fn list_request(query: &ImageQuery) -> pb::ListImagesRequest {
    pb::ListImagesRequest {
        channel: query.channel.clone().unwrap_or_default(),
        driver_branch: query.driver_branch.clone().unwrap_or_default(),
        include_withdrawn: query.all,
    }
}

/// `accord get images` (and `accord catalog images`).
pub async fn get_images(ctx: &Context, query: &ImageQuery) -> anyhow::Result<()> {
    let api = ctx.images_api().await?;
    let response = api
        .call(api.images().list_images(list_request(query)))
        .await
        .map_err(|e| images_error(api.endpoint(), e))?;
    if response.images.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("No images found.");
        return Ok(());
    }
    let now = ctx.now();
    ctx.out(&render_list(ctx.format, &response.images, || {
        images::images_table(&response.images, now)
    })?);
    Ok(())
}

/// `accord describe image NAME`.
pub async fn describe_image(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let api = ctx.images_api().await?;
    let detail = api
        .call(api.images().get_image(image_request(name)))
        .await
        .map_err(|e| images_error(api.endpoint(), e))?;
    let now = ctx.now();
    ctx.out(&render_one(ctx.format, &detail, || {
        images::describe_image(&detail, now)
    })?);
    Ok(())
}

/// `accord get builds [ID]`.
pub async fn get_builds(ctx: &Context, id: Option<&str>) -> anyhow::Result<()> {
    let api = ctx.images_api().await?;
    let now = ctx.now();
    if let Some(id) = id {
        let build = get_build(&api, id).await?;
        ctx.out(&render_one(ctx.format, &build, || {
            images::builds_table(std::slice::from_ref(&build), now)
        })?);
        return Ok(());
    }
    let builds = api
        .call(api.images().list_builds(pb::ListBuildsRequest {}))
        .await
        .map_err(|e| images_error(api.endpoint(), e))?
        .builds;
    if builds.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("No builds found.");
        return Ok(());
    }
    ctx.out(&render_list(ctx.format, &builds, || {
        images::builds_table(&builds, now)
    })?);
    Ok(())
}

/// `accord describe build ID`.
pub async fn describe_build(ctx: &Context, id: &str) -> anyhow::Result<()> {
    let api = ctx.images_api().await?;
    let build = get_build(&api, id).await?;
    let now = ctx.now();
    ctx.out(&render_one(ctx.format, &build, || {
        images::describe_build(&build, now)
    })?);
    Ok(())
}

fn image_request(name: &str) -> pb::GetImageRequest {
    pb::GetImageRequest {
        image: name.to_owned(),
    }
}

async fn get_build(api: &Api, id: &str) -> anyhow::Result<pb::Build> {
    api.call(api.images().get_build(pb::GetBuildRequest {
        build: id.to_owned(),
    }))
    .await
    .map_err(|e| images_error(api.endpoint(), e))
}

/// Which document of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Document {
    Sbom,
    Manifest,
}

async fn document(ctx: &Context, name: &str, which: Document) -> anyhow::Result<()> {
    let api = ctx.images_api().await?;
    let call = match which {
        Document::Sbom => {
            api.call(api.images().get_image_sbom(image_request(name)))
                .await
        }
        Document::Manifest => {
            api.call(api.images().get_image_manifest(image_request(name)))
                .await
        }
    };
    let document = call.map_err(|e| images_error(api.endpoint(), e))?;
    ctx.printer.raw(images::document_bytes(&document));
    Ok(())
}

/// The `BuildImage` request; `manifest` is the text of `--manifest`'s file.
pub fn build_request(args: &ImageBuildArgs, manifest: Option<String>) -> pb::BuildImageRequest {
    pb::BuildImageRequest {
        manifest: manifest.unwrap_or_default(),
        driver_branch: args.driver_branch.clone().unwrap_or_default(),
        version: args.version.clone().unwrap_or_default(),
        fail_at_stage: args.fail_at_stage.clone().unwrap_or_default(),
        reason: args.reason.clone().unwrap_or_default(),
    }
}

async fn build(ctx: &Context, args: &ImageBuildArgs) -> anyhow::Result<()> {
    let manifest = match &args.manifest {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("read the manifest {}", path.display()))?,
        ),
        None => None,
    };
    let api = ctx.images_api().await?;
    let started = api
        .call(api.images().build_image(build_request(args, manifest)))
        .await
        .map_err(|e| images_error(api.endpoint(), e))?;
    let structured_output = matches!(ctx.format, OutputFormat::Json | OutputFormat::Yaml);
    if !args.wait.wait {
        let now = ctx.now();
        ctx.out(&render_one(ctx.format, &started, || {
            images::describe_build(&started, now)
        })?);
        return Ok(());
    }
    if !structured_output {
        ctx.out(&format!(
            "build/{} started: {} ({}), image {}",
            started.id,
            started.version,
            started.driver_branch,
            images::short_image_id(&started.image)
        ));
    }
    let last = wait_for_build(ctx, &api, started, args.wait.timeout).await?;
    if structured_output {
        ctx.out(&structured(
            ctx.format,
            &crate::output::Resource::to_value(&last)?,
        )?);
    }
    match images::build_outcome(&last) {
        Ok(line) => {
            if !structured_output {
                ctx.out(&line);
            }
            Ok(())
        }
        Err(line) => bail!(line),
    }
}

/// Polls the build until it finishes, printing each stage transition (stdout for tables, stderr
/// beside a JSON / YAML document); gives up at `timeout`.
async fn wait_for_build(
    ctx: &Context,
    api: &Api,
    first: pb::Build,
    timeout: Duration,
) -> anyhow::Result<pb::Build> {
    let show = |line: &str| match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => ctx.note(line),
        _ => ctx.out(line),
    };
    for line in images::build_transitions(None, &first) {
        show(&line);
    }
    let deadline = Instant::now() + timeout;
    let mut ticks = tokio::time::interval(BUILD_POLL_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = first;
    while !images::build_finished(&last) {
        if Instant::now() >= deadline {
            bail!(
                "timed out after {} waiting for build {} (last seen: {}, stage {})",
                crate::parse::format_duration(timeout),
                last.id,
                last.state,
                last.stage
            );
        }
        tokio::select! {
            _ = ticks.tick() => {}
            () = tokio::time::sleep_until(deadline) => continue,
        }
        let request = pb::GetBuildRequest {
            build: last.id.clone(),
        };
        let mut client = api.images();
        let answer = tokio::time::timeout_at(deadline, api.call(client.get_build(request))).await;
        match answer {
            Err(_elapsed) => continue,
            Ok(Err(error)) if error.is_transient() => {
                ctx.note(&format!("retrying: {error}"));
            }
            Ok(Err(error)) => return Err(images_error(api.endpoint(), error)),
            Ok(Ok(next)) => {
                for line in images::build_transitions(Some(&last), &next) {
                    show(&line);
                }
                last = next;
            }
        }
    }
    Ok(last)
}

/// A lifecycle change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    Promote,
    Deprecate,
    Withdraw,
}

async fn transition(
    ctx: &Context,
    which: Transition,
    name: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let api = ctx.images_api().await?;
    let request = pb::ImageTransitionRequest {
        image: name.to_owned(),
        reason: reason.to_owned(),
    };
    let client = api.images();
    let call: Result<pb::Image, ApiError> = match which {
        Transition::Promote => api.call(client.clone().promote_image(request)).await,
        Transition::Deprecate => api.call(client.clone().deprecate_image(request)).await,
        Transition::Withdraw => api.call(client.clone().withdraw_image(request)).await,
    };
    let image = call.map_err(|e| images_error(api.endpoint(), e))?;
    match ctx.format {
        OutputFormat::Table => ctx.out(&transition_line(which, &image)),
        OutputFormat::Name => ctx.out(&format!("image/{}", image.id)),
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &crate::output::Resource::to_value(&image)?,
        )?),
    }
    Ok(())
}

/// `image/2026.12.0 (3f2a9c1b7d4e) promoted to stable`.
fn transition_line(which: Transition, image: &pb::Image) -> String {
    let what = match which {
        Transition::Promote => format!("promoted to {}", image.channel),
        Transition::Deprecate => "deprecated".to_owned(),
        Transition::Withdraw => "withdrawn".to_owned(),
    };
    let reason = if image.status_reason.is_empty() {
        String::new()
    } else {
        format!(": {}", image.status_reason)
    };
    format!(
        "image/{} ({}) {what}{reason}",
        image.version,
        images::short_image_id(&image.id)
    )
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
