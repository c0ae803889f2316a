//! `accord webhook …`: register customer webhooks, list and delete them, list their deliveries.

use clap::{Args, Subcommand, ValueEnum};

/// How receivers check a notification, shown in `accord webhook create --help`.
const CREATE_HELP: &str = "\
Examples:
  accord webhook create https://hooks.example.com/accord
  accord webhook create https://hooks.example.com/accord --kinds remediation-failed,incident-opened
  accord webhook create https://hooks.example.com/accord -o json > webhook.json

The answer carries the webhook's signing secret (whsec_…), shown only this once. Each
notification is a CloudEvents 1.0 JSON document POSTed with the headers
  webhook-id: <the event id, the same on every attempt: de-duplicate on it>
  X-Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">
keyed with the secret's bytes as shown (whsec_ included). Recompute it over the raw body,
compare in constant time, and reject a t far from your clock (five minutes is usual).";

/// `accord webhook …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum WebhookCommand {
    /// Register a webhook; prints it and its signing secret, which is shown only this once
    #[command(after_help = CREATE_HELP)]
    Create(WebhookCreateArgs),
    /// List the project's webhooks
    #[command(
        alias = "ls",
        after_help = "Examples:\n  accord webhook list\n  accord webhook list -o json"
    )]
    List,
    /// Delete a webhook and its delivery records
    #[command(
        alias = "rm",
        after_help = "Examples:\n  accord webhook delete wh-01jexample000000000000ab12\n  accord webhook delete wh-…0000ab12   (the short form `accord webhook list` shows)"
    )]
    Delete(WebhookRef),
    /// List notifications sent (or being retried) to the project's webhooks, newest first
    #[command(
        after_help = "Examples:\n  accord webhook deliveries\n  accord webhook deliveries --state failed\n  accord webhook deliveries --webhook wh-…0000ab12 --state pending --limit 20 -o json"
    )]
    Deliveries(WebhookDeliveriesArgs),
}

/// A notification kind, as named on the command line, on the wire and in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotificationKindArg {
    /// AutoClusters decided what to do about a node's finding (any action, any state)
    RemediationDecided,
    /// A remediation repaired or replaced the node
    RemediationSucceeded,
    /// A remediation failed: the provider's on-call engineer takes over
    RemediationFailed,
    /// A safety limit (maintenance window, in-flight or unhealthy limits) holds a remediation
    RemediationHeld,
    /// The platform opened an incident about one of the project's clusters
    IncidentOpened,
}

/// A delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeliveryStateArg {
    /// Not delivered yet: waiting for its first attempt or a retry
    Pending,
    /// The endpoint answered 2xx
    Delivered,
    /// Given up: a non-retryable answer, or 20 attempts / 24 h of retries
    Failed,
}

/// `accord webhook create`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct WebhookCreateArgs {
    /// Where to POST notifications: https:// to a public host (http:// only to loopback, where
    /// the deployment allows it)
    #[arg(value_name = "URL")]
    pub url: String,
    /// Only these kinds (comma-separated or repeated) [default: every kind, including kinds
    /// added later]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub kinds: Vec<NotificationKindArg>,
}

/// One webhook.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct WebhookRef {
    /// Webhook id (the full `wh-…` id, or the short form / tail `accord webhook list` shows)
    #[arg(value_name = "ID")]
    pub id: String,
}

/// `accord webhook deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct WebhookDeliveriesArgs {
    /// Only deliveries to this webhook (id, short form or tail)
    #[arg(long, value_name = "ID")]
    pub webhook: Option<String>,
    /// Only deliveries in this state
    #[arg(long, value_enum)]
    pub state: Option<DeliveryStateArg>,
    /// At most this many, newest first (1–1000)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}
