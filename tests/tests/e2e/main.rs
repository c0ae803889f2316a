//! Accord end to end: one test binary, each test on its own deployment ([`accord_e2e::Env`]: a
//! real nats-server, the provisioner, the simulated fleet), driven only through gRPC and NATS.
//!
//! - [`lifecycle`]: a cluster and a node pool from creation to deletion, and the events it leaves.
//! - [`status_codes`]: every refusal reaches the wire with its gRPC code; none is INTERNAL.
//! - [`kubeconfig`]: client certificates chain to the cluster's own CA; OIDC clusters get exec.
//! - [`nats_restart`]: a NATS outage makes the service unhealthy and loses nothing acknowledged.
//! - [`faults`]: simulator faults reach cluster conditions and events; bad requests are refused.
//! - [`deploy`]: every service has a configuration that loads, a hardened systemd unit and a
//!   Kubernetes workload; the NATS configs pass `nats-server -t`; the kustomizations build and
//!   pass `kubernetes-validate --strict`.
//! - [`autoclusters`]: faults become remediations: reboot, replace on repeat, nothing without
//!   the opt-in, the breaker holding a correlated outage.
//! - [`addon_manager`]: add-ons installed from cluster events, ownership, upgrades, pushes.
//! - [`nfs_gate`]: the csi-driver's NFS StorageClass follows the provider's per-project gate.
//! - [`support_triage`]: tickets classified with live add-on ownership; incidents from faults.
//! - [`plugins`]: plugin pushes are the provider's, checked before they are stored.
//! - [`addons`]: the shipped add-on plugins render manifests that pass strict validation: built-in
//!   objects with `kubernetes-validate`, Flux objects against their vendored CRDs ([`crd_schema`]).
//! - [`limits`]: oversized and garbled requests get their codes; refusals stay small and carry
//!   field violations.
//! - [`telemetry`]: samples from the simulator's agents become findings, events and verdicts.
//! - [`self_healing`]: a down replica is rebuilt by itself; a failing customer webhook is
//!   bypassed and a Customer-Owned ticket names it until the customer's fix.
//! - [`notifications`]: a customer's webhook receives signed CloudEvents for an AutoClusters
//!   remediation and its incident; the deliveries are listed as delivered.
//! - [`images`]: the operator builds an image through its stages; its manifest hashes to its
//!   id, its SBOM validates, its signature verifies; customers read but cannot build; gated
//!   manifests name the pair; a withdrawn image shows its reason.
//! - [`image_rollout`]: issue 14's "Done when": a quick-try build promoted reaches the pools of
//!   its channel and driver branch; a failing rollout halts, disables its revision and rolls
//!   back; a withdrawn image requires an update; a tampered `image.published` is refused.
//! - [`cli_kubectl`]: the CLI's `get -o yaml | apply -f -` writes nothing, an edit is one
//!   versioned update (its stale copy refused), `-l` / `-o wide` shape lists, `get --watch`
//!   follows a new cluster through the event stream with the API key as the NATS token.
//! - [`scoping`]: every service answers foreign and missing projects and clusters alike; ports
//!   refuse what they do not serve and reflect only what they do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod addon_manager;
mod addons;
mod autoclusters;
mod cli_kubectl;
mod crd_schema;
mod deploy;
mod faults;
mod firewall;
mod image_rollout;
mod images;
mod kubeconfig;
mod lifecycle;
mod limits;
mod nats_auth;
mod nats_python;
mod nats_restart;
mod nfs_gate;
mod notifications;
mod plugins;
mod scoping;
mod self_healing;
mod status_codes;
mod storage;
mod support_triage;
mod telemetry;
