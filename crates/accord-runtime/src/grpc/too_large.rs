//! Requests over tonic's own message-size limit are refused by tonic with `OUT_OF_RANGE`
//! before any Accord code runs; this maps that answer to `RESOURCE_EXHAUSTED`, the code Accord
//! promises for an oversized request (requests under tonic's limit but over Accord's are
//! refused by the codec, `accord_proto::codec`, with the same code).
//!
//! Accord's handlers never answer `OUT_OF_RANGE`, so every trailers-only `OUT_OF_RANGE` reply
//! comes from tonic's decoding and is rewritten; nothing else is touched.

use http::HeaderValue;

/// `grpc-status` of `OUT_OF_RANGE`.
const OUT_OF_RANGE: &str = "11";
/// `grpc-status` of `RESOURCE_EXHAUSTED`.
const RESOURCE_EXHAUSTED: &str = "8";

/// Rewrites a trailers-only `OUT_OF_RANGE` reply to `RESOURCE_EXHAUSTED`.
pub fn too_large_is_resource_exhausted<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    if headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == OUT_OF_RANGE.as_bytes())
    {
        headers.insert("grpc-status", HeaderValue::from_static(RESOURCE_EXHAUSTED));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("the request is larger than this server accepts"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_out_of_range_is_rewritten() {
        let reply = |code: &'static str| {
            let mut r = http::Response::new(());
            r.headers_mut()
                .insert("grpc-status", HeaderValue::from_static(code));
            too_large_is_resource_exhausted(r)
        };
        assert_eq!(reply("11").headers()["grpc-status"], "8");
        assert_eq!(reply("3").headers()["grpc-status"], "3");
        assert_eq!(reply("0").headers()["grpc-status"], "0");
    }
}
