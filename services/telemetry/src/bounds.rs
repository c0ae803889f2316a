//! What every health request is held to before any work is done on it: each string field of
//! every `accord.telemetry.v1.Health` request against the platform's limits
//! ([`accord_core::limits`]), and `limit` against [`MAX_LIST_LIMIT`]. The gRPC edge
//! ([`crate::grpc`]) calls these first, so nothing oversized reaches scoping or the read model.
//!
//! | field                         | limit                         |
//! |-------------------------------|-------------------------------|
//! | `project`, `cluster`, `node`  | [`MAX_REF_BYTES`] (253 bytes) |
//! | `limit`                       | [`MAX_LIST_LIMIT`] (0 = [`DEFAULT_LIST_LIMIT`]) |
//!
//! Invariant: a field over its limit is `INVALID_ARGUMENT` naming the field and the limit,
//! never repeating the value; every violation of a request is reported at once.

use accord_core::{
    DomainError,
    error::Violations,
    limits::{self, MAX_REF_BYTES},
};
use accord_proto::telemetry::v1 as pb;

/// The most findings one `ListFindings` returns.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// What `limit: 0` means.
pub const DEFAULT_LIST_LIMIT: u32 = 100;

/// `ListNodeHealth`.
pub fn list_node_health(r: &pb::ListNodeHealthRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "cluster", &r.cluster, MAX_REF_BYTES);
    v.into_result()
}

/// `ListFindings`: the bounds, then the number of findings to return.
pub fn list_findings(r: &pb::ListFindingsRequest) -> Result<usize, DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "cluster", &r.cluster, MAX_REF_BYTES);
    if r.limit > MAX_LIST_LIMIT {
        v.add("limit", format!("must be at most {MAX_LIST_LIMIT}"));
    }
    v.into_result()?;
    let limit = if r.limit == 0 {
        DEFAULT_LIST_LIMIT
    } else {
        r.limit
    };
    Ok(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// `GetLatestSample`.
pub fn get_latest_sample(r: &pb::GetLatestSampleRequest) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", &r.project, MAX_REF_BYTES);
    limits::text(&mut v, "cluster", &r.cluster, MAX_REF_BYTES);
    limits::text(&mut v, "node", &r.node, MAX_REF_BYTES);
    if r.node.trim().is_empty() {
        v.add("node", "is required (an id or a hostname)");
    }
    v.into_result()
}
