//! The XID catalogue as severities: how bad one occurrence of an XID is, by default.
//!
//! The severity is about the GPU, not about who fixes it (the remediation policy decides
//! actions and responsibility). From NVIDIA's XID catalogue and resolution buckets (see
//! `shared/design/gpu-health.md`):
//!
//! | severity | XIDs | why |
//! |---|---|---|
//! | info | 43, 45, 63, 68, 92 | the GPU stays healthy: the application recovers (43, 68), the XID only follows another (45), a row remap was recorded and waits for maintenance (63; the `gpu-row-remap` check watches the rows), a high single-bit ECC rate to watch (92) |
//! | warning | 13, 31, 94 | the customer's job crashed (13 graphics exception, 31 page fault) or a contained ECC error killed it (94): the GPU is usable, but repeats on one GPU are escalated by the policy, so they must reach it and be seen |
//! | critical | 46, 48, 62, 64, 74, 79, 95, 109, 119, 120, 136, 140, 143, 155 | the GPU needs a reset, a reboot or a replacement before it is trusted again |
//! | critical | any other XID, or a count that grew with no XID reported | unknown to the catalogue: escalated for humans, treated as hardware until they say otherwise |
//!
//! Configurations can override any XID's severity (`gpu-xid.severities`) and the unknown one
//! (`gpu-xid.unknown_severity`), per cluster or instance type.

use crate::check::Severity;

/// `(xid, default severity, meaning)`, sorted by XID.
pub const XID_CATALOGUE: &[(u32, Severity, &str)] = &[
    (13, Severity::Warning, "graphics engine exception"),
    (31, Severity::Warning, "GPU memory page fault"),
    (43, Severity::Info, "GPU stopped processing"),
    (45, Severity::Info, "preemptive cleanup after another error"),
    (46, Severity::Critical, "GPU timeout"),
    (48, Severity::Critical, "double-bit ECC error"),
    (62, Severity::Critical, "internal micro-controller halt"),
    (63, Severity::Info, "row remap recorded"),
    (64, Severity::Critical, "row remap failure"),
    (68, Severity::Info, "video processor exception"),
    (74, Severity::Critical, "NVLink error"),
    (79, Severity::Critical, "GPU fell off the bus"),
    (92, Severity::Info, "high single-bit ECC rate"),
    (94, Severity::Warning, "contained ECC error"),
    (95, Severity::Critical, "uncontained ECC error"),
    (109, Severity::Critical, "context-switch timeout"),
    (119, Severity::Critical, "GSP RPC timeout"),
    (120, Severity::Critical, "GSP error"),
    (136, Severity::Critical, "link training failure"),
    (140, Severity::Critical, "unrecoverable ECC escape"),
    (143, Severity::Critical, "GPU initialisation failure"),
    (155, Severity::Critical, "NVLink software error"),
];

/// The catalogue's severity of `xid`; `None` when the catalogue does not know it.
pub fn catalogue_severity(xid: u32) -> Option<Severity> {
    XID_CATALOGUE
        .binary_search_by_key(&xid, |&(code, _, _)| code)
        .ok()
        .and_then(|i| XID_CATALOGUE.get(i))
        .map(|&(_, severity, _)| severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_and_looked_up() {
        assert!(XID_CATALOGUE.windows(2).all(|w| w[0].0 < w[1].0));
        for &(code, severity, _) in XID_CATALOGUE {
            assert_eq!(catalogue_severity(code), Some(severity));
        }
        assert_eq!(catalogue_severity(1), None);
        assert_eq!(catalogue_severity(u32::MAX), None);
    }
}
