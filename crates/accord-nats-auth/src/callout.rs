//! The auth callout's pure part: read the server's authorization request, build the signed
//! answer.
//!
//! Protocol (nats-server ≥ 2.10, config mode, checked against 2.15.1 and `nats-io/jwt/v2`):
//! - For each client connection not listed in `auth_users`, the server publishes a JWT on
//!   [`AUTH_CALLOUT_SUBJECT`] in the callout account, with a reply subject. The JWT is signed by
//!   the server's own nkey (`iss` = `N…` = `nats.server_id.id`), `sub` = the configured issuer,
//!   `aud` = [`REQUEST_AUDIENCE`], `nats.type` = `authorization_request`, and carries a fresh user
//!   nkey (`nats.user_nkey`) the answer must be about, client info and the CONNECT options (the
//!   token is `nats.connect_opts.auth_token`). `exp` = now + the server's auth timeout.
//! - The answer is a JWT signed by the issuer account key: `sub` = that user nkey, `aud` = the
//!   server id, `nats.type` = `authorization_response`, and either `nats.jwt` (a user JWT) or
//!   `nats.error`. The server refuses an answer with a wrong subject, audience or issuer.
//! - The user JWT (`nats.type` = `user`), signed by the same issuer: `sub` = the user nkey, `aud`
//!   = the account to place the user in (config mode: an account *name*, here `ACCORD`),
//!   `exp` = when the server disconnects the client, `nats.pub`/`nats.sub` = permissions,
//!   `nats.subs`/`data`/`payload` = limits (-1 = none).
//!
//! Invariants:
//! - A token longer than [`MAX_TOKEN_LEN`] bytes, empty or absent is refused before any verdict
//!   runs ([`extract_token`]).
//! - The token is never part of an error, a log line or a `Debug` output ([`ApiToken`] redacts;
//!   [`Denied`] messages containing the token are replaced).
//! - A [`Grant`]'s project must be one plain subject token (`[A-Za-z0-9_-]`, ≤ 128 bytes), so it
//!   can never widen the subscription (`*`, `>`, `.`); its ttl is clamped to
//!   `[1 s, max_ttl]`. Admitted users can never publish.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use nkeys::KeyPair;
use serde::{Deserialize, Serialize};

use crate::config::ACCOUNT;
use crate::error::AuthError;
use crate::jwt;
use crate::permissions::{Permissions, grant_permissions};

/// Where the server sends authorization requests.
pub const AUTH_CALLOUT_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
/// The `aud` of every authorization request.
pub const REQUEST_AUDIENCE: &str = "nats-authorization-request";
/// Longest token looked up, in bytes.
pub const MAX_TOKEN_LEN: usize = 256;
/// Largest request JWT decoded, in bytes (requests carry client info and CONNECT options; TLS
/// client certificate chains are the largest part).
pub const MAX_REQUEST_LEN: usize = 64 * 1024;
/// Leeway for the request's `exp` (clock difference between server and responder).
pub const CLOCK_LEEWAY_SECS: i64 = 5;
/// Default subscription limit of an admitted user.
pub const DEFAULT_MAX_SUBSCRIPTIONS: i64 = 64;

/// A customer's credential (the CONNECT `auth_token`). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// The token text, for the key check.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken(<{} bytes>)", self.0.len())
    }
}

/// What the verdict admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who (an API key id or a member's name): the connection's user name in server logs.
    pub principal: String,
    /// The project whose events it may read; `None` = a platform operator reading every event.
    pub project: Option<String>,
    /// How long the connection may live; the server disconnects it afterwards.
    pub ttl: Duration,
}

/// Why the verdict refused. The message goes to the server (its log); the client only sees
/// "Authorization Violation".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// A reason safe to log: never the token.
    pub message: String,
}

impl Denied {
    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> Denied {
        Denied {
            message: message.into(),
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Facts about the connecting client, from the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Remote address.
    pub host: String,
    /// Server-assigned connection id.
    pub id: u64,
    /// Client name from CONNECT.
    pub name: String,
    /// Client library (`lang`) and version from CONNECT.
    pub lang: String,
    /// Library version.
    pub version: String,
    /// Connection kind (`Client`, …) and type (`nats`, `websocket`, `mqtt`, …).
    pub kind: String,
    /// Connection type.
    pub conn_type: String,
}

/// A decoded, verified authorization request.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The user nkey the answer must be about.
    pub user_nkey: String,
    /// The server's id (its public nkey): the answer's audience.
    pub server_id: String,
    /// The server's name.
    pub server_name: String,
    /// The client.
    pub client: ClientInfo,
    /// The token from CONNECT, if any.
    token: Option<String>,
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("user_nkey", &self.user_nkey)
            .field("server_id", &self.server_id)
            .field("server_name", &self.server_name)
            .field("client", &self.client)
            .field("token", &self.token.as_ref().map(|t| t.len()))
            .finish()
    }
}

#[cfg(test)]
impl AuthRequest {
    /// A request as if decoded, for the responder's tests.
    pub(crate) fn for_test(token: Option<&str>) -> AuthRequest {
        AuthRequest {
            user_nkey: KeyPair::new_user().public_key(),
            server_id: KeyPair::new_server().public_key(),
            server_name: "test".into(),
            client: ClientInfo::default(),
            token: token.map(str::to_owned),
        }
    }
}

// ---- wire claims (nats-io/jwt/v2 field names) ----

#[derive(Debug, Serialize, Deserialize)]
struct ClaimsData<N> {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    jti: String,
    #[serde(default)]
    iat: i64,
    #[serde(default)]
    iss: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(default)]
    sub: String,
    nats: N,
}

#[derive(Debug, Deserialize)]
struct RequestNats {
    #[serde(default)]
    server_id: ServerId,
    #[serde(default)]
    user_nkey: String,
    #[serde(default)]
    client_info: WireClientInfo,
    #[serde(default)]
    connect_opts: ConnectOpts,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    version: i64,
}

#[derive(Debug, Default, Deserialize)]
struct ServerId {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id: String,
}

#[derive(Debug, Default, Deserialize)]
struct WireClientInfo {
    #[serde(default)]
    host: String,
    #[serde(default)]
    id: u64,
    #[serde(default)]
    kind: String,
    #[serde(default, rename = "type")]
    conn_type: String,
}

#[derive(Default, Deserialize)]
struct ConnectOpts {
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    version: String,
}

impl fmt::Debug for ConnectOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOpts").finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
struct ResponseNats {
    #[serde(skip_serializing_if = "String::is_empty")]
    jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    #[serde(rename = "type")]
    kind: &'static str,
    version: i64,
}

#[derive(Debug, Serialize)]
struct UserNats {
    #[serde(rename = "pub")]
    publish: WirePermission,
    #[serde(rename = "sub")]
    subscribe: WirePermission,
    subs: i64,
    data: i64,
    payload: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    version: i64,
}

#[derive(Debug, Serialize)]
struct WirePermission {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allow: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deny: Vec<String>,
}

/// Decodes and verifies a request JWT from the server. `issuer` is the configured callout issuer
/// (the request's `sub`); `now` is Unix seconds.
pub fn decode_request(payload: &[u8], issuer: &str, now: i64) -> Result<AuthRequest, AuthError> {
    if payload.len() > MAX_REQUEST_LEN {
        return Err(AuthError::Request(format!(
            "{} bytes, more than {MAX_REQUEST_LEN}",
            payload.len()
        )));
    }
    let text = std::str::from_utf8(payload).map_err(|_| {
        AuthError::Request("not UTF-8 (an encrypted request? no xkey is configured)".into())
    })?;
    let (claims, server_key): (ClaimsData<RequestNats>, String) = jwt::decode_verified(text, 'N')?;
    let nats = claims.nats;
    let fail = |reason: String| Err(AuthError::Request(reason));
    if nats.kind != "authorization_request" {
        return fail(format!("type {:?} is not authorization_request", nats.kind));
    }
    if nats.version != 2 {
        return fail(format!("claims version {}", nats.version));
    }
    if claims.aud != REQUEST_AUDIENCE {
        return fail(format!("audience {:?}", claims.aud));
    }
    if claims.sub != issuer {
        return fail(format!("subject {:?} is not our issuer", claims.sub));
    }
    if nats.server_id.id != server_key {
        return fail("signed by a key other than the server id".into());
    }
    // The server always sets an expiry (its auth timeout): a request without one is forged.
    match claims.exp {
        None => return fail("no expiry".into()),
        Some(exp) if exp + CLOCK_LEEWAY_SECS < now => return fail("expired".into()),
        Some(_) => {}
    }
    if !nats.user_nkey.starts_with('U') || KeyPair::from_public_key(&nats.user_nkey).is_err() {
        return fail("user_nkey is not a public user nkey".into());
    }
    Ok(AuthRequest {
        user_nkey: nats.user_nkey,
        server_id: nats.server_id.id,
        server_name: nats.server_id.name,
        client: ClientInfo {
            host: nats.client_info.host,
            id: nats.client_info.id,
            name: nats.connect_opts.name,
            lang: nats.connect_opts.lang,
            version: nats.connect_opts.version,
            kind: nats.client_info.kind,
            conn_type: nats.client_info.conn_type,
        },
        token: nats
            .connect_opts
            .auth_token
            .filter(|token| !token.is_empty()),
    })
}

/// The request's token, if it may be looked up: present, non-empty, at most [`MAX_TOKEN_LEN`]
/// bytes.
pub fn extract_token(request: &AuthRequest) -> Result<ApiToken, Denied> {
    match &request.token {
        None => Err(Denied::new("no token presented")),
        Some(token) if token.len() > MAX_TOKEN_LEN => Err(Denied::new(format!(
            "token longer than {MAX_TOKEN_LEN} bytes"
        ))),
        Some(token) => Ok(ApiToken(token.clone())),
    }
}

/// Signs answers: the callout issuer's key and the account users are placed in.
#[derive(Clone)]
pub struct Issuer {
    key: Arc<KeyPair>,
    account: String,
    max_ttl: Duration,
    max_subscriptions: i64,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("public_key", &self.key.public_key())
            .field("account", &self.account)
            .field("max_ttl", &self.max_ttl)
            .field("max_subscriptions", &self.max_subscriptions)
            .finish()
    }
}

impl Issuer {
    /// An issuer signing with `key` (an account key) placing users in [`ACCOUNT`]; grants live
    /// at most 24 h and hold at most [`DEFAULT_MAX_SUBSCRIPTIONS`] subscriptions.
    pub fn new(key: Arc<KeyPair>) -> Issuer {
        Issuer {
            key,
            account: ACCOUNT.to_owned(),
            max_ttl: Duration::from_secs(24 * 3600),
            max_subscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
        }
    }

    /// Places users in `account` instead.
    pub fn with_account(mut self, account: impl Into<String>) -> Issuer {
        self.account = account.into();
        self
    }

    /// Caps every grant's ttl at `max_ttl`.
    pub fn with_max_ttl(mut self, max_ttl: Duration) -> Issuer {
        self.max_ttl = max_ttl;
        self
    }

    /// Sets the admitted users' subscription limit.
    pub fn with_max_subscriptions(mut self, max: i64) -> Issuer {
        self.max_subscriptions = max;
        self
    }

    /// The issuer's public account key (the config's `auth_callout.issuer`).
    pub fn public_key(&self) -> String {
        self.key.public_key()
    }

    /// The signed answer to `request`: a user JWT for a grant, an error for a refusal (or for a
    /// grant that is not acceptable, see [`check_grant`]). `now` is Unix seconds.
    pub fn respond(
        &self,
        request: &AuthRequest,
        verdict: Result<Grant, Denied>,
        now: i64,
    ) -> Result<String, AuthError> {
        let (user_jwt, error) = match verdict.and_then(|grant| check_grant(&grant).map(|()| grant))
        {
            Ok(grant) => (self.user_jwt(request, &grant, now)?, String::new()),
            Err(denied) => (String::new(), redact(&denied.message, request)),
        };
        let claims = ClaimsData {
            aud: request.server_id.clone(),
            exp: None,
            jti: ulid::Ulid::new().to_string(),
            iat: now,
            iss: self.key.public_key(),
            name: String::new(),
            sub: request.user_nkey.clone(),
            nats: ResponseNats {
                jwt: user_jwt,
                error,
                kind: "authorization_response",
                version: 2,
            },
        };
        jwt::encode(&claims, &self.key, "authorization response")
    }

    fn user_jwt(
        &self,
        request: &AuthRequest,
        grant: &Grant,
        now: i64,
    ) -> Result<String, AuthError> {
        let ttl = grant.ttl.clamp(
            Duration::from_secs(1),
            self.max_ttl.max(Duration::from_secs(1)),
        );
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let Permissions {
            publish_allow,
            publish_deny,
            subscribe_allow,
            subscribe_deny,
            allow_responses: _,
        } = grant_permissions(grant.project.as_deref());
        let claims = ClaimsData {
            aud: self.account.clone(),
            exp: Some(now.saturating_add(ttl_secs)),
            jti: ulid::Ulid::new().to_string(),
            iat: now,
            iss: self.key.public_key(),
            name: grant.principal.clone(),
            sub: request.user_nkey.clone(),
            nats: UserNats {
                publish: WirePermission {
                    allow: publish_allow,
                    deny: publish_deny,
                },
                subscribe: WirePermission {
                    allow: subscribe_allow,
                    deny: subscribe_deny,
                },
                subs: self.max_subscriptions,
                data: -1,
                payload: -1,
                kind: "user",
                version: 2,
            },
        };
        jwt::encode(&claims, &self.key, "user JWT")
    }
}

/// A grant is acceptable when its project is one plain subject token and its principal is a
/// short printable name.
pub fn check_grant(grant: &Grant) -> Result<(), Denied> {
    if let Some(project) = &grant.project {
        let plain = !project.is_empty()
            && project.len() <= 128
            && project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return Err(Denied::new(
                "the grant's project is not a plain subject token",
            ));
        }
        // `platform` is the scope of platform events, never a project.
        if project == accord_core::events::PLATFORM_SCOPE {
            return Err(Denied::new("the grant's project is the platform scope"));
        }
    }
    let principal_ok = !grant.principal.is_empty()
        && grant.principal.len() <= 128
        && grant.principal.chars().all(|c| c.is_ascii_graphic());
    if !principal_ok {
        return Err(Denied::new(
            "the grant's principal is not a short printable name",
        ));
    }
    Ok(())
}

/// `message`, unless it contains the request's token.
pub(crate) fn redact(message: &str, request: &AuthRequest) -> String {
    match &request.token {
        Some(token) if !token.is_empty() && message.contains(token.as_str()) => {
            "refused (reason withheld: it contained the credential)".to_owned()
        }
        _ if message.is_empty() => "refused".to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests;
