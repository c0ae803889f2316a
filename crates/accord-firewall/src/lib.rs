//! The firewall engine of the network-firewall service (issue 12), pure: no IO, no async, no
//! clock. The service stores rules and applies them; this crate decides what they mean.
//!
//! - [`rule`]: the rule model both tiers share — [`Direction`], [`Action`], [`Protocol`],
//!   [`PortRange`], [`Target`], [`Selector`] — the customer's [`CustomerRule`] and the
//!   [`Packet`].
//! - [`validate`]: customer rules as written ([`RuleSpec`]) → [`CustomerRule`]s, field by field.
//! - [`addr`]: strict IPv4 addresses and CIDRs (host bits refused, IPv6 refused).
//! - [`cluster`]: what the firewall knows of a cluster ([`ClusterNetwork`]: address plan, CNI,
//!   pools, the provider's ranges) and what `node`, `control-plane`, `internet` stand for.
//! - [`provider`]: the required rules a cluster needs, each naming its [`Flow`], and a load
//!   balancer's rule.
//! - [`eval`]: [`Firewall`] (provider tier, then customer rules by priority, then the implied
//!   defaults) and the [`linear_scan`] reference.
//! - `index` (private): the customer tier's index, built once per rule set.
//! - [`shadow`]: warnings — provider overrides, shadowed rules, unknown pools.
//! - [`packet`]: packets as written ([`PacketSpec`]) → [`Packet`].
//! - [`jsonl`]: `accord firewall evaluate`'s JSON Lines.
//! - [`driver`]: the contract with the cloud's network ([`driver::NetworkDriver`]: the VPC
//!   firewall's rule sets and L4 load balancers), as plain data.
//! - [`limits`]: every bound (10,000 rules per cluster, 64 port entries and 256 CIDRs per
//!   rule, …); [`error`]: errors naming their field.
//!
//! Invariants: no customer rule can cut a required flow (the provider tier is evaluated first
//! and only allows); evaluation is total and deterministic ([`Firewall::evaluate`] and
//! [`linear_scan`] agree on every packet); error messages never repeat unbounded input.

pub mod addr;
pub mod cluster;
pub mod driver;
pub mod error;
pub mod eval;
mod index;
pub mod jsonl;
pub mod limits;
pub mod packet;
pub mod provider;
pub mod rule;
pub mod shadow;
pub mod validate;

#[cfg(test)]
mod tests;

pub use cluster::{
    CONTROL_PLANE_RANGE, ClusterNetwork, ClusterSpec, Cni, Endpoint, INTERNET_ADDRESS,
    LOAD_BALANCER_RANGE, MANAGEMENT_RANGE, NodePool, PoolSpec, ProviderRanges, Tunnel,
    validate_cluster,
};
pub use error::{FieldError, FieldErrors};
pub use eval::{
    DEFAULT_ALLOW_EGRESS, DEFAULT_DENY_INGRESS, Decision, Firewall, Tier, Verdict, linear_scan,
};
pub use jsonl::{JsonlSummary, evaluate_jsonl};
pub use packet::{PacketSpec, validate_packet};
pub use provider::{Flow, ProviderRule, load_balancer_rule, provider_rules};
pub use rule::{
    Action, CustomerRule, Direction, Packet, PacketProtocol, PortRange, Protocol, Selector, Target,
};
pub use shadow::{Warning, WarningKind, analyze, warnings_for_rule};
pub use validate::{RuleSpec, check_addition, validate_rule, validate_rules};
