//! Service-level tests on a real store (no bus: events stay in the outbox, where they are
//! counted): a build runs every stage and publishes once; an injected failure fails it at its
//! stage; a process stopped mid-stage restarts that stage on the same store and the build
//! publishes its image exactly once; the base release is published once across restarts.
//!
//! The stage duration is zero, so each reconciler pass (called directly) takes exactly one
//! step: no clock, no sleeps.

use std::{path::Path, sync::Arc, time::Duration};

use accord_core::outbox::OutboxSource as _;
use accord_image::signing_key_from_seed;
use accord_runtime::{Ctx, metrics::Metrics};
use accord_store::Store;

use crate::{
    handlers::{build::BuildRequest, tests::INSTANCE_TYPES},
    service::{ImageBuilder, Settings},
    trees::{BuildState, StageState, StoredBuild},
};

fn service(store: Store) -> Arc<ImageBuilder> {
    let mut settings = Settings::new(
        signing_key_from_seed([9; 32]),
        INSTANCE_TYPES.iter().map(|s| (*s).to_owned()).collect(),
    );
    settings.stage_duration = Duration::ZERO;
    ImageBuilder::new(store, settings, &Metrics::new("image-builder")).unwrap()
}

fn open(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

/// The subjects of the events still in the outbox.
fn subjects(store: &Store) -> Vec<String> {
    store
        .pending(10_000)
        .unwrap()
        .into_iter()
        .map(|e| e.subject)
        .collect()
}

fn count(subjects: &[String], needle: &str) -> usize {
    subjects.iter().filter(|s| s.contains(needle)).count()
}

/// Passes until the build is finished (at most `passes`).
async fn run(s: &ImageBuilder, id: &str, passes: usize) -> StoredBuild {
    for _ in 0..passes {
        let b = s.get_build(id).unwrap();
        if b.state.finished() {
            return b;
        }
        s.advance_builds().await.unwrap();
    }
    s.get_build(id).unwrap()
}

fn patched() -> BuildRequest {
    let types: Vec<String> = INSTANCE_TYPES.iter().map(|s| (*s).to_owned()).collect();
    let mut m = accord_image::default_base(&types)
        .unwrap()
        .for_branch("production")
        .unwrap()
        .clone();
    m.gpu_driver.version = "570.195.04".into();
    m.fabric_manager.version = "570.195.04".into();
    BuildRequest {
        manifest: serde_json::to_string(&m).unwrap(),
        reason: "driver patch".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_build_runs_every_stage_and_publishes_its_image_to_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(open(dir.path()));
    assert_eq!(s.publish_base().await.unwrap(), 2);
    assert_eq!(s.publish_base().await.unwrap(), 0, "idempotent");
    let b = s.build(&Ctx::new("ops"), &patched()).await.unwrap();
    assert_eq!(b.state, BuildState::Queued);
    let done = run(&s, &b.id, 20).await;
    assert_eq!(done.state, BuildState::Succeeded, "{done:?}");
    assert!(
        done.stages
            .iter()
            .all(|st| st.state == StageState::Succeeded)
    );
    assert!(
        done.stages
            .iter()
            .all(|st| !st.log.is_empty() && st.log.len() <= 50)
    );
    let configure = &done.stages[2].log;
    assert!(
        configure
            .iter()
            .any(|l| l.contains("kernel pinned at 6.8.0-88-generic")),
        "{configure:?}"
    );
    assert!(
        configure
            .iter()
            .any(|l| l.contains("sysctl vm.max_map_count")),
        "{configure:?}"
    );
    assert!(
        configure
            .iter()
            .any(|l| l.contains("kernel argument iommu=pt")),
        "{configure:?}"
    );
    let image = s.image(&b.image.to_string()).unwrap();
    assert_eq!(image.record.channel.as_str(), "candidate");
    assert_eq!(image.build.as_deref(), Some(b.id.as_str()));
    assert_eq!(image.record.history[0].by, "ops");
    accord_image::verify_bytes(
        image.manifest.as_bytes(),
        &image.signature,
        &s.verifying_key(),
    )
    .unwrap();
    let events = subjects(s.reader().store());
    assert_eq!(count(&events, ".published."), 3, "{events:?}");
    assert_eq!(count(&events, ".build-started."), 1);
    assert_eq!(count(&events, ".build-succeeded."), 1);
    // Images and builds are the platform's: operators' events, no project's.
    assert!(
        events.iter().all(|e| e.starts_with("accord.evt.platform.")),
        "{events:?}"
    );
    // Listed newest first: the build's label (2026.12.x) before the base's 2026.11.0.
    let listed = s.list_images("", "production", false).unwrap();
    assert_eq!(listed[0].record.id, b.image);
    assert!(s.reader().active_builds().unwrap().is_empty());
}

#[tokio::test]
async fn an_injected_failure_fails_the_build_at_its_stage_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(open(dir.path()));
    s.publish_base().await.unwrap();
    let req = BuildRequest {
        fail_at_stage: "scan".into(),
        ..patched()
    };
    let b = s.build(&Ctx::new("ops"), &req).await.unwrap();
    let done = run(&s, &b.id, 20).await;
    assert_eq!(done.state, BuildState::Failed);
    assert!(
        done.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("scan: injected failure"),
        "{done:?}"
    );
    let scan = done
        .stages
        .iter()
        .find(|st| st.stage.as_str() == "scan")
        .unwrap();
    assert_eq!(scan.state, StageState::Failed);
    assert_eq!(done.stages[6].state, StageState::Pending);
    assert!(s.image(&b.image.to_string()).is_err());
    let events = subjects(s.reader().store());
    assert_eq!(count(&events, ".build-failed."), 1);
    assert_eq!(count(&events, ".published."), 2, "only the base release");
    // The same manifest may be built again once the failed build is over.
    s.build(&Ctx::new("ops"), &patched()).await.unwrap();
}

#[tokio::test]
async fn a_build_stopped_mid_stage_restarts_that_stage_and_publishes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (id, image) = {
        let s = service(open(dir.path()));
        s.publish_base().await.unwrap();
        let b = s.build(&Ctx::new("ops"), &patched()).await.unwrap();
        // start resolve, finish resolve → install, finish install → configure, … → sbom running.
        for _ in 0..4 {
            s.advance_builds().await.unwrap();
        }
        let mid = s.get_build(&b.id).unwrap();
        assert_eq!(mid.state, BuildState::Running);
        assert_eq!(mid.stages[3].state, StageState::Running, "{mid:?}");
        (b.id, b.image)
        // The process "dies": the service and its store handle are dropped mid-stage.
    };
    let store = open(dir.path());
    let s = service(store.clone());
    assert_eq!(
        s.publish_base().await.unwrap(),
        0,
        "the base is published once"
    );
    s.advance_builds().await.unwrap();
    let resumed = s.get_build(&id).unwrap();
    let sbom = &resumed.stages[3];
    assert_eq!(sbom.state, StageState::Running);
    assert!(
        sbom.log
            .iter()
            .any(|l| l.contains("resumed after a restart")),
        "{sbom:?}"
    );
    let done = run(&s, &id, 20).await;
    assert_eq!(done.state, BuildState::Succeeded, "{done:?}");
    assert_eq!(
        done.stages[2]
            .log
            .iter()
            .filter(|l| l.contains("resumed"))
            .count(),
        0
    );
    let events = subjects(&store);
    let hex = &image.to_string()["sha256:".len()..];
    assert_eq!(
        count(&events, &format!(".published.{hex}")),
        1,
        "{events:?}"
    );
    assert_eq!(count(&events, ".build-succeeded."), 1);
    assert_eq!(s.list_images("", "", true).unwrap().len(), 3);
    // Further passes do nothing.
    s.advance_builds().await.unwrap();
    assert_eq!(count(&subjects(&store), ".published."), 3);
}
