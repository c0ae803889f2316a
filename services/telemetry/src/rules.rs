//! Every RPC of the telemetry service, declared once with the responsibility-matrix component
//! it touches ("Active hardware health checks", the provider's) and whose part it is: reads
//! only, by customers in their project and by the provider's operators.

use accord_core::responsibility::{Action, Actor, RpcRule};

/// Every health RPC reads "Active hardware health checks" in a project.
const fn read(method: &'static str) -> RpcRule {
    RpcRule::new(
        method,
        Action::Read,
        "hardware-health-checks",
        Actor::Either,
        true,
    )
}

/// The telemetry service's RPC table.
pub static RULES: &[RpcRule] = &[
    read("/accord.telemetry.v1.Health/ListNodeHealth"),
    read("/accord.telemetry.v1.Health/ListFindings"),
    read("/accord.telemetry.v1.Health/GetLatestSample"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_agrees_with_the_matrix() {
        accord_core::responsibility::check_rules(RULES).unwrap();
    }
}
