//! Domain errors to gRPC statuses: the one place that decides which code a refusal gets.
//!
//! Invariants:
//! - bad input maps to `INVALID_ARGUMENT`, with every field path in the message and in a
//!   `google.rpc.BadRequest` detail (field violations, through tonic-types), never to
//!   `INTERNAL` or `UNKNOWN`;
//! - a status message is at most [`MAX_MESSAGE_BYTES`] (cut on a character boundary with a
//!   note), so a reply stays readable for any gRPC client whatever the input was.

use accord_core::DomainError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// Longest status message sent (the `grpc-message` header).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Field violations listed in one `BadRequest` detail (the message names them all).
const MAX_DETAIL_VIOLATIONS: usize = 32;

/// The gRPC status for a domain error.
pub fn status_from(err: &DomainError) -> Status {
    let status = status_code_and_message(err);
    match err {
        DomainError::InvalidArgument(violations) => {
            let mut details = ErrorDetails::new();
            for v in violations.iter().take(MAX_DETAIL_VIOLATIONS) {
                details.add_bad_request_violation(
                    cap(&v.field, accord_core::limits::MAX_REF_BYTES),
                    cap(&v.description, MAX_MESSAGE_BYTES),
                );
            }
            Status::with_error_details(status.code(), status.message(), details)
        }
        _ => status,
    }
}

/// `text` cut to at most `max` bytes on a character boundary, saying so.
fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let note = format!(" … ({} bytes in all)", text.len());
    let mut end = max.saturating_sub(note.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &text[..end])
}

fn status_code_and_message(err: &DomainError) -> Status {
    let code = match err {
        DomainError::InvalidArgument(_) => Code::InvalidArgument,
        DomainError::NotFound { .. } => Code::NotFound,
        DomainError::AlreadyExists { .. } => Code::AlreadyExists,
        DomainError::FailedPrecondition(_) => Code::FailedPrecondition,
        DomainError::Aborted(_) => Code::Aborted,
        DomainError::Unauthenticated(_) => Code::Unauthenticated,
        DomainError::PermissionDenied(_) => Code::PermissionDenied,
        DomainError::ResourceExhausted(_) => Code::ResourceExhausted,
        DomainError::Unavailable(_) => Code::Unavailable,
        DomainError::Internal(_) => Code::Internal,
    };
    Status::new(code, cap(&message(err), MAX_MESSAGE_BYTES))
}

/// The canonical upper-case name of a gRPC code, as in the gRPC specification (used in
/// metrics labels and in the CLI's error lines).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The message without the code's name repeated in front of it.
fn message(err: &DomainError) -> String {
    match err {
        DomainError::InvalidArgument(v) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        DomainError::FailedPrecondition(m)
        | DomainError::Aborted(m)
        | DomainError::Unauthenticated(m)
        | DomainError::PermissionDenied(m)
        | DomainError::ResourceExhausted(m)
        | DomainError::Unavailable(m) => m.clone(),
        // The cause chain stays in the logs; the caller learns what failed, not how.
        DomainError::Internal(e) => e.message().to_owned(),
        other => other.to_string(),
    }
}

impl From<DomainErrorStatus> for Status {
    fn from(e: DomainErrorStatus) -> Self {
        status_from(&e.0)
    }
}

/// Wrapper so `?` turns a [`DomainError`] into a [`Status`] inside gRPC handlers.
#[derive(Debug)]
pub struct DomainErrorStatus(pub DomainError);

impl From<DomainError> for DomainErrorStatus {
    fn from(e: DomainError) -> Self {
        Self(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let cases = [
            (
                DomainError::invalid("spec.pod_cidr", "bad"),
                Code::InvalidArgument,
            ),
            (DomainError::not_found("cluster", "x"), Code::NotFound),
            (
                DomainError::precondition("pools left"),
                Code::FailedPrecondition,
            ),
            (DomainError::Aborted("stale".into()), Code::Aborted),
            (
                DomainError::PermissionDenied("no".into()),
                Code::PermissionDenied,
            ),
            (DomainError::Unavailable("bus".into()), Code::Unavailable),
        ];
        for (e, code) in cases {
            assert_eq!(status_from(&e).code(), code, "{e}");
        }
        let s = status_from(&DomainError::invalid("spec.pod_cidr", "not a CIDR"));
        assert_eq!(s.message(), "spec.pod_cidr: not a CIDR");
        let details = s.get_error_details();
        let bad = details.bad_request().expect("a BadRequest detail");
        assert_eq!(bad.field_violations.len(), 1);
        assert_eq!(bad.field_violations[0].field, "spec.pod_cidr");
        assert_eq!(bad.field_violations[0].description, "not a CIDR");
    }

    #[test]
    fn messages_are_capped_whatever_the_input() {
        let huge = "é".repeat(100_000);
        for e in [
            DomainError::invalid("name", huge.clone()),
            DomainError::PermissionDenied(huge.clone()),
            DomainError::not_found("cluster", &huge),
        ] {
            let s = status_from(&e);
            assert!(
                s.message().len() <= MAX_MESSAGE_BYTES,
                "{}",
                s.message().len()
            );
            assert!(s.message().contains("bytes in all"), "{e:?}");
        }
        let many: Vec<_> = (0..1000)
            .map(|i| accord_core::FieldViolation::new(format!("f{i}"), "bad"))
            .collect();
        let s = status_from(&DomainError::InvalidArgument(many));
        assert!(s.message().len() <= MAX_MESSAGE_BYTES);
        assert_eq!(
            s.get_error_details()
                .bad_request()
                .map(|b| b.field_violations.len()),
            Some(MAX_DETAIL_VIOLATIONS)
        );
    }
}
