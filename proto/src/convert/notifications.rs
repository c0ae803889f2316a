//! Customer webhooks and their deliveries (`accord-notify` records) → `accord.support.v1`
//! messages. A webhook's secret goes on the wire only in `CreateWebhook`'s answer
//! ([`created_webhook`]).

use accord_notify::{Delivery, Webhook};

use crate::{convert::provisioner::ts, support::v1 as pb};

/// A webhook on the wire, without its secret.
pub fn webhook(w: &Webhook) -> pb::Webhook {
    pb::Webhook {
        id: w.id.to_string(),
        project: w.project.to_string(),
        url: w.url.clone(),
        kinds: w.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        created_at: Some(ts(w.created_at)),
        secret: String::new(),
    }
}

/// A webhook just created: with its secret (shown this once).
pub fn created_webhook(w: &Webhook) -> pb::Webhook {
    pb::Webhook {
        secret: w.secret.clone(),
        ..webhook(w)
    }
}

/// A delivery on the wire.
pub fn delivery(d: &Delivery) -> pb::Delivery {
    pb::Delivery {
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        webhook: d.webhook.to_string(),
        kind: d.kind.as_str().to_owned(),
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        next_attempt: d.next_attempt.map(ts),
        last_status: d.last_status.map(u32::from).unwrap_or_default(),
        last_error: d.last_error.clone(),
        created_at: Some(ts(d.created_at)),
        delivered_at: d.delivered_at.map(ts),
    }
}

#[cfg(test)]
mod tests {
    use accord_core::ids::ProjectId;
    use accord_notify::{NotificationKind, WebhookId};
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn the_secret_is_rendered_only_at_creation() {
        let w = Webhook {
            id: WebhookId::generate(),
            project: ProjectId::generate(),
            url: "https://example.com/h".into(),
            kinds: vec![NotificationKind::IncidentOpened],
            secret: "whsec_abc".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(webhook(&w).secret, "");
        assert_eq!(created_webhook(&w).secret, "whsec_abc");
        assert_eq!(webhook(&w).kinds, ["incident-opened"]);
    }
}
