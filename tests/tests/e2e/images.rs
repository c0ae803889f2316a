//! image-builder end to end (every deployment runs it): the base release is published at
//! start; the operator builds an image and sees its stages run to `succeeded`; the canonical
//! manifest's SHA-256 is the id; the SBOM passes the CycloneDX strict validator
//! (`$ACCORD_PYTHON`, installed by `cargo xtask`); the signature verifies with the key
//! `GetSigningKey` serves and fails on a flipped byte; a customer key cannot build; a gated
//! manifest is refused naming the pair; an injected failure fails its stage; a withdrawn image
//! shows `withdrawn` with the reason; an image-builder stopped mid-stage resumes that stage on
//! its store and publishes the image exactly once; every change is an `image.*` event.

use std::{path::PathBuf, process::Command};

use accord_e2e::{Env, kind, wait_for};
use accord_image::{ManifestSignature, verify_bytes, verifying_key_from_pem};
use accord_proto::images::v1 as ipb;
use sha2::{Digest as _, Sha256};
use tonic::Code;

type Client = ipb::images_client::ImagesClient<accord_e2e::AuthChannel>;

const INSTANCE_TYPES: [&str; 4] = [
    "h200-141gb-sxm-ib.8x",
    "h100-80gb-sxm-ib.8x",
    "l40s-48gb.10x",
    "c1a.16x",
];

/// The production base manifest with `edit` applied, as YAML.
fn manifest(edit: impl FnOnce(&mut accord_image::Manifest)) -> String {
    let base = accord_image::default_base(&INSTANCE_TYPES).unwrap();
    let mut m = base.for_branch("production").unwrap().clone();
    edit(&mut m);
    serde_norway::to_string(&m).unwrap()
}

/// A driver patch release of the production base.
fn patched(driver: &str) -> String {
    manifest(|m| {
        m.gpu_driver.version = driver.into();
        m.fabric_manager.version = driver.into();
    })
}

async fn wait_build(images: &Client, id: &str, state: &str) -> ipb::Build {
    wait_for(&format!("build {id} {state}"), || {
        let mut images = images.clone();
        let id = id.to_owned();
        async move {
            let b = images
                .get_build(ipb::GetBuildRequest { build: id })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            if b.state == state {
                Ok(b)
            } else {
                Err(format!(
                    "state {} at stage {} ({})",
                    b.state, b.stage, b.error
                ))
            }
        }
    })
    .await
    .unwrap()
}

fn image_named(name: &str) -> ipb::GetImageRequest {
    ipb::GetImageRequest { image: name.into() }
}

const PYTHON_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
print("ok" if error is None else "invalid: " + str(error).replace("\n", " "))
"#;

/// The CycloneDX strict validator's verdict on `doc` (`None`: `$ACCORD_PYTHON` is unset
/// outside CI; under CI an unset variable fails the test).
fn validate_sbom(doc: &[u8]) -> Option<String> {
    let Some(python) = std::env::var_os("ACCORD_PYTHON").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ACCORD_PYTHON is not set under CI: run the tests with `cargo xtask test`"
        );
        eprintln!("\n!!! SKIPPED: ACCORD_PYTHON is not set, so the SBOM was NOT validated !!!\n");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sbom.cdx.json");
    std::fs::write(&file, doc).unwrap();
    let out = Command::new(&python)
        .args(["-c", PYTHON_VALIDATE])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::test]
async fn the_operator_builds_an_image_whose_manifest_sbom_and_signature_check_out() {
    let env = Env::start().await.unwrap();
    let mut ops: Client = env.images(&env.operator_token).unwrap();
    // The base release was published at start, one image per driver branch, in stable.
    env.wait_event_count("image.published", 2).await.unwrap();
    let base = ops
        .list_images(ipb::ListImagesRequest {
            channel: "stable".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .images;
    assert_eq!(base.len(), 2, "{base:?}");
    assert!(
        base.iter()
            .all(|i| i.version == "2026.11.0" && i.build.is_empty())
    );

    let build = ops
        .build_image(ipb::BuildImageRequest {
            manifest: patched("570.195.04"),
            reason: "driver patch".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(build.stages.len(), 7);
    assert_eq!(build.driver_branch, "production");
    let done = wait_build(&ops, &build.id, "succeeded").await;
    let names: Vec<&str> = done.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "resolve",
            "install",
            "configure",
            "sbom",
            "scan",
            "sign",
            "publish"
        ]
    );
    for stage in &done.stages {
        assert_eq!(stage.state, "succeeded", "{stage:?}");
        assert!(
            stage.started_at.is_some() && stage.finished_at.is_some(),
            "{stage:?}"
        );
        assert!(!stage.log.is_empty() && stage.log.len() <= 50, "{stage:?}");
    }
    assert!(done.finished_at.is_some());

    // The canonical manifest's SHA-256 is the id.
    let manifest = ops
        .get_image_manifest(image_named(&done.image))
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&manifest))),
        done.image
    );

    // The signature verifies with the served public key, and not over a flipped byte.
    let key = ops
        .get_signing_key(ipb::GetSigningKeyRequest {})
        .await
        .unwrap()
        .into_inner();
    let public = verifying_key_from_pem(&key.public_key_pem).unwrap();
    let detail = ops
        .get_image(image_named(&done.image[..20]))
        .await
        .unwrap()
        .into_inner();
    let sig = detail.signature.clone().unwrap();
    assert!(sig.verified, "{sig:?}");
    assert_eq!(sig.key_id, key.key_id);
    let signature = ManifestSignature {
        manifest_id: done.image.parse().unwrap(),
        key_id: sig.key_id.clone(),
        signature: sig.signature.clone(),
    };
    verify_bytes(&manifest, &signature, &public).unwrap();
    let mut tampered = manifest.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    assert!(verify_bytes(&tampered, &signature, &public).is_err());
    let image = detail.image.unwrap();
    assert_eq!(
        (
            image.channel.as_str(),
            image.status.as_str(),
            image.build.as_str()
        ),
        ("candidate", "active", done.id.as_str())
    );
    assert_eq!(image.driver_version, "570.195.04");
    assert!(detail.manifest_json.contains("\n  \"gpu_driver\""));

    // The SBOM as published: its summary's hash is the served document's; the validator
    // accepts it.
    let sbom = ops
        .get_image_sbom(image_named(&done.image))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sbom.content_type, "application/vnd.cyclonedx+json");
    let summary = detail.sbom.unwrap();
    assert_eq!(summary.sha256, hex::encode(Sha256::digest(&sbom.data)));
    assert_eq!(
        (summary.format.as_str(), summary.spec_version.as_str()),
        ("CycloneDX", "1.6")
    );
    assert!(summary.components >= 10, "{summary:?}");
    if let Some(verdict) = validate_sbom(&sbom.data) {
        assert_eq!(verdict, "ok", "{}", String::from_utf8_lossy(&sbom.data));
    }

    // Events: started, published (candidate, carrying the manifest), succeeded; then promoted.
    let published = env
        .wait_event("image.published of the build", |e| {
            kind(e) == "image.published" && e.data["image"]["id"] == done.image.as_str()
        })
        .await
        .unwrap();
    assert_eq!(published.data["image"]["channel"], "candidate");
    assert_eq!(
        published.data["image"]["manifest"]
            .as_str()
            .unwrap()
            .as_bytes(),
        manifest.as_slice()
    );
    env.wait_event_count("image.build-succeeded", 1)
        .await
        .unwrap();
    let promoted = ops
        .promote_image(ipb::ImageTransitionRequest {
            image: done.image.clone(),
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(promoted.channel, "stable");
    let event = env
        .wait_event("image.promoted", |e| kind(e) == "image.promoted")
        .await
        .unwrap();
    assert_eq!(event.data["by"], done.by.as_str());
    let listed = ops
        .list_builds(ipb::ListBuildsRequest {})
        .await
        .unwrap()
        .into_inner()
        .builds;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn customers_read_images_but_cannot_build_and_bad_or_gated_manifests_are_refused() {
    let env = Env::start().await.unwrap();
    let mut customer = env.images(&env.admin_token).unwrap();
    let mut ops = env.images(&env.operator_token).unwrap();

    let listed = customer
        .list_images(ipb::ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images;
    assert_eq!(listed.len(), 2);
    let denied = customer
        .build_image(ipb::BuildImageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("BuildImage"), "{denied:?}");
    let denied = customer
        .withdraw_image(ipb::ImageTransitionRequest {
            image: "2026.11.0/production".into(),
            reason: "no".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A known-bad kernel × DOCA-OFED pair is refused, naming the pair and the rule.
    let gated = ops
        .build_image(ipb::BuildImageRequest {
            manifest: manifest(|m| {
                m.kernel.version = "6.8.0-40-generic".into();
                m.doca_ofed.version = "24.07-0.6.1.0".into();
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(gated.code(), Code::FailedPrecondition, "{gated:?}");
    for part in ["kernel", "6.8.0-40-generic", "24.07-0.6.1.0", "K-OFED-1"] {
        assert!(
            gated.message().contains(part),
            "{part}: {}",
            gated.message()
        );
    }
    // A malformed field is named.
    let bad = ops
        .build_image(ipb::BuildImageRequest {
            manifest: manifest(|m| m.kernel.version = "six point eight".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("manifest.kernel.version"), "{bad:?}");
    // Oversized input is refused at the edge, naming the field and its limit.
    let oversized = ops
        .build_image(ipb::BuildImageRequest {
            manifest: "#".repeat(64 * 1024 + 1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(oversized.code(), Code::InvalidArgument, "{oversized:?}");
    assert!(oversized.message().contains("manifest"), "{oversized:?}");
    assert!(oversized.message().len() < 1024, "no echo of the input");
    // The base release itself is published already (a build without a manifest is the base
    // resolved against the package archive: see image_rollout.rs).
    let dup = ops
        .build_image(ipb::BuildImageRequest {
            manifest: manifest(|_| {}),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists, "{dup:?}");
    // An ambiguous label names the branches; an unknown one is NOT_FOUND.
    let ambiguous = ops.get_image(image_named("2026.11.0")).await.unwrap_err();
    assert_eq!(ambiguous.code(), Code::InvalidArgument);
    assert!(ambiguous.message().contains("lts"), "{ambiguous:?}");
    let missing = ops.get_image(image_named("2031.01.0")).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // An injected failure fails the build at its stage and publishes nothing.
    let build = ops
        .build_image(ipb::BuildImageRequest {
            manifest: patched("570.195.05"),
            fail_at_stage: "sign".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let failed = wait_build(&ops, &build.id, "failed").await;
    assert_eq!(failed.stage, "sign");
    assert!(
        failed.error.starts_with("sign: injected failure"),
        "{failed:?}"
    );
    let event = env
        .wait_event("image.build-failed", |e| kind(e) == "image.build-failed")
        .await
        .unwrap();
    assert_eq!(event.data["stage"], "sign");
    let gone = ops.get_image(image_named(&build.image)).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn a_withdrawn_image_shows_withdrawn_with_the_reason() {
    let env = Env::start().await.unwrap();
    let mut ops = env.images(&env.operator_token).unwrap();
    env.wait_event_count("image.published", 2).await.unwrap();
    let needs_reason = ops
        .withdraw_image(ipb::ImageTransitionRequest {
            image: "2026.11.0/lts".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(needs_reason.code(), Code::InvalidArgument);
    let withdrawn = ops
        .withdraw_image(ipb::ImageTransitionRequest {
            image: "2026.11.0/lts".into(),
            reason: "CVE-2026-12345".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (withdrawn.status.as_str(), withdrawn.status_reason.as_str()),
        ("withdrawn", "CVE-2026-12345")
    );
    assert_eq!(withdrawn.history.last().unwrap().action, "withdrawn");
    let detail = ops
        .get_image(image_named(&withdrawn.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(detail.image.unwrap().status, "withdrawn");
    let event = env
        .wait_event("image.withdrawn", |e| kind(e) == "image.withdrawn")
        .await
        .unwrap();
    assert_eq!(event.data["reason"], "CVE-2026-12345");
    assert_eq!(event.data["image"], withdrawn.id.as_str());
    // Hidden from the default list, final.
    let listed = ops
        .list_images(ipb::ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images;
    assert!(listed.iter().all(|i| i.id != withdrawn.id));
    let all = ops
        .list_images(ipb::ListImagesRequest {
            include_withdrawn: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .images;
    assert_eq!(all.len(), 2);
    let again = ops
        .promote_image(ipb::ImageTransitionRequest {
            image: withdrawn.id.clone(),
            reason: "undo".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
}

#[tokio::test]
async fn an_image_builder_stopped_mid_build_resumes_the_stage_and_publishes_exactly_once() {
    let env = Env::start().await.unwrap();
    let store = accord_store::Store::temporary().unwrap();
    // Long enough stages that the stop lands inside one.
    let stage = std::time::Duration::from_millis(300);
    let (mut first, stopper) = env
        .start_image_builder_on(store.clone(), stage)
        .await
        .unwrap();
    let build = first
        .build_image(ipb::BuildImageRequest {
            manifest: patched("570.195.06"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait_for("the build to reach its install stage", || {
        let mut first = first.clone();
        let id = build.id.clone();
        async move {
            let b = first
                .get_build(ipb::GetBuildRequest { build: id })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            if b.stage == "install" && b.state == "running" {
                Ok(())
            } else {
                Err(format!("{} at {}", b.state, b.stage))
            }
        }
    })
    .await
    .unwrap();
    stopper.stop().await;

    let (again, stopper) = env.start_image_builder_on(store, stage).await.unwrap();
    let done = wait_build(&again, &build.id, "succeeded").await;
    let resumed: Vec<&str> = done
        .stages
        .iter()
        .filter(|s| s.log.iter().any(|l| l.contains("resumed after a restart")))
        .map(|s| s.name.as_str())
        .collect();
    // The stage that was running when it stopped (install, or configure if install finished
    // just before the stop) ran again from its start; no other stage did.
    assert_eq!(resumed.len(), 1, "{done:?}");
    assert!(["install", "configure"].contains(&resumed[0]), "{done:?}");
    env.wait_event("image.build-succeeded", |e| {
        kind(e) == "image.build-succeeded" && e.data["build"] == build.id.as_str()
    })
    .await
    .unwrap();
    let published = env
        .events()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| kind(e) == "image.published" && e.data["image"]["id"] == build.image.as_str())
        .count();
    assert_eq!(published, 1);
    stopper.stop().await;
}
