//! Conversions between the generated bindings and the plain types (`types`,
//! `accord_core::remediation`). The only place that knows both.
//!
//! Invariant: every WIT enum case maps to exactly one Rust variant and back; the `match`es are
//! exhaustive, so a WIT change that adds a case fails to compile here. The policy world has
//! one module per supported version ([`v02`], [`v01`]).

use accord_core::remediation::{
    Finding, FindingKind, RemediationAction, RemediationContext, RemediationDecision,
};
use accord_core::responsibility::SupportScope;

use crate::bindings::addon::accord::plugin::types as addon_types;
use crate::bindings::addon::exports::accord::plugin::addon_api as wit_addon;
use crate::error::PluginError;
use crate::types::{
    AddonInfo, ClusterInfo, Installer, Manifest, Ownership, PolicyInfo, PoolInfo, UpgradePlan,
    Verdict, Violation,
};

/// The policy-world conversions, once per supported version. Both versions share every record
/// but the finding, so the shared ones are written once for each module's generated types.
macro_rules! policy_conversions {
    ($world:ident) => {
        use crate::bindings::$world::accord::plugin::types as policy_types;
        use crate::bindings::$world::exports::accord::plugin::policy_api as wit_policy;

        pub(crate) fn context_to_wit(ctx: &RemediationContext) -> wit_policy::Context {
            wit_policy::Context {
                remediation_allowed: ctx.remediation_allowed,
                xid_count24h: ctx.xid_count_24h,
                remediations7d: ctx.remediations_7d,
                unhealthy_in_pool: ctx.unhealthy_in_pool,
                pool_size: ctx.pool_size,
                mig: ctx.mig,
                in_flight_in_pool: ctx.in_flight_in_pool,
                max_in_flight_per_pool: ctx.max_in_flight_per_pool,
                unhealthy_in_cluster: ctx.unhealthy_in_cluster,
                cluster_size: ctx.cluster_size,
                max_unhealthy_percent: ctx.max_unhealthy_percent,
                in_maintenance_window: ctx.in_maintenance_window,
            }
        }

        pub(crate) fn decision_from_wit(decision: wit_policy::Decision) -> RemediationDecision {
            RemediationDecision {
                action: match decision.action {
                    wit_policy::Action::None => RemediationAction::None,
                    wit_policy::Action::NotifyCustomer => RemediationAction::NotifyCustomer,
                    wit_policy::Action::ResetGpu => RemediationAction::ResetGpu,
                    wit_policy::Action::RebootNode => RemediationAction::RebootNode,
                    wit_policy::Action::ReplaceNode => RemediationAction::ReplaceNode,
                    wit_policy::Action::Escalate => RemediationAction::Escalate,
                    wit_policy::Action::Hold => RemediationAction::Hold,
                },
                responsibility: match decision.responsibility {
                    policy_types::Responsibility::Supported => SupportScope::Supported,
                    policy_types::Responsibility::BestEffort => SupportScope::BestEffort,
                    policy_types::Responsibility::CustomerOwned => SupportScope::CustomerOwned,
                },
                reason: decision.reason,
            }
        }

        pub(crate) fn policy_info_from_wit(info: wit_policy::PolicyInfo) -> PolicyInfo {
            PolicyInfo {
                name: info.name,
                version: info.version,
            }
        }
    };
}

/// `accord:plugin@0.2.0`: the finding passes whole.
pub(crate) mod v02 {
    use super::*;

    policy_conversions!(policy_v02);

    /// Every kind has its case; the port keeps the agent's name.
    pub(crate) fn finding_to_wit(finding: &Finding) -> wit_policy::Finding {
        let kind = match finding.kind {
            FindingKind::GpuXid => wit_policy::FindingKind::GpuXid,
            FindingKind::IbLink => wit_policy::FindingKind::IbLink,
            FindingKind::NodeNotReady => wit_policy::FindingKind::NodeNotReady,
            FindingKind::GpuThermal => wit_policy::FindingKind::GpuThermal,
            FindingKind::GpuEcc => wit_policy::FindingKind::GpuEcc,
            FindingKind::GpuRowRemap => wit_policy::FindingKind::GpuRowRemap,
            FindingKind::GpuNvlink => wit_policy::FindingKind::GpuNvlink,
            FindingKind::GpuPcie => wit_policy::FindingKind::GpuPcie,
        };
        wit_policy::Finding {
            kind,
            cluster: finding.cluster.clone(),
            node: finding.node.clone(),
            xid: finding.xid,
            gpu: finding.gpu,
            port: finding.port.as_ref().map(|p| p.as_str().to_owned()),
            state: finding.state.clone(),
            minutes: finding.minutes,
            temp_c: finding.temp_c,
            signal: finding.signal.clone(),
            severity: finding.severity.clone(),
        }
    }
}

/// `accord:plugin@0.1.0`, for policies built before 0.2.0.
pub(crate) mod v01 {
    use super::*;

    policy_conversions!(policy_v01);

    /// A finding in the terms of `accord:plugin@0.1.0`, which predates three things of the
    /// domain type; this is where the gap is bridged, exactly as before 0.2.0 existed:
    /// - ports are numbers there: `mlx5_N/P` becomes `N`, the HCA index the number always
    ///   meant ([`IbPortName::legacy_index`](accord_core::telemetry::IbPortName::legacy_index));
    ///   a name of another form becomes `None` (the policy only quotes the port in its reason);
    /// - it knows four kinds: `gpu-ecc`, `gpu-row-remap`, `gpu-nvlink` and `gpu-pcie` are
    ///   [`PluginError::Unsupported`] — the policy is not called with a kind it would misread;
    /// - `signal` and `severity` are not passed (it has no fields for them).
    pub(crate) fn finding_to_wit(finding: &Finding) -> Result<wit_policy::Finding, PluginError> {
        let kind = match finding.kind {
            FindingKind::GpuXid => wit_policy::FindingKind::GpuXid,
            FindingKind::IbLink => wit_policy::FindingKind::IbLink,
            FindingKind::NodeNotReady => wit_policy::FindingKind::NodeNotReady,
            FindingKind::GpuThermal => wit_policy::FindingKind::GpuThermal,
            FindingKind::GpuEcc
            | FindingKind::GpuRowRemap
            | FindingKind::GpuNvlink
            | FindingKind::GpuPcie => {
                return Err(PluginError::Unsupported(format!(
                    "finding kind `{}` is not in the remediation-policy world of \
                     accord:plugin@0.1.0 this policy was built against; rebuild it against \
                     accord:plugin@0.2.0",
                    finding.kind.as_str()
                )));
            }
        };
        Ok(wit_policy::Finding {
            kind,
            cluster: finding.cluster.clone(),
            node: finding.node.clone(),
            xid: finding.xid,
            gpu: finding.gpu,
            port: finding.port.as_ref().and_then(|p| p.legacy_index()),
            state: finding.state.clone(),
            minutes: finding.minutes,
            temp_c: finding.temp_c,
        })
    }
}

pub(crate) fn addon_info_from_wit(info: wit_addon::AddonInfo) -> AddonInfo {
    AddonInfo {
        name: info.name,
        description: info.description,
        plugin_version: info.plugin_version,
        versions: info.versions,
        default_version: info.default_version,
        default_config: info.default_config,
        required_with_infiniband: info.required_with_infiniband,
        installer: match info.installer {
            wit_addon::Installer::Provider => Installer::Provider,
            wit_addon::Installer::Customer => Installer::Customer,
        },
        customer_knobs: info.customer_knobs,
    }
}

pub(crate) fn cluster_to_wit(cluster: &ClusterInfo) -> addon_types::ClusterInfo {
    addon_types::ClusterInfo {
        id: cluster.id.clone(),
        name: cluster.name.clone(),
        project: cluster.project.clone(),
        kubernetes_version: cluster.kubernetes_version.clone(),
        region: cluster.region.clone(),
        pod_cidr: cluster.pod_cidr.clone(),
        service_cidr: cluster.service_cidr.clone(),
        api_endpoint: cluster.api_endpoint.clone(),
        pools: cluster.pools.iter().map(pool_to_wit).collect(),
    }
}

fn pool_to_wit(pool: &PoolInfo) -> addon_types::PoolInfo {
    addon_types::PoolInfo {
        name: pool.name.clone(),
        instance_type: pool.instance_type.clone(),
        gpu_count: pool.gpu_count,
        gpu_model: pool.gpu_model.clone(),
        infiniband: pool.infiniband,
        count: pool.count,
        min_count: pool.min_count,
        max_count: pool.max_count,
    }
}

pub(crate) fn violation_from_wit(violation: addon_types::Violation) -> Violation {
    Violation {
        field: violation.field,
        message: violation.message,
    }
}

pub(crate) fn manifest_from_wit(manifest: wit_addon::Manifest) -> Manifest {
    Manifest {
        name: manifest.name,
        content: manifest.content,
        format: manifest.format,
    }
}

pub(crate) fn verdict_from_wit(verdict: wit_addon::Verdict) -> Verdict {
    Verdict {
        ownership: match verdict.ownership {
            wit_addon::Ownership::ProviderManaged => Ownership::ProviderManaged,
            wit_addon::Ownership::Shared => Ownership::Shared,
            wit_addon::Ownership::CustomerOwned => Ownership::CustomerOwned,
        },
        reason: verdict.reason,
    }
}

pub(crate) fn plan_from_wit(plan: wit_addon::UpgradePlan) -> UpgradePlan {
    UpgradePlan {
        steps: plan.steps,
        disruptive: plan.disruptive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::policy_v01::exports::accord::plugin::policy_api as wit_v01;
    use crate::bindings::policy_v02::accord::plugin::types as types_v02;
    use crate::bindings::policy_v02::exports::accord::plugin::policy_api as wit_v02;

    fn finding(kind: FindingKind, port: &str) -> Finding {
        Finding {
            kind,
            cluster: "cl-1".into(),
            node: "n-1".into(),
            xid: Some(79),
            gpu: Some(3),
            port: Some(port.parse().unwrap()),
            state: Some("down".into()),
            minutes: Some(12),
            temp_c: Some(91),
            signal: Some("row_remap_failure".into()),
            severity: Some("critical".into()),
        }
    }

    #[test]
    fn findings_and_contexts_keep_every_field() {
        let wit = v01::finding_to_wit(&finding(FindingKind::IbLink, "mlx5_2/1")).unwrap();
        assert_eq!(wit.kind, wit_v01::FindingKind::IbLink);
        assert_eq!(
            (wit.xid, wit.gpu, wit.port, wit.minutes, wit.temp_c),
            (Some(79), Some(3), Some(2), Some(12), Some(91))
        );
        assert_eq!(wit.state.as_deref(), Some("down"));

        let wit = v02::finding_to_wit(&finding(FindingKind::GpuRowRemap, "mlx5_bond_0/2"));
        assert_eq!(wit.kind, wit_v02::FindingKind::GpuRowRemap);
        assert_eq!(
            (wit.xid, wit.gpu, wit.minutes, wit.temp_c),
            (Some(79), Some(3), Some(12), Some(91))
        );
        assert_eq!(wit.port.as_deref(), Some("mlx5_bond_0/2"));
        assert_eq!(wit.state.as_deref(), Some("down"));
        assert_eq!(wit.signal.as_deref(), Some("row_remap_failure"));
        assert_eq!(wit.severity.as_deref(), Some("critical"));

        let ctx = RemediationContext {
            xid_count_24h: 4,
            remediations_7d: 2,
            ..RemediationContext::default()
        };
        let wit = v01::context_to_wit(&ctx);
        assert_eq!((wit.xid_count24h, wit.remediations7d), (4, 2));
        assert_eq!(wit.max_unhealthy_percent, ctx.max_unhealthy_percent);
        let wit = v02::context_to_wit(&ctx);
        assert_eq!((wit.xid_count24h, wit.remediations7d), (4, 2));
        assert_eq!(wit.max_unhealthy_percent, ctx.max_unhealthy_percent);
    }

    #[test]
    fn every_kind_reaches_a_v02_policy_with_its_own_case() {
        let kinds: std::collections::HashSet<_> = FindingKind::ALL
            .iter()
            .map(|&kind| format!("{:?}", v02::finding_to_wit(&finding(kind, "mlx5_0/1")).kind))
            .collect();
        assert_eq!(kinds.len(), FindingKind::ALL.len());
    }

    #[test]
    fn v01_gets_port_names_as_the_hca_index_and_newer_kinds_are_refused() {
        let port = |name: &str| finding(FindingKind::IbLink, name);
        assert_eq!(
            v01::finding_to_wit(&port("mlx5_3/1")).unwrap().port,
            Some(3)
        );
        assert_eq!(
            v01::finding_to_wit(&port("mlx5_bond_0/1")).unwrap().port,
            None
        );
        for kind in [
            FindingKind::GpuEcc,
            FindingKind::GpuRowRemap,
            FindingKind::GpuNvlink,
            FindingKind::GpuPcie,
        ] {
            let err = v01::finding_to_wit(&finding(kind, "mlx5_0/1")).unwrap_err();
            assert!(
                matches!(&err, PluginError::Unsupported(m)
                    if m.contains(kind.as_str()) && m.contains("accord:plugin@0.1.0")),
                "{err}"
            );
        }
    }

    #[test]
    fn decisions_map_action_and_scope() {
        let decision = v02::decision_from_wit(wit_v02::Decision {
            action: wit_v02::Action::ReplaceNode,
            responsibility: types_v02::Responsibility::Supported,
            reason: "xid 79".into(),
        });
        assert_eq!(decision.action, RemediationAction::ReplaceNode);
        assert_eq!(decision.responsibility, SupportScope::Supported);
        assert_eq!(decision.reason, "xid 79");
    }
}
