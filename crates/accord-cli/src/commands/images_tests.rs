//! Tests of the image commands: parsing, request building, rendering (tables, describe
//! documents, `--wait` transitions), the byte-exact document output and a node pool's image
//! and rollout facts.

use super::*;
use crate::cli::{Cli, Command, DescribeKind, GetKind};
use crate::fixtures::{self, NOW};
use crate::output::{Printer, Resource};

fn parse(args: &[&str]) -> Command {
    Cli::try_parse_with_sources(args.iter().copied())
        .unwrap_or_else(|e| panic!("{e}"))
        .command
}

#[test]
fn get_images_flags_make_the_request() {
    let Command::Get(GetKind::Image(query)) = parse(&[
        "accord",
        "get",
        "images",
        "--channel",
        "stable",
        "--driver-branch",
        "lts",
        "--all",
    ]) else {
        panic!("not get images");
    };
    assert_eq!(
        list_request(&query),
        pb::ListImagesRequest {
            channel: "stable".into(),
            driver_branch: "lts".into(),
            include_withdrawn: true,
        }
    );
    let Command::Get(GetKind::Image(query)) = parse(&["accord", "get", "img"]) else {
        panic!("not get images");
    };
    assert_eq!(list_request(&query), pb::ListImagesRequest::default());
    assert!(Cli::try_parse_with_sources(["accord", "get", "images", "--channel", "beta"]).is_err());
}

#[test]
fn image_commands_parse() {
    let Command::Describe(DescribeKind::Image(target)) =
        parse(&["accord", "describe", "image", "2026.12.0/lts"])
    else {
        panic!("not describe image");
    };
    assert_eq!(target.name, "2026.12.0/lts");
    assert!(matches!(
        parse(&["accord", "image", "manifest", "3f2a9c1b"]),
        Command::Image(ImageCommand::Manifest(r)) if r.name == "3f2a9c1b"
    ));
    assert!(matches!(
        parse(&["accord", "image", "sbom", "2026.12.0"]),
        Command::Image(ImageCommand::Sbom(r)) if r.name == "2026.12.0"
    ));
    assert!(matches!(
        parse(&["accord", "image", "promote", "2026.12.0"]),
        Command::Image(ImageCommand::Promote(a)) if a.reason.is_none()
    ));
    assert!(matches!(
        parse(&["accord", "image", "withdraw", "2026.12.0", "--reason", "CVE-2026-1"]),
        Command::Image(ImageCommand::Withdraw(a)) if a.reason == "CVE-2026-1"
    ));
    // Deprecation and withdrawal need a reason.
    for verb in ["deprecate", "withdraw"] {
        assert!(Cli::try_parse_with_sources(["accord", "image", verb, "2026.12.0"]).is_err());
    }
    assert!(matches!(
        parse(&["accord", "get", "builds"]),
        Command::Get(GetKind::Build(q)) if q.name.is_none()
    ));
    assert!(matches!(
        parse(&["accord", "describe", "build", "bld-1"]),
        Command::Describe(DescribeKind::Build(n)) if n.name == "bld-1"
    ));
}

#[test]
fn build_flags_make_the_request() {
    let Command::Image(ImageCommand::Build(args)) = parse(&[
        "accord",
        "image",
        "build",
        "--driver-branch",
        "lts",
        "--version",
        "2026.12.1",
        "--fail-at-stage",
        "scan",
        "--reason",
        "try",
        "--wait",
    ]) else {
        panic!("not image build");
    };
    assert!(args.wait.wait);
    assert_eq!(
        build_request(&args, Some("api_version: x".into())),
        pb::BuildImageRequest {
            manifest: "api_version: x".into(),
            driver_branch: "lts".into(),
            version: "2026.12.1".into(),
            fail_at_stage: "scan".into(),
            reason: "try".into(),
        }
    );
}

#[test]
fn images_table_shows_the_columns_and_a_short_id() {
    let text = images::images_table(&[fixtures::image()], NOW);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "VERSION", "BRANCH", "CHANNEL", "STATUS", "DRIVER", "KERNEL", "ID", "AGE"
        ]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        row,
        [
            "2026.12.0",
            "production",
            "stable",
            "active",
            "570.195.03",
            "6.8.0-88-generic",
            "3f2a9c1b7d4e",
            "120m"
        ]
    );
}

#[test]
fn image_json_is_the_full_object() {
    let value = fixtures::image().to_value().unwrap();
    assert_eq!(value["id"], fixtures::IMAGE_ID);
    assert_eq!(value["kubelet"]["1.32"], "1.32.9");
    assert_eq!(value["history"][1]["action"], "promoted");
    let detail = fixtures::image_detail().to_value().unwrap();
    assert_eq!(detail["manifest"]["gpu_driver"]["branch"], "production");
    assert_eq!(detail["signature"]["verified"], true);
}

#[test]
fn describe_image_has_the_manifest_sbom_signature_and_history() {
    let text = images::describe_image(&fixtures::image_detail(), NOW);
    for fact in [
        "OS:",
        "ubuntu 24.04",
        "6.8.0-88-generic",
        "containerd:",
        "2.0.6",
        "runc:",
        "1.2.6",
        "1.32=1.32.9",
        "570.195.03 (production)",
        "Fabric Manager:",
        "24.10-2.1.8.0",
        "CUDA Compat:",
        "12.8",
        "connectx7=28.43.2026",
        "h100-80gb-sxm-ib.8x",
        "net.core.rmem_max=268435456",
        "iommu=pt pci=realloc=off",
        "cis_level1",
        "CycloneDX 1.6",
        "Components:",
        "14",
        "urn:uuid:3f2a9c1b",
        "ab12cd34ef56",
        "Verified:",
        "yes",
        "ed25519:9a8b7c6d",
        "promoted",
        "soaked a week",
    ] {
        assert!(text.contains(fact), "{fact:?} missing from\n{text}");
    }
    let mut unverified = fixtures::image_detail();
    unverified.signature = Some(pb::SignatureStatus {
        verified: false,
        key_id: "ed25519:9a8b7c6d".into(),
        signature: String::new(),
        detail: "signature does not match the manifest digest".into(),
    });
    let text = images::describe_image(&unverified, NOW);
    assert!(text.contains("Verified:"), "{text}");
    assert!(text.contains("no"), "{text}");
    assert!(text.contains("does not match"), "{text}");
}

#[test]
fn manifest_output_is_byte_exact() {
    let document = pb::ImageDocument {
        content_type: "application/json".into(),
        data: fixtures::CANONICAL_MANIFEST.as_bytes().to_vec(),
    };
    assert_eq!(
        images::document_bytes(&document),
        fixtures::CANONICAL_MANIFEST.as_bytes()
    );
    let (printer, captured) = Printer::capture();
    printer.raw(images::document_bytes(&document));
    // Not a byte added: no final newline, no reformatting.
    assert_eq!(
        captured.lock().unwrap().out.as_bytes(),
        fixtures::CANONICAL_MANIFEST.as_bytes()
    );
    assert!(!captured.lock().unwrap().out.ends_with('\n'));
}

#[test]
fn wait_shows_each_stage_transition_and_the_failure() {
    let snapshots = fixtures::failing_build_snapshots();
    let lines = images::build_progress(&snapshots);
    let summary: Vec<(String, String)> = lines
        .iter()
        .map(|line| {
            let mut words = line.split_whitespace();
            let stage = words.next().unwrap_or_default().to_owned();
            let state = words.next().unwrap_or_default().to_owned();
            (stage, state)
        })
        .collect();
    let expected = [
        ("resolve", "running"),
        ("resolve", "succeeded"),
        ("install", "running"),
        ("install", "succeeded"),
        ("configure", "succeeded"),
        ("sbom", "succeeded"),
        ("scan", "running"),
        ("scan", "failed"),
        ("build", "bld-01jexample00000000000002"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(summary, expected, "{lines:#?}");
    // Durations and the last log line come with a finished stage.
    assert_eq!(lines[1], "resolve    succeeded    1.5s  resolve: done");
    assert!(
        lines[7].ends_with("scan: CVE-2026-12345 in openssl 3.0.2"),
        "{}",
        lines[7]
    );
    assert_eq!(
        lines[8],
        "build bld-01jexample00000000000002 failed at stage scan: CVE-2026-12345 in openssl 3.0.2"
    );
    let last = snapshots.last().unwrap();
    assert!(images::build_finished(last));
    assert!(images::build_outcome(last).is_err());
    // A snapshot that changed nothing prints nothing.
    assert!(images::build_transitions(Some(&snapshots[2]), &snapshots[2]).is_empty());
}

#[test]
fn a_resolved_build_lists_the_package_upgrades_under_its_resolve_stage() {
    let mut build = fixtures::failing_build_snapshots().remove(0);
    let resolve = build
        .stages
        .iter_mut()
        .find(|s| s.name == "resolve")
        .unwrap();
    resolve.state = "succeeded".into();
    resolve.log = vec![
        "the base manifest resolved against the package archive: 2 upgrades".into(),
        "kernel 6.8.0-88-generic → 6.8.0-90-generic".into(),
        "runc 1.2.6 → 1.2.8".into(),
        "succeeded in 10 ms".into(),
    ];
    let lines = images::build_transitions(None, &build);
    let at = lines
        .iter()
        .position(|l| l.starts_with("resolve    succeeded"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(
        lines[at + 1..at + 3],
        [
            "           kernel 6.8.0-88-generic → 6.8.0-90-generic",
            "           runc 1.2.6 → 1.2.8"
        ],
        "{lines:#?}"
    );
}

#[test]
fn a_succeeded_build_names_its_image() {
    let mut build = fixtures::failing_build_snapshots().remove(0);
    build.state = "succeeded".into();
    for stage in &mut build.stages {
        stage.state = "succeeded".into();
    }
    let outcome = images::build_outcome(&build).unwrap();
    assert!(outcome.contains("succeeded"), "{outcome}");
    assert!(outcome.contains(fixtures::IMAGE_ID), "{outcome}");
    let text = images::describe_build(&build, NOW);
    for fact in ["2026.12.1", "STAGE", "resolve", "publish", "succeeded"] {
        assert!(text.contains(fact), "{fact:?} missing from\n{text}");
    }
    let table = images::builds_table(std::slice::from_ref(&build), NOW);
    assert!(table.contains("3f2a9c1b7d4e"), "{table}");
}

#[test]
fn transitions_print_one_line() {
    let mut image = fixtures::image();
    assert_eq!(
        transition_line(Transition::Promote, &image),
        "image/2026.12.0 (3f2a9c1b7d4e) promoted to stable"
    );
    image.status = "withdrawn".into();
    image.status_reason = "CVE-2026-12345".into();
    assert_eq!(
        transition_line(Transition::Withdraw, &image),
        "image/2026.12.0 (3f2a9c1b7d4e) withdrawn: CVE-2026-12345"
    );
}

/// A pool on 2026.12.0 with a rollout policy, a halted rollout and two revisions.
fn pool_with_images() -> accord_proto::provisioner::v1::NodePool {
    use accord_proto::provisioner::v1 as ppb;
    let mut pool = fixtures::node_pool("gpu-a");
    let spec = pool.spec.as_mut().unwrap();
    spec.image_version = "2026.12.0".into();
    spec.rollout_policy = Some(ppb::RolloutPolicy {
        wave_percentages: vec![1, 5, 25, 100],
        batch_size: 0,
        soak_seconds: 1800,
        max_unavailable: 1,
        only_in_maintenance_windows: true,
        ready_timeout_seconds: 900,
    });
    let status = pool.status.as_mut().unwrap();
    status.image_id = fixtures::IMAGE_ID.into();
    status.driver_version = "570.195.03".into();
    status.update_available_version = "2026.12.1".into();
    status.deprecation_warning = "superseded by 2026.12.1".into();
    status.rollout = Some(ppb::Rollout {
        phase: "halted".into(),
        halt_reason: "node gpu-a-3 not Ready within 15m".into(),
        from_revision: 1,
        to_revision: 2,
        wave: 2,
        waves: 4,
        nodes_on_new: 1,
        nodes_total: 2,
    });
    status.revisions = vec![
        ppb::PoolRevision {
            revision: 1,
            image_version: "2026.11.0".into(),
            image_id: "sha256:00112233445566778899".into(),
            driver_version: "570.172.08".into(),
            kubernetes_version: "1.32.9".into(),
            active_nodes: 1,
            disabled: false,
        },
        ppb::PoolRevision {
            revision: 2,
            image_version: "2026.12.0".into(),
            image_id: fixtures::IMAGE_ID.into(),
            driver_version: "570.195.03".into(),
            kubernetes_version: "1.32.9".into(),
            active_nodes: 1,
            disabled: true,
        },
    ];
    pool
}

#[test]
fn describe_nodepool_shows_image_rollout_and_revisions() {
    let pool = pool_with_images();
    let text = crate::output::describe::node_pool(&pool, Some("demo"), None, NOW);
    for fact in [
        "Driver Branch:",
        "production",
        "Image Channel:",
        "stable",
        "waves 1,5,25,100%, soak 30m, max unavailable 1, ready timeout 15m, only in maintenance windows",
        "2026.12.0 (3f2a9c1b7d4e)",
        "Driver Version:",
        "570.195.03",
        "-> 2026.12.1",
        "Deprecation Warning:",
        "superseded by 2026.12.1",
        "halted, wave 2/4, 1/2 nodes on revision 2 (from 1): node gpu-a-3 not Ready within 15m",
        "Revisions:",
        "READY NODES",
        "DISABLED",
        "2026.11.0 (001122334455)",
        "570.172.08",
    ] {
        assert!(text.contains(fact), "{fact:?} missing from\n{text}");
    }
    let revision_2 = text
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(revision_2.trim_end().ends_with("yes"), "{revision_2}");
}

#[test]
fn update_required_shows_in_describe_and_the_update_column() {
    let mut pool = pool_with_images();
    let status = pool.status.as_mut().unwrap();
    status.update_required = true;
    status.update_required_reason =
        "CVE-2026-12345: remote code execution in the container runtime".into();
    let text = crate::output::describe::node_pool(&pool, None, None, NOW);
    assert!(
        text.contains("yes: CVE-2026-12345: remote code execution"),
        "{text}"
    );
    let column = crate::output::tables::pool_update(&pool);
    assert!(column.starts_with("required: CVE-2026-12345"), "{column}");
    assert!(
        column.chars().count() <= 32 && column.ends_with('…'),
        "{column}"
    );

    let mut available = pool_with_images();
    assert_eq!(crate::output::tables::pool_update(&available), "2026.12.1");
    available.status.as_mut().unwrap().update_available_version = String::new();
    // Falls back to the catalogue's answer.
    assert_eq!(crate::output::tables::pool_update(&available), "2026.11");
}

#[test]
fn nodepool_json_carries_the_image_facts() {
    let value = pool_with_images().to_value().unwrap();
    assert_eq!(value["spec"]["driver_branch"], "production");
    assert_eq!(
        value["spec"]["rollout_policy"]["wave_percentages"],
        serde_json::json!([1, 5, 25, 100])
    );
    assert_eq!(value["status"]["image_id"], fixtures::IMAGE_ID);
    assert_eq!(value["status"]["update_available_version"], "2026.12.1");
    assert_eq!(value["status"]["revisions"][1]["disabled"], true);
    assert_eq!(value["status"]["rollout"]["phase"], "halted");
}
