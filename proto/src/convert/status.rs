//! Domain errors to gRPC statuses: the one place that decides which code a refusal gets.
//!
//! Invariant: bad input maps to `INVALID_ARGUMENT` (with every field path in the message and a
//! `google.rpc.BadRequest`-style listing), never to `INTERNAL` or `UNKNOWN`.

use accord_core::DomainError;
use tonic::{Code, Status};

/// The gRPC status for a domain error.
pub fn status_from(err: &DomainError) -> Status {
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
    Status::new(code, message(err))
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
    }
}
