//! Signatures: keys from seeds and PEM, signing, and every way verification refuses.

use accord_core::error::DomainError;

use super::{production, sealed};
use crate::manifest::ManifestId;
use crate::signature::{KEY_ID_PREFIX, SIGNING_CONTEXT};
use crate::{
    ManifestSignature, SignatureError, key_id, sign, signed_message, signing_key_from_pem,
    signing_key_from_seed, signing_key_to_pem, verify, verify_bytes, verifying_key_from_pem,
    verifying_key_to_pem,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

fn signed() -> (
    crate::SealedManifest,
    ed25519_dalek::SigningKey,
    ManifestSignature,
) {
    let m = sealed(production());
    let key = signing_key_from_seed([7; 32]);
    let sig = sign(&m.id, &key);
    (m, key, sig)
}

#[test]
fn a_signature_verifies_with_its_key() {
    let (m, key, sig) = signed();
    verify(&m, &sig, &key.verifying_key()).unwrap();
    verify_bytes(&m.bytes, &sig, &key.verifying_key()).unwrap();
    assert_eq!(sig.manifest_id, m.id);
    assert_eq!(sig.key_id, key_id(&key.verifying_key()));
    // Deterministic: the same key signs the same id the same way.
    assert_eq!(sign(&m.id, &key), sig);
}

#[test]
fn the_message_is_the_context_and_the_id() {
    let (m, _, _) = signed();
    let text = String::from_utf8(signed_message(&m.id)).unwrap();
    assert_eq!(text, format!("{SIGNING_CONTEXT}{}", m.id));
}

#[test]
fn key_ids_are_short_and_prefixed() {
    let id = key_id(&signing_key_from_seed([1; 32]).verifying_key());
    assert!(id.starts_with(KEY_ID_PREFIX));
    assert_eq!(id.len(), KEY_ID_PREFIX.len() + 16);
    assert_ne!(id, key_id(&signing_key_from_seed([2; 32]).verifying_key()));
}

#[test]
fn flipping_any_byte_of_the_manifest_is_refused() {
    let (m, key, sig) = signed();
    for i in 0..m.bytes.len() {
        let mut bytes = m.bytes.clone();
        bytes[i] ^= 0x01;
        let err = verify_bytes(&bytes, &sig, &key.verifying_key()).unwrap_err();
        assert!(
            matches!(err, SignatureError::DigestMismatch { .. }),
            "byte {i}: {err}"
        );
        assert!(err.to_string().starts_with("tampered manifest"), "{err}");
    }
}

#[test]
fn flipping_any_byte_of_the_signature_is_refused() {
    let (m, key, sig) = signed();
    let raw = STANDARD.decode(&sig.signature).unwrap();
    for i in 0..raw.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut bad = raw.clone();
            bad[i] ^= flip;
            let forged = ManifestSignature {
                signature: STANDARD.encode(&bad),
                ..sig.clone()
            };
            let err = verify(&m, &forged, &key.verifying_key()).unwrap_err();
            assert!(
                matches!(err, SignatureError::BadSignature { .. }),
                "byte {i}: {err}"
            );
        }
    }
}

#[test]
fn a_signature_over_another_id_is_refused() {
    let (m, key, mut sig) = signed();
    sig.manifest_id = format!("sha256:{}", "00".repeat(32))
        .parse::<ManifestId>()
        .unwrap();
    let err = verify(&m, &sig, &key.verifying_key()).unwrap_err();
    assert!(
        matches!(err, SignatureError::DigestMismatch { .. }),
        "{err}"
    );
    // Re-pointing the id at the real manifest does not help: the bytes were signed over the
    // other id.
    let other = sign(&sig.manifest_id, &key);
    let moved = ManifestSignature {
        manifest_id: m.id.clone(),
        ..other
    };
    let err = verify(&m, &moved, &key.verifying_key()).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }), "{err}");
}

#[test]
fn the_wrong_key_is_named() {
    let (m, _, sig) = signed();
    let other = signing_key_from_seed([8; 32]).verifying_key();
    let err = verify(&m, &sig, &other).unwrap_err();
    assert!(matches!(err, SignatureError::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains(&sig.key_id), "{err}");
    // Claiming the other key's id does not make the signature verify with it.
    let claimed = ManifestSignature {
        key_id: key_id(&other),
        ..sig
    };
    let err = verify(&m, &claimed, &other).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }), "{err}");
}

#[test]
fn malformed_signatures_are_invalid_arguments() {
    let (m, key, sig) = signed();
    let vk = key.verifying_key();
    for (bad, field) in [
        (
            ManifestSignature {
                signature: "***".into(),
                ..sig.clone()
            },
            "signature.signature",
        ),
        (
            ManifestSignature {
                signature: STANDARD.encode([0u8; 32]),
                ..sig.clone()
            },
            "signature.signature",
        ),
        (
            ManifestSignature {
                signature: "A".repeat(500),
                ..sig.clone()
            },
            "signature.signature",
        ),
        (
            ManifestSignature {
                key_id: "x".repeat(500),
                ..sig.clone()
            },
            "signature.key_id",
        ),
    ] {
        let err = verify(&m, &bad, &vk).unwrap_err();
        match &err {
            SignatureError::Malformed { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other}"),
        }
        assert!(err.to_string().len() < 200);
        assert!(matches!(
            DomainError::from(err),
            DomainError::InvalidArgument(_)
        ));
    }
    let err = verify(&m, &sig, &signing_key_from_seed([9; 32]).verifying_key()).unwrap_err();
    assert!(matches!(
        DomainError::from(err),
        DomainError::FailedPrecondition(_)
    ));
}

#[test]
fn keys_round_trip_through_pem() {
    let key = signing_key_from_seed([42; 32]);
    let private = signing_key_to_pem(&key).unwrap();
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{private}"
    );
    assert_eq!(
        signing_key_from_pem(&private).unwrap().to_bytes(),
        key.to_bytes()
    );
    let public = verifying_key_to_pem(&key.verifying_key()).unwrap();
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{public}"
    );
    assert_eq!(
        verifying_key_from_pem(&public).unwrap(),
        key.verifying_key()
    );
}

#[test]
fn bad_pem_is_refused_naming_the_key() {
    for pem in [
        "",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        assert_eq!(signing_key_from_pem(pem).unwrap_err().fields(), ["key"]);
        assert_eq!(verifying_key_from_pem(pem).unwrap_err().fields(), ["key"]);
    }
    let public = verifying_key_to_pem(&signing_key_from_seed([1; 32]).verifying_key()).unwrap();
    assert!(signing_key_from_pem(&public).is_err());
    let err = signing_key_from_pem(&"A".repeat(10_000)).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
}

/// RFC 8410 §10.3 and §10.1: the private key as OpenSSL writes it, and its public key.
const RFC8410_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";
const RFC8410_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
";

#[test]
fn keys_interoperate_with_openssl() {
    let key = signing_key_from_pem(RFC8410_PRIVATE).unwrap();
    assert_eq!(
        key.verifying_key(),
        verifying_key_from_pem(RFC8410_PUBLIC).unwrap()
    );
    // Written back in the same (v1) form, byte for byte.
    assert_eq!(signing_key_to_pem(&key).unwrap(), RFC8410_PRIVATE);
    assert_eq!(
        verifying_key_to_pem(&key.verifying_key()).unwrap(),
        RFC8410_PUBLIC
    );
}
