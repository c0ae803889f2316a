//! support-triage's decisions as plain functions: opening (with context and SLA), incidents from
//! platform events (open once, add evidence, close on recovery, only what the provider owns),
//! overrides and the add-on ownership view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_core::{
    addon::{AddonEvent, AddonOwnership},
    cluster::COND_CONTROL_PLANE_READY,
    ids::{ClusterId, ProjectId},
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
        incidents::{Source, on_control_plane, on_decision, on_finding},
        open::{NewTicket, open, validate},
        reclassify::reclassify,
    },
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

#[test]
fn hardware_findings_open_supported_incidents_application_errors_do_not() {
    let v = view();
    let ctx = Ctx::new("support-triage");
    let ch = on_finding(
        &ctx,
        &rules(),
        &v,
        None,
        &finding(FindingKind::GpuXid, Some(79)),
        &["NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus".into()],
        &source(),
    )
    .unwrap()
    .expect("XID 79 is the provider's");
    let t = opened(&ch);
    assert_eq!(t.category(), SupportScope::Supported);
    assert_eq!(t.evidence.len(), 2);
    // XID 13 is an application error: no provider incident.
    let none = on_finding(
        &ctx,
        &rules(),
        &v,
        None,
        &finding(FindingKind::GpuXid, Some(13)),
        &[],
        &source(),
    )
    .unwrap();
    assert!(none.is_none());
}

#[test]
fn memory_link_and_bus_findings_open_supported_incidents_naming_gpu_or_port() {
    let v = view();
    let ctx = Ctx::new("support-triage");
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
        ),
        (finding(FindingKind::GpuRowRemap, None), "rows remapped"),
        (
            finding(FindingKind::GpuNvlink, None),
            "NVLink CRC errors on GPU 3",
        ),
        (finding(FindingKind::GpuPcie, None), "PCIe replays on GPU 3"),
        (ib, "InfiniBand port mlx5_3/1 down"),
    ];
    for (f, says) in cases {
        let ch = on_finding(&ctx, &rules(), &v, None, &f, &[], &source())
            .unwrap()
            .unwrap_or_else(|| panic!("{:?} is the provider's", f.kind));
        let t = opened(&ch);
        assert_eq!(t.category(), SupportScope::Supported, "{:?}", f.kind);
        assert!(t.title.contains(says), "{:?}: {}", f.kind, t.title);
    }
}

#[test]
fn a_replaced_node_is_a_supported_hardware_incident_with_its_evidence() {
    let v = view();
    let ctx = Ctx::new("support-triage");
    let f = finding(FindingKind::GpuXid, Some(48));
    let decision = RemediationDecision {
        action: RemediationAction::ReplaceNode,
        responsibility: SupportScope::Supported,
        reason: "XID 48 (double-bit ECC) repeated 3 times in 24 h: replace the node".into(),
    };
    let ch = on_decision(
        &ctx,
        &rules(),
        &v,
        None,
        &f,
        &decision,
        &["ecc dbe count 3".into()],
        &source(),
    )
    .unwrap()
    .unwrap();
    let t = opened(&ch);
    assert_eq!(t.category(), SupportScope::Supported, "{:?}", t.verdict);
    assert!(t.title.contains("replaced"));
    assert!(t.evidence.iter().any(|e| e.contains("ReplaceNode")));
    assert!(t.evidence.iter().any(|e| e.contains("ecc dbe")));
    // Holding or resetting opens nothing by itself.
    let hold = RemediationDecision {
        action: RemediationAction::Hold,
        ..decision
    };
    assert!(
        on_decision(&ctx, &rules(), &v, None, &f, &hold, &[], &source())
            .unwrap()
            .is_none()
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
