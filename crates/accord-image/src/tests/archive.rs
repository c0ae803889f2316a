//! The package archive: the shipped one parses, resolving every base manifest against it moves
//! each component within its series only, the result validates and passes the shipped matrix,
//! resolution is a deterministic fixpoint that never downgrades, and bad archives are refused
//! naming the path.

use accord_core::validation::SUPPORTED_VERSIONS;

use super::{KNOWN, base_release, matrix, production, sealed};
use crate::compat::{Target, check};
use crate::error::ErrorKind;
use crate::limits::MAX_ARCHIVE_BYTES;
use crate::{Archive, default_archive, parse_archive, resolve};

fn archive() -> Archive {
    default_archive().unwrap_or_else(|e| panic!("{e}"))
}

fn lines(upgrades: &[crate::Upgrade]) -> Vec<String> {
    upgrades.iter().map(ToString::to_string).collect()
}

#[test]
fn the_production_base_moves_every_component_to_the_newest_of_its_series() {
    let r = resolve(&production(), &archive());
    assert_eq!(
        lines(&r.upgrades),
        [
            "kernel 6.8.0-88-generic → 6.8.0-90-generic",
            "containerd 2.0.6 → 2.0.7",
            "runc 1.2.6 → 1.2.8",
            "kubelet 1.31 1.31.13 → 1.31.14",
            "kubelet 1.32 1.32.9 → 1.32.10",
            "kubelet 1.33 1.33.5 → 1.33.6",
            "gpu_driver 570.195.03 → 570.211.01",
            "fabric_manager 570.195.03 → 570.211.01",
        ]
    );
    // Chosen, not resolved: the OS release, CUDA compat, the branch, the base configuration.
    let base = production();
    assert_eq!(r.manifest.os, base.os);
    assert_eq!(r.manifest.cuda_compat, base.cuda_compat);
    assert_eq!(r.manifest.gpu_driver.branch, "production");
    assert_eq!(r.manifest.base, base.base);
    assert_eq!(r.manifest.kubelet["1.30"], "1.30.14");
}

#[test]
fn the_lts_base_stays_on_containerd_1_7_and_the_r535_driver() {
    let base = base_release();
    let lts = base.for_branch("lts").unwrap();
    let r = resolve(lts, &archive());
    assert_eq!(r.manifest.containerd.version, "1.7.29");
    assert_eq!(r.manifest.gpu_driver.version, "535.274.02");
    assert_eq!(r.manifest.fabric_manager.version, "535.274.02");
    assert!(
        lines(&r.upgrades).contains(&"containerd 1.7.28 → 1.7.29".to_owned()),
        "{:?}",
        r.upgrades
    );
}

/// The archive must pass the shipped matrix: every base manifest resolved against it
/// validates and passes the gate for every instance type and Kubernetes minor it serves.
#[test]
fn every_resolved_base_manifest_validates_and_passes_the_shipped_matrix() {
    let matrix = matrix();
    let archive = archive();
    for m in base_release().manifests {
        let r = resolve(&m, &archive);
        assert!(
            !r.upgrades.is_empty(),
            "{} is newest already",
            m.gpu_driver.branch
        );
        let sealed = sealed(r.manifest);
        assert_ne!(sealed.id, super::sealed(m.clone()).id);
        for t in KNOWN {
            for minor in SUPPORTED_VERSIONS {
                let target = Target {
                    instance_type: Some(t),
                    kubernetes: Some(minor),
                };
                if let Err(refusal) = check(&sealed.manifest, &target, &matrix) {
                    panic!("{} on {t} {minor}: {refusal}", m.gpu_driver.branch);
                }
            }
        }
        check(&sealed.manifest, &Target::default(), &matrix).unwrap();
    }
}

#[test]
fn resolution_is_deterministic_a_fixpoint_and_never_downgrades() {
    let archive = archive();
    let once = resolve(&production(), &archive);
    assert_eq!(once, resolve(&production(), &archive));
    let twice = resolve(&once.manifest, &archive);
    assert!(twice.upgrades.is_empty(), "{:?}", twice.upgrades);
    assert_eq!(twice.manifest, once.manifest);
    // A manifest ahead of the archive keeps its versions; one outside every series too.
    let mut ahead = production();
    ahead.kernel.version = "6.8.0-95-generic".into();
    ahead.containerd.version = "2.1.4".into();
    let r = resolve(&ahead, &archive);
    assert_eq!(r.manifest.kernel.version, "6.8.0-95-generic");
    assert_eq!(r.manifest.containerd.version, "2.1.4");
    assert!(
        r.upgrades
            .iter()
            .all(|u| u.component != "kernel" && u.component != "containerd")
    );
}

#[test]
fn bad_archives_are_refused_naming_the_path() {
    let refused = |yaml: &str| {
        let e = parse_archive(yaml).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        e.fields()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(refused("version: 0\nseries: {}\n"), ["archive.version"]);
    // The fabric manager follows the driver; it is not resolved on its own.
    assert_eq!(
        refused("version: 1\nseries:\n  fabric_manager:\n    \"570.*\": 570.211.01\n"),
        ["archive.series.\"fabric_manager\""]
    );
    // Not a series, a version outside its series, an invalid version, overlapping series.
    let e = refused(
        "version: 1\nseries:\n  kernel:\n    \"6.8.0-90-generic\": 6.8.0-90-generic\n  runc:\n    \"1.2.*\": 1.3.0\n  containerd:\n    \"2.0.*\": 2.0\n  gpu_driver:\n    \"570.*\": 570.211.01\n    \"570.2*\": 570.211.01\n",
    );
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(
        e.iter().any(|f| f.starts_with("archive.series.kernel.")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|f| f.starts_with("archive.series.runc.")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|f| f.starts_with("archive.series.containerd.")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|f| f.starts_with("archive.series.gpu_driver.")),
        "{e:?}"
    );
    let big = format!(
        "# {}\nversion: 1\nseries: {{}}\n",
        "x".repeat(MAX_ARCHIVE_BYTES)
    );
    assert_eq!(refused(&big), ["archive"]);
}
