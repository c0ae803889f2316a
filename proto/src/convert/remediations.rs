//! AutoClusters remediations → `accord.provisioner.v1.Remediation`, and the kebab-case
//! spellings the wire carries for the domain's enums (the same as their JSON in events and in
//! `accord remediation decide`: `reboot-node`, `best-effort`, `pending-approval`).

use accord_core::{
    autoclusters::{Remediation, RemediationState, TimelineEntry},
    remediation::{Finding, RemediationAction, RemediationContext, RemediationDecision},
};

use crate::{convert::provisioner::ts, provisioner::v1 as pb};

/// The kebab-case name of an action (`reboot-node`), as it serialises.
pub fn action(a: RemediationAction) -> &'static str {
    match a {
        RemediationAction::None => "none",
        RemediationAction::NotifyCustomer => "notify-customer",
        RemediationAction::ResetGpu => "reset-gpu",
        RemediationAction::RebootNode => "reboot-node",
        RemediationAction::ReplaceNode => "replace-node",
        RemediationAction::Escalate => "escalate",
        RemediationAction::Hold => "hold",
    }
}

/// The state a `state` filter names (its kebab-case name, surrounding blanks ignored); `None`
/// when it names none.
pub fn state_from(name: &str) -> Option<RemediationState> {
    let name = name.trim();
    RemediationState::ALL
        .into_iter()
        .find(|s| s.as_str() == name)
}

/// Every state's name, comma-separated (for messages listing the valid ones).
pub fn state_names() -> String {
    RemediationState::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The finding a remediation answers; `finding_id` is the remediation's record of its id.
pub fn finding(f: &Finding, finding_id: &str) -> pb::RemediationFinding {
    pb::RemediationFinding {
        kind: f.kind.as_str().to_owned(),
        xid: f.xid,
        gpu: f.gpu,
        port: f.port.as_ref().map(|p| p.as_str().to_owned()),
        state: f.state.clone(),
        minutes: f.minutes,
        temp_c: f.temp_c,
        signal: f.signal.clone(),
        severity: f.severity.clone(),
        finding_id: finding_id.to_owned(),
    }
}

/// A policy's decision.
pub fn decision(d: &RemediationDecision) -> pb::RemediationDecision {
    pb::RemediationDecision {
        action: action(d.action).to_owned(),
        responsibility: d.responsibility.to_string(),
        reason: d.reason.clone(),
    }
}

/// What the policy was told.
pub fn context(c: &RemediationContext) -> pb::RemediationContext {
    pb::RemediationContext {
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
    }
}

fn timeline_entry(e: &TimelineEntry) -> pb::RemediationTimelineEntry {
    pb::RemediationTimelineEntry {
        at: Some(ts(e.at)),
        what: e.what.clone(),
        detail: e.detail.clone(),
    }
}

/// A remediation.
pub fn remediation(r: &Remediation) -> pb::Remediation {
    let (spec, status) = (&r.spec, &r.status);
    pb::Remediation {
        id: r.metadata.id.to_string(),
        cluster: spec.cluster.to_string(),
        project: r.metadata.project.to_string(),
        pool: spec.pool.to_string(),
        node: spec.node_name.clone(),
        node_id: spec.node.to_string(),
        finding: Some(finding(&spec.finding, &spec.finding_id)),
        evidence: spec.evidence.clone(),
        decision: Some(decision(&spec.decision)),
        policy: spec.policy.clone(),
        context: Some(context(&spec.context)),
        state: status.state.as_str().to_owned(),
        action: action(status.action).to_owned(),
        reason: status.reason.clone(),
        step: status
            .step
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        step_started_at: status.step_started_at.map(ts),
        replacement: status
            .replacement
            .map(|n| n.to_string())
            .unwrap_or_default(),
        cordoned_by_us: status.cordoned_by_us,
        attempts: status.attempts,
        timeline: status.timeline.iter().map(timeline_entry).collect(),
        created_at: Some(ts(r.metadata.created_at)),
        updated_at: Some(ts(r.metadata.updated_at)),
        resource_version: r.metadata.resource_version,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use accord_core::{
        autoclusters::{RemediationSpec, RemediationStatus, RemediationStep},
        ids::{ClusterId, NodeId, NodePoolId, ProjectId, RemediationId},
        meta::Metadata,
        remediation::{FindingKind, IbPortName},
        responsibility::SupportScope,
    };
    use time::macros::datetime;

    use super::*;

    const ACTIONS: [RemediationAction; 7] = [
        RemediationAction::None,
        RemediationAction::NotifyCustomer,
        RemediationAction::ResetGpu,
        RemediationAction::RebootNode,
        RemediationAction::ReplaceNode,
        RemediationAction::Escalate,
        RemediationAction::Hold,
    ];

    fn sample() -> Remediation {
        let at = datetime!(2026-12-04 10:00:00 UTC);
        let mut status = RemediationStatus {
            state: RemediationState::Running,
            action: RemediationAction::ReplaceNode,
            reason: "reboot-node failed: the GPU is still lost".into(),
            step: Some(RemediationStep::ProvisionReplacement),
            step_started_at: Some(at),
            repair: None,
            replacement: Some(NodeId::generate()),
            cordoned_by_us: true,
            attempts: 2,
            timeline: Vec::new(),
        };
        status.note(at, "decided", "reboot-node (supported): XID 79");
        status.note(at, "cordoned", "cordoned by the provider");
        Remediation {
            metadata: Metadata::new(RemediationId::generate(), "hf-1", ProjectId::generate(), at),
            spec: RemediationSpec {
                cluster: ClusterId::generate(),
                pool: NodePoolId::generate(),
                node: NodeId::generate(),
                node_name: "gpu-a-0".into(),
                finding_id: "hf-1".into(),
                finding: Finding {
                    kind: FindingKind::GpuXid,
                    cluster: "c".into(),
                    node: "gpu-a-0".into(),
                    xid: Some(79),
                    gpu: Some(3),
                    port: None,
                    state: None,
                    minutes: None,
                    temp_c: None,
                    signal: None,
                    severity: Some("critical".into()),
                },
                evidence: vec!["xid_total 0 → 1".into()],
                context: RemediationContext {
                    remediation_allowed: true,
                    pool_size: 4,
                    ..RemediationContext::default()
                },
                decision: RemediationDecision {
                    action: RemediationAction::RebootNode,
                    responsibility: SupportScope::BestEffort,
                    reason: "XID 79: the GPU fell off the bus".into(),
                },
                policy: "gpu-remediation@0.2.0".into(),
            },
            status,
        }
    }

    #[test]
    fn actions_states_and_scopes_spell_as_their_json() {
        for a in ACTIONS {
            assert_eq!(
                serde_json::json!(action(a)),
                serde_json::to_value(a).unwrap()
            );
        }
        for s in RemediationState::ALL {
            assert_eq!(state_from(s.as_str()), Some(s));
            assert_eq!(state_from(&format!(" {} ", s.as_str())), Some(s));
        }
        assert_eq!(state_from("Running"), None);
        assert_eq!(state_from(""), None);
        assert!(state_names().starts_with("pending-approval, waiting-window, held"));
        for scope in [
            SupportScope::Supported,
            SupportScope::BestEffort,
            SupportScope::CustomerOwned,
        ] {
            let d = decision(&RemediationDecision {
                action: RemediationAction::Escalate,
                responsibility: scope,
                reason: String::new(),
            });
            assert_eq!(
                serde_json::json!(d.responsibility),
                serde_json::to_value(scope).unwrap()
            );
        }
    }

    #[test]
    fn a_remediation_carries_every_field_on_the_wire() {
        let r = sample();
        let w = remediation(&r);
        assert_eq!(w.id, r.metadata.id.to_string());
        assert!(w.id.starts_with("rem-"));
        assert_eq!(w.cluster, r.spec.cluster.to_string());
        assert_eq!(w.project, r.metadata.project.to_string());
        assert_eq!(w.pool, r.spec.pool.to_string());
        assert_eq!(w.node, "gpu-a-0");
        assert_eq!(w.node_id, r.spec.node.to_string());
        let f = w.finding.unwrap();
        assert_eq!(f.kind, "gpu-xid");
        assert_eq!((f.xid, f.gpu, f.port.as_deref()), (Some(79), Some(3), None));
        assert_eq!(f.severity.as_deref(), Some("critical"));
        assert_eq!(f.finding_id, "hf-1");
        assert_eq!(w.evidence, ["xid_total 0 → 1"]);
        let d = w.decision.unwrap();
        assert_eq!(
            (d.action.as_str(), d.responsibility.as_str()),
            ("reboot-node", "best-effort")
        );
        assert_eq!(d.reason, "XID 79: the GPU fell off the bus");
        assert_eq!(w.policy, "gpu-remediation@0.2.0");
        let c = w.context.unwrap();
        assert!(c.remediation_allowed);
        assert_eq!(
            (c.pool_size, c.xid_count_24h, c.max_unhealthy_percent),
            (4, 1, 50)
        );
        assert_eq!(w.state, "running");
        assert_eq!(w.action, "replace-node");
        assert_eq!(w.reason, "reboot-node failed: the GPU is still lost");
        assert_eq!(w.step, "provision-replacement");
        assert_eq!(
            w.step_started_at,
            Some(ts(datetime!(2026-12-04 10:00:00 UTC)))
        );
        assert_eq!(w.replacement, r.status.replacement.unwrap().to_string());
        assert!(w.cordoned_by_us);
        assert_eq!(w.attempts, 2);
        assert_eq!(w.timeline.len(), 2);
        assert_eq!(w.timeline[1].what, "cordoned");
        assert_eq!(w.timeline[1].detail, "cordoned by the provider");
        assert_eq!(
            w.timeline[0].at,
            Some(ts(datetime!(2026-12-04 10:00:00 UTC)))
        );
        assert_eq!(w.created_at, Some(ts(r.metadata.created_at)));
        assert_eq!(w.updated_at, Some(ts(r.metadata.updated_at)));
        assert_eq!(w.resource_version, 1);
    }

    #[test]
    fn absent_optional_parts_stay_absent_or_empty() {
        let mut r = sample();
        r.status.step = None;
        r.status.step_started_at = None;
        r.status.replacement = None;
        r.spec.finding = Finding {
            kind: FindingKind::IbLink,
            cluster: "c".into(),
            node: "n".into(),
            xid: None,
            gpu: None,
            port: Some(IbPortName::new("mlx5_2/1").unwrap()),
            state: Some("down".into()),
            minutes: None,
            temp_c: None,
            signal: Some("link_downed".into()),
            severity: None,
        };
        let w = remediation(&r);
        assert_eq!((w.step.as_str(), w.replacement.as_str()), ("", ""));
        assert_eq!(w.step_started_at, None);
        let f = w.finding.unwrap();
        assert_eq!(f.kind, "ib-link");
        assert_eq!((f.xid, f.gpu), (None, None));
        assert_eq!(f.port.as_deref(), Some("mlx5_2/1"));
        assert_eq!(f.state.as_deref(), Some("down"));
        assert_eq!(f.signal.as_deref(), Some("link_downed"));
        assert_eq!(f.severity, None);
    }
}
