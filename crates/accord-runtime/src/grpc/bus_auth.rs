//! [`BusAuthenticator`]: API-key authentication for services that do not own keys — each call
//! asks the provisioner over NATS (`accord_bus::auth`).
//!
//! Invariant: nothing is cached, so revocations and membership changes apply to the next call;
//! when the provisioner cannot be asked the call fails with `UNAVAILABLE`, never with a guess.

use accord_bus::Bus;
use accord_core::{
    DomainError,
    iam::{KeyVerification, Principal},
};
use futures::future::BoxFuture;

use super::Authenticator;

/// Authenticates by asking the provisioner.
#[derive(Clone)]
pub struct BusAuthenticator {
    bus: Bus,
}

impl BusAuthenticator {
    /// Asks through `bus`.
    pub fn new(bus: Bus) -> Self {
        Self { bus }
    }
}

impl Authenticator for BusAuthenticator {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>> {
        Box::pin(async move {
            match self.bus.verify_api_key(token).await {
                Ok(KeyVerification::Verified { principal }) => Ok(principal),
                Ok(KeyVerification::Refused { message }) => {
                    Err(DomainError::Unauthenticated(message))
                }
                Err(e) => Err(DomainError::Unavailable(format!(
                    "cannot verify the API key with the provisioner: {e}"
                ))),
            }
        })
    }
}
