//! What every RPC declares ([`RpcRule`]: its [`Action`], the component it touches and whose part
//! it is, [`Actor`]) and the checks built on it: a principal against one rule, and a service's
//! whole rule table against the matrix ([`check_rules`]).

use serde::{Deserialize, Serialize};

use super::matrix::component;
use super::model::{Component, Owner};
use crate::{
    error::DomainError,
    iam::{Party, Principal, Role},
};

/// What an RPC does, which decides the minimum project role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read state.
    Read,
    /// Create, change or delete resources.
    Mutate,
    /// Manage members and API keys.
    ManageAccess,
}

impl Action {
    /// The minimum project role a customer needs.
    pub fn min_role(self) -> Role {
        match self {
            Action::Read => Role::Reader,
            Action::Mutate => Role::Editor,
            Action::ManageAccess => Role::Admin,
        }
    }
}

/// Who may perform an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// Only the given party.
    Only(Party),
    /// Either party: reads (the provider's operators read customer state to support it), and
    /// mutations of a shared component that both parties' parts include (an AutoClusters
    /// remediation waiting for approval is approved by the customer or by the operator).
    Either,
}

impl Actor {
    /// Only customers: the RPC performs the customer's part of its component.
    pub const CUSTOMER: Actor = Actor::Only(Party::Customer);
    /// Only provider operators: the RPC performs the provider's part of its component.
    pub const PROVIDER: Actor = Actor::Only(Party::Provider);
}

/// The declaration every RPC makes: its action, the component it touches and whose part it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcRule {
    /// Full gRPC method path, e.g. `/accord.provisioner.v1.Clusters/CreateCluster`.
    pub method: &'static str,
    /// What it does.
    pub action: Action,
    /// Component id in [`super::COMPONENTS`].
    pub component: &'static str,
    /// Whose part of the component it performs.
    pub actor: Actor,
    /// Whether the call is tied to one project (a customer key then must be scoped to it).
    pub project_scoped: bool,
}

impl RpcRule {
    /// A rule, for a service's rule table (a `const` context):
    /// `RpcRule::new(METHOD, Action::Mutate, "node-pools", Actor::CUSTOMER, true)`.
    ///
    /// Nothing is checked here: [`check_rules`] checks a whole table against the matrix (each
    /// service's tests run it), and the service host checks it against the served methods at
    /// start-up.
    pub const fn new(
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

    /// The component this rule names.
    pub fn component(&self) -> Result<&'static Component, DomainError> {
        component(self.component).ok_or_else(|| {
            DomainError::internal(format!(
                "RPC {} names unknown component {}",
                self.method, self.component
            ))
        })
    }

    /// Checks the responsibility matrix (party) for `principal`. Project role checks happen
    /// once the target project is known, with [`RpcRule::authorize_in_project`].
    pub fn authorize(&self, principal: &Principal) -> Result<(), DomainError> {
        let comp = self.component()?;
        let party = principal.party();
        match self.actor {
            Actor::Either => Ok(()),
            Actor::Only(required) if required == party => Ok(()),
            Actor::Only(required) => Err(DomainError::PermissionDenied(format!(
                "{} is the {required}'s part of {:?} in the {} layer (owned by {}); a {party} cannot do it{}",
                describe_method(self.method),
                comp.name,
                comp.layer,
                comp.owner.as_str(),
                hint(comp, required),
            ))),
        }
    }

    /// Checks that a customer principal acts in `project` with at least the rule's role.
    /// Provider operators pass when the rule allows the provider at all.
    pub fn authorize_in_project(
        &self,
        principal: &Principal,
        project: crate::ids::ProjectId,
    ) -> Result<(), DomainError> {
        self.authorize(principal)?;
        match principal {
            Principal::ProviderOperator { .. } => Ok(()),
            Principal::Customer {
                project: scoped,
                role,
                ..
            } => {
                if *scoped != project {
                    // Do not reveal whether the other project exists.
                    return Err(DomainError::PermissionDenied(format!(
                        "this API key is scoped to project {scoped}, not {project}"
                    )));
                }
                let needed = self.action.min_role();
                if *role < needed {
                    return Err(DomainError::PermissionDenied(format!(
                        "{} needs the {needed} role in project {project}; you are {role}",
                        describe_method(self.method)
                    )));
                }
                Ok(())
            }
        }
    }
}

fn describe_method(method: &str) -> String {
    let name = method.rsplit('/').next().unwrap_or(method);
    format!("`{name}`")
}

fn hint(comp: &Component, required: Party) -> String {
    match required {
        Party::Provider if !comp.customer_part.is_empty() => {
            format!(" (the customer's part is: {})", comp.customer_part)
        }
        Party::Customer if !comp.provider_part.is_empty() => {
            format!(" (the provider's part is: {})", comp.provider_part)
        }
        _ => String::new(),
    }
}

/// Checks a whole RPC table: every rule names a known component and assigns its action to a
/// party that has a part in that component. Run by each service's tests.
pub fn check_rules(rules: &[RpcRule]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for r in rules {
        if !seen.insert(r.method) {
            return Err(format!("{} declared twice", r.method));
        }
        let comp = component(r.component)
            .ok_or_else(|| format!("{}: unknown component {}", r.method, r.component))?;
        if r.action == Action::Read {
            continue;
        }
        let ok = match (r.actor, comp.owner) {
            (Actor::Either, Owner::Shared) => true,
            (Actor::Either, _) => false,
            (Actor::Only(_), Owner::Shared) => true,
            (Actor::Only(Party::Provider), Owner::Provider) => true,
            (Actor::Only(Party::Customer), Owner::Customer) => true,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "{}: a mutation by {:?} on {} (owned by {}) contradicts the matrix",
                r.method, r.actor, comp.id, comp.owner
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ApiKeyId, ProjectId, UserId};

    fn customer(role: Role, project: ProjectId) -> Principal {
        Principal::Customer {
            user: UserId::generate(),
            user_name: "ada@example.com".into(),
            project,
            role,
            key: ApiKeyId::generate(),
        }
    }

    fn operator() -> Principal {
        Principal::ProviderOperator {
            name: "ops".into(),
            key: ApiKeyId::generate(),
        }
    }

    const EXECUTE: RpcRule = RpcRule::new(
        "/accord.provisioner.v1.Clusters/ExecuteClusterUpgrade",
        Action::Mutate,
        "kubernetes-version",
        Actor::PROVIDER,
        true,
    );

    #[test]
    fn new_and_the_actor_shorthands_build_the_same_rule_as_a_literal() {
        assert_eq!(
            EXECUTE,
            RpcRule {
                method: "/accord.provisioner.v1.Clusters/ExecuteClusterUpgrade",
                action: Action::Mutate,
                component: "kubernetes-version",
                actor: Actor::Only(Party::Provider),
                project_scoped: true,
            }
        );
        assert_eq!(Actor::CUSTOMER, Actor::Only(Party::Customer));
        assert_ne!(Actor::CUSTOMER, Actor::PROVIDER);
    }

    #[test]
    fn customer_cannot_execute_upgrade_and_message_names_layer_and_owner() {
        let p = ProjectId::generate();
        let err = EXECUTE
            .authorize_in_project(&customer(Role::Admin, p), p)
            .unwrap_err();
        let DomainError::PermissionDenied(msg) = err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("Control Plane"), "{msg}");
        assert!(msg.contains("provider"), "{msg}");
        assert!(msg.contains("ExecuteClusterUpgrade"), "{msg}");
        EXECUTE.authorize_in_project(&operator(), p).unwrap();
    }

    #[test]
    fn roles_gate_actions_and_keys_are_project_scoped() {
        let p = ProjectId::generate();
        let rule = RpcRule {
            method: "/x.Y/CreateNodePool",
            action: Action::Mutate,
            component: "node-pools",
            actor: Actor::Only(Party::Customer),
            project_scoped: true,
        };
        assert!(
            rule.authorize_in_project(&customer(Role::Reader, p), p)
                .is_err()
        );
        rule.authorize_in_project(&customer(Role::Editor, p), p)
            .unwrap();
        let other = ProjectId::generate();
        assert!(
            rule.authorize_in_project(&customer(Role::Admin, other), p)
                .is_err()
        );
        assert!(
            rule.authorize(&operator()).is_err(),
            "the provider does not size customer pools"
        );
    }

    #[test]
    fn rule_tables_are_checked_against_the_matrix() {
        assert!(check_rules(&[EXECUTE]).is_ok());
        let wrong = RpcRule {
            actor: Actor::Only(Party::Customer),
            component: "etcd",
            ..EXECUTE
        };
        assert!(check_rules(&[wrong]).is_err());
        assert!(check_rules(&[EXECUTE, EXECUTE]).is_err());
        // Either party may mutate only what both own a part of.
        let either = |component| RpcRule {
            actor: Actor::Either,
            component,
            ..EXECUTE
        };
        assert!(check_rules(&[either("autoclusters")]).is_ok());
        assert!(check_rules(&[either("etcd")]).is_err());
        assert!(check_rules(&[either("node-pools")]).is_err());
    }
}
