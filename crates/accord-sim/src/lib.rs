//! A simulated GPU cloud: the stand-in for the provider's hardware behind Accord's
//! [`InfraDriver`](accord_core::infra::InfraDriver) trait, with node agents that publish telemetry
//! exactly as real ones would. A real cloud driver or agent replaces it behind the same trait and
//! the same NATS subjects.
//!
//! - [`catalog`]: instance types (8×H200 IB, 8×H100 IB, 10×L40S, CPU-only), regions with three
//!   failure domains each, base images.
//! - [`timing`]: realistic operation durations, scaled by a clock factor, with seeded jitter.
//! - [`SimFleet`] ([`fleet`]): the driver. Operations are accepted at once; progress arrives as
//!   [`InfraEvent`](accord_core::infra::InfraEvent)s. State survives restarts in a JSON file.
//! - [`faults`]: fault injection ([`Fault`]); [`serve_faults`] exposes it (and a fleet listing)
//!   over NATS request/reply, [`serve_faults_with`] with the VPC's faults too,
//!   [`serve_faults_to`] with the VPC's and the storage's.
//! - [`run_agents`] ([`agent`]): per-node telemetry samples on `accord.tel.<cluster>.<node>`.
//! - [`SimVpc`] ([`vpc`]): the cloud's network behind
//!   [`NetworkDriver`](accord_firewall::driver::NetworkDriver) — per-cluster VPC firewall rule
//!   sets and L4 load balancers; linked to a fleet, a node whose required flows its firewall
//!   blocks goes NotReady until they are allowed again.
//! - [`SimStorage`] ([`storage`]): the region's storage back ends behind
//!   [`StorageDriver`](accord_storage::driver::StorageDriver) — block disks, shared
//!   filesystems, snapshots and the VirtioFS → NFS migration steps, as operations by key that
//!   take simulated time and survive restarts.
//!
//! Internals: `state` (the fleet as data, persistence), `lifecycle` (the state machines as pure
//! functions, completing transitions as they fall due), `control_plane` (control planes:
//! creation, upgrades, replacing a replica that is down, deletion), `repair` (node repairs: GPU
//! reset, reboot), `impacts` (customer components degrading the control plane or the fabric,
//! and the provider's mitigations), `placement` (failure domains, IPs), `delivery` (ordered
//! event delivery).
//!
//! Invariants: every operation is idempotent by the id it names; events reach the subscriber in
//! the order the state changed, including those emitted before anyone subscribed; no task
//! outlives the [`SimFleet`] that started it.

pub mod agent;
pub mod catalog;
mod control_plane;
mod delivery;
mod error;
pub mod fault_server;
pub mod faults;
pub mod fleet;
mod impacts;
mod lifecycle;
mod placement;
mod repair;
mod state;
pub mod storage;
pub mod timing;
pub mod vpc;

pub use agent::run_agents;
pub use catalog::default_catalog;
pub use error::SimError;
pub use fault_server::{FaultReply, serve_faults, serve_faults_to, serve_faults_with};
pub use faults::Fault;
pub use fleet::{FleetInstance, SimConfig, SimFleet};
pub use storage::{SimStorage, StorageSimConfig};
pub use timing::{Operation, Timing};
pub use vpc::{SimVpc, VpcConfig};
