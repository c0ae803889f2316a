//! support-triage's dispatch of platform events ([`SupportDesk::on_input`]) over a temporary
//! store: node incidents come from remediation decisions (a raw finding opens nothing), each
//! remediation's progress lands on its incident, success closes it, failure escalates it, a
//! redelivered decision opens nothing more, and events about unknown clusters are ignored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use accord_core::{
    autoclusters::RemediationState,
    ids::{ClusterId, NodeId, ProjectId, RemediationId},
    remediation::{
        Finding, FindingKind, HealthEvent, RemediationAction, RemediationDecision, RemediationEvent,
    },
    responsibility::SupportScope,
    support::{Ticket, TicketState},
};
use accord_runtime::metrics::Metrics;
use accord_store::{Commit, Expect, Store};
use accord_support_triage::{
    RuleSet, SupportDesk,
    handlers::incidents::Source,
    service::Input,
    trees::{CLUSTERS, Tickets as _},
    verdict::FAILED_RULE_ID,
    view::ClusterView,
};

const XID_79_LOG: &str = "NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus";

struct Desk {
    desk: Arc<SupportDesk>,
    view: ClusterView,
    node: NodeId,
}

async fn desk() -> Desk {
    let store = Store::temporary().unwrap();
    let desk = SupportDesk::new(
        store.clone(),
        Arc::new(RuleSet::shipped().unwrap()),
        &Metrics::new("support-triage"),
    );
    let view = ClusterView {
        id: ClusterId::generate(),
        name: "train".into(),
        project: ProjectId::generate(),
        addons: Default::default(),
    };
    let mut c = Commit::new();
    c.push_put_in(CLUSTERS, &view.id.to_string(), &view, Expect::Any)
        .unwrap();
    store.commit(c).await.unwrap();
    Desk {
        desk,
        view,
        node: NodeId::generate(),
    }
}

impl Desk {
    fn finding(&self, xid: u32) -> Finding {
        Finding {
            kind: FindingKind::GpuXid,
            cluster: self.view.id.to_string(),
            node: self.node.to_string(),
            xid: Some(xid),
            gpu: Some(3),
            port: None,
            state: None,
            minutes: None,
            temp_c: None,
            signal: None,
            severity: None,
        }
    }

    async fn send(&self, input: Input) {
        let source = Source {
            event_type: "accord.remediation.test.v1".into(),
            event_id: "01K".into(),
        };
        self.desk.on_input(input, source).await.unwrap();
    }

    fn tickets(&self) -> Vec<Ticket> {
        self.desk.reader().tickets().unwrap()
    }

    fn decided(
        &self,
        xid: u32,
        action: RemediationAction,
        responsibility: SupportScope,
        r: RemediationId,
    ) -> Input {
        Input::Remediation(RemediationEvent::Decided {
            finding: self.finding(xid),
            decision: RemediationDecision {
                action,
                responsibility,
                reason: format!("XID {xid}: the policy's reason"),
            },
            project: self.view.project,
            evidence: vec![XID_79_LOG.into()],
            remediation: Some(r),
            state: Some(RemediationState::Running),
        })
    }
}

#[tokio::test]
async fn a_decision_opens_the_incident_its_progress_lands_there_and_success_closes_it() {
    let d = desk().await;
    // The finding by itself opens nothing.
    d.send(Input::Health(HealthEvent::FindingRaised {
        finding: d.finding(79),
        project: d.view.project,
        evidence: vec![XID_79_LOG.into()],
        finding_id: "hf-1".into(),
    }))
    .await;
    assert!(d.tickets().is_empty());

    // The decision, delivered twice: one Supported incident.
    let r = RemediationId::generate();
    let decided = d.decided(
        79,
        RemediationAction::RebootNode,
        SupportScope::Supported,
        r,
    );
    d.send(decided.clone()).await;
    d.send(decided).await;
    let tickets = d.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let t = &tickets[0];
    assert_eq!(t.category(), SupportScope::Supported);
    assert_eq!(
        t.evidence
            .iter()
            .filter(|e| e.contains("decided reboot-node"))
            .count(),
        1,
        "{:?}",
        t.evidence
    );

    // Its progress, by remediation id (the events name the node, not the finding's kind).
    for ev in [
        RemediationEvent::Started {
            remediation: r,
            cluster: d.view.id,
            node: d.node,
            action: RemediationAction::RebootNode,
        },
        RemediationEvent::Step {
            remediation: r,
            cluster: d.view.id,
            node: d.node,
            step: "power-cycle".into(),
            detail: "power-cycled".into(),
        },
    ] {
        d.send(Input::Remediation(ev)).await;
    }
    let t = d.desk.ticket(t.id).unwrap().value;
    assert!(
        t.evidence
            .iter()
            .any(|e| e.contains("started reboot-node") && e.contains(&r.to_string())),
        "{:?}",
        t.evidence
    );
    assert!(t.evidence.iter().any(|e| e.contains("power-cycled")));

    // Success closes it, naming the action and the remediation.
    d.send(Input::Remediation(RemediationEvent::Succeeded {
        remediation: r,
        cluster: d.view.id,
        node: d.node,
        action: RemediationAction::RebootNode,
        project: d.view.project,
        finding: d.finding(79),
    }))
    .await;
    let t = d.desk.ticket(t.id).unwrap().value;
    assert_eq!(t.state, TicketState::Closed);
    assert!(t.resolution.contains(&r.to_string()), "{}", t.resolution);
    assert!(
        d.desk
            .reader()
            .incident(t.incident_key.as_deref().unwrap())
            .unwrap()
            .is_none()
    );
    // A late step of that remediation reports to nothing.
    let before = t.evidence.len();
    d.send(Input::Remediation(RemediationEvent::Released {
        remediation: r,
        cluster: d.view.id,
        node: d.node,
        reason: "late".into(),
    }))
    .await;
    assert_eq!(d.desk.ticket(t.id).unwrap().value.evidence.len(), before);
    assert_eq!(d.tickets().len(), 1);
}

#[tokio::test]
async fn a_failed_remediation_escalates_its_incident_and_unknown_clusters_are_ignored() {
    let d = desk().await;
    let r = RemediationId::generate();
    d.send(d.decided(
        13,
        RemediationAction::NotifyCustomer,
        SupportScope::CustomerOwned,
        r,
    ))
    .await;
    let t = d.tickets().pop().unwrap();
    assert_eq!(t.category(), SupportScope::CustomerOwned);
    assert!(t.sla_due.is_none());

    let failed = Input::Remediation(RemediationEvent::Failed {
        remediation: r,
        cluster: d.view.id,
        node: d.node,
        action: RemediationAction::ReplaceNode,
        project: d.view.project,
        finding: d.finding(13),
        evidence: vec!["replace-node: no capacity".into()],
        reason: "every rung failed".into(),
    });
    d.send(failed.clone()).await;
    d.send(failed).await;
    let tickets = d.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let t = &tickets[0];
    assert_eq!(t.category(), SupportScope::Supported);
    assert_eq!(t.verdict.rule_id, FAILED_RULE_ID);
    assert!(t.verdict.actions.iter().any(|a| a == "page-on-call"));
    assert!(t.sla_due.is_some());
    assert_eq!(
        t.evidence
            .iter()
            .filter(|e| e.contains("every rung failed"))
            .count(),
        1,
        "{:?}",
        t.evidence
    );
    assert!(t.evidence.iter().any(|e| e == "replace-node: no capacity"));

    // Another cluster's events: acknowledged, nothing written.
    let stranger = ClusterId::generate();
    let mut f = d.finding(79);
    f.cluster = stranger.to_string();
    d.send(Input::Remediation(RemediationEvent::Decided {
        finding: f.clone(),
        decision: RemediationDecision {
            action: RemediationAction::ReplaceNode,
            responsibility: SupportScope::Supported,
            reason: "r".into(),
        },
        project: d.view.project,
        evidence: vec![],
        remediation: Some(RemediationId::generate()),
        state: None,
    }))
    .await;
    d.send(Input::Remediation(RemediationEvent::Failed {
        remediation: RemediationId::generate(),
        cluster: stranger,
        node: d.node,
        action: RemediationAction::RebootNode,
        project: d.view.project,
        finding: f,
        evidence: vec![],
        reason: "r".into(),
    }))
    .await;
    assert_eq!(d.tickets().len(), 1);
}
