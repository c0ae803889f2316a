//! Provider signatures over manifest ids: Ed25519 (`ed25519-dalek` 2), keys serialised as PEM —
//! PKCS#8 (RFC 8410) for the private key, SubjectPublicKeyInfo for the public one — so OpenSSL
//! reads and writes them (`openssl genpkey -algorithm ed25519`) and no format of our own needs
//! documenting.
//!
//! **What is signed.** The ASCII bytes of [`SIGNING_CONTEXT`] followed by the manifest id as
//! text (`sha256:<hex>`). The context prefix keeps a provider key's signature over a manifest
//! from meaning anything in another protocol that might reuse the key; the id as text makes the
//! message reproducible from the shell (checked by hand against OpenSSL 3.0 when this was
//! written; `-sign -inkey key.pem` gives the same 64 bytes, Ed25519 being deterministic):
//! `printf 'accord image manifest v1\nsha256:…' > msg;
//! openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg -sigfile sig.bin`.
//!
//! **Keys are made from caller bytes.** [`signing_key_from_seed`] takes 32 bytes the caller
//! drew from the OS's random source; the crate draws none, so tests are deterministic.
//!
//! **Verification says why it failed** ([`SignatureError`]): the manifest's id is not the one
//! signed (the manifest was changed: [`SignatureError::DigestMismatch`]), the signature names
//! another key ([`SignatureError::WrongKey`]), or the bytes do not verify
//! ([`SignatureError::BadSignature`], including a forged key id). `verify_strict` is used, so
//! small-order keys and non-canonical signature encodings are refused too.
//!
//! Invariant: a manifest passes [`verify_bytes`] only if the signature was made by the given key
//! over `sha256` of exactly these bytes.

use accord_core::error::{DomainError, FieldViolation};
use accord_core::validation::quote;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ImageError;
use crate::limits::{MAX_KEY_PEM_CHARS, MAX_SIGNATURE_CHARS};
use crate::manifest::{ManifestId, SealedManifest};

/// Prefix of every signed message.
pub const SIGNING_CONTEXT: &str = "accord image manifest v1\n";
/// Prefix of every key id.
pub const KEY_ID_PREFIX: &str = "ed25519:";
/// Hex digits of a key id after its prefix (64 bits of the key's SHA-256: a label to tell keys
/// apart, not a security boundary — verification always uses the key itself).
pub const KEY_ID_HEX: usize = 16;

/// A signature over a manifest id, as stored next to the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSignature {
    /// The id that was signed.
    pub manifest_id: ManifestId,
    /// The signer's [`key_id`].
    pub key_id: String,
    /// The 64-byte Ed25519 signature, standard base64.
    pub signature: String,
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The manifest is not the one that was signed.
    #[error("tampered manifest: its id is {actual} but the signature is over {signed}")]
    DigestMismatch {
        /// The id the signature names.
        signed: ManifestId,
        /// The id of the bytes presented.
        actual: ManifestId,
    },
    /// The signature names another key.
    #[error("wrong key: signed by {signed_by}, verified with {key}")]
    WrongKey {
        /// The key id the signature names (quoted, bounded).
        signed_by: String,
        /// The id of the key given.
        key: String,
    },
    /// The signature does not verify with the key over this id.
    #[error("bad signature: does not verify with key {key}")]
    BadSignature {
        /// The id of the key given.
        key: String,
    },
    /// A key or signature that does not decode.
    #[error("{field}: {message}")]
    Malformed {
        /// `signature.signature`, `signature.key_id`, `key`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl From<SignatureError> for DomainError {
    fn from(error: SignatureError) -> Self {
        match error {
            SignatureError::Malformed { field, message } => {
                DomainError::InvalidArgument(vec![FieldViolation::new(field, message)])
            }
            other => DomainError::FailedPrecondition(other.to_string()),
        }
    }
}

/// The signing key made from 32 random bytes the caller drew.
pub fn signing_key_from_seed(seed: [u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&seed)
}

/// `ed25519:` and the first [`KEY_ID_HEX`] hex digits of the SHA-256 of the raw public key.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("{KEY_ID_PREFIX}{}", &digest[..KEY_ID_HEX])
}

/// The bytes a signature covers: [`SIGNING_CONTEXT`] and the id as text.
pub fn signed_message(id: &ManifestId) -> Vec<u8> {
    format!("{SIGNING_CONTEXT}{id}").into_bytes()
}

/// Signs `id` with the provider's key.
pub fn sign(id: &ManifestId, key: &SigningKey) -> ManifestSignature {
    let signature = key.sign(&signed_message(id));
    ManifestSignature {
        manifest_id: id.clone(),
        key_id: key_id(&key.verifying_key()),
        signature: STANDARD.encode(signature.to_bytes()),
    }
}

/// Verifies `signature` over a sealed manifest.
pub fn verify(
    manifest: &SealedManifest,
    signature: &ManifestSignature,
    key: &VerifyingKey,
) -> Result<(), SignatureError> {
    verify_bytes(&manifest.bytes, signature, key)
}

/// Verifies `signature` over canonical manifest bytes (as stored or downloaded).
pub fn verify_bytes(
    canonical: &[u8],
    signature: &ManifestSignature,
    key: &VerifyingKey,
) -> Result<(), SignatureError> {
    let actual = ManifestId::of_bytes(canonical);
    if actual != signature.manifest_id {
        return Err(SignatureError::DigestMismatch {
            signed: signature.manifest_id.clone(),
            actual,
        });
    }
    let ours = key_id(key);
    if signature.key_id != ours {
        let well_formed = signature.key_id.len() == KEY_ID_PREFIX.len() + KEY_ID_HEX
            && signature.key_id.starts_with(KEY_ID_PREFIX);
        if !well_formed {
            return Err(malformed(
                "signature.key_id",
                format!(
                    "{} is not a key id (ed25519:<16 hex digits>)",
                    quote(&signature.key_id)
                ),
            ));
        }
        return Err(SignatureError::WrongKey {
            signed_by: signature.key_id.clone(),
            key: ours,
        });
    }
    let bytes = decode_signature(&signature.signature)?;
    key.verify_strict(&signed_message(&actual), &Signature::from_bytes(&bytes))
        .map_err(|_| SignatureError::BadSignature { key: ours })
}

fn decode_signature(text: &str) -> Result<[u8; 64], SignatureError> {
    const FIELD: &str = "signature.signature";
    if text.len() > MAX_SIGNATURE_CHARS {
        return Err(malformed(
            FIELD,
            format!(
                "must be at most {MAX_SIGNATURE_CHARS} characters (has {})",
                text.len()
            ),
        ));
    }
    let raw = STANDARD
        .decode(text)
        .map_err(|_| malformed(FIELD, "is not standard base64"))?;
    <[u8; 64]>::try_from(raw.as_slice())
        .map_err(|_| malformed(FIELD, format!("must be 64 bytes (has {})", raw.len())))
}

fn malformed(field: &str, message: impl Into<String>) -> SignatureError {
    SignatureError::Malformed {
        field: field.into(),
        message: message.into(),
    }
}

/// The private key as a PKCS#8 v1 PEM document (`-----BEGIN PRIVATE KEY-----`, RFC 8410), the
/// form `openssl genpkey -algorithm ed25519` writes. The caller stores it as a secret.
///
/// Written without the optional public key (PKCS#8 v2, what `ed25519-dalek` writes by default),
/// because OpenSSL 3.0 refuses that form; both forms are read.
pub fn signing_key_to_pem(key: &SigningKey) -> Result<String, ImageError> {
    let v1 = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    v1.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| ImageError::Internal(format!("encoding the signing key: {e}")))
}

/// Reads a PKCS#8 PEM private key.
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey, ImageError> {
    check_pem(pem)?;
    SigningKey::from_pkcs8_pem(pem)
        .map_err(|_| ImageError::invalid("key", "is not a PKCS#8 PEM Ed25519 private key"))
}

/// The public key as an SPKI PEM document (`-----BEGIN PUBLIC KEY-----`).
pub fn verifying_key_to_pem(key: &VerifyingKey) -> Result<String, ImageError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| ImageError::Internal(format!("encoding the verifying key: {e}")))
}

/// Reads an SPKI PEM public key.
pub fn verifying_key_from_pem(pem: &str) -> Result<VerifyingKey, ImageError> {
    check_pem(pem)?;
    VerifyingKey::from_public_key_pem(pem)
        .map_err(|_| ImageError::invalid("key", "is not an SPKI PEM Ed25519 public key"))
}

fn check_pem(pem: &str) -> Result<(), ImageError> {
    if pem.len() > MAX_KEY_PEM_CHARS {
        return Err(ImageError::invalid(
            "key",
            format!(
                "must be at most {MAX_KEY_PEM_CHARS} characters (has {})",
                pem.len()
            ),
        ));
    }
    Ok(())
}
