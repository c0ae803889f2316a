//! Health verdicts, findings and samples → `accord.telemetry.v1` messages.

use accord_core::telemetry::TelemetrySample;
use accord_health::{CheckVerdict, HealthFinding, Severity, Verdict};
use time::OffsetDateTime;

use crate::{convert::provisioner::ts, telemetry::v1 as pb};

/// The wire enum of a verdict.
pub fn verdict(v: Verdict) -> pb::Verdict {
    match v {
        Verdict::Unknown => pb::Verdict::Unknown,
        Verdict::Pass => pb::Verdict::Pass,
        Verdict::Info => pb::Verdict::Info,
        Verdict::Warning => pb::Verdict::Warning,
        Verdict::Critical => pb::Verdict::Critical,
    }
}

/// A check's verdict on the wire.
pub fn check_verdict(c: &CheckVerdict) -> pb::CheckVerdict {
    pb::CheckVerdict {
        check: c.check.as_str().to_owned(),
        verdict: verdict(c.verdict).into(),
    }
}

/// A sample time (Unix ms) as a timestamp; `None` when out of range.
pub fn ts_ms(ms: i64) -> Option<prost_types::Timestamp> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(ts)
}

/// A timestamp as Unix ms (saturating).
pub fn to_ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// A finding on the wire; `node_name` is the node's hostname as the tripping sample gave it.
pub fn finding(f: &HealthFinding, node_name: &str) -> pb::Finding {
    pb::Finding {
        id: f.id.to_string(),
        cluster_id: f.cluster.to_string(),
        node_id: f.node.to_string(),
        check: f.check.as_str().to_owned(),
        kind: f.kind.as_str().to_owned(),
        severity: severity(f.severity).to_owned(),
        gpu: f.gpu,
        xid: f.xid,
        port: f
            .port
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        evidence: serde_json::to_string(&f.evidence).unwrap_or_default(),
        at: ts_ms(f.ts_ms()),
        node_name: node_name.to_owned(),
    }
}

/// A node's latest sample on the wire (re-encoded as JSON).
pub fn latest_sample(s: &TelemetrySample) -> pb::LatestSample {
    pb::LatestSample {
        node_id: s.node.to_string(),
        at: ts_ms(s.ts_ms),
        sample_json: serde_json::to_string(s).unwrap_or_default(),
    }
}
