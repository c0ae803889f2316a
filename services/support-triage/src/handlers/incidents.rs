//! Platform events → incidents. A control-plane replica failing, a health finding the model
//! calls Supported, or a node replaced by AutoClusters opens an incident — one per key while it
//! is open (repeated signals add evidence), classified like any ticket, and closed by the
//! platform when the control plane recovers.

use accord_core::{
    DomainError,
    cluster::COND_CONTROL_PLANE_READY,
    meta::Condition,
    remediation::{Finding, FindingKind, RemediationAction, RemediationDecision},
    responsibility::SupportScope,
    support::{Ticket, TicketOrigin},
};
use accord_store::{Expect, Versioned};

use super::{
    Change, Ctx,
    close::close,
    open::{NewTicket, open},
};
use crate::{classify::RuleSet, trees::TICKETS, view::ClusterView};

/// The event an incident came from.
#[derive(Debug, Clone)]
pub struct Source {
    pub event_type: String,
    pub event_id: String,
}

impl Source {
    fn origin(&self) -> TicketOrigin {
        TicketOrigin::Platform {
            event_type: self.event_type.clone(),
            event_id: self.event_id.clone(),
        }
    }
}

/// Key of a cluster's control-plane incident.
pub fn control_plane_key(view: &ClusterView) -> String {
    format!("control-plane/{}", view.id)
}

/// Key of a node's incident of one finding kind.
pub fn node_key(finding: &Finding) -> String {
    format!(
        "node/{}/{}/{}",
        finding.cluster,
        finding.node,
        kind_name(finding.kind)
    )
}

fn kind_name(k: FindingKind) -> &'static str {
    k.as_str()
}

/// A control-plane condition changed: open (or add to) the incident when it went False, close
/// it when it is True again.
pub fn on_control_plane(
    ctx: &Ctx,
    rules: &RuleSet,
    view: &ClusterView,
    open_incident: Option<&Versioned<Ticket>>,
    condition: &Condition,
    source: &Source,
) -> Result<Option<Change>, DomainError> {
    if condition.type_ != COND_CONTROL_PLANE_READY {
        return Ok(None);
    }
    let line = format!(
        "{} {}={} ({}): {}",
        stamp(ctx),
        condition.type_,
        condition.status.as_str(),
        condition.reason,
        condition.message
    );
    match (condition.status.as_str(), open_incident) {
        ("True", Some(t)) => Ok(Some(
            close(ctx, t, &format!("recovered: {}", condition.message.trim()))?.0,
        )),
        ("True", None) => Ok(None),
        (_, Some(t)) => Ok(Some(add_evidence(ctx, t, line)?)),
        (_, None) => {
            let new = NewTicket {
                project: view.project,
                cluster: Some((view.id, view.name.clone())),
                title: format!(
                    "Control plane degraded on cluster {}: {}",
                    view.name, condition.reason
                ),
                description: format!(
                    "The platform saw the Kubernetes control plane (kube-apiserver, etcd) lose a replica: {}. The API server may answer slowly or fail while the provider restores it.",
                    condition.message
                ),
                component: Some("control-plane-ha".to_owned()),
                origin: source.origin(),
                context: view.context(&[]),
                evidence: vec![line],
                incident_key: Some(control_plane_key(view)),
            };
            Ok(Some(open(ctx, rules, new)?.0))
        }
    }
}

/// A health finding: an incident when the model says the provider owns it.
pub fn on_finding(
    ctx: &Ctx,
    rules: &RuleSet,
    view: &ClusterView,
    open_incident: Option<&Versioned<Ticket>>,
    finding: &Finding,
    evidence: &[String],
    source: &Source,
) -> Result<Option<Change>, DomainError> {
    let summary = describe(finding);
    if let Some(t) = open_incident {
        return Ok(Some(add_evidence(
            ctx,
            t,
            format!("{}: {summary}", stamp(ctx)),
        )?));
    }
    let new = NewTicket {
        project: view.project,
        cluster: Some((view.id, view.name.clone())),
        title: summary.clone(),
        description: format!(
            "Health check on node {} of cluster {}: {summary}.",
            finding.node, view.name
        ),
        // An XID's number decides (13 is the application's, 79 the hardware's): no hint.
        component: (finding.kind != FindingKind::GpuXid).then(|| hint(finding.kind).to_owned()),
        origin: source.origin(),
        context: view.context(&[]),
        evidence: std::iter::once(summary)
            .chain(evidence.iter().cloned())
            .collect(),
        incident_key: Some(node_key(finding)),
    };
    let (ch, t) = open(ctx, rules, new)?;
    // Application errors and the like are answered through remediation (notify-customer),
    // not as provider incidents.
    Ok((t.verdict.category == SupportScope::Supported).then_some(ch))
}

/// A remediation decision: replacing a node (or escalating) is a Supported hardware incident
/// with its evidence; other decisions add evidence to an open incident.
#[allow(clippy::too_many_arguments)]
pub fn on_decision(
    ctx: &Ctx,
    rules: &RuleSet,
    view: &ClusterView,
    open_incident: Option<&Versioned<Ticket>>,
    finding: &Finding,
    decision: &RemediationDecision,
    evidence: &[String],
    source: &Source,
) -> Result<Option<Change>, DomainError> {
    let line = format!(
        "{}: AutoClusters decided {:?} ({}): {}",
        stamp(ctx),
        decision.action,
        decision.responsibility,
        decision.reason
    );
    if let Some(t) = open_incident {
        return Ok(Some(add_evidence(ctx, t, line)?));
    }
    if !matches!(
        decision.action,
        RemediationAction::ReplaceNode | RemediationAction::Escalate
    ) {
        return Ok(None);
    }
    let what = if decision.action == RemediationAction::ReplaceNode {
        "replaced"
    } else {
        "escalated"
    };
    let new = NewTicket {
        project: view.project,
        cluster: Some((view.id, view.name.clone())),
        title: format!(
            "Node {} {what} by AutoClusters: {}",
            finding.node,
            describe(finding)
        ),
        description: format!(
            "Hardware fault on node {} of cluster {}: {}. {}",
            finding.node,
            view.name,
            describe(finding),
            decision.reason
        ),
        component: Some(hint(finding.kind).to_owned()),
        origin: source.origin(),
        context: view.context(&[]),
        evidence: std::iter::once(line)
            .chain(evidence.iter().cloned())
            .collect(),
        incident_key: Some(node_key(finding)),
    };
    Ok(Some(open(ctx, rules, new)?.0))
}

/// An evidence line's time stamp (RFC 3339).
fn stamp(ctx: &Ctx) -> String {
    ctx.now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| ctx.now.to_string())
}

fn add_evidence(ctx: &Ctx, t: &Versioned<Ticket>, line: String) -> Result<Change, DomainError> {
    let mut next = t.value.clone();
    next.evidence.push(line);
    next.updated_at = ctx.now;
    let mut ch = Change::new();
    ch.put(
        TICKETS,
        &next.id.to_string(),
        &next,
        Expect::Version(t.version),
    )?;
    Ok(ch)
}

fn hint(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::GpuXid
        | FindingKind::GpuThermal
        | FindingKind::NodeNotReady
        | FindingKind::GpuEcc
        | FindingKind::GpuRowRemap
        | FindingKind::GpuNvlink
        | FindingKind::GpuPcie => "gpu-cpu-hardware",
        FindingKind::IbLink => "infiniband-fabric",
    }
}

/// A finding in words (the text the classifier reads).
pub fn describe(f: &Finding) -> String {
    let gpu = f.gpu.map(|g| format!(" on GPU {g}")).unwrap_or_default();
    match f.kind {
        FindingKind::GpuXid => format!(
            "XID {}{gpu} on node {}",
            f.xid.map_or("?".to_owned(), |x| x.to_string()),
            f.node
        ),
        FindingKind::IbLink => format!(
            "InfiniBand port {} {} on node {}",
            f.port.as_ref().map_or("?", |p| p.as_str()),
            f.state.as_deref().unwrap_or("down"),
            f.node
        ),
        FindingKind::NodeNotReady => format!(
            "node {} NotReady for {} minutes",
            f.node,
            f.minutes.unwrap_or(0)
        ),
        FindingKind::GpuThermal => format!(
            "GPU overheating{gpu} on node {}: {} °C",
            f.node,
            f.temp_c.unwrap_or(0)
        ),
        FindingKind::GpuEcc => format!("GPU double-bit ECC errors{gpu} on node {}", f.node),
        FindingKind::GpuRowRemap => format!(
            "GPU memory rows remapped for uncorrectable errors{gpu} on node {}",
            f.node
        ),
        FindingKind::GpuNvlink => format!("GPU NVLink CRC errors{gpu} on node {}", f.node),
        FindingKind::GpuPcie => format!("GPU PCIe replays{gpu} on node {}", f.node),
    }
}
