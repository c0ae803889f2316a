//! The bounds every input is checked against before any work is done on it (STYLE.md rule 14).
//!
//! Invariant: validation never iterates past these bounds, and no error message repeats more
//! than [`accord_core::error::ECHO_LIMIT`] characters of a caller's value.

/// Customer rules per cluster. The performance targets of issue 12 are stated for 10,000
/// rules, so that is the most a cluster may hold.
pub const MAX_RULES_PER_CLUSTER: usize = 10_000;

/// Entries of a rule's `ports` list (each a port or a range).
pub const MAX_PORTS_PER_RULE: usize = 64;

/// CIDRs of a rule's `sources` or `destinations` list.
pub const MAX_CIDRS_PER_RULE: usize = 256;

/// Longest rule name (a DNS-1123 label).
pub const MAX_NAME_CHARS: usize = 63;

/// Node pools a cluster description may list (offline evaluation and the pool map).
pub const MAX_POOLS: usize = 256;

/// Addresses or CIDRs one pool may list.
pub const MAX_NODES_PER_POOL: usize = 4_096;

/// Field errors reported for one input; the rest are counted, not listed.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// Shadow warnings about one rule (each way); further shadowing rules are not listed.
pub const MAX_SHADOW_WARNINGS_PER_RULE: usize = 10;

/// Longest JSON Lines input line, in bytes: 10,000 rules of about 200 bytes each fit.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// Reserved prefix: provider rules and the implied defaults are named `accord-…`, so a
/// customer rule can never be mistaken for one.
pub const RESERVED_PREFIX: &str = "accord-";
