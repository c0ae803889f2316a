//! The nats-server configuration block for Accord's authentication (config mode, no operator or
//! JWT resolver), as text to `include` from, or append to, the server's config.
//!
//! Rendered shape (verified against nats-server 2.15.1, see the crate docs):
//!
//! ```text
//! accounts {
//!   ACCORD {
//!     jetstream: enabled
//!     users: [
//!       # provisioner
//!       { nkey: "U…", permissions: { publish: { allow: [...] }, subscribe: { allow: [...] } } }
//!       …
//!       # auth-callout responder
//!       { nkey: "U…", permissions: { … } }
//!     ]
//!   }
//! }
//! authorization {
//!   auth_callout {
//!     issuer: "A…"          # the callout issuer's account public key
//!     account: ACCORD       # where $SYS.REQ.USER.AUTH is sent
//!     auth_users: [ "U…", … ]  # bypass the callout: the responder AND every service user
//!   }
//! }
//! ```
//!
//! Invariants:
//! - Every service user and the responder are listed in `auth_users`. With `auth_callout`
//!   configured the server sends *every* client connection that is not an `auth_users` entry to
//!   the callout, even one whose static nkey authentication already succeeded; a service user
//!   left out of `auth_users` would be re-authenticated by the responder (and refused, as it
//!   carries no token).
//! - Every quoted string is a public key, an account name or a subject checked by
//!   [`check_config_string`]; subjects are always quoted (an unquoted `$JS…` would be read as a
//!   config variable).
//! - The block holds no server-level settings (`listen`, `jetstream { store_dir }`): the caller's
//!   config supplies them and must enable JetStream at the server level.

use std::fmt::Write as _;

use crate::error::AuthError;
use crate::keys::{KeyRing, ServiceUser};
use crate::permissions::{Permissions, callout_user_permissions, service_permissions};

/// The account every service user and every admitted customer belongs to.
pub const ACCOUNT: &str = "ACCORD";

/// What the config block is made of: public keys only, never seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Account name ([`ACCOUNT`] by default).
    pub account: String,
    /// Each service user's public nkey.
    pub services: Vec<(ServiceUser, String)>,
    /// The responder's public user nkey.
    pub callout_user: String,
    /// The callout issuer's public account nkey.
    pub issuer: String,
}

/// The account of the auth-callout responder alone (see [`AuthConfig::render`]).
pub const AUTH_ACCOUNT: &str = "ACCORD_AUTH";

impl AuthConfig {
    /// The config of the keys in `keys`, account [`ACCOUNT`].
    pub fn from_keys(keys: &KeyRing) -> AuthConfig {
        AuthConfig {
            account: ACCOUNT.to_owned(),
            services: ServiceUser::ALL
                .into_iter()
                .map(|user| (user, keys.service(user).public_key()))
                .collect(),
            callout_user: keys.callout_user().public_key(),
            issuer: keys.issuer().public_key(),
        }
    }

    /// Renders the block and writes it to `path` atomically (temporary file + rename), mode
    /// 0644: it holds public keys only, and the server may run as another user.
    pub fn write(&self, path: &std::path::Path) -> Result<(), AuthError> {
        let text = self.render()?;
        crate::keys::write_atomically(path, text.as_bytes(), 0o644)
    }

    /// The config block (see the module docs).
    pub fn render(&self) -> Result<String, AuthError> {
        check_account_name(&self.account)?;
        check_public_key(&self.issuer, 'A')?;
        check_public_key(&self.callout_user, 'U')?;
        for (_, key) in &self.services {
            check_public_key(key, 'U')?;
        }
        let mut out = String::new();
        out.push_str("# Accord NATS authentication (written by accord-nats-auth).\n");
        out.push_str("accounts {\n");
        let _ = writeln!(out, "  {} {{", self.account);
        out.push_str("    jetstream: enabled\n");
        out.push_str("    users: [\n");
        for (user, key) in &self.services {
            let _ = writeln!(out, "      # {user}");
            render_user(&mut out, key, &service_permissions(*user))?;
        }
        out.push_str("    ]\n  }\n");
        // The responder lives in an account of its own: the server sends the callout
        // requests (which carry customers' API keys) in that account, out of reach of every
        // service user (a JetStream stream on `$SYS.REQ.USER.AUTH` in ACCORD captures nothing).
        let _ = writeln!(out, "  {AUTH_ACCOUNT} {{");
        out.push_str("    users: [\n");
        out.push_str("      # auth-callout responder\n");
        render_user(&mut out, &self.callout_user, &callout_user_permissions())?;
        out.push_str("    ]\n  }\n}\n");
        out.push_str("authorization {\n  auth_callout {\n");
        let _ = writeln!(out, "    issuer: \"{}\"", self.issuer);
        let _ = writeln!(out, "    account: {AUTH_ACCOUNT}");
        out.push_str("    auth_users: [\n");
        let _ = writeln!(out, "      \"{}\"", self.callout_user);
        for (user, key) in &self.services {
            let _ = writeln!(out, "      \"{key}\" # {user}");
        }
        out.push_str("    ]\n  }\n}\n");
        Ok(out)
    }
}

fn render_user(out: &mut String, key: &str, perms: &Permissions) -> Result<(), AuthError> {
    let _ = writeln!(out, "      {{ nkey: \"{key}\", permissions: {{");
    render_direction(out, "publish", &perms.publish_allow, &perms.publish_deny)?;
    render_direction(
        out,
        "subscribe",
        &perms.subscribe_allow,
        &perms.subscribe_deny,
    )?;
    if perms.allow_responses {
        out.push_str("        allow_responses: true\n");
    }
    out.push_str("      } }\n");
    Ok(())
}

fn render_direction(
    out: &mut String,
    name: &str,
    allow: &[String],
    deny: &[String],
) -> Result<(), AuthError> {
    let _ = write!(out, "        {name}: {{");
    for (label, list) in [("allow", allow), ("deny", deny)] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, " {label}: [");
        for (i, subject) in list.iter().enumerate() {
            check_config_string(subject)?;
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}\"{subject}\"");
        }
        out.push(']');
    }
    out.push_str(" }\n");
    Ok(())
}

/// A subject may go inside double quotes: printable ASCII, no quote, backslash or whitespace.
pub fn check_config_string(text: &str) -> Result<(), AuthError> {
    if text.is_empty()
        || !text
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    {
        return Err(AuthError::Config(format!(
            "{text:?} cannot be written into the server config"
        )));
    }
    Ok(())
}

fn check_account_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AuthError::Config(format!(
            "account name {name:?}: use A-Z, 0-9 and _, starting with a letter"
        )))
    }
}

fn check_public_key(key: &str, prefix: char) -> Result<(), AuthError> {
    let valid = key.starts_with(prefix) && nkeys::KeyPair::from_public_key(key).is_ok();
    if valid {
        Ok(())
    } else {
        Err(AuthError::Config(format!(
            "{key:?} is not a public nkey starting with {prefix}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_user_and_the_callout() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_generate(dir.path()).unwrap();
        let text = AuthConfig::from_keys(&keys).render().unwrap();
        for user in ServiceUser::ALL {
            let key = keys.service(user).public_key();
            // Once as a user, once in auth_users.
            assert_eq!(text.matches(&key).count(), 2, "{user}");
        }
        assert!(text.contains(&format!("issuer: \"{}\"", keys.issuer().public_key())));
        assert!(text.contains("account: ACCORD_AUTH"));
        // Streams by name only: no user may create one on any subject.
        assert!(!text.contains("\"$JS.API.>\""));
        assert!(text.contains("\"$JS.API.STREAM.CREATE.ACCORD_EVENTS\""));
        assert!(!text.contains(&keys.issuer().seed().unwrap()));

        let path = dir.path().join("auth.conf");
        AuthConfig::from_keys(&keys).write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn refuses_unsafe_values() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_generate(dir.path()).unwrap();
        let mut config = AuthConfig::from_keys(&keys);
        config.account = "ACCORD }".into();
        assert!(config.render().is_err());
        let mut config = AuthConfig::from_keys(&keys);
        config.issuer = keys.callout_user().public_key();
        assert!(config.render().is_err());
        assert!(check_config_string("a\"b").is_err());
        assert!(check_config_string("accord.evt.>").is_ok());
    }
}
