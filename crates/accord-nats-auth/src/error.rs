//! The crate's error type.
//!
//! Invariant: no variant carries a seed or a customer's token. Messages name paths, public keys
//! and reasons only, so they can be logged as they are.

use std::path::PathBuf;

/// What can go wrong outside the callout verdict (which answers with
/// [`crate::callout::Denied`] instead).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Reading or writing a key file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file exists but cannot be used.
    #[error("key file {}: {reason}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why (never the seed itself).
        reason: String,
    },
    /// The server's authorization request was not acceptable (bad JWT, bad signature, wrong
    /// audience, expired, …). The responder does not answer such requests.
    #[error("authorization request refused: {0}")]
    Request(String),
    /// Encoding or signing a JWT failed.
    #[error("cannot sign the {what}: {reason}")]
    Sign {
        /// Which JWT.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A configuration value cannot be rendered safely (e.g. an invalid account name).
    #[error("invalid auth configuration: {0}")]
    Config(String),
    /// Talking to NATS failed.
    #[error("nats: {0}")]
    Nats(String),
}
