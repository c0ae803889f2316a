//! The provider's signing key on disk: PKCS#8 PEM (what `openssl genpkey -algorithm ed25519`
//! writes), readable by its owner only, with the SPKI public key beside it
//! (`<name>.pub.pem`), which is what other services and operators are given.
//!
//! Invariant: a key file once written is never replaced: [`load_or_create_signing_key`] reads
//! an existing key and generates one (from the operating system's random source) only when
//! none exists.

use std::path::{Path, PathBuf};

use accord_image::{SigningKey, signing_key_from_pem, signing_key_from_seed, signing_key_to_pem};
use anyhow::Context as _;

/// Reads a PKCS#8 PEM Ed25519 key.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading the signing key {}", path.display()))?;
    signing_key_from_pem(&pem).with_context(|| format!("the signing key {}", path.display()))
}

/// Where the public key of the key at `path` is written: `image-signing.pem` →
/// `image-signing.pub.pem`.
pub fn public_key_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "signing".into());
    path.with_file_name(format!("{stem}.pub.pem"))
}

/// The key at `path`, generated first (mode 0600, PKCS#8) when the file does not exist; the
/// public key is (re)written beside it.
pub fn load_or_create_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let key = if path.exists() {
        read_signing_key(path)?
    } else {
        let key = signing_key_from_seed(rand::random::<[u8; 32]>());
        let pem = signing_key_to_pem(&key).context("encoding the signing key")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_private(path, pem.as_bytes())?;
        key
    };
    let public = accord_image::verifying_key_to_pem(&key.verifying_key())
        .context("encoding the public key")?;
    let pub_path = public_key_path(path);
    // Written beside and renamed over: a reader never sees half a key.
    let tmp = pub_path.with_extension("pem.tmp");
    std::fs::write(&tmp, public)
        .and_then(|()| std::fs::rename(&tmp, &pub_path))
        .with_context(|| format!("writing the public key {}", pub_path.display()))?;
    Ok(key)
}

/// Writes the key to a temporary file (0600, synced), then links it into place: a crash
/// leaves either no key or a whole one, and an existing key is never replaced (the link fails).
#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("pem.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating the signing key {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the signing key {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path)
        .with_context(|| format!("putting the signing key at {}", path.display()));
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes)
        .with_context(|| format!("writing the signing key {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_private_and_its_public_half_written_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("image-signing.pem");
        let first = load_or_create_signing_key(&path).unwrap();
        let again = load_or_create_signing_key(&path).unwrap();
        assert_eq!(first.to_bytes(), again.to_bytes());
        let public =
            std::fs::read_to_string(dir.path().join("keys/image-signing.pub.pem")).unwrap();
        assert_eq!(
            accord_image::verifying_key_from_pem(&public).unwrap(),
            first.verifying_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("BEGIN PRIVATE KEY")
        );
    }
}
