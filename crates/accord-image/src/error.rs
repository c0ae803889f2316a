//! The engine's errors: each names its field (`manifest.kernel.version`,
//! `matrix.rules[3].a.version`, `image.status`) and says which gRPC code the service answers
//! with ([`ErrorKind`]).
//!
//! The compatibility gate's refusal ([`crate::compat::GateRefusal`]) and a failed signature
//! check ([`crate::signature::SignatureError`]) are their own types, because callers act on
//! their details (the conflicting pair, why the signature failed); both convert to
//! [`DomainError`] as well.
//!
//! Invariant: messages quote a caller's value only through [`accord_core::validation::quote`]
//! (at most [`accord_core::error::ECHO_LIMIT`] characters); an [`ImageError::Invalid`] lists at
//! most [`MAX_REPORTED_ERRORS`] fields and counts the rest.

use std::fmt;

use accord_core::error::{DomainError, FieldViolation, InternalError};
use serde::Serialize;

use crate::limits::MAX_REPORTED_ERRORS;

/// Which status the service maps an error to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    /// Malformed input: a missing or malformed field, an unknown Kubernetes minor or instance
    /// type, a matrix rule that does not parse.
    InvalidArgument,
    /// Valid input, wrong state: promoting a withdrawn image, the compatibility gate, a
    /// signature that does not verify.
    FailedPrecondition,
    /// A bug, never caused by input (the canonical serialiser refusing a manifest).
    Internal,
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `manifest.kernel.version`.
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
pub enum ImageError {
    /// Bad input, every refused field (the first [`MAX_REPORTED_ERRORS`]) and how many more.
    #[error("{}", render_fields(.errors, *.omitted))]
    Invalid {
        /// The refused fields.
        errors: Vec<FieldError>,
        /// Refused fields beyond the listed ones.
        omitted: usize,
    },
    /// The request is valid but the image's state does not allow it.
    #[error("{field}: {message}")]
    Precondition {
        /// The field the state is about, e.g. `image.status`, `image.channel`.
        field: String,
        /// What is in the way.
        message: String,
    },
    /// A bug: the engine could not do what its types promise.
    #[error("internal: {0}")]
    Internal(String),
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

impl ImageError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Errors::new();
        errors.push(field, message);
        errors.into_error()
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
            Self::Precondition { .. } => ErrorKind::FailedPrecondition,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The fields the error is about (none for an internal error).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::Invalid { errors, .. } => errors.iter().map(|e| e.field.as_str()).collect(),
            Self::Precondition { field, .. } => vec![field],
            Self::Internal(_) => Vec::new(),
        }
    }
}

impl From<ImageError> for DomainError {
    fn from(error: ImageError) -> Self {
        match error {
            ImageError::Invalid { errors, omitted } => {
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
            ImageError::Precondition { .. } => DomainError::FailedPrecondition(error.to_string()),
            ImageError::Internal(message) => DomainError::Internal(InternalError::new(message)),
        }
    }
}

/// Collects field errors so one input reports all of its problems at once.
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

    /// The collected errors as one [`ImageError::Invalid`].
    pub fn into_error(self) -> ImageError {
        ImageError::Invalid {
            errors: self.errors,
            omitted: self.omitted,
        }
    }

    /// `Ok(value)` when nothing was refused.
    pub fn into_result<T>(self, value: T) -> Result<T, ImageError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self.into_error())
        }
    }
}
