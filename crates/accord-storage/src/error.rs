//! The engine's errors: each names its field (`volume.size`, `class.parameters.type`) and says
//! which gRPC code the service answers with ([`ErrorKind`]).
//!
//! Invariant: messages quote a caller's value only through [`accord_core::validation::quote`]
//! (at most [`accord_core::error::ECHO_LIMIT`] characters); an [`StorageError::Invalid`] lists
//! at most [`MAX_REPORTED_ERRORS`] fields and counts the rest.

use std::fmt;

use accord_core::error::{DomainError, FieldViolation};
use serde::Serialize;

use crate::limits::MAX_REPORTED_ERRORS;

/// Which status the service maps an error to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    /// Malformed input: sizes off the steps, names too long, unknown parameters.
    InvalidArgument,
    /// A quota or a per-node limit would be exceeded.
    ResourceExhausted,
    /// Valid input, wrong state: attached, other region, NFS not enabled, too late to roll back.
    FailedPrecondition,
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `volume.size`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why the engine refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Bad input, every refused field (the first [`MAX_REPORTED_ERRORS`]) and how many more.
    #[error("{}", render_fields(.errors, *.omitted))]
    Invalid {
        /// The refused fields.
        errors: Vec<FieldError>,
        /// Refused fields beyond the listed ones.
        omitted: usize,
    },
    /// A project quota or a node's volume limit.
    #[error("{field}: {message}")]
    Exhausted {
        /// The field or quota, e.g. `quota.total_gib`, `node.disks`.
        field: String,
        /// The limit and the usage.
        message: String,
    },
    /// The request is valid but the resource's state does not allow it.
    #[error("{field}: {message}")]
    Precondition {
        /// The field the state is about, e.g. `volume.state`, `volume.region`.
        field: String,
        /// What is in the way.
        message: String,
    },
    /// Shared filesystems and shared StorageClasses need the provider to enable NFS first.
    #[error(
        "NFS is not enabled for project {project}: ask the provider to enable NFS for project {project}"
    )]
    NfsNotEnabled {
        /// The project (an id, bounded by the caller's validation).
        project: String,
    },
}

fn render_fields(errors: &[FieldError], omitted: usize) -> String {
    let mut out = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if omitted > 0 {
        out.push_str(&format!("; and {omitted} more"));
    }
    out
}

impl StorageError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Errors::new();
        errors.push(field, message);
        errors.into_error()
    }

    /// A quota or per-node limit.
    pub fn exhausted(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Exhausted {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A failed precondition about `field`.
    pub fn precondition(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Precondition {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The status the service answers with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. } => ErrorKind::InvalidArgument,
            Self::Exhausted { .. } => ErrorKind::ResourceExhausted,
            Self::Precondition { .. } | Self::NfsNotEnabled { .. } => ErrorKind::FailedPrecondition,
        }
    }

    /// The fields the error is about (`project` for the NFS gate).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::Invalid { errors, .. } => errors.iter().map(|e| e.field.as_str()).collect(),
            Self::Exhausted { field, .. } | Self::Precondition { field, .. } => vec![field],
            Self::NfsNotEnabled { .. } => vec!["project"],
        }
    }
}

impl From<StorageError> for DomainError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Invalid { errors, omitted } => {
                let mut violations: Vec<FieldViolation> = errors
                    .into_iter()
                    .map(|e| FieldViolation::new(e.field, e.message))
                    .collect();
                if omitted > 0 {
                    violations.push(FieldViolation::new(
                        "request",
                        format!("and {omitted} more invalid fields"),
                    ));
                }
                DomainError::InvalidArgument(violations)
            }
            StorageError::Exhausted { .. } => DomainError::ResourceExhausted(error.to_string()),
            StorageError::Precondition { .. } | StorageError::NfsNotEnabled { .. } => {
                DomainError::FailedPrecondition(error.to_string())
            }
        }
    }
}

/// Collects field errors so one request reports all of its problems at once.
#[derive(Debug, Default)]
pub struct Errors {
    errors: Vec<FieldError>,
    omitted: usize,
}

impl Errors {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error (counted only, once [`MAX_REPORTED_ERRORS`] are listed).
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            });
        } else {
            self.omitted += 1;
        }
    }

    /// The value of `result`, or its error recorded under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.push(field, message);
                None
            }
        }
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.omitted == 0
    }

    /// The collected errors as one [`StorageError::Invalid`].
    pub fn into_error(self) -> StorageError {
        StorageError::Invalid {
            errors: self.errors,
            omitted: self.omitted,
        }
    }

    /// `Ok(value)` when nothing was refused.
    pub fn into_result<T>(self, value: T) -> Result<T, StorageError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self.into_error())
        }
    }
}
