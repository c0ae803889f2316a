//! `accord completion <shell>`: the shell completion script, generated from the command tree.

use clap::{Args, ValueEnum};

/// `accord completion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct CompletionArgs {
    /// Shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

/// Shells `accord completion` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// bash (`source <(accord completion bash)`)
    Bash,
    /// zsh (`source <(accord completion zsh)`, after `compinit`)
    Zsh,
    /// fish (`accord completion fish | source`)
    Fish,
}
