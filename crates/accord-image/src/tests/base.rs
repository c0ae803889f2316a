//! The default base release: it validates, one manifest per branch, and its next release.

use time::macros::date;

use super::{KNOWN, base_release};
use crate::error::ErrorKind;
use crate::{ImageVersion, next_release, parse_base};

fn v(s: &str) -> ImageVersion {
    s.parse().unwrap()
}

#[test]
fn the_shipped_base_has_one_manifest_per_branch() {
    let base = base_release();
    assert_eq!(base.version, v("2026.11.0"));
    let production = base.for_branch("production").unwrap();
    assert!(production.gpu_driver.version.starts_with("570."));
    assert_eq!(production.os.version_id, "24.04");
    let lts = base.for_branch("lts").unwrap();
    assert!(lts.gpu_driver.version.starts_with("535."));
    for m in &base.manifests {
        assert!(m.kernel.version.starts_with("6.8."));
        assert!(m.doca_ofed.version.starts_with("24.10"));
        assert_eq!(m.cuda_compat.version, "12.8");
        assert_eq!(m.fabric_manager.version, m.gpu_driver.version);
        let minors: Vec<String> = accord_core::validation::SUPPORTED_VERSIONS
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(m.kubelet.keys().cloned().collect::<Vec<_>>(), minors);
        assert_eq!(m.instance_types.len(), KNOWN.len());
    }
}

#[test]
fn the_next_release_takes_the_next_label() {
    let base = base_release();
    let next = next_release(&base, None, date!(2026 - 12 - 04), &KNOWN).unwrap();
    assert_eq!(next.version, v("2026.12.0"));
    assert_eq!(next.manifests.len(), 2);
    assert_ne!(next.manifests[0].id, next.manifests[1].id);
    let after = next_release(&base, Some(v("2026.12.0")), date!(2026 - 12 - 20), &KNOWN).unwrap();
    assert_eq!(after.version, v("2026.12.1"));
    // An older published label does not move the base backwards.
    let older = next_release(&base, Some(v("2026.01.4")), date!(2026 - 11 - 30), &KNOWN).unwrap();
    assert_eq!(older.version, v("2026.11.1"));
    // Same content, same ids: the label is not part of them.
    assert_eq!(after.manifests, next.manifests);
}

#[test]
fn base_errors_are_named_under_their_manifest() {
    let yaml = crate::DEFAULT_BASE_YAML.replacen("6.8.0-88-generic", "6.8", 2);
    let err = parse_base(&yaml, &KNOWN).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.fields(),
        [
            "base.manifests[0].kernel.version",
            "base.manifests[1].kernel.version"
        ]
    );
    let yaml = crate::DEFAULT_BASE_YAML.replace("branch: lts", "branch: production");
    let err = parse_base(&yaml, &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["base.manifests[1].gpu_driver.branch"]);
    let err = parse_base("version: 2026.11.0\nmanifests: []\n", &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["base.manifests"]);
    let err = parse_base("version: 2026.11.0\nmanifests: []\nextra: 1\n", &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["base"]);
}
