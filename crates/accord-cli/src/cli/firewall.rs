//! `accord firewall …`: the firewall engine run offline (`evaluate`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `accord firewall …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum FirewallCommand {
    /// Decide packets against a cluster's firewall, one JSON line in, one JSON line out
    ///
    /// Input lines: {"id", "cluster": {"vpc_subnet", "pod_cidr", "service_cidr", "cni"?:
    /// {"tunnel": "vxlan"|"geneve"|"native", "wireguard"?, "hubble"?}, "pools"?: [{"name",
    /// "nodes"}]}, "rules": [{"name", "priority", "direction", "action", "protocol", "ports"?,
    /// "sources"?|"destinations"?, "targets"?}], "packet": {"direction": "ingress"|"egress",
    /// "protocol", "port"?, "from", "to"}}. "from"/"to": an IPv4 address, "node" (the first
    /// host of vpc_subnet), "control-plane" (198.18.0.1, the provider's control-plane range)
    /// or "internet" (203.0.113.10). Ingress packets go to a node, egress packets come from
    /// one. Order: the provider's required rules, then customer rules by priority (lower wins;
    /// ties: deny), then the defaults (ingress deny, egress allow). Output lines, same order:
    /// {"id", "verdict", "tier": "provider"|"customer"|"default", "rule"}; an invalid line
    /// gives {"id", "error"} naming the field, and the command exits non-zero at the end.
    /// Works offline: no token, server or NATS.
    #[command(
        after_help = "Examples:\n  accord firewall evaluate packets.jsonl\n  echo '{\"id\":\"1\",\"cluster\":{\"vpc_subnet\":\"10.0.0.0/16\",\"pod_cidr\":\"10.244.0.0/16\",\"service_cidr\":\"10.96.0.0/12\"},\"rules\":[],\"packet\":{\"direction\":\"ingress\",\"protocol\":\"tcp\",\"port\":10250,\"from\":\"control-plane\",\"to\":\"node\"}}' | accord firewall evaluate -"
    )]
    Evaluate(FirewallEvaluateArgs),
}

/// `accord firewall evaluate`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct FirewallEvaluateArgs {
    /// JSON Lines file of packets with their cluster and rules, or `-` for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}
