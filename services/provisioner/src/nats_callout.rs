//! Customers' NATS connections: the provisioner owns API keys, so it answers the server's auth
//! callout. A connection presenting an Accord API key as its token gets a short-lived NATS
//! user that may subscribe to its project's events and nothing else (no publishing, no
//! commands, no other project); a provider operator's key gets read access to every event.
//! Every role of a project (Reader, Editor, Admin) may read its events.
//!
//! Revocation: a revoked key or a removed member is refused at the next connection at once
//! (the verdict reads the key store), and an existing connection ends when its grant expires
//! ([`NatsCallout::grant_ttl`], 60 s by default: the bound on how long a revoked key keeps
//! receiving events). The verdict ([`grant`]) is a pure function of the key check.

use std::{sync::Arc, time::Duration};

use accord_core::iam::{KeyVerification, Principal};
use accord_nats_auth::{
    Denied, Grant, Issuer, ResponderHandle, ResponderOptions, connect_callout_user, spawn_responder,
};
use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::auth::KeyAuthenticator;

/// Default lifetime of a customer's NATS grant.
pub const DEFAULT_GRANT_TTL: Duration = Duration::from_secs(60);

/// How the provisioner answers the NATS server's auth callout.
pub struct NatsCallout {
    /// The NATS server (the callout user's own connection).
    pub url: String,
    /// The callout user's nkey seed (a secret; listed in the server's `auth_users`).
    pub user_seed: String,
    /// The key grants are signed with (the server's `auth_callout.issuer`).
    pub issuer: Arc<accord_nats_auth::KeyPair>,
    /// How long a grant lives: an existing connection of a revoked key ends within it.
    pub grant_ttl: Duration,
    /// The CA the server's TLS certificate is verified with (`None`: plaintext or system
    /// roots).
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for NatsCallout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsCallout")
            .field("url", &self.url)
            .field("issuer", &self.issuer.public_key())
            .field("grant_ttl", &self.grant_ttl)
            .finish_non_exhaustive()
    }
}

/// The grant for a key check's answer: a customer reads their project's events, an operator
/// every event; a refused key is denied with the check's reason (logged by the server only).
pub fn grant(verification: KeyVerification, ttl: Duration) -> Result<Grant, Denied> {
    match verification {
        KeyVerification::Verified {
            principal: Principal::Customer { project, key, .. },
        } => Ok(Grant {
            principal: key.to_string(),
            project: Some(project.to_string()),
            ttl,
        }),
        KeyVerification::Verified {
            principal: Principal::ProviderOperator { key, .. },
        } => Ok(Grant {
            principal: key.to_string(),
            project: None,
            ttl,
        }),
        KeyVerification::Refused { message } => Err(Denied::new(message)),
    }
}

/// Starts answering the callout with the key store behind `verifier`; stops on `shutdown`.
pub async fn start(
    callout: NatsCallout,
    verifier: KeyAuthenticator,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let client = connect_callout_user(
        &callout.url,
        callout.user_seed,
        callout.tls_ca_file.as_deref(),
    )
    .await
    .context("connecting the auth-callout user to NATS")?;
    let verifier = Arc::new(verifier);
    let ttl = callout.grant_ttl;
    let verdict = move |token: accord_nats_auth::ApiToken| {
        let verifier = Arc::clone(&verifier);
        async move {
            // A key check is one store read: fast enough for the responder's task.
            grant(verifier.verification(token.expose()), ttl)
        }
    };
    let handle: ResponderHandle = spawn_responder(
        client,
        Issuer::new(callout.issuer),
        verdict,
        ResponderOptions::default(),
    )
    .await
    .context("subscribing to the NATS auth callout")?;
    tokio::spawn(async move {
        shutdown.cancelled().await;
        handle.stop().await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_core::{
        iam::Role,
        ids::{ApiKeyId, ProjectId, UserId},
    };

    #[test]
    fn customers_of_every_role_read_their_project_operators_read_all_refusals_are_denied() {
        let project = ProjectId::generate();
        for role in [Role::Reader, Role::Editor, Role::Admin] {
            let key = ApiKeyId::generate();
            let g = grant(
                KeyVerification::Verified {
                    principal: Principal::Customer {
                        user: UserId::generate(),
                        user_name: "ann".into(),
                        project,
                        role,
                        key,
                    },
                },
                DEFAULT_GRANT_TTL,
            )
            .unwrap();
            assert_eq!(g.project, Some(project.to_string()));
            assert_eq!(g.principal, key.to_string());
            assert_eq!(g.ttl, DEFAULT_GRANT_TTL);
        }
        let g = grant(
            KeyVerification::Verified {
                principal: Principal::ProviderOperator {
                    name: "ops".into(),
                    key: ApiKeyId::generate(),
                },
            },
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(g.project, None);
        let denied = grant(
            KeyVerification::Refused {
                message: "the API key was revoked".into(),
            },
            DEFAULT_GRANT_TTL,
        )
        .unwrap_err();
        assert!(denied.message.contains("revoked"), "{denied:?}");
    }
}
