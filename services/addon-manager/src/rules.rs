//! Every RPC of the addon-manager, declared once: its action, the responsibility-matrix
//! component it touches and whose part of that component it is. The auth layer enforces the
//! party; the gRPC edge enforces the project role once it knows the cluster.
//!
//! - Installing a core add-on (or declaring a self-managed one) and changing its configuration
//!   are the customer's part of "Core add-on configuration" (the provider ships reference
//!   configurations, the customer opts in and tunes).
//! - Critical upgrades are the provider's part of "Core add-on installation and critical
//!   upgrades": a customer calling `UpgradeAddon` is refused with the layer and its owner.
//! - Pushing and listing plugins (`accord.addons.v1.Plugins`) are the provider's too: a pushed
//!   component changes the catalogue of every project.

use accord_core::responsibility::{Action, Actor, RpcRule};

/// The addon-manager's RPC table.
pub static RULES: &[RpcRule] = &[
    RpcRule::new(
        "/accord.addons.v1.Addons/ListAvailableAddons",
        Action::Read,
        "core-addons",
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.addons.v1.Addons/InstallAddon",
        Action::Mutate,
        "addon-configuration",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.addons.v1.Addons/GetAddon",
        Action::Read,
        "addon-configuration",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.addons.v1.Addons/ListAddons",
        Action::Read,
        "addon-configuration",
        Actor::Either,
        true,
    ),
    RpcRule::new(
        "/accord.addons.v1.Addons/UpdateAddonConfig",
        Action::Mutate,
        "addon-configuration",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.addons.v1.Addons/UninstallAddon",
        Action::Mutate,
        "addon-configuration",
        Actor::CUSTOMER,
        true,
    ),
    RpcRule::new(
        "/accord.addons.v1.Addons/UpgradeAddon",
        Action::Mutate,
        "core-addons",
        Actor::PROVIDER,
        false,
    ),
    // Pushing a plugin (an add-on or a remediation policy) changes what every project is
    // offered: the provider's part of the catalogue, never a customer's.
    RpcRule::new(
        "/accord.addons.v1.Plugins/PushPlugin",
        Action::Mutate,
        "core-addons",
        Actor::PROVIDER,
        false,
    ),
    RpcRule::new(
        "/accord.addons.v1.Plugins/ListPlugins",
        Action::Read,
        "core-addons",
        Actor::PROVIDER,
        false,
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
