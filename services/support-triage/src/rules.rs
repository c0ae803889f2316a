//! Every RPC of support-triage, declared once with the responsibility-matrix component it
//! touches ("Support tickets and platform incidents") and whose part it is: customers file and
//! read their project's tickets; the provider's support desk reads every project's, overrides
//! categories and closes tickets (the platform also closes its incidents when they recover).
//! The matrix check allows one party per mutation, so operators do not file on a customer's
//! behalf: platform incidents are opened by the service itself.

use accord_core::responsibility::{Action, Actor, RpcRule};

/// Every ticket RPC touches "Support tickets and platform incidents" in a project.
const fn r(method: &'static str, action: Action, actor: Actor) -> RpcRule {
    RpcRule::new(method, action, "support-tickets", actor, true)
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
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_agrees_with_the_matrix() {
        accord_core::responsibility::check_rules(RULES).unwrap();
    }
}
