//! Every RPC of network-firewall, declared once with the responsibility-matrix component it
//! touches and whose part it is: both parties read a cluster's firewall (component "Firewall
//! configuration", shared); the customer creates and deletes the rules that expose their
//! workloads ("Application firewall rules", customer-owned). The required rules have no RPC
//! that changes them: they follow the cluster, and a customer naming one in a delete is
//! refused by the handler with the matrix's words ("Firewall rules required by the cluster",
//! provider). A load balancer is the provider's to run ("Load balancers (L4 passthrough)", read
//! by both); asking for one and deleting it is the customer defining a Service of type
//! LoadBalancer ("Kubernetes Services and Ingress objects", customer-owned).

use accord_core::responsibility::{Action, Actor, RpcRule};

/// network-firewall's RPC table.
pub static RULES: &[RpcRule] = &[
    RpcRule::new(
        "/accord.firewall.v1.Firewall/ListFirewallRules",
        Action::Read,
        "firewall-configuration",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.firewall.v1.Firewall/CreateFirewallRule",
        Action::Mutate,
        "application-firewall-rules",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.firewall.v1.Firewall/DeleteFirewallRule",
        Action::Mutate,
        "application-firewall-rules",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.firewall.v1.Firewall/CreateLoadBalancer",
        Action::Mutate,
        "k8s-services-ingress",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.firewall.v1.Firewall/ListLoadBalancers",
        Action::Read,
        "load-balancers",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.firewall.v1.Firewall/DeleteLoadBalancer",
        Action::Mutate,
        "k8s-services-ingress",
        Actor::CUSTOMER,
        true,
    ),
];

#[cfg(test)]
mod tests {
    use accord_core::responsibility::check_rules;

    #[test]
    fn the_rule_table_agrees_with_the_matrix() {
        check_rules(super::RULES).unwrap();
    }
}
