//! The input and output of classification, as they travel in JSON.
//!
//! A [`Ticket`] is what a customer filed: `{id, title, description, component?, cluster?,
//! context?}`. `context` carries what the platform knows about the cluster: the ownership of each
//! core add-on (`provider-managed`, `shared`, `customer-owned`, as the addon-manager computes it)
//! and the components the customer installed.
//!
//! Unknown fields are rejected (`deny_unknown_fields`), in the ticket and in its context. A
//! ticket intake that ignored them would classify a ticket whose `descripton` was misspelt on its
//! title alone, silently and with full confidence; rejecting it makes the sender fix the field
//! once. `description` may be absent (a ticket can be a one-line title); `id` and `title` are
//! required.
//!
//! A [`Classification`] is the answer: `{id, category, layer, component, rule: {id, text},
//! actions, checklist, confidence, needs_review}`. Its strings are shared with the rule set
//! (`Arc`), so classifying copies no rule text.

use std::{collections::BTreeMap, sync::Arc};

use accord_core::responsibility::Layer;
use serde::{Deserialize, Serialize};

use crate::action::Action;

/// The support category of a ticket: the support scope of the responsibility matrix
/// (`supported`, `best-effort`, `customer-owned`).
pub use accord_core::responsibility::SupportScope as Category;

/// A support ticket as filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The ticket's id in the intake system, echoed in the classification.
    pub id: String,
    /// One-line summary; matches in it weigh more than matches in the description.
    pub title: String,
    /// Free text, pasted logs included.
    #[serde(default)]
    pub description: String,
    /// What the customer thinks the ticket is about: a matrix component id (`kube-apiserver`),
    /// an add-on name (`cilium`), a layer (`networking`) or a loose name (`GPU`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The cluster concerned, carried for the caller; classification does not use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// What the platform knows about the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<TicketContext>,
}

impl Ticket {
    /// A ticket with a title and a description and nothing else.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Ticket {
        Ticket {
            id: id.into(),
            title: title.into(),
            description: description.into(),
            component: None,
            cluster: None,
            context: None,
        }
    }

    /// Sets the component hint.
    pub fn with_component(mut self, component: impl Into<String>) -> Ticket {
        self.component = Some(component.into());
        self
    }

    /// Sets the cluster.
    pub fn with_cluster(mut self, cluster: impl Into<String>) -> Ticket {
        self.cluster = Some(cluster.into());
        self
    }

    /// Sets the context.
    pub fn with_context(mut self, context: TicketContext) -> Ticket {
        self.context = Some(context);
        self
    }
}

/// What the platform knows about the ticket's cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketContext {
    /// Ownership of each core add-on installed in the cluster, by add-on name
    /// (`nvidia-gpu-operator` …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addons: BTreeMap<String, AddonOwnership>,
    /// Components the customer installed (`istio`, `kyverno` …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_components: Vec<String>,
}

impl TicketContext {
    /// Records the ownership of an add-on.
    pub fn with_addon(mut self, name: impl Into<String>, ownership: AddonOwnership) -> Self {
        self.addons.insert(name.into(), ownership);
        self
    }

    /// Records a component the customer installed.
    pub fn with_customer_component(mut self, name: impl Into<String>) -> Self {
        self.customer_components.push(name.into());
        self
    }
}

/// Who owns an installed core add-on, as the addon-manager decides it (the same type, so
/// ownership events feed the context without translation).
pub use accord_core::addon::AddonOwnership;

/// The rule that decided a classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Rule id in the rule file, e.g. `sup-control-plane-api`.
    pub id: Arc<str>,
    /// Why the rule assigns its category, written for support engineers and customers.
    pub text: Arc<str>,
}

/// The classification of one ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The ticket's id.
    pub id: String,
    /// The support category.
    pub category: Category,
    /// The layer of the component concerned; `null` only for the unclassified fallback.
    pub layer: Option<Layer>,
    /// The responsibility-matrix component id concerned; `null` only for the fallback.
    pub component: Option<Arc<str>>,
    /// The deciding rule.
    pub rule: RuleRef,
    /// Routing actions, in the rule's order (`manual-triage` last when review is needed).
    pub actions: Arc<[Action]>,
    /// What the customer should check (2–4 items) for Customer-Owned results; empty otherwise.
    pub checklist: Arc<[String]>,
    /// How sure the engine is of the category, 0 to 1 (two decimals).
    pub confidence: f32,
    /// Whether a human should confirm the classification before it is acted on.
    pub needs_review: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_parses_with_context_and_rejects_unknown_fields() {
        let t: Ticket = serde_json::from_str(
            r#"{"id":"t1","title":"x","description":"y","component":"cilium",
                "context":{"addons":{"cilium":"shared"},"customer_components":["istio"]}}"#,
        )
        .unwrap();
        let ctx = t.context.unwrap();
        assert_eq!(ctx.addons["cilium"], AddonOwnership::Shared);
        assert_eq!(ctx.customer_components, ["istio"]);

        let err = serde_json::from_str::<Ticket>(r#"{"id":"t1","title":"x","descripton":"y"}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `descripton`"),
            "{err}"
        );
        let err = serde_json::from_str::<Ticket>(
            r#"{"id":"t1","title":"x","context":{"addons":{"cilium":"mine"}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown variant `mine`"), "{err}");
    }

    #[test]
    fn description_is_optional_title_is_not() {
        let t: Ticket = serde_json::from_str(r#"{"id":"t1","title":"only a title"}"#).unwrap();
        assert_eq!(t.description, "");
        assert!(serde_json::from_str::<Ticket>(r#"{"id":"t1","description":"x"}"#).is_err());
    }
}
