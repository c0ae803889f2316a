//! Accord's domain model: what a GPU cloud's managed-Kubernetes service is made of and who owns
//! each part of it.
//!
//! This crate knows nothing of NATS, sled, tonic or wasmtime (invariant: no IO, no async
//! runtime). Services, the bus, the store and the wire types all speak in terms of these types;
//! conversions to protobuf live in `accord-proto`.
//!
//! - [`ids`]: typed, ULID-based identifiers.
//! - [`meta`]: Kubernetes-style metadata, conditions and statuses.
//! - [`responsibility`]: the shared-responsibility matrix as data, and the check every RPC runs.
//! - [`iam`]: principals, roles and API-key formats.
//! - [`validation`]: names, Kubernetes versions and skew, CIDRs.
//! - [`project`], [`cluster`], [`nodepool`], [`node`]: the provisioner's resources.
//! - [`autoclusters`]: remediations (a finding's decision and its execution, the provisioner's).
//! - [`infra`]: the contract between the provisioner and an infrastructure driver.
//! - [`addon`]: add-on installations and their ownership (the addon-manager's).
//! - [`image`]: worker images and their builds (`image.*`, the image-builder's).
//! - [`support`]: support tickets, their verdicts and events (support-triage's).
//! - [`events`], [`outbox`]: typed facts on the bus and the outbox contract.
//! - [`exposition`]: the metrics text formats and the one `Accept` negotiation every `/metrics`
//!   endpoint uses.

pub mod addon;
pub mod autoclusters;
pub mod cluster;
pub mod error;
pub mod events;
pub mod exposition;
pub mod firewall;
pub mod iam;
pub mod ids;
pub mod image;
pub mod infra;
pub mod limits;
pub mod maintenance;
pub mod meta;
pub mod node;
pub mod nodepool;
pub mod outbox;
pub mod project;
pub mod remediation;
pub mod responsibility;
pub mod storage;
pub mod support;
pub mod telemetry;
pub mod validation;

pub use error::{DomainError, FieldViolation, InternalError};
