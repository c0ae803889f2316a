//! Every RPC of storage-csi, declared once with the responsibility-matrix component it touches
//! and whose part it is (layer Storage): the NFS gate is the provider's ("Shared Disk / NFS
//! backend": it enables NFS per project on request; both parties read it); volumes and their
//! snapshots are what the customer's PersistentVolumeClaims ask for ("PersistentVolumeClaims",
//! customer-owned; the CSI driver, shared, calls these RPCs on the customer's behalf);
//! StorageClasses ("StorageClass definitions") and migrations ("Storage migration") are the
//! customer's. Reads are open to both parties. A PlanMigration dry run is a mutation's rule
//! too: it is the customer's planning.

use accord_core::responsibility::{Action, Actor, RpcRule};

/// storage-csi's RPC table.
pub static RULES: &[RpcRule] = &[
    RpcRule::new(
        "/accord.storage.v1.Storage/GetNfs",
        Action::Read,
        "shared-disk-nfs",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/EnableNfs",
        Action::Mutate,
        "shared-disk-nfs",
        Actor::PROVIDER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/DisableNfs",
        Action::Mutate,
        "shared-disk-nfs",
        Actor::PROVIDER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/CreateVolume",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/GetVolume",
        Action::Read,
        "persistent-volume-claims",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/ListVolumes",
        Action::Read,
        "persistent-volume-claims",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/ExpandVolume",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/AttachVolume",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/DetachVolume",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/DeleteVolume",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/CreateSnapshot",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/ListSnapshots",
        Action::Read,
        "persistent-volume-claims",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/DeleteSnapshot",
        Action::Mutate,
        "persistent-volume-claims",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/CreateStorageClass",
        Action::Mutate,
        "storage-classes",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/ListStorageClasses",
        Action::Read,
        "storage-classes",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/DeleteStorageClass",
        Action::Mutate,
        "storage-classes",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/PlanMigration",
        Action::Mutate,
        "storage-migration",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/RunMigration",
        Action::Mutate,
        "storage-migration",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/GetMigration",
        Action::Read,
        "storage-migration",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/ListMigrations",
        Action::Read,
        "storage-migration",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.storage.v1.Storage/RollbackMigration",
        Action::Mutate,
        "storage-migration",
        Actor::CUSTOMER,
        true,
    ),
];

#[cfg(test)]
mod tests {
    use accord_core::responsibility::check_rules;

    #[test]
    fn the_rule_table_agrees_with_the_matrix() {
        check_rules(super::RULES).unwrap();
    }
}
