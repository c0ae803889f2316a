//! One compiled [`Rule`] (what it assigns, why, and what to do) and the [`Trigger`] that says how
//! it takes part in classification.

use std::{fmt, sync::Arc};

use accord_core::responsibility::{Component, Layer};

use crate::{action::Action, ticket::Category};

/// How a rule takes part in classification (see the engine's precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Scores on the ticket's text and component hint (precedence 3–4).
    Text,
    /// A customer component breaks or degrades the control plane (precedence 1). Its patterns
    /// are the control-plane symptoms; its `requires` anchors say the control plane is involved.
    BreaksControlPlane,
    /// A customer component (a training job, typically) saturates or degrades the InfiniBand
    /// fabric (precedence 1, after `BreaksControlPlane`). Its patterns are the fabric symptoms;
    /// its `requires` anchors say the fabric is involved.
    BreaksFabric,
    /// The ticket is about an add-on the context marks customer-owned (precedence 2).
    AddonCustomerOwned,
    /// The ticket is about an add-on the context marks shared (precedence 2).
    AddonShared,
    /// Nothing matched well enough: the unclassified default.
    Fallback,
}

impl Trigger {
    pub(super) const ALL: [Trigger; 6] = [
        Trigger::Text,
        Trigger::BreaksControlPlane,
        Trigger::BreaksFabric,
        Trigger::AddonCustomerOwned,
        Trigger::AddonShared,
        Trigger::Fallback,
    ];

    /// The name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Text => "text",
            Trigger::BreaksControlPlane => "breaks-control-plane",
            Trigger::BreaksFabric => "breaks-fabric",
            Trigger::AddonCustomerOwned => "addon-customer-owned",
            Trigger::AddonShared => "addon-shared",
            Trigger::Fallback => "fallback",
        }
    }

    /// The category a special path assigns (`None` for text rules).
    pub(super) fn category(self) -> Option<Category> {
        match self {
            Trigger::Text => None,
            Trigger::BreaksControlPlane | Trigger::BreaksFabric | Trigger::AddonCustomerOwned => {
                Some(Category::CustomerOwned)
            }
            Trigger::AddonShared => Some(Category::Supported),
            Trigger::Fallback => Some(Category::BestEffort),
        }
    }

    /// Whether rules with this trigger score on patterns.
    pub(super) fn scores(self) -> bool {
        matches!(
            self,
            Trigger::Text | Trigger::BreaksControlPlane | Trigger::BreaksFabric
        )
    }

    /// Whether the trigger is a "customer component breaks the platform" path: its rule carries
    /// a `blame:` section and the restore-and-notify actions.
    pub fn is_breaks(self) -> bool {
        matches!(self, Trigger::BreaksControlPlane | Trigger::BreaksFabric)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) id: Arc<str>,
    pub(crate) category: Category,
    pub(crate) component: Option<&'static Component>,
    pub(crate) component_id: Option<Arc<str>>,
    pub(crate) trigger: Trigger,
    pub(crate) priority: i32,
    pub(crate) text: Arc<str>,
    pub(crate) actions: Arc<[Action]>,
    pub(crate) review_actions: Arc<[Action]>,
    pub(crate) checklist: Arc<[String]>,
    pub(crate) topic: Option<&'static str>,
    pub(crate) kind: Option<&'static str>,
    pub(crate) provider_fault: bool,
    pub(crate) needs_anchor: bool,
    pub(crate) differs_because: Option<String>,
}

impl Rule {
    /// The rule id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The category the rule assigns.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The matrix component the rule concerns (`None` only for the fallback).
    pub fn component(&self) -> Option<&'static Component> {
        self.component
    }

    /// The layer of the rule's component.
    pub fn layer(&self) -> Option<Layer> {
        self.component.map(|c| c.layer)
    }

    /// How the rule takes part in classification.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// Tie-break rank: higher wins a tie on score.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// The rule's explanation.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The routing actions.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// What the customer should check (Customer-Owned rules).
    pub fn checklist(&self) -> &[String] {
        &self.checklist
    }

    /// The matrix's Best-Effort topic the rule encodes.
    pub fn topic(&self) -> Option<&'static str> {
        self.topic
    }

    /// The matrix's customer-owned kind the rule describes (a component the customer installs).
    pub fn kind(&self) -> Option<&'static str> {
        self.kind
    }

    /// Whether the rule describes a fault of hardware the provider runs.
    pub fn provider_fault(&self) -> bool {
        self.provider_fault
    }

    /// Why the category differs from the matrix's support scope of the component, if it does.
    pub fn differs_because(&self) -> Option<&str> {
        self.differs_because.as_deref()
    }
}
