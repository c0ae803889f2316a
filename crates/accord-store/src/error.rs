//! The store's typed errors.
//!
//! Owns [`StoreError`] (what every public operation returns) and [`DecodeError`] (why bytes on
//! disk could not be read back). Callers map them to wire codes: [`StoreError::Conflict`] is a
//! stale `resource_version` / an existing or missing key (gRPC `ABORTED`, `ALREADY_EXISTS`,
//! `NOT_FOUND` depending on the [`Expect`](crate::Expect) the caller set), [`StoreError::Invalid`]
//! is a programming error in the caller, and everything else is an internal storage failure.

/// Everything that can go wrong in [`Store`](crate::Store) and [`Commit`](crate::Commit).
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-swap expectation failed; the whole commit was aborted and nothing changed.
    ///
    /// `expected` is one of `"absent"`, `"present"`, `"version N"`; `actual` is `"absent"` or
    /// `"version N"`.
    #[error("conflict on {tree}/{key}: expected {expected}, found {actual}")]
    Conflict {
        tree: String,
        key: String,
        expected: String,
        actual: String,
    },
    /// A value could not be serialized when it was added to a commit.
    #[error("cannot encode value for {tree}/{key}")]
    Encode {
        tree: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    /// Bytes in the store could not be decoded (wrong type, corruption, or a foreign writer).
    #[error("cannot decode {tree}/{key}")]
    Decode {
        tree: String,
        key: String,
        #[source]
        source: DecodeError,
    },
    /// The caller built an invalid request (e.g. the same key twice in one commit).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// sled reported an I/O error, corruption or a bug.
    #[error("storage error")]
    Sled(#[from] sled::Error),
    /// The store directory could not be created.
    #[error("cannot create store directory {path}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// True for a failed compare-and-swap expectation (the caller may re-read and retry).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// The domain error a service answers with: a conflict is a retryable race (`ABORTED`),
    /// anything else is the service's own fault (`INTERNAL`), never the caller's.
    pub fn into_domain(self) -> accord_core::DomainError {
        self.into()
    }

    pub(crate) fn decode(tree: &str, key: &[u8], source: DecodeError) -> Self {
        StoreError::Decode {
            tree: tree.to_owned(),
            key: String::from_utf8_lossy(key).into_owned(),
            source,
        }
    }
}

impl From<StoreError> for accord_core::DomainError {
    /// A conflict is a retryable race (`ABORTED`); anything else is the service's own fault
    /// (`INTERNAL`, keeping the store error as its cause), never the caller's.
    fn from(e: StoreError) -> Self {
        if e.is_conflict() {
            accord_core::DomainError::Aborted(format!("concurrent change, retry: {e}"))
        } else {
            accord_core::DomainError::Internal(accord_core::InternalError::caused_by("store", e))
        }
    }
}

/// Why stored bytes could not be decoded.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// A value is shorter than the 8-byte version header every value starts with.
    #[error("value is {len} bytes, shorter than the 8-byte version header")]
    Truncated { len: usize },
    /// The JSON body does not match the requested type.
    #[error("invalid JSON body")]
    Json(#[from] serde_json::Error),
    /// A key is not UTF-8 (every key this crate writes is a `&str`).
    #[error("key is not UTF-8")]
    KeyNotUtf8,
    /// An outbox record is malformed.
    #[error("malformed outbox record: {0}")]
    Outbox(&'static str),
}
