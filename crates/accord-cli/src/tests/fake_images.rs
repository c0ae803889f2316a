//! Whole image commands against an in-process fake of the image-builder's `Images` service on
//! a random port: the list filters on the wire, the byte-exact documents, `image build --wait`
//! (the fake moves a build one stage per read; `--fail-at-stage` fails that stage), lifecycle
//! changes and error rendering.
//!
//! The fake knows one image and builds nothing real; the service is tested by its own crate.

use std::sync::{Arc, Mutex};

use accord_proto::images::v1 as pb;
use accord_proto::images::v1::images_server::{Images, ImagesServer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use super::fake_api::TOKEN;
use crate::cli::Cli;
use crate::commands::{self, Context};
use crate::config::Settings;
use crate::fixtures;
use crate::output::{Captured, Printer};
use crate::render_error;

const STAGES: [&str; 7] = [
    "resolve",
    "install",
    "configure",
    "sbom",
    "scan",
    "sign",
    "publish",
];

#[derive(Default)]
struct State {
    listed: Vec<pb::ListImagesRequest>,
    build: Option<pb::Build>,
    fail_at: String,
}

#[derive(Clone, Default)]
struct Fake {
    state: Arc<Mutex<State>>,
}

fn authorize<T>(request: &Request<T>) -> Result<(), Status> {
    let header = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if header == Some(&format!("Bearer {TOKEN}")) {
        Ok(())
    } else {
        Err(Status::unauthenticated("unknown API key"))
    }
}

fn known(name: &str) -> Result<(), Status> {
    if name == "2026.12.0" || fixtures::IMAGE_ID.contains(name) {
        Ok(())
    } else {
        Err(Status::not_found(format!("image {name} not found")))
    }
}

/// One stage further: the running stage finishes (or fails), the next starts.
fn advance(build: &mut pb::Build, fail_at: &str) {
    let running = build.stages.iter().position(|s| s.state == "running");
    let next = match running {
        Some(i) => {
            let stage = &mut build.stages[i];
            stage.duration_ms = 1500;
            if stage.name == fail_at {
                stage.state = "failed".into();
                stage.log.push(format!("{}: injected failure", stage.name));
                build.state = "failed".into();
                build.error = "injected failure".into();
                return;
            }
            stage.state = "succeeded".into();
            stage.log.push(format!("{}: done", stage.name));
            i + 1
        }
        None => 0,
    };
    match build.stages.get_mut(next) {
        Some(stage) => {
            stage.state = "running".into();
            stage.log.push(format!("{}: starting", stage.name));
            build.state = "running".into();
            build.stage = stage.name.clone();
        }
        None => build.state = "succeeded".into(),
    }
}

#[tonic::async_trait]
impl Images for Fake {
    async fn list_images(
        &self,
        request: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesResponse>, Status> {
        authorize(&request)?;
        self.state.lock().unwrap().listed.push(request.into_inner());
        Ok(Response::new(pb::ListImagesResponse {
            images: vec![fixtures::image()],
        }))
    }

    async fn get_image(
        &self,
        request: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::ImageDetail>, Status> {
        authorize(&request)?;
        known(&request.get_ref().image)?;
        Ok(Response::new(fixtures::image_detail()))
    }

    async fn get_image_sbom(
        &self,
        request: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::ImageDocument>, Status> {
        authorize(&request)?;
        known(&request.get_ref().image)?;
        Ok(Response::new(pb::ImageDocument {
            content_type: "application/vnd.cyclonedx+json".into(),
            data: b"{\n  \"bomFormat\": \"CycloneDX\"\n}".to_vec(),
        }))
    }

    async fn get_image_manifest(
        &self,
        request: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::ImageDocument>, Status> {
        authorize(&request)?;
        known(&request.get_ref().image)?;
        Ok(Response::new(pb::ImageDocument {
            content_type: "application/json".into(),
            data: fixtures::CANONICAL_MANIFEST.as_bytes().to_vec(),
        }))
    }

    async fn get_signing_key(
        &self,
        _request: Request<pb::GetSigningKeyRequest>,
    ) -> Result<Response<pb::SigningKey>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_compatibility_matrix(
        &self,
        _request: Request<pb::GetCompatibilityMatrixRequest>,
    ) -> Result<Response<pb::CompatibilityMatrix>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn build_image(
        &self,
        request: Request<pb::BuildImageRequest>,
    ) -> Result<Response<pb::Build>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let build = pb::Build {
            id: "bld-01jexample00000000000009".into(),
            version: "2026.12.1".into(),
            driver_branch: "production".into(),
            state: "queued".into(),
            stages: STAGES
                .iter()
                .map(|name| pb::BuildStage {
                    name: (*name).into(),
                    state: "pending".into(),
                    ..Default::default()
                })
                .collect(),
            image: fixtures::IMAGE_ID.into(),
            by: "operator@accord".into(),
            ..Default::default()
        };
        let mut state = self.state.lock().unwrap();
        state.fail_at = request.fail_at_stage;
        state.build = Some(build.clone());
        Ok(Response::new(build))
    }

    async fn get_build(
        &self,
        request: Request<pb::GetBuildRequest>,
    ) -> Result<Response<pb::Build>, Status> {
        authorize(&request)?;
        let mut state = self.state.lock().unwrap();
        let fail_at = state.fail_at.clone();
        let Some(build) = state.build.as_mut() else {
            return Err(Status::not_found("build not found"));
        };
        advance(build, &fail_at);
        Ok(Response::new(build.clone()))
    }

    async fn list_builds(
        &self,
        _request: Request<pb::ListBuildsRequest>,
    ) -> Result<Response<pb::ListBuildsResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn promote_image(
        &self,
        request: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        authorize(&request)?;
        known(&request.get_ref().image)?;
        Ok(Response::new(fixtures::image()))
    }

    async fn deprecate_image(
        &self,
        _request: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        Err(Status::permission_denied(
            "node-base-image is the provider's: deprecating needs a provider operator",
        ))
    }

    async fn withdraw_image(
        &self,
        request: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        authorize(&request)?;
        let reason = request.into_inner().reason;
        let mut image = fixtures::image();
        image.status = "withdrawn".into();
        image.status_reason = reason;
        Ok(Response::new(image))
    }
}

/// The fake on a random port.
struct Server {
    endpoint: String,
    fake: Fake,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let fake = Fake::default();
    let router = tonic::transport::Server::builder().add_service(ImagesServer::new(fake.clone()));
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    Server {
        endpoint,
        fake,
        task,
    }
}

/// Runs `accord <args>` with the images package at `endpoint` (the main endpoint is closed).
async fn accord(endpoint: &str, args: &[&str]) -> (Result<(), String>, Captured) {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_with_sources(argv).unwrap();
    let (printer, captured) = Printer::capture();
    let mut settings = Settings::new("http://127.0.0.1:1", Some(TOKEN.to_owned()));
    settings.endpoints.insert(
        crate::config::IMAGES_PACKAGE.to_owned(),
        endpoint.to_owned(),
    );
    let ctx = Context {
        settings,
        format: cli.global.output,
        printer,
    };
    let result = commands::run(&ctx, cli.command)
        .await
        .map_err(|error| render_error(&error));
    let captured = captured.lock().unwrap().clone();
    (result, captured)
}

#[tokio::test]
async fn list_describe_and_documents() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        &[
            "get",
            "images",
            "--channel",
            "stable",
            "--driver-branch",
            "lts",
        ],
    )
    .await;
    result.unwrap();
    assert!(out.out.contains("3f2a9c1b7d4e"), "{}", out.out);
    let (result, _) = accord(&server.endpoint, &["catalog", "images"]).await;
    result.unwrap();
    {
        let state = server.fake.state.lock().unwrap();
        assert_eq!(state.listed[0].channel, "stable");
        assert_eq!(state.listed[0].driver_branch, "lts");
        assert!(!state.listed[0].include_withdrawn);
        assert_eq!(state.listed[1], pb::ListImagesRequest::default());
    }

    let (result, out) = accord(&server.endpoint, &["image", "manifest", "3f2a9c1b"]).await;
    result.unwrap();
    assert_eq!(
        out.out,
        fixtures::CANONICAL_MANIFEST,
        "byte-exact, no newline"
    );
    let (result, out) = accord(&server.endpoint, &["image", "sbom", "2026.12.0"]).await;
    result.unwrap();
    assert_eq!(out.out, "{\n  \"bomFormat\": \"CycloneDX\"\n}");

    let (result, out) = accord(&server.endpoint, &["describe", "image", "2026.12.0"]).await;
    result.unwrap();
    assert!(out.out.contains("CycloneDX 1.6"), "{}", out.out);
    let (result, _) = accord(&server.endpoint, &["describe", "image", "2099.1.0"]).await;
    assert_eq!(result.unwrap_err(), "NOT_FOUND: image 2099.1.0 not found");
}

#[tokio::test]
async fn build_wait_shows_stages_and_succeeds() {
    let server = start().await;
    let (result, out) = accord(&server.endpoint, &["image", "build", "--wait"]).await;
    result.unwrap();
    let text = &out.out;
    for stage in STAGES {
        assert!(
            text.lines()
                .any(|l| l.starts_with(stage) && l.contains("succeeded")),
            "{stage} succeeded missing from\n{text}"
        );
    }
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("build bld-01jexample00000000000009 succeeded"),
        "{text}"
    );
}

#[tokio::test]
async fn build_wait_fails_naming_the_stage() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        &["image", "build", "--fail-at-stage", "install", "--wait"],
    )
    .await;
    assert_eq!(
        result.unwrap_err(),
        "build bld-01jexample00000000000009 failed at stage install: injected failure"
    );
    assert!(
        out.out
            .lines()
            .any(|l| l.starts_with("install") && l.contains("failed")),
        "{}",
        out.out
    );
}

#[tokio::test]
async fn lifecycle_changes_and_refusals() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        &[
            "image",
            "withdraw",
            "2026.12.0",
            "--reason",
            "CVE-2026-12345",
        ],
    )
    .await;
    result.unwrap();
    assert_eq!(
        out.out,
        "image/2026.12.0 (3f2a9c1b7d4e) withdrawn: CVE-2026-12345\n"
    );
    let (result, _) = accord(
        &server.endpoint,
        &["image", "deprecate", "2026.12.0", "--reason", "old"],
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        error.starts_with("PERMISSION_DENIED: node-base-image"),
        "{error}"
    );
    assert!(error.contains("\nhint: "), "{error}");
}
