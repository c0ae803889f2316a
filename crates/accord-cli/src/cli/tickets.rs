//! `accord ticket …`: file a support ticket and see its classification, list, reclassify, close.

use clap::{Args, Subcommand, ValueEnum};

/// `accord ticket …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TicketCommand {
    /// File a support ticket; prints how it was classified and what happens next
    #[command(
        after_help = "Examples:\n  accord ticket create --title 'kubectl times out' --cluster demo\n  accord ticket create --title 'pods cannot reach each other' --cluster demo --component cilium --customer-component istio"
    )]
    Create(TicketCreateArgs),
    /// Show a ticket: its category, the rule that decided, what to check
    Get(TicketRef),
    /// List tickets
    #[command(alias = "ls")]
    List(TicketListArgs),
    /// Override a ticket's category, saying why (provider operator)
    Reclassify(TicketReclassifyArgs),
    /// Close a ticket
    Close(TicketCloseArgs),
}

/// A ticket category, as named on the command line and in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TicketCategoryArg {
    /// The provider owns resolution under its SLA
    Supported,
    /// The provider investigates and advises, without an SLA
    BestEffort,
    /// The customer's to fix; the answer says what to check
    CustomerOwned,
}

/// A ticket state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TicketStateArg {
    /// Open tickets
    Open,
    /// Closed tickets
    Closed,
}

/// One ticket.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketRef {
    /// Ticket id (the full id, or the short form / tail `accord ticket list` shows)
    #[arg(value_name = "ID")]
    pub ticket: String,
}

/// `accord ticket create`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketCreateArgs {
    /// One-line summary of the problem
    #[arg(long, value_name = "TEXT")]
    pub title: String,
    /// What happens, error messages, logs
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The cluster concerned (name or id); its add-on ownership is taken into account
    #[arg(short = 'c', long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// What it is about: a component id, an add-on name or a layer (e.g. kube-apiserver, cilium,
    /// networking)
    #[arg(long, value_name = "NAME")]
    pub component: Option<String>,
    /// A component you run in the cluster yourself, e.g. istio (repeatable)
    #[arg(long = "customer-component", value_name = "NAME")]
    pub customer_components: Vec<String>,
}

/// `accord ticket list`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketListArgs {
    /// Only tickets of this category
    #[arg(long, value_enum)]
    pub category: Option<TicketCategoryArg>,
    /// Only tickets about this cluster (name or id)
    #[arg(short = 'c', long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Only open or only closed tickets
    #[arg(long, value_enum)]
    pub state: Option<TicketStateArg>,
}

/// `accord ticket reclassify`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketReclassifyArgs {
    #[command(flatten)]
    pub target: TicketRef,
    /// The category that applies
    #[arg(long, value_enum)]
    pub category: TicketCategoryArg,
    /// Why (recorded with the override and shown to the customer)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// `accord ticket close`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct TicketCloseArgs {
    #[command(flatten)]
    pub target: TicketRef,
    /// How it was resolved
    #[arg(long, value_name = "TEXT")]
    pub resolution: Option<String>,
}
