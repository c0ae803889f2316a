//! Customer webhook views (what `-o json|yaml` prints), the `accord webhook list` and
//! `accord webhook deliveries` tables, and the document `accord webhook create` prints.
//!
//! JSON shapes (programs read them):
//! - a webhook: `kind` (`Webhook`), `id`, `project`, `url`, `kinds` (empty: every kind, including
//!   kinds added later), `created_at`, and `secret` only in `accord webhook create`'s answer —
//!   the one time the server sends it;
//! - a delivery: `kind` (`WebhookDelivery`), `event_id` (the `webhook-id` header the receiver
//!   saw), `event_type`, `webhook`, `notification_kind` (the wire's `kind`, renamed as
//!   `finding_kind` is for health findings, so `kind` stays the resource's), `state`,
//!   `attempts`, `next_attempt`, `last_status`, `last_error`, `created_at`, `delivered_at`.
//!   Every key is always present: no time, no HTTP status answered are `null`.
//!
//! Lists are `{"kind": "List", "items": [...]}` like every other list. Times are RFC 3339.

use accord_proto::support::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::describe::Doc;
use super::truncate;
use super::{Resource, age, datetime, human_duration, or_dash, rfc3339, short_id, tables::render};

/// Longest URL shown in the webhook table, in characters (`-o json|yaml` has all of it).
pub const URL_WIDTH: usize = 80;
/// Longest error shown in the delivery table, in characters (`-o json|yaml` has all of it).
pub const ERROR_WIDTH: usize = 60;

/// A webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub kind: &'static str,
    pub id: String,
    pub project: String,
    pub url: String,
    /// Empty: every kind.
    pub kinds: Vec<String>,
    pub created_at: Option<String>,
    /// The signing secret: only in `CreateWebhook`'s answer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
}

impl WebhookView {
    pub fn from_pb(w: &pb::Webhook) -> WebhookView {
        WebhookView {
            kind: "Webhook",
            id: w.id.clone(),
            project: w.project.clone(),
            url: w.url.clone(),
            kinds: w.kinds.clone(),
            created_at: rfc3339(w.created_at.as_ref()),
            secret: w.secret.clone(),
        }
    }
}

impl Resource for WebhookView {
    const KIND: &'static str = "webhook";
    fn name(&self) -> &str {
        &self.id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// One notification to one webhook.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub kind: &'static str,
    pub event_id: String,
    pub event_type: String,
    pub webhook: String,
    pub notification_kind: String,
    pub state: String,
    pub attempts: u32,
    pub next_attempt: Option<String>,
    /// The last HTTP status answered; `None` when the endpoint never answered.
    pub last_status: Option<u32>,
    pub last_error: String,
    pub created_at: Option<String>,
    pub delivered_at: Option<String>,
}

impl DeliveryView {
    pub fn from_pb(d: &pb::Delivery) -> DeliveryView {
        DeliveryView {
            kind: "WebhookDelivery",
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            webhook: d.webhook.clone(),
            notification_kind: d.kind.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            next_attempt: rfc3339(d.next_attempt.as_ref()),
            last_status: (d.last_status != 0).then_some(d.last_status),
            last_error: d.last_error.clone(),
            created_at: rfc3339(d.created_at.as_ref()),
            delivered_at: rfc3339(d.delivered_at.as_ref()),
        }
    }
}

impl Resource for DeliveryView {
    const KIND: &'static str = "webhookdelivery";
    fn name(&self) -> &str {
        &self.event_id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// The kinds a webhook receives, for people: `all` when it takes every kind.
pub fn kinds_label(kinds: &[String]) -> String {
    if kinds.is_empty() {
        "all".to_owned()
    } else {
        kinds.join(",")
    }
}

/// `accord webhook list`.
pub fn list_table(items: &[pb::Webhook], now: OffsetDateTime) -> String {
    render(
        &["ID", "URL", "KINDS", "AGE"],
        items
            .iter()
            .map(|w| {
                vec![
                    short_id(&w.id),
                    or_dash(&truncate(&w.url, URL_WIDTH)),
                    kinds_label(&w.kinds),
                    age(w.created_at.as_ref(), now),
                ]
            })
            .collect(),
    )
}

/// The NEXT/DELIVERED column: when a pending delivery is tried next (`in 40s`, `now`), how long
/// ago a delivered one arrived (`5m ago`); `-` otherwise.
pub fn next_or_delivered(d: &pb::Delivery, now: OffsetDateTime) -> String {
    match d.state.as_str() {
        "pending" => match datetime(d.next_attempt.as_ref()) {
            Some(next) if next > now => {
                format!("in {}", human_duration((next - now).whole_seconds()))
            }
            Some(_) => "now".to_owned(),
            None => "-".to_owned(),
        },
        "delivered" if d.delivered_at.is_some() => {
            format!("{} ago", age(d.delivered_at.as_ref(), now))
        }
        _ => "-".to_owned(),
    }
}

/// `accord webhook deliveries`.
pub fn deliveries_table(items: &[pb::Delivery], now: OffsetDateTime) -> String {
    render(
        &[
            "EVENT",
            "TYPE",
            "WEBHOOK",
            "STATE",
            "ATTEMPTS",
            "LAST STATUS",
            "NEXT/DELIVERED",
            "ERROR",
        ],
        items
            .iter()
            .map(|d| {
                vec![
                    or_dash(&d.event_id),
                    or_dash(&d.event_type),
                    or_dash(&short_id(&d.webhook)),
                    or_dash(&d.state),
                    d.attempts.to_string(),
                    if d.last_status == 0 {
                        "-".to_owned()
                    } else {
                        d.last_status.to_string()
                    },
                    next_or_delivered(d, now),
                    or_dash(&truncate(&d.last_error, ERROR_WIDTH)),
                ]
            })
            .collect(),
    )
}

/// What `accord webhook create` prints on stdout (table form): the webhook, then its secret.
pub fn created(w: &pb::Webhook) -> String {
    let mut doc = Doc::default();
    doc.field(0, "Webhook", w.id.clone())
        .field(0, "Project", w.project.clone())
        .field(0, "URL", w.url.clone())
        .field(
            0,
            "Kinds",
            if w.kinds.is_empty() {
                "all (including kinds added later)".to_owned()
            } else {
                w.kinds.join(", ")
            },
        )
        .field(
            0,
            "Created",
            rfc3339(w.created_at.as_ref()).unwrap_or_default(),
        );
    format!(
        "{}\nSigning secret (shown only this once):\n\n    {}\n",
        doc.render(),
        w.secret
    )
}

/// What `accord webhook create` says on stderr: the secret is shown once, and how a receiver
/// checks a notification with it.
pub const SECRET_NOTE: &str = "\
Store this secret now: it is shown only once and cannot be recovered (for a new one, delete the \
webhook and create it again).
Receivers verify each request: X-Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \
\"<t>.<body>\">, keyed with the secret's bytes as shown (whsec_ included) over the raw body; \
compare in constant time, reject a t far from your clock (five minutes is usual), and \
de-duplicate on the webhook-id header (the same on every attempt).";

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::output::timestamp;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

    /// A webhook taking every kind, as `CreateWebhook` answers (with its secret).
    pub(crate) fn created_all() -> pb::Webhook {
        pb::Webhook {
            id: "wh-01jexample000000000000ab12".into(),
            project: "pj-01jexample00000000000000acme".into(),
            url: "https://hooks.example.com/accord".into(),
            kinds: vec![],
            created_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
            secret: "whsec_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".into(),
        }
    }

    /// A webhook for two kinds, as listed (no secret).
    pub(crate) fn listed_two_kinds() -> pb::Webhook {
        pb::Webhook {
            id: "wh-01jexample000000000000cd34".into(),
            url: format!("https://hooks.example.com/{}", "x".repeat(100)),
            kinds: vec!["remediation-failed".into(), "incident-opened".into()],
            created_at: Some(timestamp(datetime!(2026-11-21 10:00:00 UTC))),
            secret: String::new(),
            ..created_all()
        }
    }

    /// A delivery being retried after a 503.
    pub(crate) fn pending() -> pb::Delivery {
        pb::Delivery {
            event_id: "01jexampleevent000000000001".into(),
            event_type: "accord.remediation.failed.v1".into(),
            webhook: "wh-01jexample000000000000ab12".into(),
            kind: "remediation-failed".into(),
            state: "pending".into(),
            attempts: 3,
            next_attempt: Some(timestamp(datetime!(2026-11-24 10:00:40 UTC))),
            last_status: 503,
            last_error: format!("HTTP 503 Service Unavailable: {}", "upstream ".repeat(20)),
            created_at: Some(timestamp(datetime!(2026-11-24 09:59:00 UTC))),
            delivered_at: None,
        }
    }

    /// A delivery that arrived.
    pub(crate) fn delivered() -> pb::Delivery {
        pb::Delivery {
            event_id: "01jexampleevent000000000002".into(),
            event_type: "accord.ticket.opened.v1".into(),
            kind: "incident-opened".into(),
            state: "delivered".into(),
            attempts: 1,
            next_attempt: None,
            last_status: 204,
            last_error: String::new(),
            delivered_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
            ..pending()
        }
    }

    /// A delivery given up on a connection failure (no status).
    fn failed() -> pb::Delivery {
        pb::Delivery {
            event_id: "01jexampleevent000000000003".into(),
            state: "failed".into(),
            attempts: 20,
            next_attempt: None,
            last_status: 0,
            last_error: "connection refused".into(),
            ..pending()
        }
    }

    #[test]
    fn list_shows_short_ids_cut_urls_kinds_and_ages() {
        let text = list_table(&[created_all(), listed_two_kinds()], NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID             URL "), "{text}");
        assert!(
            lines[0].ends_with("   KINDS                                AGE"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("wh-…0000ab12   https://hooks.example.com/accord   "),
            "{text}"
        );
        assert!(
            lines[1].ends_with("   all                                  5m"),
            "{text}"
        );
        let cut = truncate(&listed_two_kinds().url, URL_WIDTH);
        assert!(cut.ends_with('…') && cut.chars().count() == URL_WIDTH);
        assert!(
            lines[2].starts_with(&format!("wh-…0000cd34   {cut}   ")),
            "{text}"
        );
        assert!(
            lines[2].ends_with("   remediation-failed,incident-opened   3d"),
            "{text}"
        );
    }

    #[test]
    fn deliveries_table_says_when_next_and_cuts_errors() {
        let text = deliveries_table(&[pending(), delivered(), failed()], NOW);
        let lines: Vec<&str> = text.lines().collect();
        let cells = |line: &str| -> Vec<String> {
            line.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(
            cells(lines[0]),
            [
                "EVENT",
                "TYPE",
                "WEBHOOK",
                "STATE",
                "ATTEMPTS",
                "LAST STATUS",
                "NEXT/DELIVERED",
                "ERROR"
            ],
            "{text}"
        );
        let error = truncate(&pending().last_error, ERROR_WIDTH);
        assert!(error.ends_with('…'));
        assert_eq!(
            cells(lines[1]),
            [
                "01jexampleevent000000000001",
                "accord.remediation.failed.v1",
                "wh-…0000ab12",
                "pending",
                "3",
                "503",
                "in 40s",
                error.as_str(),
            ],
            "{text}"
        );
        assert_eq!(
            cells(lines[2]),
            [
                "01jexampleevent000000000002",
                "accord.ticket.opened.v1",
                "wh-…0000ab12",
                "delivered",
                "1",
                "204",
                "5m ago",
                "-",
            ],
            "{text}"
        );
        assert_eq!(
            cells(lines[3])[3..],
            ["failed", "20", "-", "-", "connection refused"],
            "{text}"
        );
        // A pending delivery already due.
        let mut due = pending();
        due.next_attempt = Some(timestamp(datetime!(2026-11-24 09:59:59 UTC)));
        assert_eq!(next_or_delivered(&due, NOW), "now");
    }

    #[test]
    fn created_document_shows_the_secret_once_and_says_so() {
        let text = created(&created_all());
        for expected in [
            "Webhook:  wh-01jexample000000000000ab12\n",
            "URL:      https://hooks.example.com/accord\n",
            "Kinds:    all (including kinds added later)\n",
            "Created:  2026-11-24T09:55:00Z\n",
            "\nSigning secret (shown only this once):\n\n    whsec_0011",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
        let text = created(&listed_two_kinds());
        assert!(
            text.contains("Kinds:    remediation-failed, incident-opened\n"),
            "{text}"
        );
        assert!(SECRET_NOTE.contains("shown only once"));
        assert!(SECRET_NOTE.contains("X-Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256"));
    }

    #[test]
    fn webhook_json_has_the_secret_only_when_created() {
        let value = WebhookView::from_pb(&created_all()).to_value().unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "created_at",
                "id",
                "kind",
                "kinds",
                "project",
                "secret",
                "url"
            ]
        );
        assert_eq!(value["kind"], "Webhook");
        assert_eq!(value["kinds"], serde_json::json!([]));
        assert_eq!(value["created_at"], "2026-11-24T09:55:00Z");
        assert!(value["secret"].as_str().unwrap().starts_with("whsec_"));

        let value = WebhookView::from_pb(&listed_two_kinds())
            .to_value()
            .unwrap();
        assert!(value.get("secret").is_none(), "{value}");
        assert_eq!(
            value["kinds"],
            serde_json::json!(["remediation-failed", "incident-opened"])
        );
    }

    #[test]
    fn delivery_json_keeps_every_key_and_renames_the_notification_kind() {
        let value = DeliveryView::from_pb(&pending()).to_value().unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "attempts",
                "created_at",
                "delivered_at",
                "event_id",
                "event_type",
                "kind",
                "last_error",
                "last_status",
                "next_attempt",
                "notification_kind",
                "state",
                "webhook",
            ]
        );
        assert_eq!(value["kind"], "WebhookDelivery");
        assert_eq!(value["notification_kind"], "remediation-failed");
        assert_eq!(value["next_attempt"], "2026-11-24T10:00:40Z");
        assert_eq!(value["last_status"], 503);
        assert!(value["delivered_at"].is_null());
        // The full error, not the table's cut.
        assert_eq!(value["last_error"], pending().last_error.as_str());

        let value = DeliveryView::from_pb(&failed()).to_value().unwrap();
        assert!(value["last_status"].is_null(), "{value}");
        assert!(value["next_attempt"].is_null(), "{value}");
    }
}
