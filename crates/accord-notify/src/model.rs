//! The records of customer notifications, as support-triage stores them and `accord-proto`
//! renders them: a project's [`Webhook`]s (where to send, which [`NotificationKind`]s, the
//! signing secret) and one [`Delivery`] per (event, webhook).
//!
//! Pure data and pure rules (no IO, no clock: callers pass `now`): the retry schedule
//! ([`next_attempt`]), when to give up ([`gives_up`]), and the bounds every record keeps
//! ([`MAX_WEBHOOKS_PER_PROJECT`], [`MAX_DELIVERIES_PER_PROJECT`], [`MAX_ERROR_BYTES`]).

use std::{fmt, str::FromStr, time::Duration};

use accord_core::ids::{Id, IdKind, ProjectId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Webhook ids: `wh-<ulid>`.
#[derive(Debug, Clone, Copy)]
pub struct WebhookKind;

impl IdKind for WebhookKind {
    const PREFIX: &'static str = "wh";
    const NAME: &'static str = "webhook";
}

/// A webhook's id (`wh-01j…`).
pub type WebhookId = Id<WebhookKind>;

/// Webhooks a project may register.
pub const MAX_WEBHOOKS_PER_PROJECT: usize = 10;
/// Delivery records kept per project: the newest; older finished ones are deleted by the commit
/// that adds new ones (pending ones stay until they finish).
pub const MAX_DELIVERIES_PER_PROJECT: usize = 1000;
/// Longest `last_error` kept on a delivery.
pub const MAX_ERROR_BYTES: usize = 512;
/// Largest notification body sent (a larger event is recorded as a failed delivery).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 20;
/// How long a delivery is tried before it is given up.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The wait after the first failed attempt; it doubles after each failure.
pub const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(600);

/// What a customer can be notified of. The wire and the CLI spell them as [`Self::as_str`].
///
/// Adding one: a variant here (with its name in [`Self::ALL`] and [`Self::as_str`]) and a row in
/// support-triage's event → notification table (`notify::routes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotificationKind {
    /// AutoClusters decided what to do about a node's finding (any action, any state).
    RemediationDecided,
    /// A remediation repaired or replaced the node.
    RemediationSucceeded,
    /// A remediation failed: the provider's on-call engineer takes over.
    RemediationFailed,
    /// A safety limit (maintenance window, in-flight or unhealthy limits) holds a remediation.
    RemediationHeld,
    /// The platform opened an incident about one of the project's clusters.
    IncidentOpened,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::RemediationDecided,
        NotificationKind::RemediationSucceeded,
        NotificationKind::RemediationFailed,
        NotificationKind::RemediationHeld,
        NotificationKind::IncidentOpened,
    ];

    /// The kind's name (`remediation-decided`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::RemediationDecided => "remediation-decided",
            NotificationKind::RemediationSucceeded => "remediation-succeeded",
            NotificationKind::RemediationFailed => "remediation-failed",
            NotificationKind::RemediationHeld => "remediation-held",
            NotificationKind::IncidentOpened => "incident-opened",
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`NotificationKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown notification kind {0:?}; known: remediation-decided, remediation-succeeded, remediation-failed, remediation-held, incident-opened"
)]
pub struct UnknownKind(pub String);

impl FromStr for NotificationKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.chars().take(64).collect()))
    }
}

/// A customer's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub project: ProjectId,
    /// Where notifications are POSTed (checked by [`crate::UrlPolicy`] when registered and
    /// before every delivery).
    pub url: String,
    /// The kinds it wants; empty: every kind, including kinds added later.
    pub kinds: Vec<NotificationKind>,
    /// The HMAC-SHA256 key of its signatures (`whsec_…`), shown to the customer once, at
    /// creation; kept to sign deliveries.
    pub secret: String,
    pub created_at: OffsetDateTime,
}

impl Webhook {
    /// Whether it wants notifications of `kind`.
    pub fn wants(&self, kind: NotificationKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    /// Not delivered yet: due at `next_attempt`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: a permanent refusal, or [`MAX_ATTEMPTS`] / [`GIVE_UP_AFTER`] reached.
    Failed,
}

impl DeliveryState {
    /// `pending`, `delivered` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// Delivered or failed: nothing more will be tried.
    pub fn is_final(self) -> bool {
        self != DeliveryState::Pending
    }
}

impl FromStr for DeliveryState {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            _ => Err(()),
        }
    }
}

/// One notification to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub project: ProjectId,
    pub webhook: WebhookId,
    /// The notification's CloudEvents `id` (also its `webhook-id` header): the bus event's id.
    pub event_id: String,
    /// Its CloudEvents `type` (`accord.remediation.decided.v1`).
    pub event_type: String,
    pub kind: NotificationKind,
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When it is due (pending only).
    pub next_attempt: Option<OffsetDateTime>,
    /// The last HTTP status the endpoint answered, if it answered.
    pub last_status: Option<u16>,
    /// The last failure, at most [`MAX_ERROR_BYTES`].
    pub last_error: String,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    /// The CloudEvents JSON document to send; dropped once the delivery is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones (≥ 1): 10 s doubling
/// to 10 min (10 s, 20 s, 40 s … 320 s, 600 s, 600 s …). No jitter: one sender, and records
/// fail at different times.
pub fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1u32 << doublings).min(MAX_RETRY)
}

/// When a delivery that failed its `attempts`-th attempt at `now` is tried next.
pub fn next_attempt(attempts: u32, now: OffsetDateTime) -> OffsetDateTime {
    now + retry_delay(attempts)
}

/// Whether a delivery created at `created_at` that has failed `attempts` times is given up at
/// `now` ([`MAX_ATTEMPTS`] attempts, or [`GIVE_UP_AFTER`] since it was created).
pub fn gives_up(attempts: u32, created_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    attempts >= MAX_ATTEMPTS || now - created_at >= GIVE_UP_AFTER
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_spell_alike_everywhere() {
        for k in NotificationKind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
            assert_eq!(k.as_str().parse::<NotificationKind>().unwrap(), k);
        }
        let err = "x".repeat(500).parse::<NotificationKind>().unwrap_err();
        assert_eq!(err.0.len(), 64);
    }

    #[test]
    fn backoff_doubles_to_ten_minutes_and_gives_up() {
        let secs: Vec<u64> = (1..=9).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(retry_delay(u32::MAX).as_secs(), 600);
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert!(!gives_up(19, t0, t0 + Duration::from_secs(3600)));
        assert!(gives_up(20, t0, t0 + Duration::from_secs(3600)));
        assert!(gives_up(3, t0, t0 + GIVE_UP_AFTER));
    }

    #[test]
    fn an_empty_kind_list_wants_everything() {
        let mut w = Webhook {
            id: WebhookId::generate(),
            project: ProjectId::generate(),
            url: "https://example.com/hook".into(),
            kinds: vec![],
            secret: "whsec_x".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(NotificationKind::ALL.iter().all(|k| w.wants(*k)));
        w.kinds = vec![NotificationKind::IncidentOpened];
        assert!(w.wants(NotificationKind::IncidentOpened));
        assert!(!w.wants(NotificationKind::RemediationHeld));
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("ééé", 3), "é");
        assert_eq!(cut("abc", 10), "abc");
    }
}
