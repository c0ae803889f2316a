//! The routing actions a classification carries: a small closed set, so that whatever consumes
//! classifications (the support desk, the on-call pager, the customer-facing answer) can match
//! on them exhaustively.
//!
//! Invariant: every rule names at least the action its category requires
//! ([`Action::required_for`]); `manual-triage` is added by the engine to every result that needs
//! review, so a human sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ticket::Category;

/// What the support desk does with a classified ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Supported: open an incident the provider owns, under its service-level commitments.
    OpenProviderIncident,
    /// Supported outage (control plane down, hardware or fabric failure): wake the on-call
    /// engineer now rather than waiting for business hours.
    PageOnCall,
    /// Best-Effort: investigate and advise, without owning the outcome or an SLA.
    Advise,
    /// Customer-Owned: answer with the rule's checklist of what the customer should check.
    AnswerWithChecklist,
    /// A customer component broke the control plane: the provider restores baseline health
    /// first (e.g. by disabling the offending webhook) without debugging the component.
    RestoreControlPlane,
    /// Tell the customer to fix or remove the component at fault.
    NotifyCustomer,
    /// A human triager must confirm the classification (low confidence or no match).
    ManualTriage,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 7] = [
        Action::OpenProviderIncident,
        Action::PageOnCall,
        Action::Advise,
        Action::AnswerWithChecklist,
        Action::RestoreControlPlane,
        Action::NotifyCustomer,
        Action::ManualTriage,
    ];

    /// The kebab-case name used in rule files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::OpenProviderIncident => "open-provider-incident",
            Action::PageOnCall => "page-on-call",
            Action::Advise => "advise",
            Action::AnswerWithChecklist => "answer-with-checklist",
            Action::RestoreControlPlane => "restore-control-plane",
            Action::NotifyCustomer => "notify-customer",
            Action::ManualTriage => "manual-triage",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The actions of which a rule of `category` must name at least one: a Supported rule opens
    /// an incident, a Best-Effort rule advises, a Customer-Owned rule answers with its checklist
    /// or notifies the customer.
    pub fn required_for(category: Category) -> &'static [Action] {
        match category {
            Category::Supported => &[Action::OpenProviderIncident],
            Category::BestEffort => &[Action::Advise],
            Category::CustomerOwned => &[Action::AnswerWithChecklist, Action::NotifyCustomer],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
        assert_eq!(Action::parse("escalate"), None);
    }
}
