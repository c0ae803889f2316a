//! A normal decision through the real GPU remediation policy (`plugins/policies/
//! gpu-remediation`), or through the test policy while that one is not built.

use accord_core::remediation::RemediationAction;

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
