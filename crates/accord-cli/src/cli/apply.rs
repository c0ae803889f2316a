//! `accord apply -f FILE|-`: create or update resources from the documents `-o yaml` prints.

use std::path::PathBuf;

use clap::Args;

/// `accord apply`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ApplyArgs {
    /// YAML (or JSON) file of resources as `accord get … -o yaml` prints them: one object, a
    /// `kind: List`, or several `---` documents; `-` reads standard input (at most 4 MiB)
    #[arg(short = 'f', long = "filename", value_name = "FILE|-")]
    pub file: PathBuf,
}
