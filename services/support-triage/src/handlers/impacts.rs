//! A customer component that degraded the control plane or the fabric
//! (`cluster.component-impact`, published by the provisioner) → one Customer-Owned ticket
//! naming the component, per (cluster, component, impact) while it is open:
//! - `degrading` opens it, with the verdict's actions `restore-control-plane` (the provider's
//!   part) and `notify-customer` (the customer is told to fix or remove the component);
//! - `mitigated` adds "restore-control-plane done: …" — baseline health is back and the
//!   component is untouched otherwise;
//! - `cleared` (the customer fixed it) closes the ticket.
//!
//! The ticket is classified by construction (the platform knows the component is the
//! customer's), under the ticket engine's rule ids for the same situations in free text
//! (`cust-breaks-control-plane`, `cust-breaks-fabric`).

use accord_core::{
    DomainError,
    ids::ClusterId,
    infra::{ImpactKind, ImpactState, Mitigation},
    responsibility::SupportScope,
    support::Ticket,
};
use accord_store::Versioned;

use super::{
    Change, Ctx,
    close::close,
    evidence::{self, stamped},
    incidents::{Source, add_evidence},
    open::{NewTicket, open_with_verdict},
};
use crate::{
    verdict::{Given, given},
    view::ClusterView,
};

/// The rule id of tickets opened from a component impact on the control plane (the ticket
/// engine's rule for the same situation described in free text).
pub const IMPACT_RULE_ID: &str = "cust-breaks-control-plane";
/// The rule id of tickets opened from a component impact on the fabric.
pub const FABRIC_IMPACT_RULE_ID: &str = "cust-breaks-fabric";

/// What the customer should check, by impact.
fn checklist(impact: ImpactKind) -> &'static [&'static str] {
    match impact {
        ImpactKind::WebhookFailingClosed => &[
            "The webhook's service and pods: are they running and answering within timeoutSeconds?",
            "failurePolicy and a namespaceSelector that excludes kube-system",
            "Fix or remove the webhook; the provider's bypass is lifted once it answers again",
        ],
        ImpactKind::ApiFlood => &[
            "The client's list/watch rate, informer resyncs and retry loops",
            "Use watches and shared informers instead of polling lists",
            "Fix or scale the client down; the provider's throttling is lifted once it behaves",
        ],
        ImpactKind::FabricSaturation => &[
            "The job's collective sizes and NCCL settings (NCCL_IB_QPS_PER_CONNECTION, NCCL_ALGO)",
            "Traffic classes and the job's share of the fabric",
            "Fix or reschedule the job; the provider's traffic isolation is lifted once it stays in its share",
        ],
    }
}

/// The key of a component's impact ticket.
pub fn impact_key(cluster: ClusterId, component: &str, impact: ImpactKind) -> String {
    format!("impact/{cluster}/{component}/{}", impact.as_str())
}

/// The responsibility-model component an impact degrades.
fn degraded(impact: ImpactKind) -> &'static str {
    if impact.is_control_plane() {
        "kube-apiserver"
    } else {
        "infiniband-fabric"
    }
}

/// One `cluster.component-impact` report.
#[derive(Debug, Clone, Copy)]
pub struct Impact<'a> {
    pub component: &'a str,
    pub impact: ImpactKind,
    pub state: ImpactState,
    pub mitigation: Mitigation,
    pub detail: &'a str,
}

/// Applies one report to the component's open ticket (or opens it).
pub fn on_impact(
    ctx: &Ctx,
    view: &ClusterView,
    open_ticket: Option<&Versioned<Ticket>>,
    i: Impact<'_>,
    source: &Source,
) -> Result<Option<Change>, DomainError> {
    let what = if i.impact.is_control_plane() {
        "the control plane"
    } else {
        "the InfiniBand fabric"
    };
    match (i.state, open_ticket) {
        (ImpactState::Cleared, None) => Ok(None),
        (ImpactState::Cleared, Some(t)) => {
            let why = format!(
                "{} was fixed by the customer; the provider's {} is lifted ({})",
                i.component,
                i.mitigation.as_str(),
                i.detail
            );
            Ok(Some(close(ctx, t, &why)?.0))
        }
        (state, Some(t)) => {
            let body = match state {
                ImpactState::Mitigated => format!(
                    "restore-control-plane done ({}): {}",
                    i.mitigation.as_str(),
                    i.detail
                ),
                _ => format!("{}: {}", state.as_str(), i.detail),
            };
            if evidence::has(&t.value, &body) {
                return Ok(None);
            }
            Ok(Some(add_evidence(ctx, t, [stamped(ctx, &body)])?.0))
        }
        (state, None) => {
            let explanation = format!(
                "{} (a component the customer installed) degrades {what}: {}. The provider \
                 restores baseline health ({}) without changing the component otherwise; \
                 the customer must fix or remove it.",
                i.component,
                i.impact.as_str(),
                i.mitigation.as_str()
            );
            let verdict = given(&Given {
                category: SupportScope::CustomerOwned,
                rule_id: if i.impact.is_control_plane() {
                    IMPACT_RULE_ID
                } else {
                    FABRIC_IMPACT_RULE_ID
                },
                explanation: &explanation,
                component: degraded(i.impact),
                page_on_call: false,
                notify_customer: true,
                checklist: checklist(i.impact),
            });
            let mut verdict = verdict;
            verdict.actions.insert(
                0,
                accord_triage::Action::RestoreControlPlane
                    .as_str()
                    .to_owned(),
            );
            let mut evidence = vec![stamped(ctx, &format!("{}: {}", state.as_str(), i.detail))];
            if state == ImpactState::Mitigated {
                evidence.push(stamped(
                    ctx,
                    &format!("restore-control-plane done ({})", i.mitigation.as_str()),
                ));
            }
            let new = NewTicket {
                project: view.project,
                cluster: Some((view.id, view.name.clone())),
                title: format!("{} degrades {what} ({})", i.component, i.impact.as_str()),
                description: explanation,
                component: Some(i.component.to_owned()),
                origin: source.origin(),
                context: view.context(&[i.component.to_owned()]),
                evidence,
                incident_key: Some(impact_key(view.id, i.component, i.impact)),
            };
            Ok(Some(open_with_verdict(ctx, new, verdict)?.0))
        }
    }
}
