//! support-triage's decisions as plain functions: opening (with context and SLA), incidents from
//! platform events (open once, add evidence, close on recovery), node incidents from
//! remediation decisions with the policy's responsibility as given (a raw finding opens
//! nothing; failures escalate, successes close), overrides and the add-on ownership view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_core::{
    addon::{AddonEvent, AddonOwnership},
    autoclusters::RemediationState,
    cluster::COND_CONTROL_PLANE_READY,
    ids::{ClusterId, ProjectId, RemediationId},
    meta::{Condition, ConditionStatus},
    remediation::{Finding, FindingKind, RemediationAction, RemediationDecision},
    responsibility::SupportScope,
    support::{Ticket, TicketEvent, TicketOrigin, TicketState},
};
use accord_store::Versioned;
use accord_support_triage::{
    RuleSet,
    handlers::{
        Change, Ctx,
        close::close,
        cluster_view::on_addon,
        evidence::MAX_EVIDENCE_LINES,
        incidents::{Source, on_control_plane, on_finding},
        open::{NewTicket, open, validate},
        reclassify::reclassify,
        remediations::{
            Decided, Failure, Progress, on_decided, on_failed, on_progress, on_succeeded,
        },
    },
    verdict::{FAILED_RULE_ID, POLICY_RULE_ID},
    view::{AddonState, ClusterView},
};

fn rules() -> RuleSet {
    RuleSet::shipped().unwrap()
}

fn view() -> ClusterView {
    ClusterView {
        id: ClusterId::generate(),
        name: "train".into(),
        project: ProjectId::generate(),
        addons: Default::default(),
    }
}

fn source() -> Source {
    Source {
        event_type: "accord.cluster.condition-changed.v1".into(),
        event_id: "01J".into(),
    }
}

fn opened(ch: &Change) -> Ticket {
    match &ch.events[0] {
        TicketEvent::Opened { ticket } => (**ticket).clone(),
        other => panic!("{other:?}"),
    }
}

fn stored(t: Ticket) -> Versioned<Ticket> {
    Versioned {
        version: 1,
        value: t,
    }
}

fn condition(status: ConditionStatus) -> Condition {
    Condition {
        type_: COND_CONTROL_PLANE_READY.into(),
        status,
        reason: "ReplicaDown".into(),
        message: "2/3 control-plane replicas running (cp-1 is down)".into(),
        last_transition_time: time::OffsetDateTime::UNIX_EPOCH,
        observed_generation: 1,
    }
}

#[test]
fn a_ticket_about_a_customer_owned_addon_is_theirs_and_cites_why() {
    let mut v = view();
    v.addons.insert(
        "nvidia-gpu-operator".into(),
        AddonState {
            ownership: AddonOwnership::CustomerOwned,
            reason: "significant modification of the reference configuration: driver.enabled"
                .into(),
            self_managed: false,
        },
    );
    let (ch, t) = open(
        &Ctx::new("alice"),
        &rules(),
        NewTicket {
            project: v.project,
            cluster: Some((v.id, v.name.clone())),
            title: "gpu operator daemonset keeps crashing".into(),
            description: "driver pods never start".into(),
            component: None,
            origin: TicketOrigin::Customer { by: "alice".into() },
            context: v.context(&[]),
            evidence: vec![],
            incident_key: None,
        },
    )
    .unwrap();
    assert_eq!(t.category(), SupportScope::CustomerOwned, "{:?}", t.verdict);
    assert!(
        t.verdict.rule_text.contains("driver.enabled"),
        "{}",
        t.verdict.rule_text
    );
    assert!(t.sla_due.is_none());
    assert_eq!(ch.event_names(), ["ticket.opened", "ticket.classified"]);
}

#[test]
fn ticket_events_are_published_under_the_tickets_project() {
    let v = view();
    let prefix = format!("accord.evt.{}.ticket.", v.project);
    let (opened, t) = open(
        &Ctx::new("alice"),
        &rules(),
        NewTicket {
            project: v.project,
            cluster: Some((v.id, v.name.clone())),
            title: "kubectl hangs".into(),
            description: String::new(),
            component: None,
            origin: TicketOrigin::Customer { by: "alice".into() },
            context: v.context(&[]),
            evidence: vec![],
            incident_key: None,
        },
    )
    .unwrap();
    let (reclassified, t) = reclassify(
        &Ctx::new("support"),
        &stored(t),
        SupportScope::Supported,
        "ours",
    )
    .unwrap();
    let (closed, _) = close(&Ctx::new("support"), &stored(t), "fixed").unwrap();
    let mut subjects = Vec::new();
    for ch in [opened, reclassified, closed] {
        subjects.extend(
            ch.outbox("support-triage")
                .unwrap()
                .into_iter()
                .map(|e| e.subject),
        );
    }
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    for s in &subjects {
        assert!(s.starts_with(&prefix), "{s}");
    }
}

#[test]
fn filed_text_is_checked() {
    assert!(validate("kubectl hangs", "").is_ok());
    assert!(validate("  ", "x").is_err());
    assert!(validate(&"t".repeat(301), "").is_err());
    assert!(validate("t", &"d".repeat(65 * 1024)).is_err());
}

#[test]
fn a_control_plane_failure_opens_one_incident_adds_evidence_and_closes_on_recovery() {
    let v = view();
    let ctx = Ctx::new("support-triage");
    let ch = on_control_plane(
        &ctx,
        &rules(),
        &v,
        None,
        &condition(ConditionStatus::False),
        &source(),
    )
    .unwrap()
    .unwrap();
    let t = opened(&ch);
    assert_eq!(t.category(), SupportScope::Supported, "{:?}", t.verdict);
    assert!(t.sla_due.is_some());
    assert_eq!(
        t.incident_key.as_deref(),
        Some(format!("control-plane/{}", v.id).as_str())
    );
    assert!(matches!(t.origin, TicketOrigin::Platform { .. }));
    // Another failure while it is open: evidence, no new ticket.
    let open_one = stored(t.clone());
    let ch = on_control_plane(
        &ctx,
        &rules(),
        &v,
        Some(&open_one),
        &condition(ConditionStatus::False),
        &source(),
    )
    .unwrap()
    .unwrap();
    assert!(ch.events.is_empty());
    // Recovery closes it; a recovery without an incident does nothing.
    let ch = on_control_plane(
        &ctx,
        &rules(),
        &v,
        Some(&open_one),
        &condition(ConditionStatus::True),
        &source(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(ch.event_names(), ["ticket.closed"]);
    assert!(
        on_control_plane(
            &ctx,
            &rules(),
            &v,
            None,
            &condition(ConditionStatus::True),
            &source()
        )
        .unwrap()
        .is_none()
    );
}

fn finding(kind: FindingKind, xid: Option<u32>) -> Finding {
    Finding {
        kind,
        cluster: ClusterId::generate().to_string(),
        node: "node-7".into(),
        xid,
        gpu: Some(3),
        port: None,
        state: None,
        minutes: None,
        temp_c: None,
        signal: None,
        severity: None,
    }
}

fn decision(
    action: RemediationAction,
    responsibility: SupportScope,
    reason: &str,
) -> RemediationDecision {
    RemediationDecision {
        action,
        responsibility,
        reason: reason.into(),
    }
}

/// `on_decided` for `f` with `d`, remediation `r` starting in `state`: the change and the
/// incident as written.
fn decide(
    open_incident: Option<&Versioned<Ticket>>,
    f: &Finding,
    d: &RemediationDecision,
    seen: &[String],
    r: RemediationId,
    state: RemediationState,
) -> Option<(Change, Ticket)> {
    on_decided(
        &Ctx::new("support-triage"),
        &view(),
        open_incident,
        &Decided {
            finding: f,
            decision: d,
            evidence: seen,
            remediation: Some(r),
            state: Some(state),
        },
        &remediation_source(),
    )
    .unwrap()
}

/// The incident a decision opens.
fn opens(f: &Finding, d: &RemediationDecision, seen: &[String], r: RemediationId) -> Ticket {
    let (ch, t) = decide(None, f, d, seen, r, RemediationState::Running)
        .unwrap_or_else(|| panic!("{:?} opens an incident", d.action));
    assert_eq!(ch.event_names(), ["ticket.opened", "ticket.classified"]);
    assert_eq!(opened(&ch), t);
    t
}

fn remediation_source() -> Source {
    Source {
        event_type: "accord.remediation.decided.v1".into(),
        event_id: "01K".into(),
    }
}

fn pages(t: &Ticket) -> bool {
    t.verdict.actions.iter().any(|a| a == "page-on-call")
}

const XID_79_LOG: &str = "NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus";

#[test]
fn a_raw_finding_opens_nothing_and_only_adds_to_an_open_incident() {
    let ctx = Ctx::new("support-triage");
    for xid in [79, 13, 94] {
        let f = finding(FindingKind::GpuXid, Some(xid));
        assert!(
            on_finding(&ctx, None, &f, &[XID_79_LOG.into()])
                .unwrap()
                .is_none(),
            "XID {xid}"
        );
    }
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "XID 79: the GPU fell off the bus; reboot the node",
    );
    let t = opens(&f, &d, &[], RemediationId::generate());
    let before = t.evidence.len();
    let (ch, next) = on_finding(&ctx, Some(&stored(t)), &f, &[XID_79_LOG.into()])
        .unwrap()
        .unwrap();
    assert!(ch.events.is_empty(), "{:?}", ch.event_names());
    assert_eq!(next.evidence.len(), before + 2, "{:?}", next.evidence);
    assert!(next.evidence.iter().any(|e| e == XID_79_LOG));
}

#[test]
fn a_customer_owned_decision_for_xid_13_opens_a_customer_owned_incident() {
    let f = finding(FindingKind::GpuXid, Some(13));
    let d = decision(
        RemediationAction::NotifyCustomer,
        SupportScope::CustomerOwned,
        "XID 13 is a graphics engine exception raised by the job: the customer's",
    );
    let r = RemediationId::generate();
    let (_, t) = decide(
        None,
        &f,
        &d,
        &["Xid 13 on GPU 3".into()],
        r,
        RemediationState::Skipped,
    )
    .unwrap();
    assert_eq!(t.category(), SupportScope::CustomerOwned, "{:?}", t.verdict);
    assert_eq!(t.verdict.rule_id, POLICY_RULE_ID);
    assert_eq!(t.verdict.rule_text, d.reason);
    assert_eq!(t.verdict.component.as_deref(), Some("workloads"));
    assert!(!t.verdict.checklist.is_empty());
    assert!(
        t.verdict
            .actions
            .iter()
            .any(|a| a == "answer-with-checklist")
    );
    assert!(t.verdict.actions.iter().any(|a| a == "notify-customer"));
    assert!(t.sla_due.is_none(), "no SLA for the customer's fault");
    assert!(t.evidence.iter().any(|e| e.contains(&r.to_string())));
    assert!(t.evidence.iter().any(|e| e == "Xid 13 on GPU 3"));
    assert!(matches!(t.origin, TicketOrigin::Platform { .. }));
}

#[test]
fn xid_94_decided_none_opens_no_incident_and_adds_to_an_open_one() {
    let f = finding(FindingKind::GpuXid, Some(94));
    let none = decision(
        RemediationAction::None,
        SupportScope::Supported,
        "XID 94: a contained ECC error, the application was stopped; monitor",
    );
    assert!(
        decide(
            None,
            &f,
            &none,
            &[],
            RemediationId::generate(),
            RemediationState::Skipped,
        )
        .is_none()
    );
    // With an open incident of that node and kind: evidence, the verdict untouched.
    let reset = decision(
        RemediationAction::ResetGpu,
        SupportScope::BestEffort,
        "advise",
    );
    let t = opens(&f, &reset, &[], RemediationId::generate());
    let (ch, next) = decide(
        Some(&stored(t.clone())),
        &f,
        &none,
        &[],
        RemediationId::generate(),
        RemediationState::Skipped,
    )
    .unwrap();
    assert!(ch.events.is_empty(), "{:?}", ch.event_names());
    assert_eq!(next.verdict, t.verdict);
    assert!(next.evidence.last().unwrap().contains("decided none"));
}

#[test]
fn xid_79_decided_reboot_node_opens_a_supported_incident_with_the_remediation_and_evidence() {
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "XID 79: the GPU fell off the bus; drain and power-cycle the node",
    );
    let r = RemediationId::generate();
    let t = opens(&f, &d, &[XID_79_LOG.into()], r);
    assert_eq!(t.category(), SupportScope::Supported, "{:?}", t.verdict);
    assert_eq!(t.verdict.rule_id, POLICY_RULE_ID);
    assert_eq!(t.verdict.component.as_deref(), Some("gpu-cpu-hardware"));
    assert!(
        !pages(&t),
        "a reboot needs no human: {:?}",
        t.verdict.actions
    );
    assert_eq!(
        t.sla_due,
        Some(t.created_at + time::Duration::hours(8)),
        "the normal Supported due time"
    );
    assert_eq!(
        t.incident_key.as_deref(),
        Some(format!("node/{}/node-7/gpu-xid", f.cluster).as_str())
    );
    assert!(t.title.contains("XID 79 on GPU 3"), "{}", t.title);
    assert!(t.description.contains(&r.to_string()), "{}", t.description);
    assert!(
        t.evidence.iter().any(|e| e == XID_79_LOG),
        "{:?}",
        t.evidence
    );
    assert!(
        t.evidence
            .iter()
            .any(|e| e.contains(&r.to_string()) && e.contains(&d.reason)),
        "{:?}",
        t.evidence
    );
}

#[test]
fn the_policy_answers_who_owns_a_finding_not_the_text_of_it() {
    // The engine's text rules page the on-call for these XIDs; the policy's answer stands.
    for xid in [45, 63, 92, 94] {
        for given in [SupportScope::CustomerOwned, SupportScope::BestEffort] {
            let f = finding(FindingKind::GpuXid, Some(xid));
            let d = decision(
                RemediationAction::NotifyCustomer,
                given,
                "the policy's call",
            );
            let t = opens(&f, &d, &[], RemediationId::generate());
            assert_eq!(t.category(), given, "XID {xid}");
            assert!(!pages(&t) && t.sla_due.is_none(), "XID {xid}: {t:?}");
        }
    }
}

#[test]
fn replacing_a_node_or_escalating_pages_the_on_call_engineer() {
    let f = finding(FindingKind::GpuXid, Some(48));
    for action in [RemediationAction::ReplaceNode, RemediationAction::Escalate] {
        let d = decision(action, SupportScope::Supported, "XID 48 repeated 3 times");
        let t = opens(
            &f,
            &d,
            &["ecc dbe count 3".into()],
            RemediationId::generate(),
        );
        assert!(pages(&t), "{action:?}: {:?}", t.verdict.actions);
        assert_eq!(t.sla_due, Some(t.created_at + time::Duration::hours(1)));
        assert!(t.evidence.iter().any(|e| e == "ecc dbe count 3"));
    }
    // A hold or a GPU reset is Supported without paging.
    for action in [RemediationAction::Hold, RemediationAction::ResetGpu] {
        let d = decision(action, SupportScope::Supported, "wait");
        let t = opens(&f, &d, &[], RemediationId::generate());
        assert_eq!(t.category(), SupportScope::Supported);
        assert!(!pages(&t), "{action:?}");
    }
}

#[test]
fn memory_link_and_bus_decisions_open_incidents_naming_gpu_or_port() {
    let ib = Finding {
        port: Some("mlx5_3/1".parse().unwrap()),
        state: Some("down".into()),
        gpu: None,
        ..finding(FindingKind::IbLink, None)
    };
    let cases = [
        (
            finding(FindingKind::GpuEcc, None),
            "double-bit ECC errors on GPU 3",
            "gpu-cpu-hardware",
        ),
        (
            finding(FindingKind::GpuRowRemap, None),
            "rows remapped",
            "gpu-cpu-hardware",
        ),
        (
            finding(FindingKind::GpuNvlink, None),
            "NVLink CRC errors on GPU 3",
            "gpu-cpu-hardware",
        ),
        (
            finding(FindingKind::GpuPcie, None),
            "PCIe replays on GPU 3",
            "gpu-cpu-hardware",
        ),
        (ib, "InfiniBand port mlx5_3/1 down", "infiniband-fabric"),
    ];
    let d = decision(
        RemediationAction::ResetGpu,
        SupportScope::Supported,
        "hardware",
    );
    for (f, says, component) in cases {
        let t = opens(&f, &d, &[], RemediationId::generate());
        assert_eq!(t.category(), SupportScope::Supported, "{:?}", f.kind);
        assert_eq!(t.verdict.component.as_deref(), Some(component));
        assert!(t.title.contains(says), "{:?}: {}", f.kind, t.title);
    }
}

#[test]
fn the_same_decided_event_twice_opens_one_incident() {
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "reboot",
    );
    let r = RemediationId::generate();
    let t = opens(&f, &d, &[], r);
    // Delivered again: the incident is open and already says it.
    assert!(decide(Some(&stored(t)), &f, &d, &[], r, RemediationState::Running).is_none());
}

#[test]
fn a_decision_raises_an_open_incident_but_never_lowers_it() {
    let f = finding(FindingKind::GpuXid, Some(13));
    let customer = decision(
        RemediationAction::NotifyCustomer,
        SupportScope::CustomerOwned,
        "the job's",
    );
    let t = opens(&f, &customer, &[], RemediationId::generate());
    let hardware = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "XID 79 on the same GPU: reboot",
    );
    let (ch, raised) = decide(
        Some(&stored(t)),
        &f,
        &hardware,
        &[],
        RemediationId::generate(),
        RemediationState::Running,
    )
    .unwrap();
    assert_eq!(ch.event_names(), ["ticket.classified"]);
    assert_eq!(raised.category(), SupportScope::Supported);
    assert!(raised.sla_due.is_some());
    let (ch, next) = decide(
        Some(&stored(raised.clone())),
        &f,
        &customer,
        &[],
        RemediationId::generate(),
        RemediationState::Skipped,
    )
    .unwrap();
    assert!(ch.events.is_empty(), "{:?}", ch.event_names());
    assert_eq!(next.verdict, raised.verdict);
}

#[test]
fn progress_goes_to_the_linked_incident_and_success_closes_it() {
    let ctx = Ctx::new("support-triage");
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "reboot",
    );
    let r = RemediationId::generate();
    let t = opens(&f, &d, &[], r);
    assert!(
        on_progress(
            &ctx,
            None,
            r,
            Progress::Started {
                action: RemediationAction::RebootNode
            }
        )
        .unwrap()
        .is_none(),
        "no incident linked: nothing"
    );
    let (ch, t) = on_progress(
        &ctx,
        Some(&stored(t)),
        r,
        Progress::Step {
            step: "power-cycle",
            detail: "node-7 power-cycled",
        },
    )
    .unwrap()
    .unwrap();
    assert!(ch.events.is_empty());
    let last = t.evidence.last().unwrap();
    assert!(
        last.contains("power-cycle") && last.contains(&r.to_string()),
        "{last}"
    );
    let (ch, closed) =
        on_succeeded(&ctx, Some(&stored(t)), r, RemediationAction::RebootNode).unwrap();
    assert_eq!(ch.event_names(), ["ticket.closed"]);
    let closed = closed.unwrap();
    assert_eq!(closed.state, TicketState::Closed);
    assert!(
        closed.resolution.contains("reboot-node") && closed.resolution.contains(&r.to_string()),
        "{}",
        closed.resolution
    );
    assert!(
        closed
            .evidence
            .last()
            .unwrap()
            .contains("remediated: reboot-node")
    );
    // Succeeded without an open incident: only the link goes.
    let (ch, none) = on_succeeded(&ctx, None, r, RemediationAction::RebootNode).unwrap();
    assert!(ch.events.is_empty() && none.is_none());
}

#[test]
fn a_failed_remediation_escalates_the_open_incident_with_paging() {
    let ctx = Ctx::new("support-triage");
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "reboot",
    );
    let r = RemediationId::generate();
    let t = opens(&f, &d, &[], r);
    assert!(!pages(&t));
    let seen = vec![
        XID_79_LOG.to_owned(),
        "power-cycle: node did not come back".into(),
    ];
    let failure = Failure {
        remediation: r,
        action: RemediationAction::ReplaceNode,
        finding: &f,
        evidence: &seen,
        reason: "no capacity for a replacement in the pool",
    };
    let (ch, next) = on_failed(&ctx, &view(), Some(&stored(t.clone())), &failure, &source())
        .unwrap()
        .unwrap();
    assert_eq!(ch.event_names(), ["ticket.classified"]);
    assert_eq!(next.id, t.id);
    assert_eq!(next.category(), SupportScope::Supported);
    assert_eq!(next.verdict.rule_id, FAILED_RULE_ID);
    assert!(pages(&next), "{:?}", next.verdict.actions);
    assert!(next.sla_due.unwrap() <= ctx.now + time::Duration::hours(1));
    assert!(
        next.evidence
            .iter()
            .any(|e| e.contains(&r.to_string()) && e.contains("no capacity for a replacement"))
    );
    assert!(
        next.evidence
            .iter()
            .any(|e| e == "power-cycle: node did not come back")
    );
    // Delivered again: nothing more.
    assert!(
        on_failed(&ctx, &view(), Some(&stored(next)), &failure, &source())
            .unwrap()
            .is_none()
    );
    // Without an open incident (closed meanwhile): a new one, paging.
    let (ch, t) = on_failed(&ctx, &view(), None, &failure, &source())
        .unwrap()
        .unwrap();
    assert_eq!(ch.event_names(), ["ticket.opened", "ticket.classified"]);
    assert_eq!(t.category(), SupportScope::Supported);
    assert!(pages(&t));
    assert!(t.evidence.iter().any(|e| e.contains(&r.to_string())));
    assert!(t.evidence.iter().any(|e| e == XID_79_LOG));
}

#[test]
fn a_human_override_stays_in_force_when_a_remediation_fails() {
    let ctx = Ctx::new("support-triage");
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "reboot",
    );
    let r = RemediationId::generate();
    let t = opens(&f, &d, &[], r);
    let (_, overridden) = reclassify(
        &Ctx::new("ops"),
        &stored(t),
        SupportScope::CustomerOwned,
        "their job overclocks the GPU",
    )
    .unwrap();
    let failure = Failure {
        remediation: r,
        action: RemediationAction::RebootNode,
        finding: &f,
        evidence: &[],
        reason: "node did not come back",
    };
    let (_, next) = on_failed(
        &ctx,
        &view(),
        Some(&stored(overridden)),
        &failure,
        &source(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(next.category(), SupportScope::CustomerOwned);
    assert_eq!(next.verdict.category, SupportScope::Supported);
    assert!(next.override_.is_some());
    assert!(next.sla_due.is_none());
}

#[test]
fn an_incidents_evidence_is_bounded() {
    let ctx = Ctx::new("support-triage");
    let f = finding(FindingKind::GpuXid, Some(79));
    let d = decision(
        RemediationAction::RebootNode,
        SupportScope::Supported,
        "reboot",
    );
    let r = RemediationId::generate();
    let seen: Vec<String> = (0..150).map(|i| format!("log line {i}")).collect();
    let mut t = opens(&f, &d, &seen, r);
    assert_eq!(t.evidence.len(), MAX_EVIDENCE_LINES);
    for i in 0..50 {
        t = on_progress(
            &ctx,
            Some(&stored(t)),
            r,
            Progress::Held {
                reason: &format!("pool limit, round {i}"),
            },
        )
        .unwrap()
        .unwrap()
        .1;
    }
    assert_eq!(t.evidence.len(), MAX_EVIDENCE_LINES);
    assert!(
        t.evidence[0].contains("decided reboot-node"),
        "the first kept"
    );
    assert!(
        t.evidence.last().unwrap().contains("round 49"),
        "the newest kept"
    );
}

#[test]
fn overrides_keep_the_machine_verdict_who_and_why_and_closing_is_once() {
    let v = view();
    let (_, t) = open(
        &Ctx::new("alice"),
        &rules(),
        NewTicket {
            project: v.project,
            cluster: None,
            title: "help us tune NCCL all-reduce".into(),
            description: String::new(),
            component: None,
            origin: TicketOrigin::Customer { by: "alice".into() },
            context: Default::default(),
            evidence: vec![],
            incident_key: None,
        },
    )
    .unwrap();
    assert_eq!(t.category(), SupportScope::BestEffort);
    let cur = stored(t);
    assert!(reclassify(&Ctx::new("ops"), &cur, SupportScope::Supported, "").is_err());
    let (ch, next) = reclassify(
        &Ctx::new("ops"),
        &cur,
        SupportScope::Supported,
        "fabric counters show a bad cable",
    )
    .unwrap();
    assert_eq!(next.category(), SupportScope::Supported);
    assert_eq!(next.verdict.category, SupportScope::BestEffort);
    assert!(next.sla_due.is_some(), "now under the SLA");
    assert_eq!(ch.event_names(), ["ticket.reclassified"]);
    let (_, closed) = close(&Ctx::new("ops"), &stored(next), "cable replaced").unwrap();
    assert_eq!(closed.state, TicketState::Closed);
    assert!(close(&Ctx::new("ops"), &stored(closed), "again").is_err());
}

#[test]
fn addon_events_keep_the_ownership_context_current() {
    let v = view();
    let stored_view = Versioned {
        version: 1,
        value: v.clone(),
    };
    let changed = AddonEvent::OwnershipChanged {
        cluster: v.id,
        project: v.project,
        addon: "cilium".into(),
        from: AddonOwnership::ProviderManaged,
        to: AddonOwnership::CustomerOwned,
        reason: "kubeProxyReplacement turned off".into(),
    };
    let ch = on_addon(Some(&stored_view), &changed).unwrap().unwrap();
    assert!(ch.events.is_empty());
    // Unknown cluster: nothing.
    assert!(on_addon(None, &changed).unwrap().is_none());
    let mut with = v.clone();
    with.addons.insert(
        "cilium".into(),
        AddonState {
            ownership: AddonOwnership::CustomerOwned,
            reason: "kubeProxyReplacement turned off".into(),
            self_managed: false,
        },
    );
    let ctx = with.context(&["istio".into()]);
    assert_eq!(ctx.addons["cilium"], AddonOwnership::CustomerOwned);
    assert_eq!(
        ctx.addon_reasons["cilium"],
        "kubeProxyReplacement turned off"
    );
    assert_eq!(ctx.customer_components, ["istio"]);
}
