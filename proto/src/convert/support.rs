//! Domain tickets → `accord.support.v1` messages.

use accord_core::{
    responsibility::SupportScope,
    support::{Ticket, TicketOrigin, TicketState, TicketVerdict},
};

use crate::{convert::provisioner::ts, support::v1 as pb};

/// The wire enum of a category.
pub fn category(c: SupportScope) -> pb::Category {
    match c {
        SupportScope::Supported => pb::Category::Supported,
        SupportScope::BestEffort => pb::Category::BestEffort,
        SupportScope::CustomerOwned => pb::Category::CustomerOwned,
    }
}

/// The domain category of a wire value (`None` for unspecified or unknown values).
pub fn category_from(value: i32) -> Option<SupportScope> {
    match pb::Category::try_from(value).ok()? {
        pb::Category::Supported => Some(SupportScope::Supported),
        pb::Category::BestEffort => Some(SupportScope::BestEffort),
        pb::Category::CustomerOwned => Some(SupportScope::CustomerOwned),
        pb::Category::Unspecified => None,
    }
}

fn classification(v: &TicketVerdict) -> pb::Classification {
    pb::Classification {
        category: category(v.category).into(),
        layer: v.layer.map(|l| l.as_str().to_owned()).unwrap_or_default(),
        component: v.component.clone().unwrap_or_default(),
        rule: Some(pb::Rule {
            id: v.rule_id.clone(),
            text: v.rule_text.clone(),
        }),
        actions: v.actions.clone(),
        checklist: v.checklist.clone(),
        confidence: v.confidence,
        needs_review: v.needs_review,
    }
}

/// A ticket on the wire.
pub fn ticket(t: &Ticket) -> pb::Ticket {
    let (origin, origin_detail) = match &t.origin {
        TicketOrigin::Customer { by } => ("customer", by.clone()),
        TicketOrigin::Platform { event_type, .. } => ("platform", event_type.clone()),
    };
    pb::Ticket {
        id: t.id.to_string(),
        project: t.project.to_string(),
        cluster_id: t.cluster.map(|c| c.to_string()).unwrap_or_default(),
        cluster_name: t.cluster_name.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        component: t.component.clone().unwrap_or_default(),
        origin: origin.to_owned(),
        origin_detail,
        addons: t
            .context
            .addons
            .iter()
            .map(|(addon, o)| pb::AddonOwnershipEntry {
                addon: addon.clone(),
                ownership: o.as_str().to_owned(),
                reason: t
                    .context
                    .addon_reasons
                    .get(addon)
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect(),
        customer_components: t.context.customer_components.clone(),
        evidence: t.evidence.clone(),
        classification: Some(classification(&t.verdict)),
        r#override: t.override_.as_ref().map(|o| pb::Override {
            category: category(o.category).into(),
            by: o.by.clone(),
            reason: o.reason.clone(),
            at: Some(ts(o.at)),
        }),
        category: category(t.category()).into(),
        state: match t.state {
            TicketState::Open => "open",
            TicketState::Closed => "closed",
        }
        .to_owned(),
        sla_due: t.sla_due.map(ts),
        created_at: Some(ts(t.created_at)),
        updated_at: Some(ts(t.updated_at)),
        closed_at: t.closed_at.map(ts),
        resolution: t.resolution.clone(),
    }
}
