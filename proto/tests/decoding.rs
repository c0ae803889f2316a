//! Property test (proptest) of request decoding: whatever bytes arrive as any request of any
//! RPC, decoding answers — the message, `INVALID_ARGUMENT` or `RESOURCE_EXHAUSTED` — and never
//! panics or answers `INTERNAL`. Run with every `cargo xtask test` (a few hundred cases per
//! property; `PROPTEST_CASES` raises it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_proto::codec::decode_as_every_request;
use proptest::prelude::*;
use tonic::Code;
use tonic_types::StatusExt as _;

fn check(bytes: &[u8]) {
    for (request, result) in decode_as_every_request(bytes) {
        if let Err(status) = result {
            assert!(
                matches!(
                    status.code(),
                    Code::InvalidArgument | Code::ResourceExhausted
                ),
                "{request}: {status:?}"
            );
            assert!(
                status.message().len() < 1024,
                "{request}: {}",
                status.message()
            );
            if status.code() == Code::InvalidArgument {
                // Structured like every other bad input: a BadRequest naming the message.
                let details = status.get_error_details();
                let violations = &details
                    .bad_request()
                    .unwrap_or_else(|| panic!("{request}: no BadRequest detail"))
                    .field_violations;
                let short = request.rsplit('.').next().unwrap();
                assert_eq!(violations.len(), 1, "{request}");
                assert_eq!(violations[0].field, short, "{request}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_or_fail_internally(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }

    /// Plausible protobuf: field keys with every wire type, varints and length prefixes that
    /// lie about what follows.
    #[test]
    fn lying_length_prefixes_never_panic(fields in prop::collection::vec((1u32..20, 0u8..6, any::<u64>(), prop::collection::vec(any::<u8>(), 0..40)), 0..16)) {
        let mut bytes = Vec::new();
        for (number, wire, value, payload) in fields {
            let key = u64::from(number << 3 | u32::from(wire));
            prost::encoding::encode_varint(key, &mut bytes);
            match wire {
                0 => prost::encoding::encode_varint(value, &mut bytes),
                2 => {
                    prost::encoding::encode_varint(value % 64, &mut bytes);
                    bytes.extend_from_slice(&payload);
                }
                _ => bytes.extend_from_slice(&payload),
            }
        }
        check(&bytes);
    }
}

#[test]
fn every_request_type_is_covered_and_oversized_is_resource_exhausted() {
    use accord_core::limits::{MAX_PLUGIN_REQUEST_BYTES, MAX_REQUEST_BYTES};
    // Over every limit: refused by size alone, whatever the type.
    let huge = vec![0u8; MAX_PLUGIN_REQUEST_BYTES + 1];
    let results = decode_as_every_request(&huge);
    assert!(results.len() >= 40, "{} request types", results.len());
    for (request, result) in results {
        let status = result.expect_err(request);
        assert_eq!(status.code(), Code::ResourceExhausted, "{request}");
    }
    // Over the request limit: only a plugin push may be larger (these bytes are then refused
    // as garbage, not by size).
    let big = vec![0u8; MAX_REQUEST_BYTES + 1];
    for (request, result) in decode_as_every_request(&big) {
        let status = result.expect_err(request);
        if request == "accord.addons.v1.PushPluginRequest" {
            assert_eq!(status.code(), Code::InvalidArgument, "{request}");
        } else {
            assert_eq!(status.code(), Code::ResourceExhausted, "{request}");
        }
    }
}
