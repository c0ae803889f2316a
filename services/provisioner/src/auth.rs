//! API-key authentication against the provisioner's own store, for its own RPCs and, over
//! NATS (`accord_bus::auth`), for every other service.
//!
//! Invariants: only the SHA-256 digest of a secret is stored and compared (in constant time);
//! the key, its revocation and the member's current role are read on every call, so a revoked
//! key or a removed member is refused at once.

use accord_core::{
    DomainError,
    iam::{ApiKeyToken, KeyVerification, Principal},
};
use accord_runtime::grpc::Authenticator;
use futures::future::BoxFuture;

use crate::{handlers::projects::digest, trees::Reader};

/// Verifies `accord_<id>_<secret>` tokens.
pub struct KeyAuthenticator {
    reader: Reader,
}

impl KeyAuthenticator {
    pub fn new(reader: Reader) -> Self {
        Self { reader }
    }

    /// The principal a token authenticates as.
    pub fn verify(&self, token: &str) -> Result<Principal, DomainError> {
        let bad = |m: &str| DomainError::Unauthenticated(m.to_owned());
        let t = ApiKeyToken::parse(token).map_err(bad)?;
        let rec = self
            .reader
            .api_key(t.id)?
            .ok_or_else(|| bad("unknown API key"))?;
        if !constant_time_eq(digest(&t.secret).as_bytes(), rec.secret_sha256.as_bytes()) {
            return Err(bad("unknown API key"));
        }
        if rec.revoked_at.is_some() {
            return Err(bad("this API key was revoked"));
        }
        if rec.operator {
            return Ok(Principal::ProviderOperator {
                name: rec.principal_name,
                key: rec.id,
            });
        }
        let (Some(project), Some(user)) = (rec.project, rec.user) else {
            return Err(DomainError::internal(format!(
                "API key {} has neither a project nor operator rights",
                rec.id
            )));
        };
        let member = self
            .reader
            .member(project, user)?
            .ok_or_else(|| bad("the key's user is no longer a member of its project"))?;
        Ok(Principal::Customer {
            user,
            user_name: member.user_name,
            project,
            role: member.role,
            key: rec.id,
        })
    }
}

impl KeyAuthenticator {
    /// The answer to another service's verification request.
    pub fn verification(&self, token: &str) -> KeyVerification {
        match self.verify(token) {
            Ok(principal) => KeyVerification::Verified { principal },
            Err(DomainError::Unauthenticated(message)) => KeyVerification::Refused { message },
            Err(other) => {
                tracing::warn!(error = %other, "API-key verification failed");
                KeyVerification::Refused {
                    message: "the API key could not be verified".to_owned(),
                }
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator for KeyAuthenticator {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>> {
        Box::pin(async move { self.verify(token) })
    }
}
