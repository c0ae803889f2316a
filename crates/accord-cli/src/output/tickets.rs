//! Support-ticket views (what `-o json|yaml` prints), the `accord ticket list` table and the
//! `accord ticket get` document.
//!
//! Categories are printed as `supported`, `best-effort` and `customer-owned` everywhere. The
//! document leads with what a customer needs first: the category in force (and who overrode the
//! machine's, and why), the rule that decided, then what happens next — the SLA for Supported,
//! what to check for Customer-Owned.

use accord_proto::support::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::describe::Doc;
use super::{
    Resource, age, datetime, human_duration, or_dash, rfc3339, short_id, tables::render, truncate,
};

/// Longest title shown in the list table, in characters.
pub const TITLE_WIDTH: usize = 50;

/// A category enum value as its name.
pub fn category_name(value: i32) -> &'static str {
    match pb::Category::try_from(value) {
        Ok(pb::Category::Supported) => "supported",
        Ok(pb::Category::BestEffort) => "best-effort",
        Ok(pb::Category::CustomerOwned) => "customer-owned",
        _ => "unknown",
    }
}

/// The rule that decided.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub id: String,
    pub text: String,
}

/// The machine's classification.
#[derive(Debug, Clone, Serialize)]
pub struct ClassificationView {
    pub category: &'static str,
    pub layer: String,
    pub component: String,
    pub rule: RuleView,
    pub actions: Vec<String>,
    pub checklist: Vec<String>,
    /// Two decimals, as the engine computes it.
    pub confidence: f64,
    pub needs_review: bool,
}

impl ClassificationView {
    fn from_pb(c: &pb::Classification) -> ClassificationView {
        let rule = c.rule.clone().unwrap_or_default();
        ClassificationView {
            category: category_name(c.category),
            layer: c.layer.clone(),
            component: c.component.clone(),
            rule: RuleView {
                id: rule.id,
                text: rule.text,
            },
            actions: c.actions.clone(),
            checklist: c.checklist.clone(),
            confidence: confidence(c.confidence),
            needs_review: c.needs_review,
        }
    }
}

/// A human's override of the category.
#[derive(Debug, Clone, Serialize)]
pub struct OverrideView {
    pub category: &'static str,
    pub by: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// Ownership of one add-on of the ticket's cluster when it was classified.
#[derive(Debug, Clone, Serialize)]
pub struct AddonOwnershipView {
    pub addon: String,
    pub ownership: String,
    pub reason: String,
}

/// A ticket.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub kind: &'static str,
    pub id: String,
    pub project: String,
    pub cluster_id: String,
    pub cluster: String,
    pub title: String,
    pub description: String,
    pub component: String,
    pub origin: String,
    pub origin_detail: String,
    /// The category in force: the override's, else the classification's.
    pub category: &'static str,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationView>,
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_: Option<OverrideView>,
    pub addons: Vec<AddonOwnershipView>,
    pub customer_components: Vec<String>,
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub resolution: String,
}

impl TicketView {
    pub fn from_pb(t: &pb::Ticket) -> TicketView {
        TicketView {
            kind: "Ticket",
            id: t.id.clone(),
            project: t.project.clone(),
            cluster_id: t.cluster_id.clone(),
            cluster: t.cluster_name.clone(),
            title: t.title.clone(),
            description: t.description.clone(),
            component: t.component.clone(),
            origin: t.origin.clone(),
            origin_detail: t.origin_detail.clone(),
            category: category_name(t.category),
            state: t.state.clone(),
            classification: t.classification.as_ref().map(ClassificationView::from_pb),
            override_: t.r#override.as_ref().map(|o| OverrideView {
                category: category_name(o.category),
                by: o.by.clone(),
                reason: o.reason.clone(),
                at: rfc3339(o.at.as_ref()),
            }),
            addons: t
                .addons
                .iter()
                .map(|a| AddonOwnershipView {
                    addon: a.addon.clone(),
                    ownership: a.ownership.clone(),
                    reason: a.reason.clone(),
                })
                .collect(),
            customer_components: t.customer_components.clone(),
            evidence: t.evidence.clone(),
            sla_due: rfc3339(t.sla_due.as_ref()),
            created_at: rfc3339(t.created_at.as_ref()),
            updated_at: rfc3339(t.updated_at.as_ref()),
            closed_at: rfc3339(t.closed_at.as_ref()),
            resolution: t.resolution.clone(),
        }
    }
}

impl Resource for TicketView {
    const KIND: &'static str = "ticket";
    fn name(&self) -> &str {
        &self.id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// The engine's confidence (an `f32` with two decimals) as the two-decimal `f64` it means, so
/// JSON shows `0.85` and not `0.8500000238418579`.
fn confidence(value: f32) -> f64 {
    (f64::from(value) * 100.0).round() / 100.0
}

/// The cluster's name, else its short id, else `-`.
fn cluster_label(t: &pb::Ticket) -> String {
    if !t.cluster_name.is_empty() {
        t.cluster_name.clone()
    } else {
        or_dash(&short_id(&t.cluster_id))
    }
}

fn rule_id(t: &pb::Ticket) -> String {
    or_dash(
        t.classification
            .as_ref()
            .and_then(|c| c.rule.as_ref())
            .map(|r| r.id.as_str())
            .unwrap_or_default(),
    )
}

/// `accord ticket list`.
pub fn list_table(items: &[pb::Ticket], now: OffsetDateTime) -> String {
    render(
        &["ID", "STATE", "CATEGORY", "RULE", "CLUSTER", "TITLE", "AGE"],
        items
            .iter()
            .map(|t| {
                let mut category = category_name(t.category).to_owned();
                if t.r#override.is_some() {
                    // Set by a person, not by the rule shown next to it.
                    category.push('*');
                }
                vec![
                    short_id(&t.id),
                    or_dash(&t.state),
                    category,
                    rule_id(t),
                    cluster_label(t),
                    truncate(&t.title, TITLE_WIDTH),
                    age(t.created_at.as_ref(), now),
                ]
            })
            .collect(),
    )
}

/// `2026-11-24T09:55:00Z (5m ago)`, or empty when absent.
fn when(timestamp: Option<&prost_types::Timestamp>, now: OffsetDateTime) -> String {
    match rfc3339(timestamp) {
        Some(text) => format!("{text} ({} ago)", age(timestamp, now)),
        None => String::new(),
    }
}

/// `2026-11-24T13:55:00Z (in 3h55m)` or `… (overdue by 5m)` while open.
fn due(timestamp: Option<&prost_types::Timestamp>, open: bool, now: OffsetDateTime) -> String {
    let (Some(text), Some(at)) = (rfc3339(timestamp), datetime(timestamp)) else {
        return String::new();
    };
    let seconds = (at - now).whole_seconds();
    if !open {
        text
    } else if seconds >= 0 {
        format!("{text} (in {})", human_duration(seconds))
    } else {
        format!("{text} (overdue by {})", human_duration(-seconds))
    }
}

/// `accord ticket get` / `create` (table form).
pub fn describe(t: &pb::Ticket, now: OffsetDateTime) -> String {
    let classification = t.classification.clone().unwrap_or_default();
    let rule = classification.rule.clone().unwrap_or_default();
    let open = t.state == "open";
    let mut doc = Doc::default();

    doc.field(0, "Ticket", t.id.clone())
        .field(0, "Title", t.title.clone())
        .field(0, "State", t.state.clone())
        .field(0, "Project", t.project.clone())
        .field(
            0,
            "Cluster",
            match (t.cluster_name.is_empty(), t.cluster_id.is_empty()) {
                (_, true) => t.cluster_name.clone(),
                (true, false) => t.cluster_id.clone(),
                (false, false) => format!("{} ({})", t.cluster_name, t.cluster_id),
            },
        )
        .field(
            0,
            "Opened By",
            match t.origin.as_str() {
                "platform" => format!("the platform (incident from {})", t.origin_detail),
                _ if t.origin_detail.is_empty() => t.origin.clone(),
                _ => format!("{} ({})", t.origin, t.origin_detail),
            },
        )
        .field(0, "Created", when(t.created_at.as_ref(), now));
    if !t.component.is_empty() {
        doc.field(0, "Component Hint", t.component.clone());
    }

    let mut category = category_name(t.category).to_owned();
    if let Some(o) = &t.r#override {
        category.push_str(&format!(
            " (overridden by {}: {}; the rule said {})",
            or_dash(&o.by),
            o.reason,
            category_name(classification.category)
        ));
    }
    doc.field(0, "Category", category)
        .field(
            0,
            "Concerns",
            match (
                classification.layer.is_empty(),
                classification.component.is_empty(),
            ) {
                (true, true) => String::new(),
                (false, true) => classification.layer.clone(),
                (true, false) => classification.component.clone(),
                (false, false) => {
                    format!("{} / {}", classification.layer, classification.component)
                }
            },
        )
        .field(0, "Rule", rule.id.clone())
        .field(0, "Why", rule.text.clone())
        .field(0, "Actions", classification.actions.join(", "))
        .field(
            0,
            "Confidence",
            format!(
                "{:.2}{}",
                confidence(classification.confidence),
                if classification.needs_review {
                    " (needs review by a support engineer)"
                } else {
                    ""
                }
            ),
        );
    if t.category == i32::from(pb::Category::Supported) && t.sla_due.is_some() {
        doc.field(0, "SLA Due", due(t.sla_due.as_ref(), open, now));
    }
    if t.state == "closed" {
        doc.field(0, "Closed", when(t.closed_at.as_ref(), now))
            .field(0, "Resolution", t.resolution.clone());
    }

    if t.category == i32::from(pb::Category::CustomerOwned) && !classification.checklist.is_empty()
    {
        doc.heading(0, "What to check");
        for item in &classification.checklist {
            doc.text(1, &format!("- {item}"));
        }
    }
    if !t.addons.is_empty() {
        doc.heading(0, "Add-on Ownership");
        doc.table(
            1,
            &["ADDON", "OWNERSHIP", "REASON"],
            t.addons
                .iter()
                .map(|a| vec![a.addon.clone(), a.ownership.clone(), or_dash(&a.reason)])
                .collect(),
        );
    }
    if !t.customer_components.is_empty() {
        doc.field(0, "Your Components", t.customer_components.join(", "));
    }
    if !t.evidence.is_empty() {
        doc.heading(0, "Evidence");
        for item in &t.evidence {
            doc.text(1, &format!("- {item}"));
        }
    }
    if !t.description.trim().is_empty() {
        doc.heading(0, "Description");
        for line in t.description.lines() {
            doc.text(1, line);
        }
    }
    doc.render()
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::output::timestamp;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

    /// A customer-owned ticket about cilium, as support-triage returns it.
    pub(crate) fn customer_owned() -> pb::Ticket {
        pb::Ticket {
            id: "tk-01jexample0000000000cilium1".into(),
            project: "pj-01jexample00000000000000acme".into(),
            cluster_id: "cl-01jexample000000000demo001".into(),
            cluster_name: "demo".into(),
            title: "pods on different nodes cannot reach each other since we changed the cilium \
                    config"
                .into(),
            description: "cilium-agent logs show policy drops\nstarted after our change".into(),
            component: "cilium".into(),
            origin: "customer".into(),
            origin_detail: "alice@example.com".into(),
            addons: vec![pb::AddonOwnershipEntry {
                addon: "cilium".into(),
                ownership: "customer-owned".into(),
                reason: "routing mode changed by the customer".into(),
            }],
            customer_components: vec!["istio".into()],
            evidence: vec![],
            classification: Some(pb::Classification {
                category: pb::Category::CustomerOwned.into(),
                layer: "networking".into(),
                component: "cni".into(),
                rule: Some(pb::Rule {
                    id: "cust-addon-customer-owned".into(),
                    text: "The add-on's configuration is the customer's.".into(),
                }),
                actions: vec!["answer-with-checklist".into()],
                checklist: vec![
                    "Compare your cilium overrides with the reference configuration".into(),
                    "Check the cilium-agent logs for drops".into(),
                ],
                confidence: 0.85,
                needs_review: false,
            }),
            r#override: None,
            category: pb::Category::CustomerOwned.into(),
            state: "open".into(),
            sla_due: None,
            created_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
            updated_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
            closed_at: None,
            resolution: String::new(),
        }
    }

    /// A platform incident, overridden to Supported by an operator.
    fn incident() -> pb::Ticket {
        let mut t = customer_owned();
        t.id = "tk-01jexample00000000incident2".into();
        t.title = "control plane of demo not ready".into();
        t.description = String::new();
        t.origin = "platform".into();
        t.origin_detail = "accord.cluster.condition-changed.v1".into();
        t.addons.clear();
        t.customer_components.clear();
        t.evidence = vec!["Ready=False ControlPlaneDegraded: 1/3 replicas running".into()];
        let c = t.classification.as_mut().unwrap();
        c.category = pb::Category::BestEffort.into();
        c.rule = Some(pb::Rule {
            id: "be-unclassified".into(),
            text: "Nothing matched.".into(),
        });
        c.needs_review = true;
        c.confidence = 0.3;
        t.r#override = Some(pb::Override {
            category: pb::Category::Supported.into(),
            by: "operator".into(),
            reason: "control plane is ours".into(),
            at: Some(timestamp(datetime!(2026-11-24 09:58:00 UTC))),
        });
        t.category = pb::Category::Supported.into();
        t.sla_due = Some(timestamp(datetime!(2026-11-24 13:55:00 UTC)));
        t
    }

    #[test]
    fn list_shows_short_ids_categories_and_truncated_titles() {
        let text = list_table(&[customer_owned(), incident()], NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "ID             STATE   CATEGORY         RULE                        CLUSTER   TITLE"
            ),
            "{text}"
        );
        assert_eq!(
            lines[1],
            "tk-…0cilium1   open    customer-owned   cust-addon-customer-owned   demo      \
             pods on different nodes cannot reach each other s…   5m"
        );
        // An override is marked: the rule shown did not decide the category.
        assert!(
            lines[2].contains("   supported*       be-unclassified   "),
            "{text}"
        );
        assert_eq!(truncate("short", 50), "short");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn customer_owned_document_says_what_to_check_and_whose_addon_it_is() {
        let text = describe(&customer_owned(), NOW);
        for expected in [
            "Ticket:          tk-01jexample0000000000cilium1\n",
            "Cluster:         demo (cl-01jexample000000000demo001)\n",
            "Opened By:       customer (alice@example.com)\n",
            "Category:        customer-owned\n",
            "Concerns:        networking / cni\n",
            "Rule:            cust-addon-customer-owned\n",
            "Why:             The add-on's configuration is the customer's.\n",
            "Confidence:      0.85\n",
            "What to check:\n  - Compare your cilium overrides with the reference configuration\n  - Check the cilium-agent logs for drops\n",
            "Add-on Ownership:\n  ADDON    OWNERSHIP        REASON\n  cilium   customer-owned   routing mode changed by the customer\n",
            "Your Components:  istio\n",
            "Description:\n  cilium-agent logs show policy drops\n  started after our change\n",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
        assert!(!text.contains("SLA"), "{text}");
        assert!(!text.contains("Evidence"), "{text}");
    }

    #[test]
    fn overridden_incident_shows_who_why_the_sla_and_the_evidence() {
        let text = describe(&incident(), NOW);
        for expected in [
            "Opened By:       the platform (incident from accord.cluster.condition-changed.v1)\n",
            "Category:        supported (overridden by operator: control plane is ours; the rule said best-effort)\n",
            "Confidence:      0.30 (needs review by a support engineer)\n",
            "SLA Due:         2026-11-24T13:55:00Z (in 3h55m)\n",
            "Evidence:\n  - Ready=False ControlPlaneDegraded: 1/3 replicas running\n",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
        assert!(!text.contains("What to check"), "{text}");

        let late = describe(&incident(), datetime!(2026-11-24 14:00:00 UTC));
        assert!(late.contains("(overdue by 5m)"), "{late}");

        let mut closed = incident();
        closed.state = "closed".into();
        closed.resolution = "replica replaced".into();
        closed.closed_at = Some(timestamp(datetime!(2026-11-24 09:59:00 UTC)));
        let text = describe(&closed, NOW);
        assert!(
            text.contains("SLA Due:         2026-11-24T13:55:00Z\n"),
            "{text}"
        );
        assert!(
            text.contains("Resolution:      replica replaced\n"),
            "{text}"
        );
    }

    #[test]
    fn json_view_has_names_and_two_decimal_confidence() {
        let value = TicketView::from_pb(&incident()).to_value().unwrap();
        assert_eq!(value["kind"], "Ticket");
        assert_eq!(value["category"], "supported");
        assert_eq!(value["classification"]["category"], "best-effort");
        assert_eq!(value["classification"]["confidence"], 0.3);
        assert_eq!(value["override"]["by"], "operator");
        assert_eq!(value["override"]["at"], "2026-11-24T09:58:00Z");
        assert_eq!(value["sla_due"], "2026-11-24T13:55:00Z");
        assert!(value.get("closed_at").is_none());
        let value = TicketView::from_pb(&customer_owned()).to_value().unwrap();
        assert_eq!(value["classification"]["confidence"], 0.85);
        assert_eq!(value["addons"][0]["ownership"], "customer-owned");
        assert!(value.get("override").is_none());
    }
}
