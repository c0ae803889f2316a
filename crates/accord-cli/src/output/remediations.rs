//! AutoClusters remediation views (what `-o json|yaml` prints), the `accord get remediations`
//! table and the `accord describe remediation` document.
//!
//! The JSON of a remediation is a public contract (programs read `accord get remediations -o
//! json`): `{"kind": "List", "items": [...]}`, each item with `kind` (`Remediation`), `id`,
//! `cluster`, `project`, `pool`, `node` (the node's NAME), `node_id`, `finding` {`kind`, `xid`,
//! `gpu`, `port`, `state`, `minutes`, `temp_c`, `signal`, `severity`, `finding_id`},
//! `evidence`, `decision` {`action`, `responsibility`, `reason`}, `policy`, `context` (what the
//! policy saw), `state`, `action` (the rung being carried out), `reason`, `step`,
//! `step_started_at`, `replacement`, `cordoned_by_us`, `attempts`, `timeline` [{`at`, `what`,
//! `detail`}], `created_at`, `updated_at`, `resource_version`. Every key is always present:
//! what the finding does not carry, no step, no replacement are `null`, never a missing key.
//! Enums are kebab-case strings (`reboot-node`, `best-effort`, `running`); times RFC 3339.

use accord_proto::provisioner::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::describe::Doc;
use super::truncate;
use super::{Resource, age, or_dash, rfc3339, tables::render};

/// Longest reason shown in the list table, in characters.
pub const REASON_WIDTH: usize = 60;

/// The finding a remediation answers.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub kind: String,
    pub xid: Option<u32>,
    pub gpu: Option<u32>,
    pub port: Option<String>,
    pub state: Option<String>,
    pub minutes: Option<u32>,
    pub temp_c: Option<u32>,
    pub signal: Option<String>,
    pub severity: Option<String>,
    pub finding_id: String,
}

/// The policy's decision.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub action: String,
    pub responsibility: String,
    pub reason: String,
}

/// What the policy was told.
#[derive(Debug, Clone, Serialize)]
pub struct ContextView {
    pub remediation_allowed: bool,
    pub xid_count_24h: u32,
    pub remediations_7d: u32,
    pub unhealthy_in_pool: u32,
    pub pool_size: u32,
    pub mig: bool,
    pub in_flight_in_pool: u32,
    pub max_in_flight_per_pool: u32,
    pub unhealthy_in_cluster: u32,
    pub cluster_size: u32,
    pub max_unhealthy_percent: u32,
    pub in_maintenance_window: bool,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineView {
    pub at: Option<String>,
    pub what: String,
    pub detail: String,
}

/// A remediation, as `-o json|yaml` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct RemediationView {
    pub kind: &'static str,
    pub id: String,
    pub cluster: String,
    pub project: String,
    pub pool: String,
    /// The node's name.
    pub node: String,
    pub node_id: String,
    pub finding: FindingView,
    pub evidence: Vec<String>,
    pub decision: DecisionView,
    pub policy: String,
    pub context: ContextView,
    pub state: String,
    pub action: String,
    pub reason: String,
    pub step: Option<String>,
    pub step_started_at: Option<String>,
    pub replacement: Option<String>,
    pub cordoned_by_us: bool,
    pub attempts: u32,
    pub timeline: Vec<TimelineView>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub resource_version: u64,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl RemediationView {
    /// The view of a remediation the provisioner returned.
    pub fn from_pb(r: &pb::Remediation) -> RemediationView {
        let f = r.finding.clone().unwrap_or_default();
        let d = r.decision.clone().unwrap_or_default();
        let c = r.context.unwrap_or_default();
        RemediationView {
            kind: "Remediation",
            id: r.id.clone(),
            cluster: r.cluster.clone(),
            project: r.project.clone(),
            pool: r.pool.clone(),
            node: r.node.clone(),
            node_id: r.node_id.clone(),
            finding: FindingView {
                kind: f.kind,
                xid: f.xid,
                gpu: f.gpu,
                port: f.port,
                state: f.state,
                minutes: f.minutes,
                temp_c: f.temp_c,
                signal: f.signal,
                severity: f.severity,
                finding_id: f.finding_id,
            },
            evidence: r.evidence.clone(),
            decision: DecisionView {
                action: d.action,
                responsibility: d.responsibility,
                reason: d.reason,
            },
            policy: r.policy.clone(),
            context: ContextView {
                remediation_allowed: c.remediation_allowed,
                xid_count_24h: c.xid_count_24h,
                remediations_7d: c.remediations_7d,
                unhealthy_in_pool: c.unhealthy_in_pool,
                pool_size: c.pool_size,
                mig: c.mig,
                in_flight_in_pool: c.in_flight_in_pool,
                max_in_flight_per_pool: c.max_in_flight_per_pool,
                unhealthy_in_cluster: c.unhealthy_in_cluster,
                cluster_size: c.cluster_size,
                max_unhealthy_percent: c.max_unhealthy_percent,
                in_maintenance_window: c.in_maintenance_window,
            },
            state: r.state.clone(),
            action: r.action.clone(),
            reason: r.reason.clone(),
            step: non_empty(&r.step),
            step_started_at: rfc3339(r.step_started_at.as_ref()),
            replacement: non_empty(&r.replacement),
            cordoned_by_us: r.cordoned_by_us,
            attempts: r.attempts,
            timeline: r
                .timeline
                .iter()
                .map(|e| TimelineView {
                    at: rfc3339(e.at.as_ref()),
                    what: e.what.clone(),
                    detail: e.detail.clone(),
                })
                .collect(),
            created_at: rfc3339(r.created_at.as_ref()),
            updated_at: rfc3339(r.updated_at.as_ref()),
            resource_version: r.resource_version,
        }
    }
}

impl Resource for RemediationView {
    const KIND: &'static str = "remediation";
    fn name(&self) -> &str {
        &self.id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// The finding in a few words: `gpu-xid 79 gpu 3`, `ib-link mlx5_0/1 down`,
/// `node-not-ready 12m`, `gpu-thermal gpu 2 92°C`.
pub fn finding_label(f: Option<&pb::RemediationFinding>) -> String {
    let Some(f) = f else {
        return "-".to_owned();
    };
    let mut parts = vec![or_dash(&f.kind)];
    if let Some(xid) = f.xid {
        parts.push(xid.to_string());
    }
    if let Some(gpu) = f.gpu {
        parts.push(format!("gpu {gpu}"));
    }
    if let Some(port) = &f.port {
        parts.push(port.clone());
    }
    if let Some(state) = &f.state {
        parts.push(state.clone());
    }
    if let Some(minutes) = f.minutes {
        parts.push(format!("{minutes}m"));
    }
    if let Some(temp) = f.temp_c {
        parts.push(format!("{temp}°C"));
    }
    parts.join(" ")
}

/// `accord get remediations`, newest first as the provisioner returns them.
pub fn list_table(items: &[pb::Remediation], now: OffsetDateTime) -> String {
    render(
        &[
            "ID",
            "NODE",
            "FINDING",
            "ACTION",
            "RESPONSIBILITY",
            "STATE",
            "AGE",
            "REASON",
        ],
        items
            .iter()
            .map(|r| {
                vec![
                    or_dash(&r.id),
                    or_dash(&r.node),
                    finding_label(r.finding.as_ref()),
                    or_dash(&r.action),
                    or_dash(
                        r.decision
                            .as_ref()
                            .map(|d| d.responsibility.as_str())
                            .unwrap_or_default(),
                    ),
                    or_dash(&r.state),
                    age(r.created_at.as_ref(), now),
                    or_dash(&truncate(&r.reason, REASON_WIDTH)),
                ]
            })
            .collect(),
    )
}

/// `2026-11-24T09:55:00Z (5m ago)`, or empty when absent.
fn when(timestamp: Option<&prost_types::Timestamp>, now: OffsetDateTime) -> String {
    match rfc3339(timestamp) {
        Some(text) => format!("{text} ({} ago)", age(timestamp, now)),
        None => String::new(),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// `name (id)`, or whichever is known.
fn named(name: &str, id: &str) -> String {
    match (name.is_empty(), id.is_empty()) {
        (false, false) => format!("{name} ({id})"),
        (true, _) => id.to_owned(),
        (false, true) => name.to_owned(),
    }
}

/// `accord describe remediation`: the node, the finding and its evidence, the decision and the
/// context the policy saw, where it stands, the timeline, and why.
pub fn describe(r: &pb::Remediation, now: OffsetDateTime) -> String {
    let f = r.finding.clone().unwrap_or_default();
    let d = r.decision.clone().unwrap_or_default();
    let c = r.context.unwrap_or_default();
    let mut doc = Doc::default();

    doc.field(0, "Remediation", r.id.clone())
        .field(0, "Project", r.project.clone())
        .field(0, "Cluster", r.cluster.clone())
        .field(0, "Node Pool", r.pool.clone())
        .field(0, "Node", named(&r.node, &r.node_id))
        .field(0, "Created", when(r.created_at.as_ref(), now))
        .field(0, "Updated", when(r.updated_at.as_ref(), now));

    doc.heading(0, "Finding")
        .field(1, "Kind", f.kind.clone())
        .field(1, "Summary", finding_label(r.finding.as_ref()));
    let optional = [
        ("XID", f.xid.map(|x| x.to_string())),
        ("GPU", f.gpu.map(|g| g.to_string())),
        ("Port", f.port.clone()),
        ("Port State", f.state.clone()),
        ("Minutes", f.minutes.map(|m| m.to_string())),
        ("Temperature", f.temp_c.map(|t| format!("{t}°C"))),
        ("Signal", f.signal.clone()),
        ("Severity", f.severity.clone()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            doc.field(1, key, value);
        }
    }
    doc.field(1, "Finding ID", f.finding_id.clone());
    doc.heading(1, "Evidence");
    if r.evidence.is_empty() {
        doc.text(2, "<none>");
    }
    for line in &r.evidence {
        doc.text(2, line);
    }

    doc.heading(0, "Decision")
        .field(1, "Action", d.action.clone())
        .field(1, "Responsibility", d.responsibility.clone())
        .field(1, "Policy", r.policy.clone())
        .field(1, "Reason", d.reason.clone());

    doc.heading(0, "Context The Policy Saw")
        .field(1, "Remediation Allowed", yes_no(c.remediation_allowed))
        .field(1, "Same Fault In 24h", c.xid_count_24h.to_string())
        .field(1, "Node Remediations In 7d", c.remediations_7d.to_string())
        .field(
            1,
            "Unhealthy In Pool",
            format!("{} of {}", c.unhealthy_in_pool, c.pool_size),
        )
        .field(
            1,
            "In Flight In Pool",
            format!(
                "{} (at most {})",
                c.in_flight_in_pool, c.max_in_flight_per_pool
            ),
        )
        .field(
            1,
            "Unhealthy In Cluster",
            format!(
                "{} of {} (circuit breaker at {}%)",
                c.unhealthy_in_cluster, c.cluster_size, c.max_unhealthy_percent
            ),
        )
        .field(1, "MIG", yes_no(c.mig))
        .field(
            1,
            "Maintenance Window",
            if c.in_maintenance_window {
                "open"
            } else {
                "closed"
            },
        );

    let step = match (r.step.is_empty(), when(r.step_started_at.as_ref(), now)) {
        (true, _) => String::new(),
        (false, since) if since.is_empty() => r.step.clone(),
        (false, since) => format!("{} (since {since})", r.step),
    };
    doc.heading(0, "Status")
        .field(1, "State", r.state.clone())
        .field(
            1,
            "Action",
            match r.attempts {
                0 => r.action.clone(),
                n => format!("{} (rung {n})", r.action),
            },
        )
        .field(1, "Step", step)
        .field(1, "Reason", r.reason.clone())
        .field(1, "Replacement", r.replacement.clone())
        .field(1, "Cordoned By Provider", yes_no(r.cordoned_by_us));

    doc.heading(0, "Timeline");
    let rows = r
        .timeline
        .iter()
        .map(|e| {
            vec![
                rfc3339(e.at.as_ref()).unwrap_or_else(|| "-".to_owned()),
                or_dash(&e.what),
                e.detail.clone(),
            ]
        })
        .collect();
    doc.table(1, &["TIME", "WHAT", "DETAIL"], rows);

    doc.field(0, "Why", d.reason);
    doc.render()
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::output::{OutputFormat, render_list, render_one, timestamp};

    const NOW: OffsetDateTime = datetime!(2026-12-04 10:30:00 UTC);

    /// A `reboot-node` that failed and climbed to `replace-node`, as the provisioner returns it.
    pub(crate) fn replacing() -> pb::Remediation {
        let at = |m: u8| {
            Some(timestamp(
                datetime!(2026-12-04 10:00:00 UTC) + time::Duration::minutes(m.into()),
            ))
        };
        pb::Remediation {
            id: "rem-01jexample00000000000000001".into(),
            cluster: "cl-01jexample000000000demo001".into(),
            project: "pj-01jexample00000000000000acme".into(),
            pool: "np-01jexample0000000000000gpu1".into(),
            node: "gpu-a-0".into(),
            node_id: "node-01jexample000000000000gpua0".into(),
            finding: Some(pb::RemediationFinding {
                kind: "gpu-xid".into(),
                xid: Some(79),
                gpu: Some(3),
                severity: Some("critical".into()),
                finding_id: "hf-5f1c".into(),
                ..Default::default()
            }),
            evidence: vec!["xid_total 0 → 1 on GPU 3".into()],
            decision: Some(pb::RemediationDecision {
                action: "reboot-node".into(),
                responsibility: "supported".into(),
                reason: "XID 79: the GPU fell off the bus; a power cycle usually brings it back"
                    .into(),
            }),
            policy: "gpu-remediation@0.2.0".into(),
            context: Some(pb::RemediationContext {
                remediation_allowed: true,
                xid_count_24h: 1,
                unhealthy_in_pool: 1,
                pool_size: 4,
                max_in_flight_per_pool: 1,
                unhealthy_in_cluster: 1,
                cluster_size: 8,
                max_unhealthy_percent: 50,
                ..Default::default()
            }),
            state: "running".into(),
            action: "replace-node".into(),
            reason: "reboot-node failed: GPU 3 still lost after the power cycle, replacing the \
                     node in pool gpu"
                .into(),
            step: "provision-replacement".into(),
            step_started_at: at(20),
            replacement: "node-01jexample000000000000gpua4".into(),
            cordoned_by_us: true,
            attempts: 2,
            timeline: vec![
                pb::RemediationTimelineEntry {
                    at: at(0),
                    what: "decided".into(),
                    detail: "reboot-node (supported)".into(),
                },
                pb::RemediationTimelineEntry {
                    at: at(1),
                    what: "cordoned".into(),
                    detail: "cordoned by the provider".into(),
                },
                pb::RemediationTimelineEntry {
                    at: at(20),
                    what: "escalated-rung".into(),
                    detail: "reboot-node failed; replace-node".into(),
                },
            ],
            created_at: at(0),
            updated_at: at(20),
            resource_version: 7,
        }
    }

    /// A finding the policy answered without touching the node.
    fn skipped() -> pb::Remediation {
        pb::Remediation {
            id: "rem-01jexample00000000000000002".into(),
            node: "gpu-a-1".into(),
            finding: Some(pb::RemediationFinding {
                kind: "ib-link".into(),
                port: Some("mlx5_0/1".into()),
                state: Some("down".into()),
                finding_id: "hf-0002".into(),
                ..Default::default()
            }),
            decision: Some(pb::RemediationDecision {
                action: "notify-customer".into(),
                responsibility: "customer-owned".into(),
                reason: "remediation is not allowed on this cluster".into(),
            }),
            state: "skipped".into(),
            action: "notify-customer".into(),
            created_at: Some(timestamp(datetime!(2026-12-04 10:25:00 UTC))),
            ..Default::default()
        }
    }

    #[test]
    fn findings_read_in_a_few_words() {
        assert_eq!(
            finding_label(replacing().finding.as_ref()),
            "gpu-xid 79 gpu 3"
        );
        assert_eq!(
            finding_label(skipped().finding.as_ref()),
            "ib-link mlx5_0/1 down"
        );
        let thermal = pb::RemediationFinding {
            kind: "gpu-thermal".into(),
            gpu: Some(2),
            temp_c: Some(92),
            ..Default::default()
        };
        assert_eq!(finding_label(Some(&thermal)), "gpu-thermal gpu 2 92°C");
        let not_ready = pb::RemediationFinding {
            kind: "node-not-ready".into(),
            minutes: Some(12),
            ..Default::default()
        };
        assert_eq!(finding_label(Some(&not_ready)), "node-not-ready 12m");
        assert_eq!(finding_label(None), "-");
    }

    #[test]
    fn the_table_shows_the_current_rung_and_cuts_the_reason() {
        let table = list_table(&[replacing(), skipped()], NOW);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        for header in [
            "ID",
            "NODE",
            "FINDING",
            "ACTION",
            "RESPONSIBILITY",
            "STATE",
            "AGE",
            "REASON",
        ] {
            assert!(lines[0].contains(header), "{table}");
        }
        assert!(lines[0].starts_with("ID "), "{table}");
        let row = lines[1];
        for cell in [
            "rem-01jexample00000000000000001",
            "gpu-a-0",
            "gpu-xid 79 gpu 3",
            "replace-node",
            "supported",
            "running",
            "30m",
        ] {
            assert!(row.contains(cell), "{cell}: {table}");
        }
        // Cut to fit, marked as cut.
        let reason = truncate(&replacing().reason, REASON_WIDTH);
        assert_eq!(reason.chars().count(), REASON_WIDTH);
        assert!(row.ends_with(&reason), "{table}");
        assert!(reason.ends_with('…'));
        let row = lines[2];
        for cell in [
            "gpu-a-1",
            "ib-link mlx5_0/1 down",
            "notify-customer",
            "customer-owned",
            "skipped",
            "5m",
        ] {
            assert!(row.contains(cell), "{cell}: {table}");
        }
        // No reason: a dash.
        assert!(row.ends_with("   -"), "{table}");
    }

    #[test]
    fn json_is_the_public_contract() {
        let items = [
            RemediationView::from_pb(&replacing()),
            RemediationView::from_pb(&skipped()),
        ];
        let text = render_list(OutputFormat::Json, &items, String::new).unwrap();
        let list: serde_json::Value = serde_json::from_str(&text).unwrap();
        let r = &list["items"][0];
        assert_eq!(r["kind"], "Remediation");
        assert_eq!(r["id"], "rem-01jexample00000000000000001");
        assert_eq!(r["node"], "gpu-a-0");
        assert_eq!(r["node_id"], "node-01jexample000000000000gpua0");
        assert_eq!(r["cluster"], "cl-01jexample000000000demo001");
        assert_eq!(r["pool"], "np-01jexample0000000000000gpu1");
        assert_eq!(
            r["finding"],
            serde_json::json!({
                "kind": "gpu-xid", "xid": 79, "gpu": 3, "port": null, "state": null,
                "minutes": null, "temp_c": null, "signal": null, "severity": "critical",
                "finding_id": "hf-5f1c"
            })
        );
        assert_eq!(
            r["decision"],
            serde_json::json!({
                "action": "reboot-node",
                "responsibility": "supported",
                "reason": "XID 79: the GPU fell off the bus; a power cycle usually brings it back"
            })
        );
        assert_eq!(r["state"], "running");
        assert_eq!(r["action"], "replace-node");
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .starts_with("reboot-node failed")
        );
        assert_eq!(r["replacement"], "node-01jexample000000000000gpua4");
        assert_eq!(r["attempts"], 2);
        assert_eq!(r["step"], "provision-replacement");
        assert_eq!(r["step_started_at"], "2026-12-04T10:20:00Z");
        assert_eq!(r["cordoned_by_us"], true);
        assert_eq!(r["policy"], "gpu-remediation@0.2.0");
        assert_eq!(r["evidence"][0], "xid_total 0 → 1 on GPU 3");
        assert_eq!(r["context"]["pool_size"], 4);
        assert_eq!(r["context"]["remediation_allowed"], true);
        assert_eq!(
            r["timeline"][1],
            serde_json::json!({
                "at": "2026-12-04T10:01:00Z", "what": "cordoned",
                "detail": "cordoned by the provider"
            })
        );
        assert_eq!(r["created_at"], "2026-12-04T10:00:00Z");
        assert_eq!(r["updated_at"], "2026-12-04T10:20:00Z");

        // What a remediation does not have is null, never a missing key.
        let s = &list["items"][1];
        assert_eq!(s["replacement"], serde_json::Value::Null);
        assert_eq!(s["step"], serde_json::Value::Null);
        assert_eq!(s["finding"]["xid"], serde_json::Value::Null);
        assert_eq!(s["finding"]["port"], "mlx5_0/1");
        assert_eq!(s["decision"]["responsibility"], "customer-owned");
        for key in [
            "id",
            "node",
            "node_id",
            "cluster",
            "pool",
            "finding",
            "decision",
            "state",
            "action",
            "reason",
            "replacement",
            "attempts",
            "timeline",
            "created_at",
        ] {
            assert!(s.get(key).is_some(), "{key} missing: {s}");
        }

        let name = render_one(OutputFormat::Name, &items[0], String::new).unwrap();
        assert_eq!(name, "remediation/rem-01jexample00000000000000001");
        let yaml = render_one(OutputFormat::Yaml, &items[0], String::new).unwrap();
        assert!(yaml.contains("action: replace-node\n"), "{yaml}");
    }

    #[test]
    fn the_document_tells_the_story_and_ends_with_why() {
        let text = describe(&replacing(), NOW);
        for expected in [
            "Remediation:  rem-01jexample00000000000000001\n",
            "Node:         gpu-a-0 (node-01jexample000000000000gpua0)\n",
            "Node Pool:    np-01jexample0000000000000gpu1\n",
            "Finding:\n  Kind:        gpu-xid\n  Summary:     gpu-xid 79 gpu 3\n  XID:         79\n  GPU:         3\n  Severity:    critical\n  Finding ID:  hf-5f1c\n",
            "  Evidence:\n    xid_total 0 → 1 on GPU 3\n",
            "Decision:\n  Action:          reboot-node\n  Responsibility:  supported\n  Policy:          gpu-remediation@0.2.0\n",
            "  Unhealthy In Pool:        1 of 4\n",
            "  Unhealthy In Cluster:     1 of 8 (circuit breaker at 50%)\n",
            "  Maintenance Window:       closed\n",
            "  State:                 running\n",
            "  Action:                replace-node (rung 2)\n",
            "  Step:                  provision-replacement (since 2026-12-04T10:20:00Z (10m ago))\n",
            "  Replacement:           node-01jexample000000000000gpua4\n",
            "  Cordoned By Provider:  yes\n",
            "Timeline:\n  TIME                   WHAT             DETAIL\n  2026-12-04T10:00:00Z   decided          reboot-node (supported)\n",
            "  2026-12-04T10:20:00Z   escalated-rung   reboot-node failed; replace-node\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(
            text.ends_with(
                "Why:  XID 79: the GPU fell off the bus; a power cycle usually brings it back\n"
            ),
            "{text}"
        );

        // Nothing optional: `<none>`, no empty lines of absent finding fields.
        let text = describe(&skipped(), NOW);
        assert!(text.contains("  Evidence:\n    <none>\n"), "{text}");
        assert!(text.contains("  Step:                  <none>\n"), "{text}");
        assert!(!text.contains("XID:"), "{text}");
        assert!(text.contains("  Port:        mlx5_0/1\n"), "{text}");
        assert!(text.contains("Timeline:\n  <none>\n"), "{text}");
        assert!(
            text.ends_with("Why:  remediation is not allowed on this cluster\n"),
            "{text}"
        );
    }
}
