//! Customer components that break what the provider runs, and the provider's mitigations, as
//! plain functions over [`FleetState`] like [`crate::lifecycle`].
//!
//! A customer's component (an admission webhook, an operator, a job) can degrade the control
//! plane or the fabric without anything of the provider's failing. The faults
//! `webhook-fail-closed`, `api-flood` and `fabric-saturation` ([`crate::faults`]) start such an
//! impact; [`mitigate`] (the provider's least invasive action, leaving the component's
//! configuration alone) contains it; the customer's fix (`component-fixed`) ends it:
//!
//! | kind | starts (`ComponentImpact{Degrading}`) | mitigation, delay | `Mitigated` |
//! |---|---|---|---|
//! | `webhook-failing-closed` | the API server rejects writes the webhook does not answer | `bypass-webhook`, ~5 s ([`Operation::BypassWebhook`]) | a `failurePolicy: Ignore` override at the API server |
//! | `api-flood` | API p99 latency 8 s, 429s | `throttle-client`, ~5 s ([`Operation::ThrottleClient`]) | the client in its own low API Priority and Fairness level |
//! | `fabric-saturation` | congestion on every InfiniBand port of the cluster | `isolate-fabric-traffic`, ~20 s ([`Operation::IsolateFabricTraffic`]) | the workload's traffic rate-limited to its share |
//!
//! `component-fixed` ends every impact of the component with `ComponentImpact{Cleared}` (a
//! mitigation in place is lifted, one under way is cancelled) and forgets it.
//!
//! Invariants:
//! - At most one impact per (cluster, component, kind); injecting it again changes nothing.
//! - An impact exists only while its cluster has a control plane: the control plane's deletion
//!   removes its impacts.
//! - [`mitigate`] is idempotent: an impact already mitigated, or with its mitigation under way,
//!   and an impact that is gone, change nothing; a mitigation that does not fit the impact's kind
//!   is invalid.
//! - A pending mitigation is a due time in the state file, so a restarted fleet finishes it.
//! - Component names are Kubernetes-style (at most [`MAX_COMPONENT_LEN`] bytes); messages quote
//!   at most [`MAX_NAME_IN_MESSAGE`] characters of any name a caller gave.

use accord_core::{
    ids::ClusterId,
    infra::{ImpactKind, ImpactState, InfraError, InfraEvent, Mitigation, ObservedImpact},
};

use crate::{
    error::SimError,
    lifecycle::Ctx,
    state::{FleetState, Impact},
    timing::Operation,
};

/// The longest component name accepted, bytes (a Kubernetes object name, DNS subdomain rules).
pub(crate) const MAX_COMPONENT_LEN: usize = 253;

/// The most characters of a caller's name a message quotes.
pub(crate) const MAX_NAME_IN_MESSAGE: usize = 64;

/// `name` quoted, cut to [`MAX_NAME_IN_MESSAGE`] characters (`…` marks a cut).
pub(crate) fn quoted(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME_IN_MESSAGE) {
        Some((end, _)) => format!("{:?}…", &name[..end]),
        None => format!("{name:?}"),
    }
}

/// Why `name` is not a Kubernetes-style component name (lowercase letters, digits, `-` and
/// `.`, starting and ending with a letter or digit, at most [`MAX_COMPONENT_LEN`] bytes).
pub(crate) fn check_component(name: &str) -> Result<(), String> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let problem = if name.is_empty() {
        "is empty".to_owned()
    } else if name.len() > MAX_COMPONENT_LEN {
        format!(
            "is {} bytes long; the limit is {MAX_COMPONENT_LEN}",
            name.len()
        )
    } else if !name.chars().all(|c| alnum(c) || c == '-' || c == '.') {
        "may hold only lowercase letters, digits, '-' and '.'".to_owned()
    } else if !name.starts_with(alnum) || !name.ends_with(alnum) {
        "must start and end with a lowercase letter or a digit".to_owned()
    } else {
        return Ok(());
    };
    Err(format!("component name {} {problem}", quoted(name)))
}

/// The component as the sentences name it: `admission webhook policy-webhook`.
fn subject(kind: ImpactKind, component: &str) -> String {
    match kind {
        ImpactKind::WebhookFailingClosed => format!("admission webhook {component}"),
        ImpactKind::ApiFlood => format!("client {component}"),
        ImpactKind::FabricSaturation => format!("workload {component}"),
    }
}

/// `ComponentImpact{Degrading}`'s sentence.
fn degrading_detail(kind: ImpactKind, component: &str) -> String {
    match kind {
        ImpactKind::WebhookFailingClosed => format!(
            "admission webhook {component} fails closed: the API server rejects writes it does \
             not answer (timeouts after 10 s)"
        ),
        ImpactKind::ApiFlood => format!(
            "client {component} floods the API server: p99 latency 8 s, requests rejected with \
             429"
        ),
        ImpactKind::FabricSaturation => format!(
            "workload {component} saturates the InfiniBand fabric: congestion on every port of \
             the cluster"
        ),
    }
}

/// `ComponentImpact{Mitigated}`'s sentence: what the provider did.
fn mitigated_detail(kind: ImpactKind, component: &str) -> String {
    match kind {
        ImpactKind::WebhookFailingClosed => format!(
            "admission webhook {component} bypassed at the API server (failurePolicy Ignore \
             override); the API server accepts writes again"
        ),
        ImpactKind::ApiFlood => format!(
            "client {component} throttled with API Priority and Fairness (its own low priority \
             level); API latency is back to baseline"
        ),
        ImpactKind::FabricSaturation => format!(
            "fabric traffic of workload {component} isolated (rate-limited to its share on every \
             InfiniBand port of the cluster); the fabric is no longer congested"
        ),
    }
}

/// `ComponentImpact{Cleared}`'s sentence.
fn cleared_detail(impact: &Impact) -> String {
    let subject = subject(impact.kind, &impact.component);
    if impact.state == ImpactState::Mitigated {
        return format!("{subject} fixed by the customer; the provider's mitigation is lifted");
    }
    if impact.mitigation_due_ms.is_some() {
        return format!(
            "{subject} fixed by the customer; the provider's mitigation under way is cancelled"
        );
    }
    let baseline = match impact.kind {
        ImpactKind::WebhookFailingClosed => "the API server accepts writes again",
        ImpactKind::ApiFlood => "API latency is back to baseline",
        ImpactKind::FabricSaturation => "the fabric is no longer congested",
    };
    format!("{subject} fixed by the customer; {baseline}")
}

/// How long `mitigation` takes to take effect.
fn operation(mitigation: Mitigation) -> Operation {
    match mitigation {
        Mitigation::BypassWebhook => Operation::BypassWebhook,
        Mitigation::ThrottleClient => Operation::ThrottleClient,
        Mitigation::IsolateTraffic => Operation::IsolateFabricTraffic,
    }
}

fn event(impact: &Impact, state: ImpactState, detail: String) -> InfraEvent {
    InfraEvent::ComponentImpact {
        cluster: impact.cluster,
        component: impact.component.clone(),
        impact: impact.kind,
        state,
        detail,
    }
}

/// The cluster must have a control plane that is not being deleted, for a fault.
fn check_cluster(state: &FleetState, cluster: ClusterId) -> Result<(), SimError> {
    let cp = state
        .control_planes
        .get(&cluster)
        .ok_or(SimError::UnknownCluster(cluster))?;
    if cp.delete_due_ms.is_some() {
        return Err(SimError::InvalidFault(format!(
            "the control plane of cluster {cluster} is being deleted"
        )));
    }
    Ok(())
}

/// Starts `kind` of impact by `component` on `cluster` (a fault); returns what happened.
pub(crate) fn inject(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    component: String,
    kind: ImpactKind,
) -> Result<String, SimError> {
    check_component(&component).map_err(SimError::InvalidFault)?;
    check_cluster(state, cluster)?;
    if let Some(existing) = state
        .impacts
        .iter()
        .find(|i| i.cluster == cluster && i.component == component && i.kind == kind)
    {
        return Ok(format!(
            "{} already has impact {} on cluster {cluster} ({}); nothing changed",
            subject(kind, &component),
            kind.as_str(),
            existing.state.as_str()
        ));
    }
    let impact = Impact {
        cluster,
        component,
        kind,
        state: ImpactState::Degrading,
        mitigation_due_ms: None,
    };
    let detail = degrading_detail(kind, &impact.component);
    ctx.emit(event(&impact, ImpactState::Degrading, detail.clone()));
    state.impacts.push(impact);
    ctx.changed = true;
    Ok(format!(
        "{detail} (cluster {cluster}; the provider's mitigation: {})",
        kind.mitigation().as_str()
    ))
}

/// The customer fixed `component` (a fault): every impact of it on `cluster` ends
/// (`ComponentImpact{Cleared}`) and is forgotten; returns what happened.
pub(crate) fn fix(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    component: &str,
) -> Result<String, SimError> {
    check_component(component).map_err(SimError::InvalidFault)?;
    check_cluster(state, cluster)?;
    let (ended, kept): (Vec<Impact>, Vec<Impact>) = std::mem::take(&mut state.impacts)
        .into_iter()
        .partition(|i| i.cluster == cluster && i.component == component);
    state.impacts = kept;
    if ended.is_empty() {
        return Ok(format!(
            "component {component} has no impact on cluster {cluster}; nothing changed"
        ));
    }
    let mut cleared = Vec::with_capacity(ended.len());
    for impact in &ended {
        ctx.emit(event(impact, ImpactState::Cleared, cleared_detail(impact)));
        cleared.push(format!(
            "{} (was {})",
            impact.kind.as_str(),
            impact.state.as_str()
        ));
    }
    ctx.changed = true;
    Ok(format!(
        "component {component} of cluster {cluster} fixed by the customer; cleared: {}",
        cleared.join(", ")
    ))
}

/// Applies the provider's `mitigation` to `component`'s impact on `cluster`: it takes effect
/// after the mitigation's delay (`ComponentImpact{Mitigated}`). Idempotent; an impact that is
/// gone (or a cluster without one) changes nothing; a mitigation that fits none of the
/// component's impacts is invalid.
pub(crate) fn mitigate(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    component: &str,
    mitigation: Mitigation,
) -> Result<(), InfraError> {
    check_component(component).map_err(InfraError::Invalid)?;
    let mut of_component = state
        .impacts
        .iter_mut()
        .filter(|i| i.cluster == cluster && i.component == component)
        .peekable();
    if of_component.peek().is_none() {
        return Ok(());
    }
    let mut kinds = Vec::new();
    let mut found = None;
    for impact in of_component {
        if impact.kind.mitigation() == mitigation {
            found = Some(impact);
        } else {
            kinds.push(format!(
                "{} (mitigation {})",
                impact.kind.as_str(),
                impact.kind.mitigation().as_str()
            ));
        }
    }
    let Some(impact) = found else {
        return Err(InfraError::Invalid(format!(
            "mitigation {} does not apply to component {} of cluster {cluster}: its impact is {}",
            mitigation.as_str(),
            quoted(component),
            kinds.join(", ")
        )));
    };
    if impact.state != ImpactState::Degrading || impact.mitigation_due_ms.is_some() {
        return Ok(());
    }
    impact.mitigation_due_ms = Some(ctx.due(operation(mitigation)));
    ctx.changed = true;
    Ok(())
}

/// The mitigation of `(cluster, component, kind)` fell due: the impact is mitigated.
pub(crate) fn complete_mitigation(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    component: &str,
    kind: ImpactKind,
) {
    let Some(impact) = state
        .impacts
        .iter_mut()
        .find(|i| i.cluster == cluster && i.component == component && i.kind == kind)
    else {
        return;
    };
    impact.mitigation_due_ms = None;
    impact.state = ImpactState::Mitigated;
    ctx.changed = true;
    let detail = mitigated_detail(kind, component);
    ctx.emit(event(impact, ImpactState::Mitigated, detail));
}

/// Due times of mitigations under way.
pub(crate) fn due(
    state: &FleetState,
) -> impl Iterator<Item = (i64, ClusterId, String, ImpactKind)> + '_ {
    state
        .impacts
        .iter()
        .filter_map(|i| Some((i.mitigation_due_ms?, i.cluster, i.component.clone(), i.kind)))
}

/// Forgets the impacts of a cluster whose control plane is gone.
pub(crate) fn forget_cluster(state: &mut FleetState, cluster: ClusterId) {
    state.impacts.retain(|i| i.cluster != cluster);
}

/// Every impact as the infrastructure reports it, in the order they started.
pub(crate) fn observed(state: &FleetState) -> Vec<ObservedImpact> {
    state
        .impacts
        .iter()
        .map(|i| ObservedImpact {
            cluster: i.cluster,
            component: i.component.clone(),
            impact: i.kind,
            state: i.state,
        })
        .collect()
}

#[cfg(test)]
mod tests;
