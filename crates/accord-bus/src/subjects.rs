//! Every NATS subject Accord uses, built by named functions. Services never `format!` a subject.
//!
//! Layout (namespace first, ids last, so wildcards select by kind):
//!
//! | what | subject | transport |
//! |------|---------|-----------|
//! | domain event | `accord.evt.<scope>.<resource>.<event>.<id>` | JetStream stream [`EVENTS_STREAM`] |
//! | command | `accord.cmd.<service>.<resource>.<verb>` | core request/reply, queue group per service |
//! | telemetry | `accord.tel.<cluster>.<node>` | core NATS |
//! | dead letter | `accord.dlq.<consumer>` | JetStream stream [`DLQ_STREAM`] |
//!
//! `<scope>` is the project the event belongs to (`prj-…`) or `platform`
//! ([`accord_core::events::PLATFORM_SCOPE`]): permissions are written against it (a customer's
//! NATS user may subscribe to [`events_in`] of their project and nothing else). Filters that
//! select by kind ([`events_of`], [`events_named`], [`events_about`]) match every scope.
//!
//! Invariant: every variable part is a single subject token — non-empty, at most
//! [`MAX_TOKEN_LEN`] bytes of printable ASCII without `.`, `*`, `>` — or the builder returns
//! [`BusError::InvalidSubjectToken`]. Nothing is sanitised silently: two different ids must
//! never map to the same subject.

use crate::BusError;

/// The JetStream stream holding all domain events (`accord.evt.>`).
pub const EVENTS_STREAM: &str = "ACCORD_EVENTS";
/// The JetStream stream holding dead-lettered messages (`accord.dlq.>`).
pub const DLQ_STREAM: &str = "ACCORD_DLQ";

/// Longest accepted token, in bytes.
pub const MAX_TOKEN_LEN: usize = 128;

const EVENTS: &str = "accord.evt";
const COMMANDS: &str = "accord.cmd";
const TELEMETRY: &str = "accord.tel";
const DEAD_LETTERS: &str = "accord.dlq";

/// Checks that `token` can be one subject token and returns it.
pub fn token(token: &str) -> Result<&str, BusError> {
    let reason = if token.is_empty() {
        Some("empty")
    } else if token.len() > MAX_TOKEN_LEN {
        Some("longer than 128 bytes")
    } else if token.contains('.') {
        Some("contains '.'")
    } else if token.contains(['*', '>']) {
        Some("contains a wildcard ('*' or '>')")
    } else if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or a control character")
    } else if !token.is_ascii() {
        Some("contains non-ASCII characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(BusError::InvalidSubjectToken {
            token: token.to_owned(),
            reason,
        }),
        None => Ok(token),
    }
}

/// `accord.evt.<scope>.<resource>.<event>.<id>`: where one event about one resource is
/// published (`scope`: a project id or `platform`).
pub fn event(scope: &str, resource: &str, event: &str, id: &str) -> Result<String, BusError> {
    Ok(format!(
        "{EVENTS}.{}.{}.{}.{}",
        token(scope)?,
        token(resource)?,
        token(event)?,
        token(id)?
    ))
}

/// `accord.evt.>`: every event.
pub fn events_all() -> String {
    format!("{EVENTS}.>")
}

/// `accord.evt.<scope>.>`: every event of one project (or of the platform).
pub fn events_in(scope: &str) -> Result<String, BusError> {
    Ok(format!("{EVENTS}.{}.>", token(scope)?))
}

/// `accord.evt.*.<resource>.>`: every event about one resource kind, in every scope.
pub fn events_of(resource: &str) -> Result<String, BusError> {
    Ok(format!("{EVENTS}.*.{}.>", token(resource)?))
}

/// `accord.evt.*.<resource>.<event>.*`: one kind of event (e.g. every `cluster.created`).
pub fn events_named(resource: &str, event: &str) -> Result<String, BusError> {
    Ok(format!(
        "{EVENTS}.*.{}.{}.*",
        token(resource)?,
        token(event)?
    ))
}

/// `accord.evt.*.<resource>.*.<id>`: every event about one resource.
pub fn events_about(resource: &str, id: &str) -> Result<String, BusError> {
    Ok(format!("{EVENTS}.*.{}.*.{}", token(resource)?, token(id)?))
}

/// `accord.evt.<scope>.<resource>.>`: one project's events about one resource kind.
pub fn events_in_of(scope: &str, resource: &str) -> Result<String, BusError> {
    Ok(format!("{EVENTS}.{}.{}.>", token(scope)?, token(resource)?))
}

/// `accord.evt.<scope>.<resource>.*.<id>`: one project's events about one resource.
pub fn events_in_about(scope: &str, resource: &str, id: &str) -> Result<String, BusError> {
    Ok(format!(
        "{EVENTS}.{}.{}.*.{}",
        token(scope)?,
        token(resource)?,
        token(id)?
    ))
}

/// `accord.cmd.<service>.<resource>.<verb>`: a request/reply command served by `service`.
pub fn command(service: &str, resource: &str, verb: &str) -> Result<String, BusError> {
    Ok(format!(
        "{COMMANDS}.{}.{}.{}",
        token(service)?,
        token(resource)?,
        token(verb)?
    ))
}

/// `accord.cmd.<service>.>`: every command `service` serves.
pub fn commands_of(service: &str) -> Result<String, BusError> {
    Ok(format!("{COMMANDS}.{}.>", token(service)?))
}

/// `accord.cmd.>`: every command.
pub fn commands_all() -> String {
    format!("{COMMANDS}.>")
}

/// `accord.tel.<cluster>.<node>`: telemetry samples of one node.
pub fn telemetry(cluster: &str, node: &str) -> Result<String, BusError> {
    Ok(format!("{TELEMETRY}.{}.{}", token(cluster)?, token(node)?))
}

/// `accord.tel.<cluster>.*`: telemetry of every node of one cluster.
pub fn telemetry_of(cluster: &str) -> Result<String, BusError> {
    Ok(format!("{TELEMETRY}.{}.*", token(cluster)?))
}

/// `accord.tel.>`: all telemetry.
pub fn telemetry_all() -> String {
    format!("{TELEMETRY}.>")
}

/// `accord.dlq.<consumer>`: messages the durable consumer `consumer` gave up on.
pub fn dead_letter(consumer: &str) -> Result<String, BusError> {
    Ok(format!("{DEAD_LETTERS}.{}", token(consumer)?))
}

/// `accord.dlq.>`: every dead letter.
pub fn dead_letters_all() -> String {
    format!("{DEAD_LETTERS}.>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_subjects() {
        assert_eq!(
            event(
                "prj-1",
                "cluster",
                "upgrade-requested",
                "01J0000000000000000000000A"
            )
            .unwrap(),
            "accord.evt.prj-1.cluster.upgrade-requested.01J0000000000000000000000A"
        );
        assert_eq!(events_all(), "accord.evt.>");
        assert_eq!(events_in("prj-1").unwrap(), "accord.evt.prj-1.>");
        assert_eq!(events_of("nodepool").unwrap(), "accord.evt.*.nodepool.>");
        assert_eq!(
            events_named("cluster", "created").unwrap(),
            "accord.evt.*.cluster.created.*"
        );
        assert_eq!(
            events_about("cluster", "c1").unwrap(),
            "accord.evt.*.cluster.*.c1"
        );
        assert_eq!(
            events_in_of("prj-1", "node").unwrap(),
            "accord.evt.prj-1.node.>"
        );
        assert_eq!(
            events_in_about("prj-1", "cluster", "c1").unwrap(),
            "accord.evt.prj-1.cluster.*.c1"
        );
        assert_eq!(
            command("provisioner", "node", "reboot").unwrap(),
            "accord.cmd.provisioner.node.reboot"
        );
        assert_eq!(
            commands_of("provisioner").unwrap(),
            "accord.cmd.provisioner.>"
        );
        assert_eq!(commands_all(), "accord.cmd.>");
        assert_eq!(telemetry("c1", "n1").unwrap(), "accord.tel.c1.n1");
        assert_eq!(telemetry_of("c1").unwrap(), "accord.tel.c1.*");
        assert_eq!(telemetry_all(), "accord.tel.>");
        assert_eq!(
            dead_letter("addon-manager").unwrap(),
            "accord.dlq.addon-manager"
        );
        assert_eq!(dead_letters_all(), "accord.dlq.>");
    }

    #[test]
    fn rejects_bad_tokens() {
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("a.b", "contains '.'"),
            ("*", "wildcard"),
            ("a>", "wildcard"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\nb", "whitespace"),
            ("a\u{7}b", "control"),
            ("naïve", "non-ASCII"),
            (&long, "longer"),
        ];
        for (input, reason_part) in cases {
            match token(input) {
                Err(BusError::InvalidSubjectToken { token, reason }) => {
                    assert_eq!(token, *input);
                    assert!(
                        reason.contains(reason_part),
                        "{input:?}: reason {reason:?} should mention {reason_part:?}"
                    );
                }
                other => panic!("{input:?} should be rejected, got {other:?}"),
            }
        }
    }

    #[test]
    fn accepts_ids_and_kebab_case() {
        for ok in [
            "cluster",
            "upgrade-requested",
            "01J0000000000000000000000A",
            "node_7",
            "x".repeat(MAX_TOKEN_LEN).as_str(),
        ] {
            assert_eq!(token(ok).unwrap(), ok);
        }
    }

    #[test]
    fn every_builder_validates_every_part() {
        assert!(event("p", "a.b", "created", "1").is_err());
        assert!(event("p", "cluster", "created>", "1").is_err());
        assert!(event("p", "cluster", "created", "").is_err());
        assert!(event("*", "cluster", "created", "1").is_err());
        assert!(events_in(">").is_err());
        assert!(events_in_of("p", "a.b").is_err());
        assert!(events_of("*").is_err());
        assert!(events_named("cluster", "").is_err());
        assert!(events_about("cluster", "a b").is_err());
        assert!(command("svc", "res", "do.it").is_err());
        assert!(telemetry("c 1", "n").is_err());
        assert!(telemetry_of(">").is_err());
        assert!(dead_letter("svc.x").is_err());
    }
}
