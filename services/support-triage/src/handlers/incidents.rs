//! Platform events → incidents: one per key while it is open (repeated signals add evidence),
//! closed by the platform when the fault is over.
//!
//! - A control-plane replica failing opens a Supported incident (classified by the engine like
//!   any ticket: the control plane is the provider's); recovery closes it.
//! - A node's incidents (key `node/<cluster>/<node>/<kind>`) are opened by the cluster's
//!   remediation policy's decisions ([`super::remediations`]), which say who owns the finding.
//!   A health finding by itself opens nothing: its owner is the policy's answer, not what the
//!   engine would read in the finding's text ([`on_finding`] only adds it to an open incident of
//!   its node and kind).
//!
//! Evidence is bounded ([`super::evidence`]).

use accord_core::{
    DomainError,
    cluster::COND_CONTROL_PLANE_READY,
    meta::Condition,
    remediation::{Finding, FindingKind},
    support::{Ticket, TicketOrigin},
};
use accord_store::{Expect, Versioned};

use super::{
    Change, Ctx,
    close::close,
    evidence,
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
    /// The origin of an incident opened from this event.
    pub fn origin(&self) -> TicketOrigin {
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
        evidence::stamp(ctx),
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
        (_, Some(t)) => Ok(Some(add_evidence(ctx, t, [line])?.0)),
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

/// A health finding: evidence on the open incident of its node and kind, if there is one
/// (its summary, then what the check saw), and that incident as written. It opens nothing: the
/// remediation policy's decision about it does, with the policy's answer to who owns it.
pub fn on_finding(
    ctx: &Ctx,
    open_incident: Option<&Versioned<Ticket>>,
    finding: &Finding,
    seen: &[String],
) -> Result<Option<(Change, Ticket)>, DomainError> {
    let Some(t) = open_incident else {
        return Ok(None);
    };
    let lines =
        std::iter::once(evidence::stamped(ctx, &describe(finding))).chain(seen.iter().cloned());
    Ok(Some(add_evidence(ctx, t, lines)?))
}

/// Appends `lines` to an open incident's evidence (bounded: [`evidence::push`]); the change and
/// the incident as written.
pub(super) fn add_evidence(
    ctx: &Ctx,
    t: &Versioned<Ticket>,
    lines: impl IntoIterator<Item = String>,
) -> Result<(Change, Ticket), DomainError> {
    let mut next = t.value.clone();
    for l in lines {
        evidence::push(&mut next.evidence, &l);
    }
    next.updated_at = ctx.now;
    let mut ch = Change::in_project(next.project);
    ch.put(
        TICKETS,
        &next.id.to_string(),
        &next,
        Expect::Version(t.version),
    )?;
    Ok((ch, next))
}

/// The component of the responsibility model a finding's kind concerns.
pub fn hint(kind: FindingKind) -> &'static str {
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
