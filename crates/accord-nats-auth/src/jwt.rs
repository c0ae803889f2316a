//! NATS JWTs: encoding and verifying the three-part `header.claims.signature` tokens the server
//! and the callout exchange.
//!
//! What is done here and why: the Rust NATS JWT crates (`nats-jwt` 0.3, `nats-io-jwt` 0.1) build
//! operator/account/user JWTs only — neither has the auth-callout `authorization_request` /
//! `authorization_response` claims, neither sets a user JWT's `aud` (config mode places the user
//! in the account named there), neither decodes or verifies a JWT, and both panic on errors. So
//! the claims are plain serde structs (in [`crate::callout`]) mirroring `nats-io/jwt/v2`, and this
//! module only frames them: base64url (no padding, the `base64` crate) of the fixed header
//! `{"typ":"JWT","alg":"ed25519-nkey"}` and of the claims JSON, joined by `.`, signed over the
//! bytes of `header.claims` with Ed25519 through `nkeys::KeyPair::sign`, and verified with
//! `nkeys::KeyPair::verify` against the public nkey in `iss`. No cryptography is implemented
//! here; `jti` is a fresh ULID (the server does not recompute it).
//!
//! Invariants: [`decode_verified`] accepts a token only if it has exactly three parts, the header
//! names `ed25519-nkey` (or the v1 `ed25519`), `iss` is a public nkey with the expected prefix
//! and the signature verifies; the caller then checks the claims' meaning.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nkeys::KeyPair;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AuthError;

const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

#[derive(serde::Deserialize)]
struct Header {
    #[serde(default)]
    typ: String,
    #[serde(default)]
    alg: String,
}

#[derive(serde::Deserialize)]
struct IssuerOnly {
    #[serde(default)]
    iss: String,
}

/// Signs `claims` with `signer` and returns the JWT.
pub fn encode<T: Serialize>(
    claims: &T,
    signer: &KeyPair,
    what: &'static str,
) -> Result<String, AuthError> {
    let json = serde_json::to_vec(claims).map_err(|error| AuthError::Sign {
        what,
        reason: error.to_string(),
    })?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(json)
    );
    let signature = signer
        .sign(signing_input.as_bytes())
        .map_err(|error| AuthError::Sign {
            what,
            reason: error.to_string(),
        })?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Decodes `token`, checks its header and verifies its signature against its `iss`, which must
/// be a public nkey starting with `issuer_prefix` (`N` server, `A` account, …). Returns the claims
/// and the issuer.
pub fn decode_verified<T: DeserializeOwned>(
    token: &str,
    issuer_prefix: char,
) -> Result<(T, String), AuthError> {
    let bad = |reason: &str| AuthError::Request(reason.to_owned());
    let mut parts = token.trim().split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a three-part JWT"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| bad("header is not base64url"))?;
    let parsed: Header =
        serde_json::from_slice(&header_json).map_err(|_| bad("header is not JSON"))?;
    if !parsed.typ.eq_ignore_ascii_case("JWT")
        || !(parsed.alg == "ed25519-nkey" || parsed.alg == "ed25519")
    {
        return Err(bad("header is not an ed25519-nkey JWT header"));
    }
    let claims_json = URL_SAFE_NO_PAD
        .decode(claims)
        .map_err(|_| bad("claims are not base64url"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| bad("signature is not base64url"))?;
    let issuer: IssuerOnly =
        serde_json::from_slice(&claims_json).map_err(|_| bad("claims are not JSON"))?;
    if !issuer.iss.starts_with(issuer_prefix) {
        return Err(AuthError::Request(format!(
            "issuer is not a public nkey starting with {issuer_prefix}"
        )));
    }
    let key =
        KeyPair::from_public_key(&issuer.iss).map_err(|_| bad("issuer is not a public nkey"))?;
    let signing_input_len = header.len() + 1 + claims.len();
    let signing_input = token.trim().get(..signing_input_len).unwrap_or_default();
    key.verify(signing_input.as_bytes(), &signature)
        .map_err(|_| bad("signature does not verify"))?;
    let claims: T = serde_json::from_slice(&claims_json)
        .map_err(|error| AuthError::Request(format!("claims do not parse: {error}")))?;
    Ok((claims, issuer.iss))
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Claims {
        iss: String,
        sub: String,
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let key = KeyPair::new_account();
        let claims = Claims {
            iss: key.public_key(),
            sub: "x".into(),
        };
        let token = encode(&claims, &key, "test").unwrap();
        let (back, issuer): (Claims, String) = decode_verified(&token, 'A').unwrap();
        assert_eq!(back, claims);
        assert_eq!(issuer, key.public_key());

        // Wrong prefix expected.
        assert!(decode_verified::<Claims>(&token, 'N').is_err());

        // Claims swapped for other claims: the signature no longer verifies.
        let other = encode(
            &Claims {
                iss: key.public_key(),
                sub: "y".into(),
            },
            &KeyPair::new_account(),
            "test",
        )
        .unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let other_claims = other.split('.').nth(1).unwrap();
        parts[1] = other_claims;
        let forged = parts.join(".");
        assert!(decode_verified::<Claims>(&forged, 'A').is_err());

        // Signed by another key claiming to be `key`.
        let impostor = encode(&claims, &KeyPair::new_account(), "test").unwrap();
        assert!(decode_verified::<Claims>(&impostor, 'A').is_err());

        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert!(
                decode_verified::<Claims>(garbage, 'A').is_err(),
                "{garbage}"
            );
        }
    }
}
