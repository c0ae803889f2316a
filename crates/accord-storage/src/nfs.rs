//! The provider's per-project NFS gate: whether the project may use the shared-filesystem (NFS,
//! VAST) back end, who changed it, why and when.
//!
//! Decision: the gate covers every shared filesystem, whichever way it mounts (VirtioFS and NFS
//! reach the same back end), and every StorageClass of type `shared`; disks never need it. How
//! shared filesystems mount is the provider's per-project setting kept with the gate
//! ([`NfsGate::mount`], NFS unless the provider says VirtioFS), as in the source product.
//!
//! Invariants: the gate is disabled until a provider enables it; it is never disabled while a
//! shared volume or a shared StorageClass of the project exists ([`disable`] names them, at most
//! [`MAX_NAMED_USERS`]); enabling an enabled gate (or disabling a disabled one) changes
//! nothing and keeps the original record.

use accord_core::validation::{is_hidden_char, quote};
use serde::{Deserialize, Serialize};

use crate::error::{Errors, StorageError};
use crate::limits::{MAX_ACTOR_CHARS, MAX_NAMED_USERS, MAX_REASON_CHARS};
use crate::volume::Mount;

/// Whether the project may use NFS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NfsState {
    /// Shared volumes and shared classes are refused.
    Disabled,
    /// Allowed.
    Enabled,
}

/// One project's gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NfsGate {
    /// The project.
    pub project: String,
    /// The state.
    pub state: NfsState,
    /// Who changed it last (none: never changed).
    pub changed_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When (ms, the caller's clock).
    pub changed_at_ms: Option<u64>,
    /// How the project's shared filesystems mount, the provider's per-project setting (as in
    /// the source product): new shared volumes take it, and a customer asking for the other
    /// one is refused. Switching it leaves existing volumes as they are (that is what a
    /// VirtioFS → NFS migration moves).
    #[serde(default = "default_mount")]
    pub mount: Mount,
}

fn default_mount() -> Mount {
    Mount::Nfs
}

impl NfsGate {
    /// A project's gate before any change: disabled.
    pub fn new(project: impl Into<String>) -> Self {
        NfsGate {
            project: project.into(),
            state: NfsState::Disabled,
            changed_by: None,
            reason: None,
            changed_at_ms: None,
            mount: Mount::Nfs,
        }
    }

    /// Whether NFS is enabled.
    pub fn is_enabled(&self) -> bool {
        self.state == NfsState::Enabled
    }
}

/// The gate after a change, and whether anything changed (an event is due only then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateChange {
    /// The gate now.
    pub gate: NfsGate,
    /// Whether the state changed.
    pub changed: bool,
}

/// Something that uses the project's NFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NfsUser {
    /// A shared volume, by name.
    SharedVolume(String),
    /// A shared StorageClass of a cluster.
    StorageClass {
        /// The cluster (id or name).
        cluster: String,
        /// The class's name.
        name: String,
    },
}

impl NfsUser {
    fn describe(&self) -> String {
        match self {
            NfsUser::SharedVolume(name) => format!("volume {}", quote(name)),
            NfsUser::StorageClass { cluster, name } => {
                format!("storageclass {} in cluster {}", quote(name), quote(cluster))
            }
        }
    }
}

fn check_text(errors: &mut Errors, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(field, "must not be empty");
    } else if value.chars().count() > max {
        errors.push(
            field,
            format!(
                "must be at most {max} characters (has {})",
                value.chars().count()
            ),
        );
    } else if value.chars().any(is_hidden_char) {
        errors.push(field, "may not contain control or invisible characters");
    }
}

fn change(
    gate: NfsGate,
    to: NfsState,
    mount: Mount,
    who: &str,
    why: &str,
    now_ms: u64,
) -> Result<GateChange, StorageError> {
    let mut errors = Errors::new();
    check_text(&mut errors, "nfs.who", who, MAX_ACTOR_CHARS);
    check_text(&mut errors, "nfs.reason", why, MAX_REASON_CHARS);
    let gate = errors.into_result(gate)?;
    if gate.state == to && gate.mount == mount {
        return Ok(GateChange {
            gate,
            changed: false,
        });
    }
    Ok(GateChange {
        gate: NfsGate {
            state: to,
            mount,
            changed_by: Some(who.to_owned()),
            reason: Some(why.to_owned()),
            changed_at_ms: Some(now_ms),
            ..gate
        },
        changed: true,
    })
}

/// Enables NFS for the gate's project (provider only; the service checks the caller).
pub fn enable(
    gate: NfsGate,
    who: &str,
    why: &str,
    now_ms: u64,
) -> Result<GateChange, StorageError> {
    let mount = gate.mount;
    change(gate, NfsState::Enabled, mount, who, why, now_ms)
}

/// Enables the gate with shared filesystems mounting over `mount` (enabling an enabled gate
/// with another mount switches the project's setting: new volumes take it).
pub fn enable_with(
    gate: NfsGate,
    mount: Mount,
    who: &str,
    why: &str,
    now_ms: u64,
) -> Result<GateChange, StorageError> {
    change(gate, NfsState::Enabled, mount, who, why, now_ms)
}

/// The mount of a new shared volume: the project's setting; asking for the other one is
/// refused naming `volume.mount`.
pub fn shared_mount(gate: &NfsGate, requested: Option<Mount>) -> Result<Mount, StorageError> {
    match requested {
        Some(m) if m != gate.mount => Err(StorageError::precondition(
            "volume.mount",
            format!(
                "project {} mounts shared filesystems over {} (the provider's setting): create it \
                 without a mount, or ask the provider to switch the project to {}",
                quote(&gate.project),
                gate.mount.as_str(),
                m.as_str()
            ),
        )),
        _ => Ok(gate.mount),
    }
}

/// Disables NFS, refused while anything in `users` (the project's shared volumes and shared
/// classes) still uses it.
pub fn disable(
    gate: NfsGate,
    who: &str,
    why: &str,
    now_ms: u64,
    users: &[NfsUser],
) -> Result<GateChange, StorageError> {
    if gate.is_enabled() && !users.is_empty() {
        let named: Vec<String> = users
            .iter()
            .take(MAX_NAMED_USERS)
            .map(NfsUser::describe)
            .collect();
        let more = users.len() - named.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return Err(StorageError::precondition(
            "nfs.users",
            format!(
                "NFS is in use in project {}: {}{more}; delete them before disabling NFS",
                quote(&gate.project),
                named.join(", ")
            ),
        ));
    }
    let mount = gate.mount;
    change(gate, NfsState::Disabled, mount, who, why, now_ms)
}

/// The check before creating a shared volume or a shared StorageClass (→ `FAILED_PRECONDITION`:
/// "ask the provider to enable NFS for project P").
pub fn require_nfs(gate: &NfsGate) -> Result<(), StorageError> {
    if gate.is_enabled() {
        Ok(())
    } else {
        Err(StorageError::NfsNotEnabled {
            project: accord_core::error::echo(&gate.project),
        })
    }
}
