//! The handlers' tests, one per rule: a manifest's bad field named, an unknown instance type or
//! Kubernetes minor, the gated pair named, duplicates, the quick-try build resolved against the
//! package archive (and refused when the base is up to date), label order, the build limits, the
//! lifecycle transitions with their events, and image names resolved (ambiguity, NOT_FOUND).

use accord_core::DomainError;
use accord_image::{
    Archive, BaseRelease, ImageVersion, Manifest, Matrix, SigningKey, default_archive,
    default_base, default_matrix, signing_key_from_seed,
};
use accord_store::Versioned;
use time::macros::datetime;

use super::{
    Ctx, Farm,
    base::publish_base,
    build::{BuildRequest, MAX_UNFINISHED_BUILDS, accept},
    lifecycle::{Step, apply, status},
    material,
    resolve::resolve,
};
use crate::trees::{BuildState, MAX_KEPT_BUILDS, StoredBuild, StoredImage};

pub(crate) const INSTANCE_TYPES: [&str; 4] = [
    "h200-141gb-sxm-ib.8x",
    "h100-80gb-sxm-ib.8x",
    "l40s-48gb.10x",
    "c1a.16x",
];

struct World {
    types: Vec<String>,
    matrix: Matrix,
    archive: Archive,
    key: SigningKey,
    base: BaseRelease,
}

impl World {
    fn new() -> Self {
        let types: Vec<String> = INSTANCE_TYPES.iter().map(|s| (*s).to_owned()).collect();
        Self {
            matrix: default_matrix(&types).unwrap(),
            archive: default_archive().unwrap(),
            base: default_base(&types).unwrap(),
            key: signing_key_from_seed([7; 32]),
            types,
        }
    }

    fn farm(&self) -> Farm<'_> {
        Farm {
            instance_types: &self.types,
            matrix: &self.matrix,
            archive: &self.archive,
            key: &self.key,
        }
    }

    /// The base release as published at first start.
    fn published_base(&self) -> Vec<StoredImage> {
        // The handler's change is opaque; rebuild the records it wrote the same way.
        let ctx = ctx();
        let change = publish_base(&self.base, |_| false, &self.farm(), &ctx).unwrap();
        assert_eq!(change.event_names(), ["image.published", "image.published"]);
        change
            .events
            .iter()
            .map(|e| match e {
                accord_core::image::ImageEvent::Published { image } => {
                    assert_eq!(image.channel, "stable");
                    let manifest =
                        accord_image::parse_canonical(image.manifest.as_bytes()).unwrap();
                    let sealed = accord_image::seal(manifest.clone(), &self.types).unwrap();
                    let record = accord_image::publish(
                        sealed.id.clone(),
                        image.version.parse().unwrap(),
                        &image.driver_branch,
                        "accord-bootstrap",
                        ctx.now,
                    )
                    .unwrap();
                    let record =
                        accord_image::promote(record, "accord-bootstrap", "base", ctx.now).unwrap();
                    StoredImage {
                        record,
                        manifest: image.manifest.clone(),
                        signature: accord_image::sign(&sealed.id, &self.key),
                        sbom: material::sbom(&manifest, &image.id, &image.version, ctx.now)
                            .unwrap(),
                        build: None,
                        published_at: ctx.now,
                    }
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }
}

fn ctx() -> Ctx {
    Ctx {
        now: datetime!(2026-12-04 10:00 UTC),
        actor: "ops".into(),
    }
}

/// The production base manifest, edited, as YAML.
fn production_yaml(w: &World, edit: impl FnOnce(&mut Manifest)) -> String {
    let mut m = w.base.for_branch("production").unwrap().clone();
    edit(&mut m);
    serde_norway::to_string(&m).unwrap()
}

/// The production base manifest with another driver patch release.
fn patched(w: &World, driver: &str) -> String {
    production_yaml(w, |m| {
        m.gpu_driver.version = driver.into();
        m.fabric_manager.version = driver.into();
    })
}

fn build(
    w: &World,
    images: &[StoredImage],
    builds: &[StoredBuild],
    req: BuildRequest,
) -> Result<StoredBuild, DomainError> {
    accept(&req, images, builds, &w.base, &w.farm(), &ctx(), "bld-1").map(|(_, b)| b)
}

/// Why `req` is refused on an empty store.
fn refused(w: &World, req: BuildRequest) -> DomainError {
    build(w, &[], &[], req).unwrap_err()
}

/// A request for `manifest`.
fn with_manifest(manifest: String) -> BuildRequest {
    BuildRequest {
        manifest,
        ..Default::default()
    }
}

fn fields(e: &DomainError) -> Vec<String> {
    match e {
        DomainError::InvalidArgument(v) => v.iter().map(|f| f.field.clone()).collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn image_events_are_published_under_the_platform_scope() {
    let w = World::new();
    let change = publish_base(&w.base, |_| false, &w.farm(), &ctx()).unwrap();
    let entries = change.outbox("image-builder").unwrap();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert!(
            e.subject
                .starts_with("accord.evt.platform.image.published."),
            "{}",
            e.subject
        );
    }
}

#[test]
fn a_bad_manifest_field_is_named() {
    let w = World::new();
    let yaml = production_yaml(&w, |m| m.kernel.version = "six point eight".into());
    let e = refused(&w, with_manifest(yaml));
    assert_eq!(fields(&e), ["manifest.kernel.version"], "{e}");
    let e = refused(
        &w,
        BuildRequest {
            manifest: "{\"api_version\": 1".into(),
            ..Default::default()
        },
    );
    assert_eq!(fields(&e), ["manifest"], "{e}");
}

#[test]
fn an_unknown_instance_type_or_kubernetes_minor_is_refused() {
    let w = World::new();
    let yaml = production_yaml(&w, |m| {
        m.instance_types.insert("tpu-v5.8x".into());
    });
    let e = refused(&w, with_manifest(yaml));
    assert!(
        fields(&e)
            .iter()
            .any(|f| f.starts_with("manifest.instance_types")),
        "{e}"
    );
    let yaml = production_yaml(&w, |m| {
        m.kubelet.insert("1.99".into(), "1.99.0".into());
    });
    let e = refused(&w, with_manifest(yaml));
    assert!(
        fields(&e).iter().any(|f| f.starts_with("manifest.kubelet")),
        "{e}"
    );
}

#[test]
fn a_gated_pair_is_refused_naming_the_pair_and_the_rule() {
    let w = World::new();
    let yaml = production_yaml(&w, |m| {
        m.kernel.version = "6.8.0-40-generic".into();
        m.doca_ofed.version = "24.07-0.6.1.0".into();
    });
    let e = refused(&w, with_manifest(yaml));
    let DomainError::FailedPrecondition(message) = &e else {
        panic!("expected FAILED_PRECONDITION, got {e:?}");
    };
    assert!(message.contains("6.8.0-40-generic"), "{message}");
    assert!(message.contains("24.07-0.6.1.0"), "{message}");
    assert!(message.contains("K-OFED-1"), "{message}");
}

#[test]
fn a_published_id_or_one_being_built_is_a_duplicate() {
    let w = World::new();
    let images = w.published_base();
    // The base manifest itself is published already.
    let base = production_yaml(&w, |_| {});
    let e = build(&w, &images, &[], with_manifest(base)).unwrap_err();
    assert!(
        matches!(e, DomainError::AlreadyExists { kind: "image", .. }),
        "{e:?}"
    );
    // Without a manifest: the base resolved against the archive, a new image; a second quick
    // try while the first runs resolves to the same content and is refused.
    let first = build(&w, &images, &[], BuildRequest::default()).unwrap();
    assert_eq!(first.driver_branch, "production");
    assert_eq!(first.version.to_string(), "2026.12.0");
    let e = build(&w, &images, &[first], BuildRequest::default()).unwrap_err();
    assert!(matches!(e, DomainError::AlreadyExists { .. }), "{e:?}");
}

#[test]
fn a_build_without_a_manifest_is_the_base_resolved_against_the_package_archive() {
    let w = World::new();
    let images = w.published_base();
    let quick = build(&w, &images, &[], BuildRequest::default()).unwrap();
    let base = w.base.for_branch("production").unwrap();
    let expected = accord_image::resolve(base, &w.archive);
    let sealed = accord_image::seal(expected.manifest.clone(), &w.types).unwrap();
    assert_eq!(quick.image, sealed.id);
    assert_eq!(quick.manifest.as_bytes(), sealed.bytes.as_slice());
    assert!(
        quick
            .upgrades
            .contains(&"kernel 6.8.0-88-generic → 6.8.0-90-generic".to_owned()),
        "{:?}",
        quick.upgrades
    );
    assert!(
        quick
            .upgrades
            .contains(&"gpu_driver 570.195.03 → 570.211.01".to_owned()),
        "{:?}",
        quick.upgrades
    );
    // The LTS branch resolves its own base and stays on its own series.
    let lts = build(
        &w,
        &images,
        &[],
        BuildRequest {
            driver_branch: "lts".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let lts_manifest = accord_image::parse_canonical(lts.manifest.as_bytes()).unwrap();
    assert_eq!(lts_manifest.gpu_driver.version, "535.274.02");
    assert_eq!(lts_manifest.containerd.version, "1.7.29");
    // A manifest is taken as given: nothing resolved.
    let given = build(&w, &images, &[], with_manifest(patched(&w, "570.195.04"))).unwrap();
    assert!(given.upgrades.is_empty(), "{:?}", given.upgrades);
    // An archive the base is up to date with: refused, not a duplicate.
    let stale = accord_image::parse_archive(
        "version: 2\nseries:\n  kernel:\n    \"6.8.0-*\": 6.8.0-88-generic\n",
    )
    .unwrap();
    let farm = Farm {
        archive: &stale,
        ..w.farm()
    };
    let e = accept(
        &BuildRequest::default(),
        &images,
        &[],
        &w.base,
        &farm,
        &ctx(),
        "bld-2",
    )
    .unwrap_err();
    let DomainError::FailedPrecondition(message) = &e else {
        panic!("expected FAILED_PRECONDITION, got {e:?}");
    };
    assert!(
        message.contains("the base is up to date with the package archive")
            && message.contains("pass a manifest"),
        "{message}"
    );
}

#[test]
fn labels_only_move_forward_per_branch() {
    let w = World::new();
    let images = w.published_base();
    let bumped = patched(&w, "570.195.04");
    let req = |version: &str| BuildRequest {
        manifest: bumped.clone(),
        version: version.into(),
        ..Default::default()
    };
    let e = build(&w, &images, &[], req("2026.11.0")).unwrap_err();
    assert_eq!(fields(&e), ["version"], "{e}");
    let e = build(&w, &images, &[], req("2026.1.0")).unwrap_err();
    assert_eq!(fields(&e), ["version"], "{e}");
    let b = build(&w, &images, &[], req("2026.12.3")).unwrap();
    assert_eq!(b.version.to_string(), "2026.12.3");
    // Without a label: the next after the newest of the branch, builds in flight included.
    let other = patched(&w, "570.195.05");
    let next = build(&w, &images, &[b], with_manifest(other)).unwrap();
    assert_eq!(next.version, "2026.12.4".parse::<ImageVersion>().unwrap());
    // Another branch has its own labels: the LTS base's next release is 2026.12.0.
    let lts = accept(
        &BuildRequest {
            driver_branch: "lts".into(),
            manifest: String::new(),
            ..Default::default()
        },
        &[],
        &[next],
        &w.base,
        &w.farm(),
        &ctx(),
        "bld-2",
    )
    .unwrap()
    .1;
    assert_eq!(
        (lts.driver_branch.as_str(), lts.version.to_string().as_str()),
        ("lts", "2026.12.0")
    );
    let e = refused(
        &w,
        BuildRequest {
            driver_branch: "beta".into(),
            ..Default::default()
        },
    );
    assert_eq!(fields(&e), ["driver_branch"], "{e}");
}

#[test]
fn a_failure_must_name_a_real_stage_and_unfinished_builds_are_bounded() {
    let w = World::new();
    let e = refused(
        &w,
        BuildRequest {
            fail_at_stage: "compile".into(),
            ..Default::default()
        },
    );
    assert_eq!(fields(&e), ["fail_at_stage"], "{e}");
    let (change, first) = accept(
        &BuildRequest {
            fail_at_stage: "scan".into(),
            ..Default::default()
        },
        &[],
        &[],
        &w.base,
        &w.farm(),
        &ctx(),
        "bld-1",
    )
    .unwrap();
    assert_eq!(change.event_names(), ["image.build-started"]);
    assert_eq!(first.state, BuildState::Queued);
    assert_eq!(first.stages.len(), 7);
    let busy: Vec<StoredBuild> = (0..MAX_UNFINISHED_BUILDS)
        .map(|i| StoredBuild {
            id: format!("bld-{i}"),
            ..first.clone()
        })
        .collect();
    let patched = patched(&w, "570.195.09");
    let e = build(&w, &[], &busy, with_manifest(patched)).unwrap_err();
    let DomainError::ResourceExhausted(message) = &e else {
        panic!("expected RESOURCE_EXHAUSTED, got {e:?}");
    };
    assert!(message.starts_with("builds"), "{message}");
}

#[test]
fn accepting_a_build_prunes_the_oldest_finished_builds_beyond_the_kept_number() {
    let w = World::new();
    let (_, template) = accept(
        &BuildRequest::default(),
        &[],
        &[],
        &w.base,
        &w.farm(),
        &ctx(),
        "t",
    )
    .unwrap();
    let kept: Vec<StoredBuild> = (0..MAX_KEPT_BUILDS)
        .map(|i| StoredBuild {
            id: format!("bld-{i:03}"),
            state: BuildState::Failed,
            ..template.clone()
        })
        .collect();
    let (change, _) = accept(
        &BuildRequest::default(),
        &[],
        &kept,
        &w.base,
        &w.farm(),
        &ctx(),
        "bld-new",
    )
    .unwrap();
    // The new build, its active entry, and one deletion.
    assert_eq!(change.commit.len_ops(), 3);
}

#[test]
fn lifecycle_transitions_emit_their_events_and_refuse_what_makes_no_sense() {
    let w = World::new();
    let images = w.published_base();
    let mut candidate = images[0].clone();
    candidate.record.channel = accord_image::Channel::Candidate;
    let v = |i: StoredImage| Versioned {
        version: 3,
        value: i,
    };
    let (change, promoted) = apply(Step::Promote, &v(candidate), "", &w.farm(), &ctx()).unwrap();
    assert_eq!(change.event_names(), ["image.promoted"]);
    assert_eq!(promoted.record.channel.as_str(), "stable");
    let e = apply(
        Step::Promote,
        &v(promoted.clone()),
        "again",
        &w.farm(),
        &ctx(),
    )
    .unwrap_err();
    assert!(matches!(e, DomainError::FailedPrecondition(_)), "{e:?}");
    let e = apply(
        Step::Deprecate,
        &v(promoted.clone()),
        " ",
        &w.farm(),
        &ctx(),
    )
    .unwrap_err();
    assert_eq!(fields(&e), ["reason"]);
    let (change, deprecated) = apply(
        Step::Deprecate,
        &v(promoted),
        "superseded",
        &w.farm(),
        &ctx(),
    )
    .unwrap();
    assert_eq!(change.event_names(), ["image.deprecated"]);
    assert_eq!(status(&deprecated), ("deprecated", "superseded"));
    let (change, withdrawn) = apply(
        Step::Withdraw,
        &v(deprecated),
        "CVE-2026-12345",
        &w.farm(),
        &ctx(),
    )
    .unwrap();
    match &change.events[..] {
        [accord_core::image::ImageEvent::Withdrawn { reason, by, .. }] => {
            assert_eq!((reason.as_str(), by.as_str()), ("CVE-2026-12345", "ops"));
        }
        other => panic!("unexpected events {other:?}"),
    }
    assert_eq!(status(&withdrawn), ("withdrawn", "CVE-2026-12345"));
    for step in [Step::Promote, Step::Deprecate, Step::Withdraw] {
        let e = apply(step, &v(withdrawn.clone()), "why", &w.farm(), &ctx()).unwrap_err();
        assert!(
            matches!(e, DomainError::FailedPrecondition(_)),
            "{step:?}: {e:?}"
        );
    }
}

#[test]
fn promotion_checks_the_gate_against_the_matrix_in_force() {
    let w = World::new();
    let mut image = w.published_base().remove(0);
    image.record.channel = accord_image::Channel::Candidate;
    // A rule added since the image was built names its kernel × driver pair.
    let manifest = accord_image::parse_canonical(image.manifest.as_bytes()).unwrap();
    let yaml = format!(
        "version: 9\nrules:\n  - id: NEW-1\n    verdict: known_bad\n    a: {{ component: kernel, version: {} }}\n    b: {{ component: gpu_driver, version: {} }}\n    reason: found broken after the build\n",
        manifest.kernel.version, manifest.gpu_driver.version
    );
    let matrix = accord_image::parse_matrix(&yaml, &w.types).unwrap();
    let farm = Farm {
        matrix: &matrix,
        ..w.farm()
    };
    let e = apply(
        Step::Promote,
        &Versioned {
            version: 1,
            value: image,
        },
        "",
        &farm,
        &ctx(),
    )
    .unwrap_err();
    let DomainError::FailedPrecondition(message) = &e else {
        panic!("expected FAILED_PRECONDITION, got {e:?}");
    };
    assert!(message.contains("NEW-1"), "{message}");
}

#[test]
fn images_resolve_by_id_prefix_label_and_label_with_branch() {
    let w = World::new();
    let images = w.published_base();
    let id = images[1].record.id.to_string();
    let hex = &id["sha256:".len()..];
    assert_eq!(
        resolve(&id, &images).unwrap().record.id,
        images[1].record.id
    );
    assert_eq!(
        resolve(&hex[..8], &images).unwrap().record.id,
        images[1].record.id
    );
    assert_eq!(
        resolve(&format!("sha256:{}", &hex[..12]), &images)
            .unwrap()
            .record
            .id,
        images[1].record.id
    );
    let branch = images[1].record.driver_branch.clone();
    assert_eq!(
        resolve(&format!("2026.11.0/{branch}"), &images)
            .unwrap()
            .record
            .id,
        images[1].record.id
    );
    // Both base images carry 2026.11.0: ambiguous, the branches listed.
    let e = resolve("2026.11.0", &images).unwrap_err();
    assert_eq!(fields(&e), ["image"]);
    assert!(
        e.to_string().contains("production") && e.to_string().contains("lts"),
        "{e}"
    );
    for unknown in [
        "2026.10.0",
        "2026.11.0/new_feature",
        "deadbeefdeadbeef",
        "sha256:00",
        "latest",
        &hex[..7],
    ] {
        let e = resolve(unknown, &images).unwrap_err();
        assert!(
            matches!(e, DomainError::NotFound { kind: "image", .. }),
            "{unknown}: {e:?}"
        );
    }
    assert_eq!(fields(&resolve("", &images).unwrap_err()), ["image"]);
}

#[test]
fn the_sbom_lists_every_pinned_component_and_the_scan_finds_a_missing_one() {
    let w = World::new();
    let m = w.base.for_branch("production").unwrap();
    let sealed = accord_image::seal(m.clone(), &w.types).unwrap();
    let id = sealed.id.to_string();
    let doc = material::sbom(m, &id, "2026.12.0", ctx().now).unwrap();
    let report = material::scan(m, &id, &doc).unwrap();
    assert_eq!(report.pinned, material::pinned(m).len());
    assert_eq!(report.components, report.pinned);
    let tampered = doc.replace(&format!("\"{}\"", m.kernel.version), "\"6.8.0-1-generic\"");
    let e = material::scan(m, &id, &tampered).unwrap_err();
    assert!(e.contains("linux-image 6.8.0-88-generic"), "{e}");
    let other = accord_image::ManifestId::of_bytes(b"other").to_string();
    assert!(material::scan(m, &other, &doc).is_err());
}
