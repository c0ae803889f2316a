//! Every RPC of image-builder, declared once against the responsibility matrix (layer Worker
//! Nodes, component `node-base-image`, "Worker node base OS image and configuration", the
//! provider's): building, promoting, deprecating and withdrawing images is the provider's part;
//! reading images, their manifests, SBOMs, signatures, builds, the signing key and the matrix
//! is open to both parties (a customer decides from them whether to cycle a pool). Images are
//! platform-wide, so no call is tied to a project.

use accord_core::responsibility::{Action, Actor, RpcRule};

/// The responsibility-matrix component every RPC touches.
pub const COMPONENT: &str = "node-base-image";

/// image-builder's RPC table.
pub static RULES: &[RpcRule] = &[
    RpcRule::new(
        "/accord.images.v1.Images/ListImages",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/GetImage",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/GetImageSbom",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/GetImageManifest",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/GetSigningKey",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/GetCompatibilityMatrix",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/BuildImage",
        Action::Mutate,
        COMPONENT,
        Actor::PROVIDER,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/GetBuild",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/ListBuilds",
        Action::Read,
        COMPONENT,
        Actor::Either,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/PromoteImage",
        Action::Mutate,
        COMPONENT,
        Actor::PROVIDER,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/DeprecateImage",
        Action::Mutate,
        COMPONENT,
        Actor::PROVIDER,
        false,
    ),
    RpcRule::new(
        "/accord.images.v1.Images/WithdrawImage",
        Action::Mutate,
        COMPONENT,
        Actor::PROVIDER,
        false,
    ),
];

#[cfg(test)]
mod tests {
    use accord_core::responsibility::check_rules;

    #[test]
    fn the_rule_table_agrees_with_the_matrix() {
        check_rules(super::RULES).unwrap();
    }

    #[test]
    fn the_rule_table_covers_every_method_of_the_service() {
        let mut served = accord_proto::service_methods(
            accord_proto::FILE_DESCRIPTOR_SET,
            "accord.images.v1.Images",
        )
        .unwrap()
        .unwrap();
        let mut declared: Vec<&str> = super::RULES.iter().map(|r| r.method).collect();
        declared.sort_unstable();
        served.sort_unstable();
        assert_eq!(declared, served);
    }
}
