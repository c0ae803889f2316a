//! Every RPC of the provisioner, declared once: its action, the responsibility-matrix component
//! it touches and whose part of that component it is. The auth layer enforces the party; each
//! handler enforces the project role once it knows the project.

use accord_core::{
    iam::Party,
    responsibility::{Action, Actor, RpcRule},
};

const fn r(
    method: &'static str,
    action: Action,
    component: &'static str,
    actor: Actor,
    project_scoped: bool,
) -> RpcRule {
    RpcRule {
        method,
        action,
        component,
        actor,
        project_scoped,
    }
}

const CUSTOMER: Actor = Actor::Only(Party::Customer);
const PROVIDER: Actor = Actor::Only(Party::Provider);
const EITHER: Actor = Actor::Either;

/// The provisioner's RPC table.
pub static RULES: &[RpcRule] = &[
    r(
        "/accord.provisioner.v1.Projects/CreateProject",
        Action::Mutate,
        "project-members",
        CUSTOMER,
        false,
    ),
    r(
        "/accord.provisioner.v1.Projects/GetProject",
        Action::Read,
        "project-members",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/ListProjects",
        Action::Read,
        "project-members",
        EITHER,
        false,
    ),
    r(
        "/accord.provisioner.v1.Projects/SetProjectQuota",
        Action::Mutate,
        "project-quota",
        PROVIDER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/AddMember",
        Action::ManageAccess,
        "project-members",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/RemoveMember",
        Action::ManageAccess,
        "project-members",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/ListMembers",
        Action::Read,
        "project-members",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/CreateApiKey",
        Action::ManageAccess,
        "api-keys",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/ListApiKeys",
        Action::ManageAccess,
        "api-keys",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/RevokeApiKey",
        Action::ManageAccess,
        "api-keys",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Projects/WhoAmI",
        Action::Read,
        "project-iam",
        EITHER,
        false,
    ),
    r(
        "/accord.provisioner.v1.Clusters/CreateCluster",
        Action::Mutate,
        "cluster-lifecycle",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/GetCluster",
        Action::Read,
        "cluster-lifecycle",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/ListClusters",
        Action::Read,
        "cluster-lifecycle",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/UpdateCluster",
        Action::Mutate,
        "cluster-lifecycle",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/DeleteCluster",
        Action::Mutate,
        "cluster-lifecycle",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/RequestClusterUpgrade",
        Action::Mutate,
        "kubernetes-version",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/ExecuteClusterUpgrade",
        Action::Mutate,
        "kubernetes-version",
        PROVIDER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/GetKubeconfig",
        Action::Read,
        "kubeconfig",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Clusters/ListKubernetesVersions",
        Action::Read,
        "kubernetes-version",
        EITHER,
        false,
    ),
    r(
        "/accord.provisioner.v1.Clusters/ListRegions",
        Action::Read,
        "host-provisioning",
        EITHER,
        false,
    ),
    r(
        "/accord.provisioner.v1.NodePools/CreateNodePool",
        Action::Mutate,
        "node-pools",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/GetNodePool",
        Action::Read,
        "node-pools",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/ListNodePools",
        Action::Read,
        "node-pools",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/UpdateNodePool",
        Action::Mutate,
        "node-pools",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/ScaleNodePool",
        Action::Mutate,
        "node-pools",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/CycleNodePool",
        Action::Mutate,
        "node-os-updates",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/DeleteNodePool",
        Action::Mutate,
        "node-pools",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.NodePools/ListInstanceTypes",
        Action::Read,
        "gpu-cpu-hardware",
        EITHER,
        false,
    ),
    r(
        "/accord.provisioner.v1.NodePools/ListImages",
        Action::Read,
        "node-base-image",
        EITHER,
        false,
    ),
    r(
        "/accord.provisioner.v1.Nodes/ListNodes",
        Action::Read,
        "node-pools",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Nodes/GetNode",
        Action::Read,
        "node-pools",
        EITHER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Nodes/CordonNode",
        Action::Mutate,
        "node-pools",
        CUSTOMER,
        true,
    ),
    r(
        "/accord.provisioner.v1.Nodes/UncordonNode",
        Action::Mutate,
        "node-pools",
        CUSTOMER,
        true,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_agrees_with_the_responsibility_matrix() {
        accord_core::responsibility::check_rules(RULES).unwrap();
    }

    #[test]
    fn every_rpc_of_the_proto_is_declared() {
        use prost::Message;
        let fds =
            prost_types::FileDescriptorSet::decode(accord_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut declared = 0;
        for file in fds
            .file
            .iter()
            .filter(|f| f.package() == "accord.provisioner.v1")
        {
            for svc in &file.service {
                for m in &svc.method {
                    let path = format!("/{}.{}/{}", file.package(), svc.name(), m.name());
                    assert!(RULES.iter().any(|r| r.method == path), "{path} has no rule");
                    declared += 1;
                }
            }
        }
        assert_eq!(declared, RULES.len(), "rules for methods that do not exist");
    }
}
