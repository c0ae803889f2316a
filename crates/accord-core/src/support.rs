//! Support tickets (owned by support-triage): what a customer filed or the platform opened, the
//! category the responsibility model gives it (Supported, Best-Effort, Customer-Owned) with the
//! rule that decided, and the facts support-triage publishes about them.
//!
//! Invariants:
//! - a ticket's effective category is the human override when there is one, else the machine
//!   verdict; both are kept (the override with who and why);
//! - Supported tickets carry an SLA due time; the others do not (Best-Effort is outside the
//!   service-level commitments, Customer-Owned is answered with what to check).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{
    addon::AddonOwnership,
    events::DomainEvent,
    ids::{ClusterId, ProjectId, TicketId},
    responsibility::{Layer, SupportScope},
};

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TicketState {
    Open,
    Closed,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Closed => "closed",
        }
    }
}

/// Who opened a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TicketOrigin {
    /// Filed through the API.
    Customer {
        /// User (or operator) name.
        by: String,
    },
    /// Opened by the platform from an event (an incident).
    Platform {
        /// CloudEvents type of the event, e.g. `accord.cluster.condition-changed.v1`.
        event_type: String,
        /// Its id.
        event_id: String,
    },
}

/// What the platform knew about the ticket's cluster when it was classified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketContext {
    /// Ownership of each installed add-on (from the addon-manager's events).
    #[serde(default)]
    pub addons: BTreeMap<String, AddonOwnership>,
    /// Why each customer-owned add-on is theirs (the ownership event's reason).
    #[serde(default)]
    pub addon_reasons: BTreeMap<String, String>,
    /// Components the customer runs (declared with the ticket, or self-managed add-ons).
    #[serde(default)]
    pub customer_components: Vec<String>,
}

/// The classification as recorded on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketVerdict {
    pub category: SupportScope,
    pub layer: Option<Layer>,
    pub component: Option<String>,
    pub rule_id: String,
    pub rule_text: String,
    /// Routing actions (`open-provider-incident`, `page-on-call`, `restore-control-plane` …).
    pub actions: Vec<String>,
    /// What the customer should check (Customer-Owned).
    pub checklist: Vec<String>,
    pub confidence: f32,
    pub needs_review: bool,
}

/// A human's override of the machine verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOverride {
    pub category: SupportScope,
    pub by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub project: ProjectId,
    pub cluster: Option<ClusterId>,
    /// The cluster's name when the ticket was opened.
    #[serde(default)]
    pub cluster_name: String,
    pub title: String,
    pub description: String,
    /// The filer's component hint.
    pub component: Option<String>,
    pub origin: TicketOrigin,
    pub context: TicketContext,
    /// For platform incidents: what the platform saw.
    #[serde(default)]
    pub evidence: Vec<String>,
    pub verdict: TicketVerdict,
    pub override_: Option<TicketOverride>,
    pub state: TicketState,
    /// When a Supported ticket must be answered by.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sla_due: Option<OffsetDateTime>,
    /// For platform incidents: one open incident per key (e.g. `control-plane/<cluster>`).
    #[serde(default)]
    pub incident_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub resolution: String,
}

impl Ticket {
    /// The category in force: the override, else the verdict.
    pub fn category(&self) -> SupportScope {
        self.override_
            .as_ref()
            .map_or(self.verdict.category, |o| o.category)
    }
}

/// Response targets by category: Supported tickets are answered within the SLA (an hour when
/// the classification pages the on-call engineer); the others carry no due time.
pub fn sla_due(
    verdict: &TicketVerdict,
    category: SupportScope,
    from: OffsetDateTime,
) -> Option<OffsetDateTime> {
    match category {
        SupportScope::Supported if verdict.actions.iter().any(|a| a == "page-on-call") => {
            Some(from + Duration::hours(1))
        }
        SupportScope::Supported => Some(from + Duration::hours(8)),
        SupportScope::BestEffort | SupportScope::CustomerOwned => None,
    }
}

/// Facts about tickets. The subject id is the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum TicketEvent {
    /// Filed or opened by the platform.
    Opened { ticket: Box<Ticket> },
    /// Classified by the engine (at opening, and again when evidence is added).
    Classified {
        ticket: TicketId,
        project: ProjectId,
        cluster: Option<ClusterId>,
        verdict: TicketVerdict,
        #[serde(default, with = "time::serde::rfc3339::option")]
        sla_due: Option<OffsetDateTime>,
    },
    /// A human overrode the category.
    Reclassified {
        ticket: TicketId,
        project: ProjectId,
        from: SupportScope,
        to: SupportScope,
        by: String,
        reason: String,
    },
    /// Closed.
    Closed {
        ticket: TicketId,
        project: ProjectId,
        by: String,
        resolution: String,
    },
}

impl DomainEvent for TicketEvent {
    fn resource(&self) -> &'static str {
        "ticket"
    }
    fn event(&self) -> &'static str {
        match self {
            TicketEvent::Opened { .. } => "opened",
            TicketEvent::Classified { .. } => "classified",
            TicketEvent::Reclassified { .. } => "reclassified",
            TicketEvent::Closed { .. } => "closed",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            TicketEvent::Opened { ticket } => ticket.id.to_string(),
            TicketEvent::Classified { ticket, .. }
            | TicketEvent::Reclassified { ticket, .. }
            | TicketEvent::Closed { ticket, .. } => ticket.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(category: SupportScope, actions: &[&str]) -> TicketVerdict {
        TicketVerdict {
            category,
            layer: None,
            component: None,
            rule_id: "r".into(),
            rule_text: "t".into(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            checklist: vec![],
            confidence: 1.0,
            needs_review: false,
        }
    }

    #[test]
    fn only_supported_tickets_have_a_due_time() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let v = verdict(
            SupportScope::Supported,
            &["open-provider-incident", "page-on-call"],
        );
        assert_eq!(sla_due(&v, v.category, now), Some(now + Duration::hours(1)));
        let v = verdict(SupportScope::Supported, &["open-provider-incident"]);
        assert_eq!(sla_due(&v, v.category, now), Some(now + Duration::hours(8)));
        for c in [SupportScope::BestEffort, SupportScope::CustomerOwned] {
            assert_eq!(sla_due(&verdict(c, &[]), c, now), None);
        }
    }
}
