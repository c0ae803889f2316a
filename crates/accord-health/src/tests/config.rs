//! Tests of the configuration: the shipped defaults, overrides per instance type and per
//! cluster, refusals.

use std::time::Duration;

use super::{CLUSTER, H100, OTHER_CLUSTER, Run, SEC, T0, cluster, with};
use crate::{CheckId, Checks, ConfigError, DEFAULTS_YAML, HealthConfig, Severity};

#[test]
fn the_shipped_file_is_the_defaults() {
    let shipped = HealthConfig::from_yaml(DEFAULTS_YAML).unwrap();
    assert!(shipped.instance_types.is_empty() && shipped.clusters.is_empty());
    assert_eq!(shipped.resolve(&cluster(), H100), Checks::default());
    // And every default is written out: each check sets every field it has.
    let written = serde_json::to_value(&shipped.checks).unwrap();
    for check in CheckId::ALL {
        assert!(written.get(check.as_str()).is_some(), "{check} missing");
    }
    assert_eq!(written["ib-link"].as_object().unwrap().len(), 7);
    assert_eq!(
        HealthConfig::default().resolve(&cluster(), H100),
        Checks::default()
    );
}

const OVERRIDES: &str = r#"
checks:
  gpu-nvlink: {max_per_minute: 500}
  gpu-xid: {severities: {13: critical}}
instance_types:
  h100-80gb-sxm-ib.8x:
    gpu-nvlink: {max_per_minute: 200, severity: critical}
    ib-link: {down_for: 1m}
    gpu-xid: {severities: {79: warning}}
clusters:
  cl-01jd6v3xq5n8c7m2k4p9r0s1t2:
    gpu-nvlink: {max_per_minute: 50}
    gpu-thermal: {enabled: false}
    gpu-xid: {severities: {"13": info}, unknown_severity: warning}
"#;

#[test]
fn the_narrowest_scope_wins_field_by_field() {
    let config = HealthConfig::from_yaml(OVERRIDES).unwrap();
    let other = OTHER_CLUSTER.parse().unwrap();
    // (cluster, instance type, nvlink limit, nvlink severity, ib down_for, thermal enabled)
    let cases = [
        (cluster(), H100, 50, Severity::Critical, 60, false),
        (other, H100, 200, Severity::Critical, 60, true),
        (other, "l40s-48gb.4x", 500, Severity::Warning, 30, true),
        (cluster(), "l40s-48gb.4x", 50, Severity::Warning, 30, false),
    ];
    for (cl, it, limit, severity, down_for, thermal) in cases {
        let checks = config.resolve(&cl, it);
        assert_eq!(checks.gpu_nvlink.max_per_minute, limit, "{cl} {it}");
        assert_eq!(checks.gpu_nvlink.severity, severity, "{cl} {it}");
        assert_eq!(checks.ib_link.down_for, Duration::from_secs(down_for));
        assert_eq!(checks.gpu_thermal.enabled, thermal, "{cl} {it}");
        assert_eq!(checks.gpu_pcie, Checks::default().gpu_pcie, "untouched");
    }
    // XID severities: per XID, the narrowest scope that names it, else the catalogue.
    let xid =
        |cl: &str, it: &str, code: Option<u32>| config.xid_severity(&cl.parse().unwrap(), it, code);
    assert_eq!(xid(CLUSTER, H100, Some(13)), Severity::Info);
    assert_eq!(xid(OTHER_CLUSTER, H100, Some(13)), Severity::Critical);
    assert_eq!(xid(CLUSTER, H100, Some(79)), Severity::Warning);
    assert_eq!(xid(CLUSTER, "l40s-48gb.4x", Some(79)), Severity::Critical);
    assert_eq!(xid(CLUSTER, H100, Some(999)), Severity::Warning);
    assert_eq!(xid(OTHER_CLUSTER, H100, None), Severity::Critical);
    assert_eq!(xid(OTHER_CLUSTER, H100, Some(43)), Severity::Info);
}

#[test]
fn overrides_change_what_trips_on_that_cluster_only() {
    let mut run = Run::yaml(OVERRIDES);
    let other = OTHER_CLUSTER.parse().unwrap();
    let crc = |ts: i64, cl, v: u64| {
        with(ts, |s| {
            s.cluster = cl;
            s.gpus[0].nvlink_crc_errors = v;
        })
    };
    // 60 a minute: over the cluster's 50, under the instance type's 200.
    run.feed(&crc(T0, cluster(), 0));
    let f = run.feed(&crc(T0 + 60 * SEC, cluster(), 60));
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].severity,
        Severity::Critical,
        "the instance type's severity"
    );

    let mut run = Run::yaml(OVERRIDES);
    run.feed(&crc(T0, other, 0));
    assert!(run.feed(&crc(T0 + 60 * SEC, other, 60)).is_empty());
    assert_eq!(run.feed(&crc(T0 + 120 * SEC, other, 261)).len(), 1);

    // A disabled check raises nothing and has no verdict.
    let mut run = Run::yaml(OVERRIDES);
    let hot = |ts: i64| with(ts, |s| s.thermal_violation = true);
    for minute in 0..20 {
        assert!(run.feed(&hot(T0 + minute * 60 * SEC)).is_empty());
    }
    let verdicts = run.checker.verdicts(&super::node()).unwrap();
    assert!(
        verdicts
            .checks
            .iter()
            .all(|v| v.check != CheckId::GpuThermal)
    );
    assert_eq!(verdicts.checks.len(), 7);
}

#[test]
fn json_configurations_parse_too() {
    let config = HealthConfig::from_yaml(
        r#"{"checks": {"node-not-ready": {"after": "15m"}, "gpu-xid": {"severities": {"31": "info"}}}}"#,
    )
    .unwrap();
    let checks = config.resolve(&cluster(), H100);
    assert_eq!(checks.node_not_ready.after, Duration::from_secs(900));
    assert_eq!(
        config.xid_severity(&cluster(), H100, Some(31)),
        Severity::Info
    );
}

#[test]
fn typos_and_bad_values_are_refused_without_echoing_the_file() {
    let cases = [
        (
            "checks:\n  gpu-nvlink: {max_per_minit: 5}\n",
            "max_per_minit",
        ),
        ("checks:\n  gpu-nvlnk: {}\n", "gpu-nvlnk"),
        ("checks:\n  gpu-ecc: {severity: fatal}\n", "fatal"),
        ("checks:\n  ib-link: {down_for: soon}\n", "down_for"),
        ("clusters:\n  not-a-cluster: {}\n", "cluster id"),
        ("checks:\n  gpu-xid: {severities: {x13: info}}\n", "XID"),
        ("checks: [1, 2\n", "does not parse"),
    ];
    for (text, says) in cases {
        let err = HealthConfig::from_yaml(text).unwrap_err().to_string();
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(err.chars().count() < 420, "{err}");
    }
    let huge = format!("# {}\n", "x".repeat(crate::config::MAX_CONFIG_BYTES));
    assert!(matches!(
        HealthConfig::from_yaml(&huge),
        Err(ConfigError::TooLarge { .. })
    ));
}
