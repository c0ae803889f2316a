//! The CloudEvents 1.0 envelope (structured-mode JSON) every Accord event travels in.
//!
//! ```json
//! {"specversion":"1.0","id":"01J…","source":"/accord/provisioner",
//!  "type":"accord.cluster.created.v1","subject":"01J…","time":"2026-11-24T10:00:00Z",
//!  "datacontenttype":"application/json","data":{…},"traceparent":"00-…"}
//! ```
//!
//! Invariants:
//! - `id` is a fresh ULID per event ([`new_event_id`]), strictly increasing within the process
//!   even inside one millisecond; it is also the outbox key (so the outbox replays in creation
//!   order) and the `Nats-Msg-Id` (so re-publishing after a crash is harmless).
//! - `type` is `accord.<resource>.<event>.v<version>` ([`accord_core::events::event_type`]),
//!   `subject` is the resource id and the extension attribute `project` the project the event
//!   belongs to (absent for platform events), so the NATS subject
//!   `accord.evt.<project|platform>.<resource>.<event>.<id>` can always be derived from the
//!   envelope alone ([`CloudEvent::nats_subject`]).
//! - Decoding is strict: `specversion` must be `1.0`; `id`, `source`, `type` and `time` must be
//!   present and non-empty; `datacontenttype`, when present, must be JSON. Unknown extension
//!   attributes are ignored.
//!
//! The envelope is serialised by hand with serde (the `cloudevents-sdk` NATS binding pins an old
//! async-nats).

use accord_core::events::{DomainEvent, PLATFORM_SCOPE, Scope, event_type};
use accord_core::outbox::OutboxEntry;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::trace::{self, TRACEPARENT};
use crate::{BusError, subjects};

/// The only CloudEvents version Accord speaks.
pub const SPEC_VERSION: &str = "1.0";
/// `datacontenttype` of every Accord event.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// `content-type` header of a structured-mode CloudEvent.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";
/// Largest encoded event a consumer accepts by default (the nats-server default `max_payload`).
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Largest encoded event [`CloudEvent::outbox_entry`] produces: [`MAX_EVENT_BYTES`] minus room
/// for headers, so an entry that was committed can always be published (a relay cannot skip an
/// entry it fails to publish).
pub const MAX_OUTBOX_EVENT_BYTES: usize = MAX_EVENT_BYTES - 16 * 1024;

/// A CloudEvents 1.0 event in structured JSON mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    /// Always `"1.0"`.
    pub specversion: String,
    /// ULID of the event; also the `Nats-Msg-Id`.
    pub id: String,
    /// URI-reference of the producer, e.g. `/accord/provisioner` (see [`service_source`]).
    pub source: String,
    /// `accord.<resource>.<event>.v<version>`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Id of the resource the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// RFC 3339 timestamp of when the event was created.
    pub time: String,
    /// Always `application/json`.
    #[serde(default = "default_content_type")]
    pub datacontenttype: String,
    /// The domain event, serialised.
    #[serde(default)]
    pub data: serde_json::Value,
    /// W3C trace context of the span that produced the event (Distributed Tracing extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The project the event belongs to (extension attribute); absent for platform events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

fn default_content_type() -> String {
    DATA_CONTENT_TYPE.to_owned()
}

/// A new event id: a ULID that sorts after every id this process generated before.
///
/// `Ulid::new()` draws fresh random bits on every call, so two ids from the same millisecond sort
/// in random order — an outbox keyed by them would publish events of one transaction out of
/// order. A process-wide monotonic generator increments the random part instead.
pub fn new_event_id() -> String {
    static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
    GENERATOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .generate()
        // Overflow of the 80 random bits within one millisecond: practically impossible.
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

/// The `source` attribute for an Accord service: `/accord/<service>`.
pub fn service_source(service: &str) -> String {
    format!("/accord/{service}")
}

impl CloudEvent {
    /// Wraps a domain event of `scope`: fresh ULID id, current time, the current span's
    /// `traceparent`.
    ///
    /// Fails if the event's resource kind, name or resource id cannot be subject tokens (so a
    /// bad event is refused when it is created, not when the relay tries to publish it).
    pub fn new(
        source: impl Into<String>,
        scope: Scope,
        event: &impl DomainEvent,
    ) -> Result<Self, BusError> {
        let resource_id = event.resource_id();
        // Validate now: the subject is derived from these values later.
        subjects::event(
            &scope.token(),
            event.resource(),
            event.event(),
            &resource_id,
        )?;
        let source = source.into();
        if source.is_empty() {
            return Err(BusError::InvalidEvent("source is empty".into()));
        }
        let time = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .map_err(|error| BusError::InvalidEvent(format!("format the event time: {error}")))?;
        let traceparent = trace::current_headers()
            .into_iter()
            .find_map(|(name, value)| (name == TRACEPARENT).then_some(value));
        Ok(CloudEvent {
            specversion: SPEC_VERSION.to_owned(),
            id: new_event_id(),
            source,
            r#type: event_type(event.resource(), event.event(), event.version()),
            subject: Some(resource_id),
            time,
            datacontenttype: DATA_CONTENT_TYPE.to_owned(),
            data: serde_json::to_value(event).map_err(BusError::Data)?,
            traceparent,
            project: scope.project().map(|p| p.to_string()),
        })
    }

    /// Deserialises `data` into the domain event type.
    pub fn decode_data<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        T::deserialize(&self.data).map_err(BusError::Data)
    }

    /// The structured-mode JSON encoding.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, BusError> {
        serde_json::to_vec(self).map_err(BusError::Data)
    }

    /// Strictly decodes structured-mode JSON (see the module invariants).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, BusError> {
        let event: CloudEvent = serde_json::from_slice(bytes)
            .map_err(|error| BusError::InvalidEvent(error.to_string()))?;
        event.validate()?;
        Ok(event)
    }

    /// Checks the attributes a decoder must insist on.
    pub fn validate(&self) -> Result<(), BusError> {
        if self.specversion != SPEC_VERSION {
            return Err(BusError::InvalidEvent(format!(
                "unsupported specversion {:?}",
                self.specversion
            )));
        }
        for (name, value) in [
            ("id", &self.id),
            ("source", &self.source),
            ("type", &self.r#type),
            ("time", &self.time),
        ] {
            if value.trim().is_empty() {
                return Err(BusError::InvalidEvent(format!("`{name}` is empty")));
            }
        }
        if OffsetDateTime::parse(&self.time, &Rfc3339).is_err() {
            return Err(BusError::InvalidEvent(format!(
                "`time` {:?} is not RFC 3339",
                self.time
            )));
        }
        let content_type = self.datacontenttype.split(';').next().unwrap_or("").trim();
        if content_type != DATA_CONTENT_TYPE && !content_type.ends_with("+json") {
            return Err(BusError::InvalidEvent(format!(
                "unsupported datacontenttype {:?}",
                self.datacontenttype
            )));
        }
        Ok(())
    }

    /// `(resource, event, version)` parsed from `type` (`accord.<resource>.<event>.v<n>`).
    pub fn type_parts(&self) -> Result<(&str, &str, u32), BusError> {
        let invalid = || {
            BusError::InvalidEvent(format!(
                "type {:?} is not accord.<resource>.<event>.v<version>",
                self.r#type
            ))
        };
        let mut parts = self.r#type.split('.');
        let (Some("accord"), Some(resource), Some(event), Some(version), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        let version = version
            .strip_prefix('v')
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(invalid)?;
        Ok((resource, event, version))
    }

    /// The NATS subject of this event:
    /// `accord.evt.<project|platform>.<resource>.<event>.<subject>`.
    pub fn nats_subject(&self) -> Result<String, BusError> {
        let (resource, event, _) = self.type_parts()?;
        let id = self
            .subject
            .as_deref()
            .ok_or_else(|| BusError::InvalidEvent("`subject` (resource id) is missing".into()))?;
        subjects::event(self.scope_token(), resource, event, id)
    }

    /// The subject token of the event's scope: its project, or `platform`.
    pub fn scope_token(&self) -> &str {
        self.project.as_deref().unwrap_or(PLATFORM_SCOPE)
    }

    /// The outbox entry that publishes this event: derived subject, encoded envelope, and the
    /// current span's trace headers (falling back to the envelope's `traceparent`).
    pub fn outbox_entry(&self) -> Result<OutboxEntry, BusError> {
        let subject = self.nats_subject()?;
        let payload = self.to_json_bytes()?;
        if payload.len() > MAX_OUTBOX_EVENT_BYTES {
            return Err(BusError::PayloadTooLarge {
                size: payload.len(),
                limit: MAX_OUTBOX_EVENT_BYTES,
            });
        }
        let mut headers = trace::current_headers();
        if !headers.iter().any(|(name, _)| name == TRACEPARENT)
            && let Some(traceparent) = &self.traceparent
        {
            headers.push((TRACEPARENT.to_owned(), traceparent.clone()));
        }
        headers.push((
            "content-type".to_owned(),
            STRUCTURED_CONTENT_TYPE.to_owned(),
        ));
        Ok(OutboxEntry {
            id: self.id.clone(),
            subject,
            payload,
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct ClusterCreated {
        cluster_id: String,
        name: String,
    }

    impl DomainEvent for ClusterCreated {
        fn resource(&self) -> &'static str {
            "cluster"
        }
        fn event(&self) -> &'static str {
            "created"
        }
        fn resource_id(&self) -> String {
            self.cluster_id.clone()
        }
    }

    const PROJECT: &str = "prj-01j0000000000000000000000p";

    fn scope() -> Scope {
        Scope::Project(PROJECT.parse().unwrap())
    }

    fn sample() -> ClusterCreated {
        ClusterCreated {
            cluster_id: "01JCLUSTER0000000000000000".into(),
            name: "gpu-prod".into(),
        }
    }

    #[test]
    fn round_trips_through_json() {
        let event = CloudEvent::new(service_source("provisioner"), scope(), &sample()).unwrap();
        assert_eq!(event.specversion, "1.0");
        assert_eq!(event.source, "/accord/provisioner");
        assert_eq!(event.r#type, "accord.cluster.created.v1");
        assert_eq!(event.subject.as_deref(), Some("01JCLUSTER0000000000000000"));
        assert!(ulid::Ulid::from_string(&event.id).is_ok());
        assert!(OffsetDateTime::parse(&event.time, &Rfc3339).is_ok());

        let bytes = event.to_json_bytes().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["type"], "accord.cluster.created.v1");
        assert_eq!(value["datacontenttype"], "application/json");
        assert_eq!(value["data"]["name"], "gpu-prod");

        let decoded = CloudEvent::from_json_bytes(&bytes).unwrap();
        assert_eq!(decoded, event);
        assert_eq!(decoded.decode_data::<ClusterCreated>().unwrap(), sample());
    }

    #[test]
    fn ids_are_unique_and_strictly_increasing() {
        let ids: Vec<String> = (0..10_000)
            .map(|_| {
                CloudEvent::new("/accord/test", scope(), &sample())
                    .unwrap()
                    .id
            })
            .collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "ids must sort in creation order"
        );
    }

    #[test]
    fn outbox_entry_derives_subject_and_payload() {
        let event = CloudEvent::new("/accord/provisioner", scope(), &sample()).unwrap();
        let entry = event.outbox_entry().unwrap();
        assert_eq!(entry.id, event.id);
        assert_eq!(
            entry.subject,
            format!("accord.evt.{PROJECT}.cluster.created.01JCLUSTER0000000000000000")
        );
        assert_eq!(event.project.as_deref(), Some(PROJECT));
        // A platform event names no project and is published under `platform`.
        let platform = CloudEvent::new("/accord/test", Scope::Platform, &sample()).unwrap();
        assert_eq!(platform.project, None);
        assert!(
            !String::from_utf8(platform.to_json_bytes().unwrap())
                .unwrap()
                .contains("\"project\"")
        );
        assert_eq!(
            platform.outbox_entry().unwrap().subject,
            "accord.evt.platform.cluster.created.01JCLUSTER0000000000000000"
        );
        assert_eq!(CloudEvent::from_json_bytes(&entry.payload).unwrap(), event);
        assert!(
            entry
                .headers
                .contains(&("content-type".into(), STRUCTURED_CONTENT_TYPE.into()))
        );
        // No tracer installed in unit tests: no traceparent invented.
        assert!(!entry.headers.iter().any(|(name, _)| name == TRACEPARENT));
    }

    #[test]
    fn outbox_entry_keeps_the_envelope_traceparent() {
        let mut event = CloudEvent::new("/accord/provisioner", scope(), &sample()).unwrap();
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        event.traceparent = Some(tp.into());
        let entry = event.outbox_entry().unwrap();
        assert!(entry.headers.contains(&(TRACEPARENT.into(), tp.into())));
    }

    #[test]
    fn refuses_outbox_entries_too_large_to_publish() {
        let big = ClusterCreated {
            cluster_id: "c1".into(),
            name: "x".repeat(MAX_OUTBOX_EVENT_BYTES),
        };
        let event = CloudEvent::new("/accord/test", Scope::Platform, &big).unwrap();
        assert!(matches!(
            event.outbox_entry(),
            Err(BusError::PayloadTooLarge {
                limit: MAX_OUTBOX_EVENT_BYTES,
                ..
            })
        ));
    }

    #[test]
    fn refuses_events_whose_ids_cannot_be_subject_tokens() {
        let bad = ClusterCreated {
            cluster_id: "a.b".into(),
            name: "x".into(),
        };
        assert!(matches!(
            CloudEvent::new("/accord/test", scope(), &bad),
            Err(BusError::InvalidSubjectToken { .. })
        ));
    }

    fn valid_json() -> serde_json::Value {
        json!({
            "specversion": "1.0",
            "id": "01JEVENT000000000000000000",
            "source": "/accord/test",
            "type": "accord.cluster.created.v1",
            "subject": "c1",
            "time": "2026-11-24T10:00:00Z",
            "datacontenttype": "application/json",
            "data": {"x": 1}
        })
    }

    #[test]
    fn strict_decode_rejects_missing_or_bad_required_attributes() {
        assert!(CloudEvent::from_json_bytes(valid_json().to_string().as_bytes()).is_ok());
        for missing in ["id", "type", "specversion", "source", "time"] {
            let mut value = valid_json();
            value.as_object_mut().unwrap().remove(missing);
            let err = CloudEvent::from_json_bytes(value.to_string().as_bytes()).unwrap_err();
            assert!(
                matches!(err, BusError::InvalidEvent(ref m) if m.contains(missing)),
                "missing {missing}: {err}"
            );
        }
        let cases = [
            ("specversion", json!("0.3")),
            ("id", json!("")),
            ("type", json!(" ")),
            ("time", json!("yesterday")),
            ("datacontenttype", json!("text/plain")),
            ("id", json!(42)),
        ];
        for (field, bad) in cases {
            let mut value = valid_json();
            value[field] = bad.clone();
            assert!(
                CloudEvent::from_json_bytes(value.to_string().as_bytes()).is_err(),
                "{field} = {bad} must be rejected"
            );
        }
        for garbage in [&b"not json"[..], b"", b"[]", b"{}", b"null"] {
            assert!(CloudEvent::from_json_bytes(garbage).is_err());
        }
    }

    #[test]
    fn decode_tolerates_extensions_and_absent_optional_attributes() {
        let mut value = valid_json();
        let object = value.as_object_mut().unwrap();
        object.remove("subject");
        object.remove("datacontenttype");
        object.remove("data");
        object.insert("someextension".into(), json!("x"));
        let event = CloudEvent::from_json_bytes(value.to_string().as_bytes()).unwrap();
        assert_eq!(event.subject, None);
        assert_eq!(event.datacontenttype, DATA_CONTENT_TYPE);
        assert_eq!(event.data, serde_json::Value::Null);
        assert!(event.nats_subject().is_err());
    }

    #[test]
    fn type_parts_parse_only_accord_types() {
        let mut event = CloudEvent::from_json_bytes(valid_json().to_string().as_bytes()).unwrap();
        assert_eq!(event.type_parts().unwrap(), ("cluster", "created", 1));
        assert_eq!(
            event.nats_subject().unwrap(),
            "accord.evt.platform.cluster.created.c1"
        );
        event.project = Some("prj-1".into());
        assert_eq!(
            event.nats_subject().unwrap(),
            "accord.evt.prj-1.cluster.created.c1"
        );
        // A project attribute that cannot be a subject token gives no subject.
        event.project = Some("a.b".into());
        assert!(event.nats_subject().is_err());
        event.project = None;
        for bad in [
            "com.example.created.v1",
            "accord.cluster.created",
            "accord.cluster.created.1",
            "accord.cluster.created.v1.extra",
        ] {
            event.r#type = bad.into();
            assert!(event.type_parts().is_err(), "{bad}");
        }
    }

    #[test]
    fn decode_data_reports_shape_mismatch() {
        let event = CloudEvent::new("/accord/test", scope(), &sample()).unwrap();
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Other {
            missing_field: u32,
        }
        assert!(matches!(
            event.decode_data::<Other>(),
            Err(BusError::Data(_))
        ));
    }
}
