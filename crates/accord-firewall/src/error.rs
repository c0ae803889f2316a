//! Validation errors that name the field they are about (`rules[2].ports[1]`, `packet.to`).
//!
//! Invariant: a [`FieldErrors`] holds at most [`MAX_REPORTED_ERRORS`] errors and counts the
//! rest; messages quote input only through [`accord_core::validation::quote`] (bounded).

use std::fmt;

use serde::Serialize;

use crate::limits::MAX_REPORTED_ERRORS;

/// One refused field: its path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the field, e.g. `rules[2].ports[1]`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every refused field of one input (the first [`MAX_REPORTED_ERRORS`], and how many more).
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
    omitted: usize,
}

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error (counted only, once [`MAX_REPORTED_ERRORS`] are listed).
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(FieldError::new(field, message));
        } else {
            self.omitted += 1;
        }
    }

    /// Records every error of `other`.
    pub fn extend(&mut self, other: FieldErrors) {
        for error in other.errors {
            self.push(error.field, error.message);
        }
        self.omitted += other.omitted;
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.omitted == 0
    }

    /// The listed errors, in the order found.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Errors found beyond the listed ones.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// `Ok(value)` when nothing was refused, else these errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        let mut errors = FieldErrors::new();
        errors.push(error.field, error.message);
        errors
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        if self.omitted > 0 {
            write!(f, "; and {} more", self.omitted)?;
        }
        Ok(())
    }
}
