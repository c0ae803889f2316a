//! The notification body: a bus event as a CloudEvents 1.0 structured-mode JSON document
//! (`Content-Type: application/cloudevents+json`), built with the platform's one envelope
//! ([`accord_bus::CloudEvent`]) so the specification is written down once.

use accord_bus::{BusError, CloudEvent};
use accord_core::events::{DomainEvent, Scope};

pub use accord_bus::envelope::STRUCTURED_CONTENT_TYPE as CONTENT_TYPE;

/// `event` of `scope` in the envelope, sent by `source` (`/accord/<service>`), with `id` as its
/// CloudEvents id when given (the bus event's id, so receivers can match it with the stream and
/// de-duplicate), a fresh ULID otherwise; `type` and `subject` as on the bus.
pub fn envelope(
    source: &str,
    id: Option<&str>,
    scope: Scope,
    event: &impl DomainEvent,
) -> Result<CloudEvent, BusError> {
    let mut ce = CloudEvent::new(source, scope, event)?;
    if let Some(id) = id {
        id.clone_into(&mut ce.id);
    }
    Ok(ce)
}

/// The JSON document of `ce`.
pub fn encode(ce: &CloudEvent) -> Result<Vec<u8>, BusError> {
    ce.to_json_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Happened {
        node: String,
    }

    impl DomainEvent for Happened {
        fn resource(&self) -> &'static str {
            "remediation"
        }
        fn event(&self) -> &'static str {
            "decided"
        }
        fn resource_id(&self) -> String {
            self.node.clone()
        }
    }

    #[test]
    fn is_a_structured_cloudevent_with_the_given_id() {
        let ev = Happened {
            node: "nd-1".into(),
        };
        let project = accord_core::ids::ProjectId::generate();
        let ce = envelope(
            "/accord/support-triage",
            Some("01JBUSEVENT"),
            Scope::Project(project),
            &ev,
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&encode(&ce).unwrap()).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["id"], "01JBUSEVENT");
        assert_eq!(json["type"], "accord.remediation.decided.v1");
        assert_eq!(json["source"], "/accord/support-triage");
        assert_eq!(json["subject"], "nd-1");
        assert_eq!(json["project"], project.to_string());
        assert_eq!(json["data"]["node"], "nd-1");
        assert_eq!(CONTENT_TYPE, "application/cloudevents+json");
    }
}
