//! The crate's tests, one child module per concern, and the fixtures they share.

mod class;
mod migration;
mod migration_props;
mod nfs;
mod quantity;
mod snapshot;
mod state;
mod volume;

use crate::{
    NewVolume, NfsGate, NodeInfo, Outcome, Volume, VolumeSpec, begin_create, complete, enable,
    validate_volume,
};

/// A volume spec in project `p1`, region `eu1`.
pub(crate) fn spec(name: &str, kind: &str, size: &str) -> VolumeSpec {
    VolumeSpec {
        name: name.into(),
        project: "p1".into(),
        region: "eu1".into(),
        kind: kind.into(),
        size: size.into(),
        mount: String::new(),
        source_snapshot: String::new(),
    }
}

/// A validated volume, or the test fails.
pub(crate) fn new_volume(name: &str, kind: &str, size: &str) -> NewVolume {
    validate_volume(&spec(name, kind, size)).unwrap_or_else(|e| panic!("{e}"))
}

/// An `available` volume.
pub(crate) fn available(name: &str, kind: &str, size: &str) -> Volume {
    complete(
        begin_create(new_volume(name, kind, size), 0),
        Outcome::Succeeded,
    )
}

/// A validated shared volume mounted over `mount`.
pub(crate) fn new_shared(name: &str, size: &str, mount: &str) -> NewVolume {
    let mut s = spec(name, "shared", size);
    s.mount = mount.into();
    validate_volume(&s).unwrap_or_else(|e| panic!("{e}"))
}

/// An `available` shared volume mounted over `mount`.
pub(crate) fn shared(name: &str, size: &str, mount: &str) -> Volume {
    complete(
        begin_create(new_shared(name, size, mount), 0),
        Outcome::Succeeded,
    )
}

/// A node in region `eu1` holding nothing.
pub(crate) fn node(id: &str) -> NodeInfo {
    NodeInfo {
        id: id.into(),
        region: "eu1".into(),
        disks: 0,
        shared: 0,
    }
}

/// Project `p1`'s gate, enabled.
pub(crate) fn enabled_gate() -> NfsGate {
    enable(NfsGate::new("p1"), "op@provider", "ticket 42", 1_000)
        .unwrap()
        .gate
}
