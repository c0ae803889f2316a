//! Between the classification engine and tickets: the engine's input for a ticket (with its
//! live context) and the verdict recorded from its output — or, for an incident whose owner is
//! already known, the verdict it was given ([`given`]).
//!
//! A given verdict is for the platform's node incidents: the cluster's remediation policy has
//! answered who owns the finding (`RemediationDecision::responsibility`), so the engine does
//! not re-read the finding's text (its rules answer customers' tickets, which ask a different
//! question). It carries the same routing actions a rule of its category would, so response
//! targets (`accord_core::support::sla_due`) apply unchanged.

use accord_core::{
    responsibility::{self, SupportScope},
    support::{Ticket, TicketVerdict},
};

use crate::classify::{self, Action, Classification, RuleSet};

/// Rule id of a verdict given by the cluster's remediation policy (`remediation.decided`).
pub const POLICY_RULE_ID: &str = "autoclusters-policy";

/// Rule id of the verdict of a remediation that failed (`remediation.failed`): Supported, and
/// the on-call engineer is paged.
pub const FAILED_RULE_ID: &str = "autoclusters-failed";

/// Classifies `t` with `rules`, using the ticket's recorded context.
pub fn classify(rules: &RuleSet, t: &Ticket) -> TicketVerdict {
    let mut input = classify::Ticket::new(t.id.to_string(), &t.title, t.description.clone());
    if let Some(c) = &t.component {
        input = input.with_component(c.clone());
    }
    let mut ctx = classify::TicketContext::default();
    for (name, o) in &t.context.addons {
        ctx = ctx.with_addon(name.clone(), *o);
    }
    for c in &t.context.customer_components {
        ctx = ctx.with_customer_component(c.clone());
    }
    input = input.with_context(ctx);
    verdict(&rules.classify(&input), t)
}

/// The recorded form of a classification. A customer-owned add-on verdict cites why the
/// add-on is the customer's (the ownership event's reason).
pub fn verdict(c: &Classification, t: &Ticket) -> TicketVerdict {
    let mut rule_text = c.rule.text.to_string();
    if c.category == SupportScope::CustomerOwned {
        let cited: Vec<String> = t
            .context
            .addon_reasons
            .iter()
            .filter(|(name, _)| mentions(t, name))
            .map(|(name, why)| format!("{name} is customer-owned: {why}"))
            .collect();
        if !cited.is_empty() {
            rule_text = format!("{rule_text} ({})", cited.join("; "));
        }
    }
    TicketVerdict {
        category: c.category,
        layer: c.layer,
        component: c.component.as_ref().map(|s| s.to_string()),
        rule_id: c.rule.id.to_string(),
        rule_text,
        actions: c.actions.iter().map(|a| a.as_str().to_owned()).collect(),
        checklist: c.checklist.to_vec(),
        confidence: c.confidence,
        needs_review: c.needs_review,
    }
}

/// Whether the ticket names the add-on (by hint or in its text, loosely: `gpu operator`
/// matches `nvidia-gpu-operator`).
fn mentions(t: &Ticket, addon: &str) -> bool {
    let text = classify::normalise(&format!(
        "{} {} {}",
        t.title,
        t.description,
        t.component.as_deref().unwrap_or_default()
    ));
    // Normalised strings are space-delimited words (` nvidia gpu operator `).
    let name = classify::normalise(addon);
    let short = name.replacen(" nvidia ", " ", 1);
    text.contains(&name) || text.contains(&short)
}

/// A verdict support-triage is given rather than reaches.
#[derive(Debug, Clone, Copy)]
pub struct Given<'a> {
    /// The category, as given (the policy's responsibility).
    pub category: SupportScope,
    /// Who gave it ([`POLICY_RULE_ID`], [`FAILED_RULE_ID`]).
    pub rule_id: &'a str,
    /// Why, as given (the decision's reason).
    pub explanation: &'a str,
    /// The component of the responsibility model it concerns (its layer follows).
    pub component: &'a str,
    /// Supported only: the on-call engineer is paged (an hour's response target).
    pub page_on_call: bool,
    /// The customer is told (the fault is theirs, or nothing acts on the node without them).
    pub notify_customer: bool,
    /// Customer-Owned only: what the customer should check.
    pub checklist: &'a [&'a str],
}

/// The recorded form of a given verdict, with the routing actions of its category: Supported
/// opens a provider incident (and pages when told to), Best-Effort advises, Customer-Owned
/// answers with its checklist. Certain by construction: confidence 1, no review.
pub fn given(g: &Given<'_>) -> TicketVerdict {
    let mut actions = match g.category {
        SupportScope::Supported if g.page_on_call => {
            vec![Action::OpenProviderIncident, Action::PageOnCall]
        }
        SupportScope::Supported => vec![Action::OpenProviderIncident],
        SupportScope::BestEffort => vec![Action::Advise],
        SupportScope::CustomerOwned => vec![Action::AnswerWithChecklist],
    };
    if g.notify_customer {
        actions.push(Action::NotifyCustomer);
    }
    let checklist = if g.category == SupportScope::CustomerOwned {
        g.checklist.iter().map(|c| (*c).to_owned()).collect()
    } else {
        vec![]
    };
    TicketVerdict {
        category: g.category,
        layer: responsibility::component(g.component).map(|c| c.layer),
        component: Some(g.component.to_owned()),
        rule_id: g.rule_id.to_owned(),
        rule_text: g.explanation.to_owned(),
        actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
        checklist,
        confidence: 1.0,
        needs_review: false,
    }
}

/// Whether `v` pages the on-call engineer.
pub fn pages(v: &TicketVerdict) -> bool {
    v.actions.iter().any(|a| a == Action::PageOnCall.as_str())
}

/// Whether `next` asks more of the provider than `current`: a category nearer Supported, or
/// the same category now paging.
pub fn raises(current: &TicketVerdict, next: &TicketVerdict) -> bool {
    fn rank(c: SupportScope) -> u8 {
        match c {
            SupportScope::CustomerOwned => 0,
            SupportScope::BestEffort => 1,
            SupportScope::Supported => 2,
        }
    }
    rank(next.category) > rank(current.category)
        || (next.category == current.category && pages(next) && !pages(current))
}
