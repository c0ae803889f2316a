//! Webhook signatures: receivers verify that a notification comes from Accord and was not
//! replayed long after it was sent.
//!
//! `X-Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the MAC is computed with
//! the webhook's secret (the `whsec_…` string as shown at creation, its bytes as the key) over
//! `"<t>.<body>"`. A receiver recomputes it over the raw body, compares in constant time and
//! rejects a `t` too far from its clock (five minutes is usual). Every attempt is signed anew.

use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-accord-signature";
/// The idempotency header: the notification's CloudEvents `id` (the same on every attempt).
pub const ID_HEADER: &str = "webhook-id";
/// Prefix of webhook secrets.
pub const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

/// A new webhook secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` with `secret`.
pub fn mac_hex(secret: &str, t: i64, body: &[u8]) -> String {
    // An HMAC key may be of any length: `new_from_slice` cannot fail for HMAC.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Accord-Signature` value for `body` sent at `t` (Unix seconds).
pub fn header_value(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", mac_hex(secret, t, body))
}

/// Checks a header value as a receiver would: the MAC matches (constant time) and `t` is
/// within `tolerance_secs` of `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_vector_computed_independently() {
        // Computed with Python's hmac module, not with this code:
        // hmac.new(b'key', b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            mac_hex("key", 1_700_000_000, br#"{"a":1}"#),
            "a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
        // hmac.new(b'whsec_test', b'1733000000.hello', hashlib.sha256).hexdigest()
        assert_eq!(
            header_value("whsec_test", 1_733_000_000, b"hello"),
            "t=1733000000,v1=ea1607a8b8a1cb77ff3986a6732a379f739b505abd13a846b7b1b48daf2dfac4"
        );
    }

    #[test]
    fn verify_accepts_its_own_and_refuses_tampering() {
        let secret = new_secret();
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == 6 + 64);
        let h = header_value(&secret, 1000, b"body");
        assert!(verify(&secret, &h, b"body", 1010, 300));
        assert!(!verify(&secret, &h, b"bodx", 1010, 300));
        assert!(!verify("whsec_other", &h, b"body", 1010, 300));
        assert!(!verify(&secret, &h, b"body", 5000, 300));
        assert!(!verify(&secret, "garbage", b"body", 1000, 300));
    }
}
