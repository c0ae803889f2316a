//! The NATS identities Accord needs, as nkey seeds kept on disk.
//!
//! | identity | nkey type | file |
//! |----------|-----------|------|
//! | each [`ServiceUser`] (a service or an operator tool) | user (`U…`) | `<dir>/<name>.nk` |
//! | the auth-callout responder's connection | user (`U…`) | `<dir>/auth-callout.nk` |
//! | the callout issuer (signs authorization responses and customer user JWTs) | account (`A…`) | `<dir>/callout-issuer.nk` |
//!
//! Invariants:
//! - [`KeyRing::load_or_generate`] is idempotent: a seed that exists is loaded, never replaced;
//!   a missing one is generated. Running it twice yields the same public keys.
//! - A seed file holds exactly the seed (`SU…` / `SA…`) and a newline, has mode `0600` and sits in
//!   a directory of mode `0700` (created if missing). It is written atomically: to a temporary
//!   file in the same directory (`create_new`, mode `0600`, fsynced), then renamed over the final
//!   name and the directory fsynced, so a crash leaves either no file or a whole one.
//! - Loading refuses a seed file that group or others may read (mode `& 0o077 != 0`), one of the
//!   wrong nkey type (a user seed where an account seed belongs and vice versa) and anything that
//!   is not a valid seed. Nothing is repaired silently: fixing a key file is an operator's call.
//! - Seeds never appear in `Debug` output or errors; only public keys and paths do.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nkeys::{KeyPair, KeyPairType};

use crate::error::AuthError;

/// A NATS user that connects with its own nkey and the permissions of
/// [`crate::permissions::service_permissions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceUser {
    /// `services/provisioner`: projects, clusters, pools, nodes, remediation; API keys.
    Provisioner,
    /// `services/image-builder`: worker images.
    ImageBuilder,
    /// `services/network-firewall`: firewalls and load balancers.
    NetworkFirewall,
    /// `services/storage-csi`: volumes, snapshots, storage classes, NFS, migrations.
    StorageCsi,
    /// `services/addon-manager`: add-ons and the plugin object store.
    AddonManager,
    /// `services/telemetry`: node telemetry in, health events out.
    Telemetry,
    /// `services/support-triage`: tickets.
    SupportTriage,
    /// The hardware simulator (`accord-sim`): node agents' telemetry and the fault server.
    Sim,
    /// The operator CLI (`accord-cli`): events, plugins, sim faults — a trusted operator tool.
    CliOperator,
}

impl ServiceUser {
    /// Every service user, in a fixed order.
    pub const ALL: [ServiceUser; 9] = [
        ServiceUser::Provisioner,
        ServiceUser::ImageBuilder,
        ServiceUser::NetworkFirewall,
        ServiceUser::StorageCsi,
        ServiceUser::AddonManager,
        ServiceUser::Telemetry,
        ServiceUser::SupportTriage,
        ServiceUser::Sim,
        ServiceUser::CliOperator,
    ];

    /// The name: the `<service>` token of its command subjects (`accord.cmd.<name>.…`), its
    /// NATS client name and the stem of its seed file.
    pub fn name(self) -> &'static str {
        match self {
            ServiceUser::Provisioner => "provisioner",
            ServiceUser::ImageBuilder => "image-builder",
            ServiceUser::NetworkFirewall => "network-firewall",
            ServiceUser::StorageCsi => "storage-csi",
            ServiceUser::AddonManager => "addon-manager",
            ServiceUser::Telemetry => "telemetry",
            ServiceUser::SupportTriage => "support-triage",
            ServiceUser::Sim => "sim",
            ServiceUser::CliOperator => "cli-operator",
        }
    }

    /// The user named `name` ([`ServiceUser::name`]), if any.
    pub fn from_name(name: &str) -> Option<ServiceUser> {
        ServiceUser::ALL
            .into_iter()
            .find(|user| user.name() == name)
    }
}

impl fmt::Display for ServiceUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// File stem of the auth-callout responder's user seed.
pub const CALLOUT_USER_FILE: &str = "auth-callout";
/// File stem of the callout issuer's account seed.
pub const CALLOUT_ISSUER_FILE: &str = "callout-issuer";
/// Extension of every seed file.
pub const SEED_EXTENSION: &str = "nk";

/// All of Accord's NATS keys. Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    dir: PathBuf,
    /// Indexed by `ServiceUser as usize` (the order of [`ServiceUser::ALL`]).
    services: [Arc<KeyPair>; ServiceUser::ALL.len()],
    callout_user: Arc<KeyPair>,
    issuer: Arc<KeyPair>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let services: BTreeMap<&str, String> = ServiceUser::ALL
            .into_iter()
            .map(|user| (user.name(), self.service(user).public_key()))
            .collect();
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("services", &services)
            .field("callout_user", &self.callout_user.public_key())
            .field("issuer", &self.issuer.public_key())
            .finish()
    }
}

impl KeyRing {
    /// Loads every seed under `dir`, generating (and persisting) the missing ones.
    pub fn load_or_generate(dir: &Path) -> Result<KeyRing, AuthError> {
        ensure_private_dir(dir)?;
        let mut services = Vec::with_capacity(ServiceUser::ALL.len());
        for user in ServiceUser::ALL {
            let key = load_or_generate_seed(dir, user.name(), KeyPairType::User)?;
            services.push(Arc::new(key));
        }
        let services: [Arc<KeyPair>; ServiceUser::ALL.len()] = services
            .try_into()
            .map_err(|_| AuthError::Config("one key per service user".into()))?;
        let callout_user = load_or_generate_seed(dir, CALLOUT_USER_FILE, KeyPairType::User)?;
        let issuer = load_or_generate_seed(dir, CALLOUT_ISSUER_FILE, KeyPairType::Account)?;
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            services,
            callout_user: Arc::new(callout_user),
            issuer: Arc::new(issuer),
        })
    }

    /// The directory holding the seeds.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key pair of `user`.
    pub fn service(&self, user: ServiceUser) -> Arc<KeyPair> {
        // `ALL` lists the variants in declaration order (checked by a test), so the
        // discriminant is the index.
        Arc::clone(&self.services[user as usize])
    }

    /// The auth-callout responder's user key pair.
    pub fn callout_user(&self) -> Arc<KeyPair> {
        Arc::clone(&self.callout_user)
    }

    /// The callout issuer's account key pair.
    pub fn issuer(&self) -> Arc<KeyPair> {
        Arc::clone(&self.issuer)
    }

    /// Path of `user`'s seed file (what a service is given to connect with).
    pub fn service_seed_path(&self, user: ServiceUser) -> PathBuf {
        seed_path(&self.dir, user.name())
    }

    /// Path of the auth-callout responder's seed file.
    pub fn callout_user_seed_path(&self) -> PathBuf {
        seed_path(&self.dir, CALLOUT_USER_FILE)
    }

    /// Path of the callout issuer's seed file.
    pub fn issuer_seed_path(&self) -> PathBuf {
        seed_path(&self.dir, CALLOUT_ISSUER_FILE)
    }
}

/// `<dir>/<stem>.nk`.
pub fn seed_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.{SEED_EXTENSION}"))
}

/// Reads a service's seed file and returns the seed text, for
/// `async_nats::ConnectOptions::nkey`. Others may not read it and nobody but the owner may
/// write it; the group may read it (Kubernetes makes mounted Secret files group-readable for a
/// pod's `fsGroup` whatever their mode: 0440).
pub fn read_seed(path: &Path) -> Result<String, AuthError> {
    let metadata = fs::metadata(path).map_err(|source| AuthError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o037 != 0 {
        return Err(AuthError::KeyFile {
            path: path.to_path_buf(),
            reason: format!(
                "mode {mode:o} lets others read it or the group write it; expected 600, 400 or 440"
            ),
        });
    }
    let text = fs::read_to_string(path).map_err(|source| AuthError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text.trim().to_owned())
}

/// Loads the seed of `stem` and checks its type, or generates, persists and returns a new one.
fn load_or_generate_seed(dir: &Path, stem: &str, kind: KeyPairType) -> Result<KeyPair, AuthError> {
    let path = seed_path(dir, stem);
    match fs::symlink_metadata(&path) {
        Ok(_) => load_seed(&path, kind),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::new(kind.clone());
            let seed = key.seed().map_err(|error| AuthError::KeyFile {
                path: path.clone(),
                reason: format!("the new key has no seed: {error}"),
            })?;
            write_atomically(&path, format!("{seed}\n").as_bytes(), 0o600)?;
            tracing::info!(path = %path.display(), public_key = %key.public_key(), "generated nats nkey");
            Ok(key)
        }
        Err(source) => Err(AuthError::Io { path, source }),
    }
}

fn load_seed(path: &Path, kind: KeyPairType) -> Result<KeyPair, AuthError> {
    let seed = read_seed(path)?;
    let key = KeyPair::from_seed(&seed).map_err(|error| AuthError::KeyFile {
        path: path.to_path_buf(),
        reason: format!("not a valid nkey seed ({})", error.kind().as_str()),
    })?;
    if key.key_pair_type() != kind {
        return Err(AuthError::KeyFile {
            path: path.to_path_buf(),
            reason: format!(
                "holds a {:?} seed where a {kind:?} seed belongs",
                key.key_pair_type()
            ),
        });
    }
    Ok(key)
}

/// Creates `dir` (mode 0700) if missing; an existing directory is left as it is.
pub fn ensure_private_dir(dir: &Path) -> Result<(), AuthError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| AuthError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Writes `bytes` to `path` through a temporary file in the same directory (created with `mode`,
/// fsynced) renamed into place, then fsyncs the directory: a reader sees the old file or the
/// new one, never a part. (Also what the platform's local CA writes its files with.)
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AuthError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuthError::Io { path, source }
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", ulid::Ulid::new()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
            .map_err(io(&temp))?;
        file.write_all(bytes).map_err(io(&temp))?;
        file.sync_all().map_err(io(&temp))?;
        fs::rename(&temp, path).map_err(io(path))?;
        fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io(dir))
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist or may already be renamed.
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_loads_the_same_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("nats-keys");
        let first = KeyRing::load_or_generate(&keys_dir).unwrap();
        let second = KeyRing::load_or_generate(&keys_dir).unwrap();
        for user in ServiceUser::ALL {
            assert_eq!(
                first.service(user).public_key(),
                second.service(user).public_key()
            );
            assert!(first.service(user).public_key().starts_with('U'));
            let mode = fs::metadata(first.service_seed_path(user))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{user}");
        }
        assert_eq!(
            first.callout_user().public_key(),
            second.callout_user().public_key()
        );
        assert_eq!(first.issuer().public_key(), second.issuer().public_key());
        assert!(first.issuer().public_key().starts_with('A'));
        let dir_mode = fs::metadata(&keys_dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // No temporary files are left behind.
        let names: Vec<String> = fs::read_dir(&keys_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), ServiceUser::ALL.len() + 2, "{names:?}");
        assert!(names.iter().all(|name| name.ends_with(".nk")), "{names:?}");
    }

    #[test]
    fn debug_shows_public_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_generate(dir.path()).unwrap();
        let text = format!("{ring:?}");
        let seed = ring.issuer().seed().unwrap();
        assert!(!text.contains(&seed));
        assert!(text.contains(&ring.issuer().public_key()));
    }

    #[test]
    fn a_service_seed_may_be_group_readable_never_world_readable_or_group_writable() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_generate(dir.path()).unwrap();
        let path = ring.service_seed_path(ServiceUser::Telemetry);
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o440, true),
            (0o640, true),
            (0o644, false),
            (0o660, false),
            (0o604, false),
        ] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(read_seed(&path).is_ok(), ok, "mode {mode:o}");
        }
    }

    #[test]
    fn refuses_readable_wrong_type_and_garbage_seeds() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_generate(dir.path()).unwrap();

        let issuer = ring.issuer_seed_path();
        fs::set_permissions(&issuer, fs::Permissions::from_mode(0o644)).unwrap();
        let error = KeyRing::load_or_generate(dir.path()).unwrap_err();
        assert!(error.to_string().contains("mode 644"), "{error}");
        fs::set_permissions(&issuer, fs::Permissions::from_mode(0o600)).unwrap();

        // A user seed where the account seed belongs.
        let user_seed = fs::read(ring.callout_user_seed_path()).unwrap();
        fs::write(&issuer, &user_seed).unwrap();
        let error = KeyRing::load_or_generate(dir.path()).unwrap_err();
        assert!(error.to_string().contains("seed where"), "{error}");

        fs::write(&issuer, b"not a seed\n").unwrap();
        let error = KeyRing::load_or_generate(dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("not a valid nkey seed"),
            "{error}"
        );
        assert!(!error.to_string().contains("not a seed\n"));
    }

    #[test]
    fn all_is_in_declaration_order() {
        for (index, user) in ServiceUser::ALL.into_iter().enumerate() {
            assert_eq!(user as usize, index);
        }
    }

    #[test]
    fn names_round_trip() {
        for user in ServiceUser::ALL {
            assert_eq!(ServiceUser::from_name(user.name()), Some(user));
        }
        assert_eq!(ServiceUser::from_name("customer"), None);
    }
}
