//! Node-health and finding views (what `-o json|yaml` prints) and the `accord health get nodes`
//! and `accord health findings` tables.

use accord_proto::telemetry::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Resource, age, or_dash, rfc3339, tables::render};

/// A verdict enum value as its name.
pub fn verdict_name(value: i32) -> &'static str {
    match pb::Verdict::try_from(value) {
        Ok(pb::Verdict::Pass) => "PASS",
        Ok(pb::Verdict::Info) => "INFO",
        Ok(pb::Verdict::Warning) => "WARNING",
        Ok(pb::Verdict::Critical) => "CRITICAL",
        _ => "UNKNOWN",
    }
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    pub check: String,
    pub verdict: &'static str,
}

/// A node's health.
#[derive(Debug, Clone, Serialize)]
pub struct NodeHealthView {
    pub kind: &'static str,
    pub node_id: String,
    pub node_name: String,
    pub pool: String,
    pub instance_type: String,
    pub verdict: &'static str,
    pub checks: Vec<CheckView>,
    pub failing_checks: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sample_at: Option<String>,
}

impl NodeHealthView {
    pub fn from_pb(n: &pb::NodeHealth) -> Self {
        NodeHealthView {
            kind: "NodeHealth",
            node_id: n.node_id.clone(),
            node_name: n.node_name.clone(),
            pool: n.pool.clone(),
            instance_type: n.instance_type.clone(),
            verdict: verdict_name(n.verdict),
            checks: n
                .checks
                .iter()
                .map(|c| CheckView {
                    check: c.check.clone(),
                    verdict: verdict_name(c.verdict),
                })
                .collect(),
            failing_checks: n.failing_checks.clone(),
            last_sample_at: rfc3339(n.last_sample_at.as_ref()),
        }
    }
}

impl Resource for NodeHealthView {
    const KIND: &'static str = "nodehealth";
    fn name(&self) -> &str {
        &self.node_name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// The `accord health get nodes` table.
pub fn nodes_table(nodes: &[pb::NodeHealth]) -> String {
    render(
        &["NODE", "POOL", "VERDICT", "FAILING CHECKS"],
        nodes
            .iter()
            .map(|n| {
                vec![
                    or_dash(&n.node_name),
                    or_dash(&n.pool),
                    verdict_name(n.verdict).to_owned(),
                    or_dash(&n.failing_checks.join(",")),
                ]
            })
            .collect(),
    )
}

/// A health finding.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub kind: &'static str,
    pub id: String,
    pub cluster_id: String,
    pub node_id: String,
    pub node_name: String,
    pub check: String,
    pub finding_kind: String,
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<u32>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub port: String,
    /// The evidence as the service sent it (JSON), parsed when it parses.
    pub evidence: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl FindingView {
    pub fn from_pb(f: &pb::Finding) -> Self {
        FindingView {
            kind: "HealthFinding",
            id: f.id.clone(),
            cluster_id: f.cluster_id.clone(),
            node_id: f.node_id.clone(),
            node_name: f.node_name.clone(),
            check: f.check.clone(),
            finding_kind: f.kind.clone(),
            severity: f.severity.clone(),
            gpu: f.gpu,
            xid: f.xid,
            port: f.port.clone(),
            evidence: serde_json::from_str(&f.evidence)
                .unwrap_or_else(|_| serde_json::Value::String(f.evidence.clone())),
            at: rfc3339(f.at.as_ref()),
        }
    }
}

impl Resource for FindingView {
    const KIND: &'static str = "healthfinding";
    fn name(&self) -> &str {
        &self.id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// Where on the node: `gpu 3`, the port, or `-`.
fn subject(f: &pb::Finding) -> String {
    match (f.gpu, f.port.as_str()) {
        (Some(gpu), _) => format!("gpu {gpu}"),
        (None, "") => "-".to_owned(),
        (None, port) => port.to_owned(),
    }
}

/// The `accord health findings` table.
pub fn findings_table(findings: &[pb::Finding], now: OffsetDateTime) -> String {
    render(
        &["NODE", "CHECK", "SEVERITY", "WHERE", "XID", "AGE", "ID"],
        findings
            .iter()
            .map(|f| {
                vec![
                    or_dash(&f.node_name),
                    f.check.clone(),
                    f.severity.clone(),
                    subject(f),
                    f.xid.map_or_else(|| "-".to_owned(), |x| x.to_string()),
                    age(f.at.as_ref(), now),
                    f.id.clone(),
                ]
            })
            .collect(),
    )
}
