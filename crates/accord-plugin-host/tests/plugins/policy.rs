//! Decisions through the real GPU remediation policy (`plugins/policies/gpu-remediation`,
//! `accord:plugin@0.2.0`) and through a policy of `accord:plugin@0.1.0` (the hostile test
//! policy): what each version is given, and what the older one is refused.

use accord_core::remediation::{FindingKind, RemediationAction};
use accord_plugin_host::{PluginError, PluginState, PolicyInterface};

use crate::support::{
    GPU_REMEDIATION, HOSTILE_POLICY, context, finding, host, optional_wasm, wasm,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_decision_comes_back_as_core_types() {
    let host = host();
    // XID 13 is an application error: the customer's problem, so the policy notifies.
    let finding = finding("node-a");
    match optional_wasm(GPU_REMEDIATION) {
        Some(bytes) => {
            let policy = host.load_policy(&bytes).unwrap();
            assert_eq!(policy.info().name, "gpu-remediation");
            let decision = policy.decide(&finding, &context()).await.unwrap();
            assert_eq!(
                decision.action,
                RemediationAction::NotifyCustomer,
                "{decision:?}"
            );
            assert!(!decision.reason.is_empty());
        }
        None => {
            eprintln!("note: {GPU_REMEDIATION}.wasm is not built; using {HOSTILE_POLICY}");
            let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
            let decision = policy.decide(&finding, &context()).await.unwrap();
            assert_eq!(decision.action, RemediationAction::NotifyCustomer);
        }
    }
}

/// A finding of `kind` on GPU 3 of `node`, with the port, signal and severity given.
fn finding_of(
    node: &str,
    kind: FindingKind,
    port: Option<&str>,
    signal: Option<&str>,
) -> accord_core::remediation::Finding {
    accord_core::remediation::Finding {
        kind,
        gpu: (kind != FindingKind::IbLink).then_some(3),
        xid: None,
        port: port.map(|p| p.parse().unwrap()),
        state: port.map(|_| "down".to_owned()),
        signal: signal.map(str::to_owned),
        severity: Some("critical".to_owned()),
        ..finding(node)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v02_policy_gets_the_new_kinds_and_the_port_name() {
    let policy = host().load_policy(&wasm(GPU_REMEDIATION)).unwrap();
    assert_eq!(policy.interface(), PolicyInterface::V0_2);
    let ctx = context();
    let cases = [
        (
            finding_of("n", FindingKind::GpuEcc, None, Some("ecc_dbe_total")),
            RemediationAction::ResetGpu,
            "Double-bit ECC errors on GPU 3 (as XID 48)",
        ),
        (
            finding_of(
                "n",
                FindingKind::GpuRowRemap,
                None,
                Some("row_remap_failure"),
            ),
            RemediationAction::ResetGpu,
            "Row remap failure on GPU 3 (as XID 64)",
        ),
        (
            // The signal reaches the policy: remapped rows wait for a maintenance window.
            finding_of(
                "n",
                FindingKind::GpuRowRemap,
                None,
                Some("remapped_rows_uncorrectable"),
            ),
            RemediationAction::None,
            "Rows remapped for uncorrectable errors on GPU 3",
        ),
        (
            finding_of("n", FindingKind::GpuNvlink, None, Some("nvlink_crc_errors")),
            RemediationAction::ResetGpu,
            "(as XID 74)",
        ),
        (
            finding_of("n", FindingKind::GpuPcie, None, Some("pcie_replay")),
            RemediationAction::NotifyCustomer,
            "PCIe replays over the limit on GPU 3",
        ),
        (
            // The agent's name, not an HCA index: a bonded port has no number at all.
            finding_of(
                "n",
                FindingKind::IbLink,
                Some("mlx5_bond_0/1"),
                Some("state"),
            ),
            RemediationAction::RebootNode,
            "InfiniBand port mlx5_bond_0/1 is down",
        ),
    ];
    for (finding, action, reason) in cases {
        let decision = policy.decide(&finding, &ctx).await.unwrap();
        assert_eq!(decision.action, action, "{finding:?}: {decision:?}");
        assert!(
            decision.reason.contains(reason),
            "{finding:?}: {decision:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v01_policy_still_decides_old_kinds_and_is_refused_new_ones() {
    // The hostile test policy is built against accord:plugin@0.1.0 on purpose.
    let policy = host().load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    assert_eq!(policy.interface(), PolicyInterface::V0_1);
    let ctx = context();
    let ib = finding_of("echo", FindingKind::IbLink, Some("mlx5_3/1"), Some("state"));
    let decision = policy.decide(&ib, &ctx).await.unwrap();
    assert_eq!(decision.reason, "hostile-policy: echo kind=ib-link port=3");
    let bonded = finding_of("echo", FindingKind::IbLink, Some("mlx5_bond_0/1"), None);
    let decision = policy.decide(&bonded, &ctx).await.unwrap();
    assert_eq!(decision.reason, "hostile-policy: echo kind=ib-link port=-");
    let xid = finding("echo");
    let decision = policy.decide(&xid, &ctx).await.unwrap();
    assert_eq!(decision.reason, "hostile-policy: echo kind=gpu-xid port=-");

    // More refusals than the quarantine threshold: refusals are not the plugin's fault.
    for _ in 0..2 {
        for kind in [
            FindingKind::GpuEcc,
            FindingKind::GpuRowRemap,
            FindingKind::GpuNvlink,
            FindingKind::GpuPcie,
        ] {
            let err = policy
                .decide(&finding_of("echo", kind, None, None), &ctx)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, PluginError::Unsupported(m)
                    if m.contains(kind.as_str()) && m.contains("accord:plugin@0.1.0")),
                "{err}"
            );
            assert!(!err.is_plugin_fault());
        }
    }
    assert_eq!(policy.state(), PluginState::Active);
    assert_eq!(policy.failures(), 0);
    assert!(policy.decide(&xid, &ctx).await.is_ok());
}
