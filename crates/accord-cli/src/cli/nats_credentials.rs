//! `accord nats-credentials`: the NATS key ring and nats-server include of a production
//! installation.

use std::path::PathBuf;

use clap::Args;

/// `accord nats-credentials --dir DIR [--auth-config FILE]`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct NatsCredentialsArgs {
    /// Directory of the nkey seed files `<user>.nk` (created with mode 0700 when missing;
    /// seeds already there are kept, missing ones generated)
    #[arg(long = "dir", value_name = "DIR")]
    pub keys_dir: PathBuf,
    /// Where to write the nats-server include (accounts, users, auth callout; public keys
    /// only) [default: DIR/accord-auth.conf]
    #[arg(long, value_name = "FILE")]
    pub auth_config: Option<PathBuf>,
}
