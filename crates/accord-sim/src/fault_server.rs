//! The simulator's NATS control surface: inject faults and list the fleet by request/reply.
//!
//! | subject | request | reply |
//! |---|---|---|
//! | `accord.cmd.sim.fault.inject` | a [`Fault`] as JSON | [`FaultReply`]: `{"ok":true,"message":…}` or `{"ok":false,"error":…}` |
//! | `accord.cmd.sim.fleet.list` | anything (ignored) | JSON array of [`FleetInstance`](crate::FleetInstance) |
//!
//! Both are served in queue group `sim`. The VPC's faults (`firewall-drift`,
//! `fail-next-firewall-applies`) go to the [`SimVpc`] given to [`serve_faults_with`] or
//! [`serve_faults_to`], the storage's (`storage-fail-next`, `storage-hang-next`,
//! `storage-corrupt-copy`) to the [`SimStorage`] given to [`serve_faults_to`]; without one they
//! are answered with an error.
//!
//! Invariant: every request gets a reply; a malformed request is answered with an error reply
//! and the server keeps serving.

use std::sync::Arc;

use accord_bus::{Bus, BusError, subjects};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{
    error::{SimError, chain},
    faults::Fault,
    fleet::SimFleet,
    storage::SimStorage,
    vpc::SimVpc,
};

/// The service token in the simulator's command subjects.
pub const SERVICE: &str = "sim";

/// `accord.cmd.sim.fault.inject`.
pub fn inject_subject() -> Result<String, BusError> {
    subjects::command(SERVICE, "fault", "inject")
}

/// `accord.cmd.sim.fleet.list`.
pub fn list_subject() -> Result<String, BusError> {
    subjects::command(SERVICE, "fleet", "list")
}

/// The answer to a fault request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultReply {
    /// Whether the fault was injected.
    pub ok: bool,
    /// What happened (when `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why not (when not `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FaultReply {
    /// A success.
    pub fn ok(message: String) -> Self {
        FaultReply {
            ok: true,
            message: Some(message),
            error: None,
        }
    }

    /// A failure.
    pub fn error(error: String) -> Self {
        FaultReply {
            ok: false,
            message: None,
            error: Some(error),
        }
    }

    /// `Ok(message)` or `Err(error)`.
    pub fn into_result(self) -> Result<String, String> {
        if self.ok {
            Ok(self.message.unwrap_or_default())
        } else {
            Err(self.error.unwrap_or_else(|| "unknown error".to_owned()))
        }
    }
}

fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    match serde_json::to_vec(value) {
        Ok(bytes) => Bytes::from(bytes),
        Err(error) => {
            tracing::error!(error = %error, "could not encode a reply");
            Bytes::from_static(br#"{"ok":false,"error":"could not encode the reply"}"#)
        }
    }
}

/// Handles one `fault.inject` request (a fleet without a VPC).
pub fn handle_inject(fleet: &SimFleet, payload: &[u8]) -> Bytes {
    handle_inject_with(fleet, None, payload)
}

/// Handles one `fault.inject` request: the VPC's faults go to `vpc`, the others to `fleet`.
pub fn handle_inject_with(fleet: &SimFleet, vpc: Option<&SimVpc>, payload: &[u8]) -> Bytes {
    handle_inject_to(fleet, vpc, None, payload)
}

/// Handles one `fault.inject` request: the VPC's faults go to `vpc`, the storage's to
/// `storage`, the others to `fleet` (which refuses a VPC or storage fault it cannot route).
pub fn handle_inject_to(
    fleet: &SimFleet,
    vpc: Option<&SimVpc>,
    storage: Option<&SimStorage>,
    payload: &[u8],
) -> Bytes {
    let reply = match serde_json::from_slice::<Fault>(payload) {
        Err(error) => FaultReply::error(SimError::MalformedFault(error.to_string()).to_string()),
        Ok(fault) => {
            let result = match (vpc, storage) {
                (Some(vpc), _) if fault.is_network() => vpc.inject(fault),
                (_, Some(storage)) if fault.is_storage() => storage.inject(fault),
                _ => fleet.inject(fault),
            };
            match result {
                Ok(message) => FaultReply::ok(message),
                Err(error) => FaultReply::error(chain(&error)),
            }
        }
    };
    to_bytes(&reply)
}

/// Handles one `fleet.list` request.
pub fn handle_list(fleet: &SimFleet) -> Bytes {
    to_bytes(&fleet.instances())
}

/// Serves `fault.inject` and `fleet.list` until `shutdown` is cancelled, for a fleet without
/// a VPC ([`serve_faults_with`] with `None`). Fails only when the subscriptions cannot be made.
pub async fn serve_faults(
    fleet: Arc<SimFleet>,
    bus: Bus,
    shutdown: CancellationToken,
) -> Result<(), SimError> {
    serve_faults_with(fleet, None, bus, shutdown).await
}

/// Serves `fault.inject` (the VPC's faults to `vpc`) and `fleet.list` until `shutdown` is
/// cancelled ([`serve_faults_to`] without storage). Fails only when the subscriptions cannot
/// be made.
pub async fn serve_faults_with(
    fleet: Arc<SimFleet>,
    vpc: Option<Arc<SimVpc>>,
    bus: Bus,
    shutdown: CancellationToken,
) -> Result<(), SimError> {
    serve_faults_to(fleet, vpc, None, bus, shutdown).await
}

/// Serves `fault.inject` (the VPC's faults to `vpc`, the storage's to `storage`) and
/// `fleet.list` until `shutdown` is cancelled. Fails only when the subscriptions cannot be
/// made.
pub async fn serve_faults_to(
    fleet: Arc<SimFleet>,
    vpc: Option<Arc<SimVpc>>,
    storage: Option<Arc<SimStorage>>,
    bus: Bus,
    shutdown: CancellationToken,
) -> Result<(), SimError> {
    let inject_fleet = Arc::clone(&fleet);
    let inject = bus
        .serve(&inject_subject()?, SERVICE, move |payload: Bytes| {
            let fleet = Arc::clone(&inject_fleet);
            let vpc = vpc.clone();
            let storage = storage.clone();
            async move { handle_inject_to(&fleet, vpc.as_deref(), storage.as_deref(), &payload) }
        })
        .await?;
    let list_fleet = fleet;
    let list = bus
        .serve(&list_subject()?, SERVICE, move |_payload: Bytes| {
            let fleet = Arc::clone(&list_fleet);
            async move { handle_list(&fleet) }
        })
        .await?;
    tracing::info!("simulator fault server ready");
    shutdown.cancelled().await;
    inject.stop().await;
    list.stop().await;
    Ok(())
}
