//! Options every command accepts ([`GlobalArgs`]), where the connection settings came from
//! ([`ArgSources`]), and the output format.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};

/// Options every command accepts (they may be given before or after the command).
#[derive(Debug, Clone, PartialEq, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// URL of the Accord API [default: http://127.0.0.1:50051]
    #[arg(long, env = "ACCORD_ENDPOINT", global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    #[arg(
        help = "API token (accord_<id>_<secret>); without it, the config file's profile is used",
        long,
        env = "ACCORD_TOKEN",
        global = true,
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Project to act in (provider operators; a customer's key already names its project)
    #[arg(long, env = "ACCORD_PROJECT", global = true, value_name = "PROJECT")]
    pub project: Option<String>,

    /// Profile of the config file to use (e.g. admin, operator)
    #[arg(long, env = "ACCORD_PROFILE", global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Config file [default: .accord/cli.toml in this or a parent directory, else
    /// ~/.config/accord/config.toml]
    #[arg(long, env = "ACCORD_CONFIG", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// URL of NATS, for `events` and `sim` [default: nats://127.0.0.1:4222]
    #[arg(long, env = "ACCORD_NATS_URL", global = true, value_name = "URL")]
    pub nats_url: Option<String>,

    /// PEM file of the CA that signed the servers' TLS certificates (https:// endpoints,
    /// tls:// NATS) [default: the profile's ca_file, else the system's roots]
    #[arg(long, env = "ACCORD_CA_FILE", global = true, value_name = "PATH")]
    pub ca_file: Option<String>,

    /// Output format
    #[arg(
        short = 'o',
        long,
        env = "ACCORD_OUTPUT",
        global = true,
        value_parser = output_format_parser(),
        default_value = "table"
    )]
    pub output: OutputFormat,

    /// Where `endpoint`, `token` and `nats_url` came from (filled by
    /// [`Cli::try_parse_with_sources`]).
    #[arg(skip)]
    pub sources: ArgSources,
}

/// Whether a connection setting was typed on the command line (as opposed to coming from the
/// environment). Defaults to "command line", which is what a value in a test literal means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSources {
    /// `--endpoint` was given on the command line.
    pub endpoint_on_command_line: bool,
    /// `--token` was given on the command line.
    pub token_on_command_line: bool,
    /// `--nats-url` was given on the command line.
    pub nats_url_on_command_line: bool,
    /// `--ca-file` was given on the command line.
    pub ca_file_on_command_line: bool,
}

impl Default for ArgSources {
    fn default() -> Self {
        ArgSources {
            endpoint_on_command_line: true,
            token_on_command_line: true,
            nats_url_on_command_line: true,
            ca_file_on_command_line: true,
        }
    }
}

impl ArgSources {
    pub(super) fn from_matches(matches: &ArgMatches) -> Self {
        let on_command_line = |id: &str| {
            // Global options used after the subcommand are propagated up to the root matches.
            deepest_source(matches, id) == Some(ValueSource::CommandLine)
        };
        ArgSources {
            endpoint_on_command_line: on_command_line("endpoint"),
            token_on_command_line: on_command_line("token"),
            nats_url_on_command_line: on_command_line("nats_url"),
            ca_file_on_command_line: on_command_line("ca_file"),
        }
    }
}

/// The value source of `id` in the most specific subcommand that knows it.
fn deepest_source(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    let mut source = matches
        .try_get_raw(id)
        .ok()
        .and_then(|_| matches.value_source(id));
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        if let Ok(Some(_)) = sub.try_get_raw(id) {
            source = sub.value_source(id).or(source);
        }
        current = sub;
    }
    source
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable table (or text)
    Table,
    /// JSON: the full resource (lists as {"kind": "List", "items": [...]})
    Json,
    /// YAML: the full resource
    Yaml,
    /// Only `kind/name`, one per line
    Name,
}

/// `-o`'s values: [`OutputFormat`]'s, plus `wide` — a table with extra columns, which is
/// [`OutputFormat::Table`] here (`get` learns of it through `ListOptions::wide`).
fn output_format_parser() -> impl TypedValueParser<Value = OutputFormat> {
    let mut values: Vec<PossibleValue> = OutputFormat::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .collect();
    values.insert(
        1,
        PossibleValue::new("wide")
            .help("The table with extra columns (get clusters, nodepools and nodes)"),
    );
    PossibleValuesParser::new(values)
        .map(|value| OutputFormat::from_str(&value, true).unwrap_or(OutputFormat::Table))
}
