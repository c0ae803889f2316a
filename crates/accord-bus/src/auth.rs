//! API-key verification across services: the provisioner (which owns keys and memberships)
//! answers `accord.cmd.provisioner.apikey.verify`; every other service asks it on each call, so
//! a revoked key or a removed member is refused everywhere at once.
//!
//! The request carries the bearer token; deployments run NATS with TLS and per-service
//! credentials so only services can send or answer these requests.

use std::time::Duration;

use accord_core::iam::KeyVerification;
use bytes::Bytes;

use crate::{Bus, BusError, ServeHandle, subjects};

/// How long a service waits for the provisioner's answer.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(2);

/// The verification subject.
pub fn verify_subject() -> Result<String, BusError> {
    subjects::command("provisioner", "apikey", "verify")
}

impl Bus {
    /// Asks the provisioner who `token` is.
    pub async fn verify_api_key(&self, token: &str) -> Result<KeyVerification, BusError> {
        let reply = self
            .request(
                &verify_subject()?,
                Bytes::copy_from_slice(token.as_bytes()),
                VERIFY_TIMEOUT,
            )
            .await?;
        serde_json::from_slice(&reply).map_err(BusError::Data)
    }

    /// Serves key verification with `verify` (the provisioner's key store).
    pub async fn serve_key_verification<F>(&self, verify: F) -> Result<ServeHandle, BusError>
    where
        F: Fn(&str) -> KeyVerification + Send + Sync + 'static,
    {
        let verify = std::sync::Arc::new(verify);
        self.serve(&verify_subject()?, "provisioner", move |payload: Bytes| {
            let verify = std::sync::Arc::clone(&verify);
            async move {
                let answer = match std::str::from_utf8(&payload) {
                    Ok(token) => verify(token),
                    Err(_) => KeyVerification::Refused {
                        message: "the API key is not UTF-8".to_owned(),
                    },
                };
                // Encoding an enum of strings cannot fail; an empty reply reads as an error.
                Bytes::from(serde_json::to_vec(&answer).unwrap_or_default())
            }
        })
        .await
    }
}
