//! Parsing of `nats-server --version` output and the minimum version Accord accepts.
//!
//! Pure functions only; the probing of real binaries lives in `nats_server`.

use std::fmt;

use anyhow::{Context, Result, bail};

/// Oldest nats-server Accord runs against: KV, multi-filter consumers and the account fields
/// async-nats 0.51 sends need 2.10 (Debian's 2.9.10 fails `create_key_value`).
pub const MIN_NATS_SERVER: Version = Version::new(2, 10, 0);

/// A `major.minor.patch` release number; pre-release and build suffixes are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Parses what `nats-server --version` prints, e.g. `nats-server: v2.15.1`.
pub fn parse_nats_server_version(output: &str) -> Result<Version> {
    let line = output.trim();
    let number = line
        .strip_prefix("nats-server:")
        .map(str::trim)
        .and_then(|rest| rest.strip_prefix('v'))
        .with_context(|| {
            format!("unrecognised `nats-server --version` output {line:?} (expected `nats-server: vX.Y.Z`)")
        })?;
    parse_version(number)
        .with_context(|| format!("unrecognised version in `nats-server --version` output {line:?}"))
}

/// Parses `X.Y.Z` with an optional `-pre` / `+build` suffix (`2.11.0-RC.1` → 2.11.0).
fn parse_version(text: &str) -> Result<Version> {
    let core = text
        .split(|c: char| c == '-' || c == '+' || c.is_whitespace())
        .next()
        .unwrap_or_default();
    let mut parts = core.split('.');
    let mut next = |name: &str| -> Result<u64> {
        let part = parts
            .next()
            .with_context(|| format!("missing {name} number in {text:?}"))?;
        part.parse()
            .with_context(|| format!("bad {name} number {part:?} in {text:?}"))
    };
    let version = Version::new(next("major")?, next("minor")?, next("patch")?);
    if parts.next().is_some() {
        bail!("too many components in {text:?}");
    }
    Ok(version)
}

/// `Ok` when `version` is new enough for Accord, otherwise an error saying why.
pub fn check_supported(version: Version) -> Result<()> {
    if version < MIN_NATS_SERVER {
        bail!("v{version} is older than the required {MIN_NATS_SERVER}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_release_is_accepted() {
        let version = parse_nats_server_version("nats-server: v2.15.1\n").unwrap();
        assert_eq!(version, Version::new(2, 15, 1));
        check_supported(version).unwrap();
    }

    #[test]
    fn minimum_is_inclusive() {
        let version = parse_nats_server_version("nats-server: v2.10.0").unwrap();
        check_supported(version).unwrap();
    }

    #[test]
    fn debian_2_9_is_too_old() {
        let version = parse_nats_server_version("nats-server: v2.9.10").unwrap();
        assert_eq!(version, Version::new(2, 9, 10));
        let err = check_supported(version).unwrap_err().to_string();
        assert!(err.contains("2.9.10") && err.contains("2.10.0"), "{err}");
    }

    #[test]
    fn version_order_is_numeric_not_lexical() {
        assert!(Version::new(2, 10, 0) > Version::new(2, 9, 10));
    }

    #[test]
    fn pre_release_suffix_is_ignored() {
        let version = parse_nats_server_version("nats-server: v2.11.0-RC.1").unwrap();
        assert_eq!(version, Version::new(2, 11, 0));
    }

    #[test]
    fn garbage_is_an_error() {
        for output in [
            "",
            "garbage",
            "nats-server version 2.15.1",
            "nats-server: 2.15.1",
            "nats-server: vX.Y.Z",
            "nats-server: v2.15",
            "nats-server: v2.15.1.4",
            "gnatsd: v1.4.1",
        ] {
            assert!(
                parse_nats_server_version(output).is_err(),
                "{output:?} should not parse"
            );
        }
    }
}
