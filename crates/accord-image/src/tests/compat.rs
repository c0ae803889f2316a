//! The compatibility gate: constraints, the shipped matrix, refusals naming their pair, scoping
//! by instance type and Kubernetes minor, and matrix validation.

use accord_core::error::DomainError;
use accord_core::validation::KubeVersion;

use super::{KNOWN, base_release, matrix, production};
use crate::compat::{Constraint, Verdict};
use crate::error::ErrorKind;
use crate::{GateRefusal, Manifest, Target, check, known_good, parse_matrix};

const H100: &str = "h100-80gb-sxm-ib.8x";

fn minor(s: &str) -> KubeVersion {
    s.parse().unwrap()
}

fn on(instance_type: &str) -> Target<'_> {
    Target {
        instance_type: Some(instance_type),
        kubernetes: None,
    }
}

#[test]
fn constraints_parse_and_match() {
    let c = |s: &str| Constraint::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert!(c("*").matches("anything"));
    assert!(c("6.8.0-40-generic").matches("6.8.0-40-generic"));
    assert!(!c("6.8.0-40-generic").matches("6.8.0-40-lowlatency"));
    assert!(c("6.8.*").matches("6.8.0-88-generic"));
    assert!(!c("6.8.*").matches("6.80.1"));
    assert!(c("24.07-*").matches("24.07-0.6.1.0"));
    assert!(c(">=6.8").matches("6.8.0-88-generic"));
    assert!(!c(">=6.8").matches("6.5.0-1"));
    assert!(c("<535.161").matches("535.154.05"));
    assert!(!c("<535.161").matches("535.161.07"));
    assert!(c(">=535,<535.161").matches("535.104.12"));
    assert!(!c(">=535,<535.161").matches("570.195.03"));
    // Missing trailing numbers count as zero: 24.10-3.2.5.0 is not below 24.10.
    assert!(!c("<24.10").matches("24.10-3.2.5.0"));
    assert!(c(">=24.10").matches("24.10-3.2.5.0"));
    // A range never matches a version without a leading number.
    assert!(!c("<99").matches("ubuntu"));
}

#[test]
fn bad_constraints_are_refused() {
    for bad in [
        "", "6.8*", "*6.8", ">=a", "<", ">=2,<1", ">=1,>=2", ">=1,<=2", "6.8 .0", ">6.8", "6.8.*.*",
    ] {
        assert!(Constraint::parse(bad).is_err(), "{bad:?}");
    }
    assert!(
        Constraint::parse(&"1".repeat(100))
            .unwrap_err()
            .contains("at most")
    );
}

#[test]
fn the_shipped_matrix_parses() {
    let m = matrix();
    assert!(m.version >= 1);
    assert!(
        m.rules
            .iter()
            .any(|r| r.id == "K-OFED-1" && r.verdict == Verdict::KnownBad)
    );
    assert!(m.rules.iter().any(|r| r.verdict == Verdict::KnownGood));
}

#[test]
fn the_base_passes_the_gate_everywhere_it_is_qualified() {
    let m = matrix();
    for manifest in base_release().manifests {
        check(&manifest, &Target::default(), &m).unwrap();
        for t in KNOWN {
            for v in accord_core::validation::SUPPORTED_VERSIONS {
                let target = Target {
                    instance_type: Some(t),
                    kubernetes: Some(v),
                };
                check(&manifest, &target, &m).unwrap_or_else(|e| panic!("{t} {v}: {e}"));
            }
        }
    }
}

fn rdma_breaker() -> Manifest {
    let mut m = production();
    m.kernel.version = "6.8.0-40-generic".into();
    m.doca_ofed.version = "24.07-0.6.1.0".into();
    m
}

#[test]
fn a_known_bad_pair_is_named() {
    let err = check(&rdma_breaker(), &on(H100), &matrix()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "kernel 6.8.0-40-generic × DOCA-OFED 24.07-0.6.1.0 on h100-80gb-sxm-ib.8x: breaks \
         GPUDirect RDMA (nvidia-peermem fails to register peer memory) (rule K-OFED-1)"
    );
    match DomainError::from(err.clone()) {
        DomainError::FailedPrecondition(message) => assert!(message.contains("K-OFED-1")),
        other => panic!("{other}"),
    }
    assert_eq!(
        crate::ImageError::from(err).kind(),
        ErrorKind::FailedPrecondition
    );
}

#[test]
fn instance_scoped_rules_apply_only_to_their_instance_types() {
    let m = matrix();
    check(&rdma_breaker(), &Target::default(), &m).unwrap();
    check(&rdma_breaker(), &on("l40s-48gb.10x"), &m).unwrap();
    assert!(check(&rdma_breaker(), &on("h200-141gb-sxm-ib.8x"), &m).is_err());
}

#[test]
fn unscoped_rules_apply_everywhere() {
    let mut old_driver = production();
    old_driver.gpu_driver.version = "535.154.05".into();
    old_driver.fabric_manager.version = "535.154.05".into();
    let err = check(&old_driver, &Target::default(), &matrix()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GPU driver 535.154.05 × kernel 6.8.0-88-generic"),
        "{err}"
    );
    assert!(err.to_string().ends_with("(rule DRV-KERNEL-1)"), "{err}");
    old_driver.gpu_driver.version = "535.161.07".into();
    check(&old_driver, &Target::default(), &matrix()).unwrap();
}

#[test]
fn kubelet_rules_follow_the_target_minor() {
    let mut m = production();
    m.containerd.version = "1.6.33".into();
    let matrix = matrix();
    let at = |v: Option<&str>| Target {
        instance_type: None,
        kubernetes: v.map(minor),
    };
    check(&m, &at(Some("1.30")), &matrix).unwrap();
    let err = check(&m, &at(Some("1.31")), &matrix).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("kubelet 1.31.13 × containerd 1.6.33"),
        "{err}"
    );
    // Without a minor, every kubelet the image ships is checked.
    assert!(check(&m, &at(None), &matrix).is_err());
}

#[test]
fn the_target_must_be_served() {
    let mut m = production();
    m.instance_types.remove(H100);
    m.kubelet.remove("1.30");
    let matrix = matrix();
    assert_eq!(
        check(&m, &on(H100), &matrix).unwrap_err(),
        GateRefusal::NotQualified(H100.into())
    );
    let target = Target {
        instance_type: None,
        kubernetes: Some(minor("1.30")),
    };
    let err = check(&m, &target, &matrix).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the image carries no kubelet for Kubernetes 1.30"
    );
}

#[test]
fn known_good_rules_are_listed_not_obeyed() {
    let m = matrix();
    let ids: Vec<&str> = known_good(&production(), &on(H100), &m)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["K-OFED-GOOD-1", "DRV-CUDA-GOOD-1"]);
    let ids: Vec<&str> = known_good(&production(), &Target::default(), &m)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["DRV-CUDA-GOOD-1"]);
}

fn rule(id: &str) -> String {
    format!(
        "  - id: {id}\n    verdict: known_bad\n    a: {{ component: kernel, version: \"*\" }}\n    \
         b: {{ component: runc, version: \"*\" }}\n    reason: everything breaks\n"
    )
}

#[test]
fn refusals_are_bounded() {
    let yaml = format!(
        "version: 1\nrules:\n{}",
        (0..13).map(|i| rule(&format!("R-{i}"))).collect::<String>()
    );
    let m = parse_matrix(&yaml, &KNOWN).unwrap();
    match check(&production(), &Target::default(), &m).unwrap_err() {
        GateRefusal::Conflicts { conflicts, omitted } => {
            assert_eq!(conflicts.len(), crate::limits::MAX_REPORTED_CONFLICTS);
            assert_eq!(omitted, 3);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn matrix_errors_name_their_path() {
    let yaml = "version: 0
rules:
  - id: k-1
    verdict: maybe
    a: { component: kernel, version: \"6.8*\" }
    b: { component: kernel, version: \"*\" }
    reason: \"\"
    instance_types: [a100.8x]
  - id: DUP
    verdict: known_bad
    a: { component: bios, version: \"1\" }
    b: { component: runc, version: \"1\" }
    reason: x
  - id: DUP
    verdict: known_good
    a: { component: os, version: \"24.04\" }
    b: { component: runc, version: \">=2,<1\" }
    reason: y
";
    let err = parse_matrix(yaml, &KNOWN).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.fields(),
        [
            "matrix.version",
            "matrix.rules[0].id",
            "matrix.rules[0].verdict",
            "matrix.rules[0].a.version",
            "matrix.rules[0].b.component",
            "matrix.rules[0].reason",
            "matrix.rules[0].instance_types",
            "matrix.rules[1].a.component",
            "matrix.rules[2].id",
            "matrix.rules[2].b.version",
        ]
    );
}

#[test]
fn unknown_fields_and_oversized_matrices_are_refused() {
    let yaml = format!("version: 1\nrules:\n{}    severity: high\n", rule("R-1"));
    let err = parse_matrix(&yaml, &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["matrix"]);
    assert!(err.to_string().contains("severity"), "{err}");
    let err = parse_matrix("version: 1\nrules: []\nowner: ops\n", &KNOWN).unwrap_err();
    assert!(err.to_string().contains("owner"), "{err}");
    let many = format!(
        "version: 1\nrules:\n{}",
        (0..=crate::limits::MAX_RULES)
            .map(|i| rule(&format!("R-{i}")))
            .collect::<String>()
    );
    let err = parse_matrix(&many, &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["matrix.rules"]);
    let huge = "#".repeat(crate::limits::MAX_MATRIX_BYTES + 1);
    assert_eq!(
        parse_matrix(&huge, &KNOWN).unwrap_err().fields(),
        ["matrix"]
    );
}
