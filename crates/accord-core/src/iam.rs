//! Identity and access: principals, project roles and the API-key format.
//!
//! A principal is either a customer user acting inside one project (through an API key scoped
//! to that project) or the provider's operator. Roles are per project and ordered
//! Reader < Editor < Admin. Only a SHA-256 digest of a key's secret is ever stored; the secret is
//! shown once, when the key is created.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, ProjectId, UserId};

/// A role a user holds in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Read everything in the project.
    Reader,
    /// Reader, plus create, change and delete resources.
    Editor,
    /// Editor, plus manage members and API keys.
    Admin,
}

impl Role {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "reader" => Ok(Role::Reader),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role {} (expected admin, editor or reader)",
                crate::validation::quote(s)
            )),
        }
    }
}

/// Which side of the shared-responsibility model someone acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The cloud provider (operators of the platform).
    Provider,
    /// The customer (members of a project).
    Customer,
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Party::Provider => "provider",
            Party::Customer => "customer",
        })
    }
}

/// Who is calling, as established by authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    /// A customer user acting inside one project, with their current role there.
    Customer {
        /// The user.
        user: UserId,
        /// The user's display name (e-mail or handle).
        user_name: String,
        /// The project the key is scoped to.
        project: ProjectId,
        /// The user's role in that project, looked up when the key was verified.
        role: Role,
        /// The key used.
        key: ApiKeyId,
    },
    /// The provider's operator: performs provider-side actions, reads every project.
    ProviderOperator {
        /// Operator name, for audit.
        name: String,
        /// The key used.
        key: ApiKeyId,
    },
}

impl Principal {
    /// The side this principal acts for.
    pub fn party(&self) -> Party {
        match self {
            Principal::Customer { .. } => Party::Customer,
            Principal::ProviderOperator { .. } => Party::Provider,
        }
    }

    /// A short name for audit fields and messages.
    pub fn display_name(&self) -> &str {
        match self {
            Principal::Customer { user_name, .. } => user_name,
            Principal::ProviderOperator { name, .. } => name,
        }
    }
}

/// Prefix of every Accord API key.
pub const API_KEY_PREFIX: &str = "accord_";

/// A parsed bearer token `accord_<key-id>_<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyToken {
    /// The key's id (public part).
    pub id: ApiKeyId,
    /// The secret (never logged, never stored).
    pub secret: String,
}

impl fmt::Debug for ApiKeyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyToken")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl ApiKeyToken {
    /// Parses `accord_<key-id>_<secret>`; the error never echoes the secret.
    pub fn parse(token: &str) -> Result<Self, &'static str> {
        let rest = token
            .strip_prefix(API_KEY_PREFIX)
            .ok_or("API key must start with `accord_`")?;
        let (id, secret) = rest
            .rsplit_once('_')
            .ok_or("API key is not of the form accord_<id>_<secret>")?;
        let id = id
            .parse::<ApiKeyId>()
            .map_err(|_| "API key id part is malformed")?;
        if secret.len() < 32 || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("API key secret part is malformed");
        }
        Ok(Self {
            id,
            secret: secret.to_owned(),
        })
    }

    /// The full token string, as shown to the user once.
    pub fn render(&self) -> String {
        format!("{API_KEY_PREFIX}{}_{}", self.id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        let t = ApiKeyToken {
            id: ApiKeyId::generate(),
            secret: "a".repeat(40),
        };
        let parsed = ApiKeyToken::parse(&t.render()).unwrap();
        assert_eq!(parsed, t);
        assert!(!format!("{parsed:?}").contains("aaaa"));
    }

    #[test]
    fn token_rejects_malformed() {
        for bad in [
            "",
            "Bearer x",
            "accord_",
            "accord_key-xyz_secret",
            "nope_key_abc",
        ] {
            assert!(ApiKeyToken::parse(bad).is_err(), "{bad}");
        }
        let id = ApiKeyId::generate();
        assert!(ApiKeyToken::parse(&format!("accord_{id}_short")).is_err());
        assert!(ApiKeyToken::parse(&format!("accord_{id}_{}", "!".repeat(40))).is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Reader < Role::Editor && Role::Editor < Role::Admin);
        assert_eq!("Editor".parse::<Role>().unwrap(), Role::Editor);
        assert!("owner".parse::<Role>().is_err());
    }
}

/// The provisioner's answer to "who is this API key?", asked over NATS by every other service
/// (the provisioner owns keys and memberships; see `accord_bus::auth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum KeyVerification {
    /// The key is valid; the caller is this principal (with its current role).
    Verified {
        /// Who.
        principal: Principal,
    },
    /// Unknown, malformed or revoked key, or a user no longer in the project.
    Refused {
        /// Why, for the caller.
        message: String,
    },
}
