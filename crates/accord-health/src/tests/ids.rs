//! Tests of finding ids: deterministic, distinct where the findings are, stable across
//! redelivery and restarts.

use std::collections::HashSet;

use super::{Run, SEC, T0, with};
use crate::{FindingId, HealthFinding};

/// A sample that trips several rules at once: XID 79 on GPUs 3 and 4, a DBE on GPU 3.
fn tripping(ts: i64) -> accord_core::telemetry::TelemetrySample {
    with(ts, |s| {
        for g in [3, 4] {
            s.gpus[g].xid_total = 1;
            s.gpus[g].xid_last = Some(79);
        }
        s.gpus[3].ecc_dbe_total = 1;
    })
}

fn ids(findings: &[HealthFinding]) -> Vec<FindingId> {
    findings.iter().map(|f| f.id.clone()).collect()
}

#[test]
fn finding_ids_are_deterministic_and_distinct() {
    let baseline = with(T0, |_| {});
    let mut a = Run::new();
    a.feed(&baseline);
    let first = a.feed(&tripping(T0 + 30 * SEC));
    assert_eq!(first.len(), 3);

    // Another checker (a restarted service, the CLI) fed the same samples: the same ids.
    let mut b = Run::new();
    b.feed(&baseline);
    assert_eq!(ids(&b.feed(&tripping(T0 + 30 * SEC))), ids(&first));

    // A redelivered tripping sample raises nothing; after a restart that lost the state, the
    // redelivery is a baseline: nothing either — never a second id for the same event.
    assert!(a.feed(&tripping(T0 + 30 * SEC)).is_empty());
    assert!(Run::new().feed(&tripping(T0 + 30 * SEC)).is_empty());

    // Distinct per GPU, per check, per tripping sample; and shaped `hf-` + 32 hex digits.
    let unique: HashSet<_> = ids(&first).into_iter().collect();
    assert_eq!(unique.len(), 3);
    let mut c = Run::new();
    c.feed(&baseline);
    let later = c.feed(&tripping(T0 + 60 * SEC));
    assert!(ids(&later).iter().all(|id| !unique.contains(id)));
    for id in unique {
        let hex = id.as_str().strip_prefix("hf-").unwrap();
        assert_eq!(hex.len(), 32);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}

#[test]
fn the_id_is_pinned() {
    // The derivation is part of the contract (consumers de-duplicate on it): changing it
    // re-raises every open finding under a new id.
    let id = FindingId::derive(
        &super::cluster(),
        &super::node(),
        crate::CheckId::GpuXid,
        crate::Signal::XidTotal,
        crate::finding::Subject::Gpu(3),
        T0,
    );
    let mut b = Run::new();
    b.feed(&with(T0 - 30 * SEC, |_| {}));
    let found = b.feed(&with(T0, |s| s.gpus[3].xid_total = 1));
    assert_eq!(found[0].id, id);
    let text = format!(
        "{}\n{}\ngpu-xid\nxid_total\ngpu/3\n{T0}\n",
        super::CLUSTER,
        super::NODE
    );
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    assert_eq!(id.as_str(), format!("hf-{}", hex::encode(&digest[..16])));
}
