//! storage-csi: the provider's storage back ends — persistent block disks and shared
//! filesystems — behind the customer's volumes, snapshots, StorageClasses and VirtioFS → NFS
//! migrations, with the provider's per-project NFS gate.
//!
//! The storage rules are the `accord-storage` crate (pure): limits, the volume state model,
//! quotas, snapshots, the gate, StorageClasses and the migration state machine. The service
//! around it: [`consumer`] takes cluster, node and add-on events into a read model ([`view`],
//! [`handlers::cluster_view`]); [`grpc`] serves `accord.storage.v1.Storage` (authorised by
//! [`rules::RULES`]); [`service`] commits every change with its storage events through the
//! outbox; [`reconcile`] carries operations to the back ends
//! ([`accord_storage::driver::StorageDriver`], the simulator's `SimStorage`) and runs
//! migrations step by step.
//!
//! Invariants: storage-csi is the single writer of its records; every back-end operation is
//! keyed by what was stored before it was asked, so a restart never runs one twice; a shared
//! volume or class exists only while the project's NFS gate is enabled.

pub mod bounds;
pub mod config;
pub mod consumer;
pub mod grpc;
pub mod handlers;
pub mod reconcile;
pub mod rules;
pub mod service;
pub mod trees;
pub mod view;

use std::{sync::Arc, time::Duration};

use accord_proto::storage::v1::storage_server::StorageServer;
use accord_runtime::{Basics, ServiceHost, Started, grpc::BusAuthenticator};
use accord_storage::driver::StorageDriver;

pub use service::{SERVICE, Settings, StorageService};

/// How often the reconciler polls operations in flight when nothing wakes it.
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

/// Everything a running storage-csi needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    /// The storage back ends (the simulator's in `accord up`).
    pub driver: Arc<dyn StorageDriver>,
    pub settings: Settings,
    /// The reconciler's period.
    pub reconcile_interval: Duration,
}

/// A started storage-csi.
pub type Running = Started<StorageService>;

/// Starts storage-csi on the service kit: gRPC, relay, the platform-event consumer and the
/// reconciler.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    let service = StorageService::new(b.store.clone(), opts.driver, opts.settings, &b.metrics);
    let api = grpc::Api::new(Arc::clone(&service));
    ServiceHost::new(SERVICE, b)
        .api(rules::RULES, BusAuthenticator::new(b.bus.clone()), |s| {
            s.add_service(StorageServer::new(api))
        })
        .events(consumer::SUBSCRIPTION, Arc::clone(&service))
        .critical(
            "storage-reconciler",
            Arc::clone(&service).run_reconciler(opts.reconcile_interval, b.shutdown.clone()),
        )
        .start(service)
        .await
}
