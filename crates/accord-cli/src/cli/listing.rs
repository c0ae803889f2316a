//! The kubectl-style listing options of `accord get cluster|nodepool|node`: `-w/--watch`,
//! `-l/--selector`, `--no-headers`, and whether `-o wide` was asked for.

use clap::Args;

use crate::selector::{Selector, parse_selector};

/// How `get` lists: follow changes, filter by labels, table without headers, wide table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ListOptions {
    /// After the list, keep printing rows as resources change (from the event stream; Ctrl-C
    /// to stop)
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Only resources whose labels match: key=value, key!=value, key, !key, comma-separated
    /// (filtered by the CLI after listing; at most 16 requirements, 1024 bytes)
    #[arg(short = 'l', long, value_name = "SELECTOR", value_parser = parse_selector)]
    pub selector: Option<Selector>,
    /// Print tables without the header row
    #[arg(long)]
    pub no_headers: bool,
    /// `-o wide` was given: tables get extra columns (set by
    /// [`crate::Cli::try_parse_with_sources`] from the `-o` value).
    #[arg(skip)]
    pub wide: bool,
}
