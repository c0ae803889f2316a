//! NATS authentication for Accord (config mode: no operator, no JWT resolver).
//!
//! - [`keys`]: the nkey seeds of every service user, the auth-callout responder's user and the
//!   callout issuer (an account key), generated once and kept as private files.
//! - [`permissions`]: who may publish and subscribe to what — one documented data table.
//! - [`config`]: the nats-server config block (account `ACCORD` with the service users and their
//!   permissions, the `auth_callout` section).
//! - [`callout`]: the pure part of the auth callout — verify the server's authorization request,
//!   sign the answer (a user JWT that can only subscribe to one project's events, or to all
//!   events for a platform operator, and can never publish; or a refusal).
//! - [`responder`]: the async responder on `$SYS.REQ.USER.AUTH`, with a caller-supplied verdict,
//!   bounded concurrency and a timeout.
//! - [`jwt`]: JWT framing; the signatures are `nkeys`' Ed25519 (see its docs for why no JWT crate).
//!
//! # Verified against nats-server 2.15.1 (`tests/server.rs`)
//!
//! - **Static users and the callout.** With `authorization { auth_callout { … } }` set, the
//!   server sends *every* client connection to the callout unless its user is listed in
//!   `auth_users` — including a statically configured nkey user whose signature already checked
//!   out (`processClientOrLeafAuthentication` runs the callout in a deferred block regardless of
//!   the static result). `auth_users` entries (nkey public keys here) bypass the callout and keep
//!   their static account and permissions. So every service user and the responder's user are in
//!   `auth_users`; the test `a_static_user_missing_from_auth_users_goes_through_the_callout`
//!   shows a service left out being refused while the responder is down. `auth_users` may name
//!   users of the callout `account` (all of ours are in `ACCORD`).
//! - **Config syntax that works** (rendered by [`config::AuthConfig::render`]): nkey users with
//!   `permissions { publish { allow/deny }, subscribe { allow/deny }, allow_responses }` inside
//!   `accounts { ACCORD { jetstream: enabled, users: [...] } }`, and
//!   `authorization { auth_callout { issuer: "A…", account: ACCORD, auth_users: ["U…", …] } }`.
//!   No system account, operator or resolver is needed; the server-level `jetstream {}` block
//!   comes from the including config. The `auth_callout` block is not reloadable (restart).
//! - **Requests** arrive on `$SYS.REQ.USER.AUTH` in the callout account, signed by the server
//!   (`iss` = server id `N…`, `sub` = our issuer, `aud` = `nats-authorization-request`), with the
//!   token in `nats.connect_opts.auth_token`. The reply subject is `$SYS._INBOX.<node>.<id>` —
//!   not `_INBOX.>` — so the responder's user gets `publish deny ">"` plus
//!   `allow_responses: true` (one reply per received request), which the server honours.
//! - **Answers**: an authorization-response JWT signed by the issuer (`sub` = the request's
//!   `user_nkey`, `aud` = the server id) embedding a user JWT with `aud` = `ACCORD` (config mode
//!   places the user in the account *named* by `aud`) is accepted; a JWT id (`jti`) that is not
//!   the claims hash is accepted (the server does not recompute it). An `error` answer refuses
//!   the client with "Authorization Violation"; the server logs the error text and redacts the
//!   token (`Token "[REDACTED]"`).
//! - **No responder**: the server waits for its auth timeout (2 s by default) and refuses the
//!   client with "Authorization Violation"; `auth_users` connect and work normally (core
//!   request/reply, JetStream streams, pull consumers, acks, object store).
//! - **Permission violations** are reported to the client as `-ERR 'Permissions Violation for
//!   Subscription to "…"'` / `'… for Publish to "…"'`, which async-nats 0.51 surfaces as
//!   `Event::ServerError(ServerError::Other(..))` on the event callback; the connection stays up
//!   and a refused publish is not delivered. `subscribe()` itself returns `Ok`.
//! - **Expiry**: when the user JWT's `exp` passes, the server sends "User Authentication
//!   Expired" (`Event::ServerError`) and closes the connection (`Event::Disconnected`); a client
//!   that reconnects goes through the callout again.
//! - The callout is not encrypted (no `xkey`): requests (with the customer's token) travel in
//!   clear inside the server to the one user allowed to subscribe `$SYS.REQ.USER.AUTH`; use TLS
//!   between the responder and the server when they are on different hosts.
//!
//! # NATS ownership
//!
//! `async-nats` belongs to `accord-bus` (clippy's `disallowed_methods`/`disallowed_types`). This
//! crate opts out for one purpose: the responder's own connection as the auth-callout user, which
//! `accord_bus::Bus` cannot open today (it has no credential options). Once `accord-bus` connects
//! with an nkey, [`responder::spawn_responder`] can take its client and the opt-out can go.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod callout;
pub mod config;
mod error;
pub mod jwt;
pub mod keys;
pub mod permissions;
pub mod responder;

pub use callout::{ApiToken, AuthRequest, ClientInfo, Denied, Grant, Issuer};
pub use config::{ACCOUNT, AuthConfig};
pub use error::AuthError;
pub use keys::{KeyRing, ServiceUser};
/// The nkey pair type the key ring holds (re-exported so callers need no `nkeys` of their own).
pub use nkeys::KeyPair;
pub use permissions::{Permissions, grant_permissions, service_permissions};
pub use responder::{
    ResponderHandle, ResponderOptions, Verdict, connect_callout_user, spawn_responder,
};
