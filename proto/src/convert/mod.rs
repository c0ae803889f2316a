//! Conversions between wire types and domain types, and domain errors to gRPC statuses.

pub mod addons;
pub mod notifications;
pub mod provisioner;
pub mod remediations;
pub mod status;
pub mod support;
pub mod telemetry;

pub use status::{DomainErrorStatus, code_name, status_from};
