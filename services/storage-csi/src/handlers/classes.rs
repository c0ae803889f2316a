//! The customer's StorageClasses of a cluster: validated by the engine (parameters the driver
//! understands; a shared class needs the project's NFS gate), flagged when the CSI driver is
//! not installed, at most one default per cluster, at most [`MAX_CLASSES_PER_CLUSTER`].

use accord_core::{DomainError, storage::StorageEvent};
use accord_storage::{ClassSpec, DriverInstall, NfsGate, ValidatedClass, validate_class};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx};
use crate::{
    trees::{CLASSES, StoredClass, key},
    view::ClusterView,
};

/// The most StorageClasses a cluster holds.
pub const MAX_CLASSES_PER_CLUSTER: usize = 100;

/// What the CSI driver's install state means for the classes.
pub fn drivers(view: &ClusterView) -> DriverInstall {
    DriverInstall {
        disk: view.csi_driver_installed,
        shared: view.csi_driver_installed,
    }
}

/// Defines a StorageClass.
pub fn create(
    ctx: &Ctx,
    view: &ClusterView,
    gate: &NfsGate,
    existing: &[Versioned<StoredClass>],
    spec: &ClassSpec,
) -> Result<(Change, StoredClass, bool), DomainError> {
    let ValidatedClass {
        class,
        driver_installed,
    } = validate_class(spec, gate, drivers(view))?;
    if existing.iter().any(|c| c.value.class.name == class.name) {
        return Err(DomainError::AlreadyExists {
            kind: "storageclass",
            name: class.name,
        });
    }
    if existing.len() >= MAX_CLASSES_PER_CLUSTER {
        return Err(DomainError::ResourceExhausted(format!(
            "storage_classes: a cluster holds at most {MAX_CLASSES_PER_CLUSTER} StorageClasses"
        )));
    }
    if class.default_class
        && let Some(other) = existing.iter().find(|c| c.value.class.default_class)
    {
        return Err(DomainError::precondition(format!(
            "default_class: {} is already the cluster's default StorageClass",
            other.value.class.name
        )));
    }
    let stored = StoredClass {
        cluster: view.id,
        project: view.project,
        class,
        created_at: ctx.now,
        created_by: ctx.actor.clone(),
    };
    let mut ch = Change::in_project(view.project);
    ch.put(
        CLASSES,
        &key(view.project, view.id, &stored.class.name),
        &stored,
        Expect::Absent,
    )?;
    ch.event(StorageEvent::StorageClassCreated {
        cluster: view.id,
        project: view.project,
        name: stored.class.name.clone(),
        volume_type: stored.class.volume_type.as_str().to_owned(),
        driver_installed,
    });
    Ok((ch, stored, driver_installed))
}

/// Deletes a StorageClass.
pub fn delete(stored: &Versioned<StoredClass>) -> Result<Change, DomainError> {
    let c = &stored.value;
    let mut ch = Change::in_project(c.project);
    ch.delete(
        CLASSES,
        &key(c.project, c.cluster, &c.class.name),
        Expect::Version(stored.version),
    );
    ch.event(StorageEvent::StorageClassDeleted {
        cluster: c.cluster,
        project: c.project,
        name: c.class.name.clone(),
    });
    Ok(ch)
}
