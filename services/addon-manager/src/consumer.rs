//! The events the addon-manager consumes — the provisioner's `cluster.*` and `nodepool.*`, and
//! the storage service's `nfs.*` (the provider's per-project NFS gate) — decoded into [`Input`].
//! Adding a resource here is enough for existing deployments: the kit's consumer creates or
//! updates the durable consumer's filter subjects to match on every start. The kit's consumer (`accord_runtime::consume::run_with_directory`) runs it,
//! keeps the project directory from `project.*` and applies the shared failure policy.

use accord_runtime::consume::Subscription;

use accord_bus::{BusError, CloudEvent};
use accord_core::storage::StorageEvent;

use crate::handlers::{cluster_view::Input, nfs_gate::GateChange};

/// The durable consumer and how each kind of event becomes an [`Input`].
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "addon-manager",
    inputs: &[
        ("cluster", |ev| ev.decode_data().map(Input::Cluster)),
        ("nodepool", |ev| ev.decode_data().map(Input::NodePool)),
        ("nfs", nfs),
    ],
};

/// `nfs.*`: the gate's two facts; any other storage event there is ignored.
fn nfs(ev: &CloudEvent) -> Result<Input, BusError> {
    let ev = ev.decode_data::<StorageEvent>()?;
    Ok(GateChange::from_event(ev).map_or(Input::Ignored, Input::NfsGate))
}
