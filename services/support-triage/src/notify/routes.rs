//! Which events notify customers, as which [`NotificationKind`]: one table keyed by the
//! CloudEvents type. Adding a notification is a row here (and, for a new kind, a variant of
//! [`NotificationKind`]); the consumer enqueues whatever the table names.
//!
//! `ticket.opened` notifies only for incidents the platform opens (support-triage enqueues it
//! on its event path, in the commit that opens the incident); a ticket a customer files is
//! answered over the API.

use accord_notify::NotificationKind;

/// Event type → notification kind.
pub const ROUTES: &[(&str, NotificationKind)] = &[
    // every decision, whatever state the remediation starts in
    (
        "accord.remediation.decided.v1",
        NotificationKind::RemediationDecided,
    ),
    (
        "accord.remediation.succeeded.v1",
        NotificationKind::RemediationSucceeded,
    ),
    (
        "accord.remediation.failed.v1",
        NotificationKind::RemediationFailed,
    ),
    (
        "accord.remediation.held.v1",
        NotificationKind::RemediationHeld,
    ),
    ("accord.ticket.opened.v1", NotificationKind::IncidentOpened),
];

/// The notification an event of `event_type` gives, if any.
pub fn kind_of(event_type: &str) -> Option<NotificationKind> {
    ROUTES
        .iter()
        .find(|(t, _)| *t == event_type)
        .map(|(_, k)| *k)
}

#[cfg(test)]
mod tests {
    use accord_core::events::event_type;

    use super::*;

    #[test]
    fn routes_name_real_event_types_once() {
        for (t, _) in ROUTES {
            let mut parts = t.split('.');
            let (_, resource, event) = (parts.next(), parts.next(), parts.next());
            assert_eq!(*t, event_type(resource.unwrap(), event.unwrap(), 1), "{t}");
            assert_eq!(ROUTES.iter().filter(|(u, _)| u == t).count(), 1);
        }
        assert_eq!(
            kind_of("accord.remediation.held.v1"),
            Some(NotificationKind::RemediationHeld)
        );
        assert_eq!(kind_of("accord.remediation.step.v1"), None);
        assert_eq!(kind_of("accord.remediation.released.v1"), None);
    }
}
