//! Domain errors: every way a request can be refused, independent of any wire protocol.
//!
//! `accord-proto` maps each variant to exactly one gRPC code; bad input is always
//! [`DomainError::InvalidArgument`] with the path of the offending field, never an internal error.

use std::fmt;

/// One invalid field: its path in the request (`spec.pod_cidr`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Dotted path of the field in the request, e.g. `spec.node_cidr_mask_size`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Why a domain operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed; each violation names a field.
    #[error("invalid argument: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The resource does not exist (or the caller may not know it exists).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Kind of resource, e.g. `cluster`.
        kind: &'static str,
        /// The id or name that was looked up.
        id: String,
    },
    /// A resource with that identity already exists.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists {
        /// Kind of resource.
        kind: &'static str,
        /// The conflicting name.
        name: String,
    },
    /// The request is valid but the system is not in a state that allows it.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// The caller's `resource_version` is stale.
    #[error("aborted: {0}")]
    Aborted(String),
    /// No or an invalid credential.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's role, or the responsibility matrix, does not allow this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A quota or capacity limit would be exceeded.
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// A dependency (the bus, the infrastructure) is down; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or a corrupted store: never caused by bad input. Keeps its cause.
    #[error("internal: {0}")]
    Internal(#[source] InternalError),
}

/// What went wrong inside a service, with the error that caused it (so `{:#}` and tracing
/// show the whole chain). Two internal errors are equal when their messages are.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct InternalError {
    message: String,
    #[source]
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl InternalError {
    /// An internal error without a cause.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An internal error caused by `source`.
    pub fn caused_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// The message, without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl PartialEq for InternalError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for InternalError {}

fn join(v: &[FieldViolation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// `field` may not change after creation.
    pub fn immutable(field: impl Into<String>) -> Self {
        Self::invalid(field, "field is immutable")
    }

    /// An internal error without a cause (use [`InternalError::caused_by`] when there is one).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(InternalError::new(message))
    }

    /// A failed precondition.
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::FailedPrecondition(message.into())
    }

    /// Not found.
    pub fn not_found(kind: &'static str, id: impl fmt::Display) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

/// Collects field violations so a request reports all of its problems at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Records the error of `result` under `field`, returning the value if any.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when empty, otherwise `InvalidArgument` with every violation.
    pub fn into_result(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::InvalidArgument(self.0))
        }
    }
}

/// How much of a caller's value an error message repeats.
pub const ECHO_LIMIT: usize = 64;

/// `value` as an error message may quote it: at most [`ECHO_LIMIT`] characters, control
/// characters escaped, and the original length when it was cut. Error messages never repeat
/// unbounded input.
pub fn echo(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    for c in chars.by_ref().take(ECHO_LIMIT) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push_str(&format!("… ({} bytes)", value.len()));
    }
    out
}
