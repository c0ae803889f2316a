//! What support-triage knows about each cluster, from the provisioner's and the addon-manager's
//! events: its project and name (to scope tickets) and the live ownership of its add-ons (the
//! context every ticket about the cluster is classified with). A read model, written only by
//! [`crate::handlers::cluster_view`].

use std::collections::{BTreeMap, HashSet};

use accord_core::{
    addon::AddonOwnership,
    ids::{ClusterId, ProjectId},
    support::TicketContext,
};
use serde::{Deserialize, Serialize};

/// One add-on's ownership and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonState {
    pub ownership: AddonOwnership,
    pub reason: String,
    /// The customer runs their own installation (declared to the addon-manager).
    #[serde(default)]
    pub self_managed: bool,
}

/// A cluster as support-triage knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub id: ClusterId,
    pub name: String,
    pub project: ProjectId,
    pub addons: BTreeMap<String, AddonState>,
}

impl ClusterView {
    /// The classification context for a ticket about this cluster, with the components the
    /// filer named (see [`ticket_context`]).
    pub fn context(&self, declared: &[String]) -> TicketContext {
        ticket_context(Some(self), declared)
    }
}

/// The classification context of a ticket: the add-on ownership of the cluster it is about
/// (if any), then the components the filer named — trimmed, empty names dropped, each name
/// once (the first occurrence keeps its place).
///
/// Linear in the number of names (a set remembers what is already listed): this runs on a
/// request's input, so it must not be quadratic in it — 40,000 distinct names once stalled the
/// process. The edge bounds the list anyway (`accord_core::limits::MAX_ITEMS`).
pub fn ticket_context(cluster: Option<&ClusterView>, declared: &[String]) -> TicketContext {
    let mut ctx = TicketContext::default();
    let mut listed = HashSet::new();
    if let Some(view) = cluster {
        for (name, a) in &view.addons {
            ctx.addons.insert(name.clone(), a.ownership);
            if a.ownership == AddonOwnership::CustomerOwned {
                ctx.addon_reasons.insert(name.clone(), a.reason.clone());
            }
            if a.self_managed && listed.insert(name.as_str()) {
                ctx.customer_components.push(name.clone());
            }
        }
    }
    for c in declared {
        let c = c.trim();
        if !c.is_empty() && listed.insert(c) {
            ctx.customer_components.push(c.to_owned());
        }
    }
    ctx
}

impl accord_runtime::directory::ClusterRecord for ClusterView {
    fn entry(&self) -> accord_runtime::scope::ClusterEntry {
        accord_runtime::scope::ClusterEntry::new(self.id, &self.name, self.project)
    }
}
