//! Every RPC of support-triage, declared once with the responsibility-matrix component it
//! touches ("Support tickets and platform incidents") and whose part it is: customers file and
//! read their project's tickets; the provider's support desk reads every project's, overrides
//! categories and closes tickets (the platform also closes its incidents when they recover).
//! The matrix check allows one party per mutation, so operators do not file on a customer's
//! behalf: platform incidents are opened by the service itself. Webhooks (component
//! `notifications`) are the customer's to configure; either party lists them and their
//! deliveries.

use accord_core::responsibility::{Action, Actor, RpcRule};

/// Every ticket RPC touches "Support tickets and platform incidents" in a project.
const fn r(method: &'static str, action: Action, actor: Actor) -> RpcRule {
    RpcRule::new(method, action, "support-tickets", actor, true)
}

/// Every notification RPC touches "Customer notifications (webhooks)": the customer
/// configures the project's endpoints (Editor or Admin to change them), either party reads.
const fn n(method: &'static str, action: Action, actor: Actor) -> RpcRule {
    RpcRule::new(method, action, "notifications", actor, true)
}

/// support-triage's RPC table.
pub static RULES: &[RpcRule] = &[
    r(
        "/accord.support.v1.Support/FileTicket",
        Action::Mutate,
        Actor::CUSTOMER,
    ),
    r(
        "/accord.support.v1.Support/GetTicket",
        Action::Read,
        Actor::Either,
    ),
    r(
        "/accord.support.v1.Support/ListTickets",
        Action::Read,
        Actor::Either,
    ),
    r(
        "/accord.support.v1.Support/ReclassifyTicket",
        Action::Mutate,
        Actor::PROVIDER,
    ),
    r(
        "/accord.support.v1.Support/CloseTicket",
        Action::Mutate,
        Actor::PROVIDER,
    ),
    n(
        "/accord.support.v1.Notifications/CreateWebhook",
        Action::Mutate,
        Actor::CUSTOMER,
    ),
    n(
        "/accord.support.v1.Notifications/ListWebhooks",
        Action::Read,
        Actor::Either,
    ),
    n(
        "/accord.support.v1.Notifications/DeleteWebhook",
        Action::Mutate,
        Actor::CUSTOMER,
    ),
    n(
        "/accord.support.v1.Notifications/ListDeliveries",
        Action::Read,
        Actor::Either,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_agrees_with_the_matrix() {
        accord_core::responsibility::check_rules(RULES).unwrap();
    }
}
