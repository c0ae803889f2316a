//! Between the classification engine and tickets: the engine's input for a ticket (with its
//! live context) and the verdict recorded from its output.

use accord_core::support::{Ticket, TicketVerdict};

use crate::classify::{self, Classification, RuleSet};

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
    if c.category == accord_core::responsibility::SupportScope::CustomerOwned {
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
