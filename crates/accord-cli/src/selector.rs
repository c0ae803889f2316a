//! Label selectors (`accord get … -l team=ml,tier!=batch,gpu,!spot`): parsed from the command
//! line and matched against a resource's `metadata.labels`.
//!
//! The list RPCs have no selector field, so matching happens in the CLI after the list call
//! (the whole list still crosses the wire). The grammar is kubectl's equality-based subset:
//! `key=value` (also `key==value`), `key!=value`, `key` (the label exists) and `!key` (it does
//! not), joined by commas.
//!
//! Invariant: a selector is bounded before it is parsed ([`MAX_SELECTOR_BYTES`],
//! [`MAX_REQUIREMENTS`]); keys and values follow the API's label rules
//! ([`accord_core::validation::label`]), so a selector that could never match a valid label is
//! refused rather than silently matching nothing.

use std::collections::HashMap;
use std::fmt;

use accord_core::validation;

/// Longest selector accepted, in bytes.
pub const MAX_SELECTOR_BYTES: usize = 1024;
/// Most comma-separated requirements in one selector.
pub const MAX_REQUIREMENTS: usize = 16;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value`: the label is present with this value.
    Equals(String, String),
    /// `key!=value`: the label is absent or has another value.
    NotEquals(String, String),
    /// `key`: the label is present (any value).
    Exists(String),
    /// `!key`: the label is absent.
    Absent(String),
}

impl Requirement {
    fn matches(&self, labels: &HashMap<String, String>) -> bool {
        match self {
            Requirement::Equals(key, value) => labels.get(key) == Some(value),
            Requirement::NotEquals(key, value) => labels.get(key) != Some(value),
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::Absent(key) => !labels.contains_key(key),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::Absent(k) => write!(f, "!{k}"),
        }
    }
}

/// A parsed selector: every requirement must hold (an empty selector matches everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// The requirements, in the order given.
    pub requirements: Vec<Requirement>,
}

impl Selector {
    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &HashMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Parses `-l`/`--selector` (a clap value parser: the message is shown verbatim).
pub fn parse_selector(s: &str) -> Result<Selector, String> {
    if s.len() > MAX_SELECTOR_BYTES {
        return Err(format!(
            "a selector is at most {MAX_SELECTOR_BYTES} bytes (got {})",
            s.len()
        ));
    }
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() > MAX_REQUIREMENTS {
        return Err(format!(
            "a selector has at most {MAX_REQUIREMENTS} requirements (got {})",
            parts.len()
        ));
    }
    let mut requirements = Vec::with_capacity(parts.len());
    for part in parts {
        requirements.push(requirement(part)?);
    }
    Ok(Selector { requirements })
}

fn requirement(part: &str) -> Result<Requirement, String> {
    const EXPECTED: &str = "expected key=value, key!=value, key or !key (e.g. team=ml,!spot)";
    if part.is_empty() {
        return Err(format!("empty requirement: {EXPECTED}"));
    }
    let checked = |key: &str, value: &str| {
        validation::label(key.trim(), value.trim())
            .map(|()| (key.trim().to_owned(), value.trim().to_owned()))
            .map_err(|e| format!("{e}: {EXPECTED}"))
    };
    if let Some((key, value)) = part.split_once("!=") {
        let (key, value) = checked(key, value)?;
        return Ok(Requirement::NotEquals(key, value));
    }
    if let Some((key, value)) = part.split_once('=') {
        let value = value.strip_prefix('=').unwrap_or(value);
        let (key, value) = checked(key, value)?;
        return Ok(Requirement::Equals(key, value));
    }
    if let Some(key) = part.strip_prefix('!') {
        let (key, _) = checked(key, "")?;
        return Ok(Requirement::Absent(key));
    }
    let (key, _) = checked(part, "")?;
    Ok(Requirement::Exists(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_every_form() {
        let selector = parse_selector("team=ml, tier==prod,env!=dev,gpu,!spot").unwrap();
        assert_eq!(
            selector.requirements,
            vec![
                Requirement::Equals("team".into(), "ml".into()),
                Requirement::Equals("tier".into(), "prod".into()),
                Requirement::NotEquals("env".into(), "dev".into()),
                Requirement::Exists("gpu".into()),
                Requirement::Absent("spot".into()),
            ]
        );
        assert_eq!(selector.to_string(), "team=ml,tier=prod,env!=dev,gpu,!spot");
    }

    #[test]
    fn matches_like_kubectl() {
        let selector = parse_selector("team=ml,env!=dev,gpu,!spot").unwrap();
        assert!(selector.matches(&labels(&[("team", "ml"), ("gpu", "")])));
        assert!(selector.matches(&labels(&[("team", "ml"), ("gpu", "h100"), ("env", "prod")])));
        assert!(!selector.matches(&labels(&[("team", "ml"), ("gpu", ""), ("env", "dev")])));
        assert!(!selector.matches(&labels(&[("team", "ml"), ("gpu", ""), ("spot", "y")])));
        assert!(!selector.matches(&labels(&[("team", "ml")])));
        assert!(!selector.matches(&labels(&[("team", "research"), ("gpu", "")])));
        assert!(Selector::default().matches(&labels(&[])));
    }

    #[test]
    fn bad_selectors_say_why() {
        for (input, expected) in [
            ("", "empty requirement"),
            ("a=b,,c", "empty requirement"),
            ("bad key=x", "expected key=value"),
            ("=x", "expected key=value"),
            ("team=has space", "expected key=value"),
        ] {
            let error = parse_selector(input).unwrap_err();
            assert!(error.contains(expected), "{input}: {error}");
        }
        let long = format!("a={}", "b".repeat(MAX_SELECTOR_BYTES));
        assert!(
            parse_selector(&long)
                .unwrap_err()
                .contains("at most 1024 bytes")
        );
        let many = vec!["a=b"; MAX_REQUIREMENTS + 1].join(",");
        assert!(
            parse_selector(&many)
                .unwrap_err()
                .contains("at most 16 requirements")
        );
        assert!(parse_selector(&vec!["a=b"; MAX_REQUIREMENTS].join(",")).is_ok());
    }
}
