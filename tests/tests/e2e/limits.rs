//! Requests are bounded before any work, over the wire: an oversized request is
//! `RESOURCE_EXHAUSTED` (under and over tonic's own limit), bytes that are not the request's
//! protobuf are `INVALID_ARGUMENT` (not tonic's `INTERNAL`), a refusal never repeats unbounded
//! input (`grpc-message` stays small), and `INVALID_ARGUMENT` carries `google.rpc.BadRequest`
//! field violations.

use accord_e2e::{Env, cluster_request};
use bytes::{Buf as _, BufMut as _};
use tonic::{
    Code, Request,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::MetadataValue,
};
use tonic_types::StatusExt as _;

/// Sends and receives raw bytes, so a test can put anything on the wire.
#[derive(Default)]
struct RawCodec;

struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; buf.remaining()];
        buf.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

/// `CreateCluster` with `body` as its raw request bytes, as the Admin.
async fn raw_create_cluster(env: &Env, body: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(env.channel());
    grpc.ready().await.unwrap();
    let mut req = Request::new(body);
    req.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {}", env.admin_token)).unwrap(),
    );
    grpc.unary(
        req,
        http::uri::PathAndQuery::from_static("/accord.provisioner.v1.Clusters/CreateCluster"),
        RawCodec,
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn oversized_and_garbled_requests_get_the_promised_codes() {
    let env = Env::start().await.unwrap();

    // Over Accord's limit, under tonic's: refused by the codec.
    let mut req = cluster_request("big", "1.32");
    req.labels.insert("k".into(), "v".repeat(300 << 10));
    let status = env
        .admin()
        .unwrap()
        .clusters
        .create_cluster(req)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().len() < 1024, "{}", status.message().len());

    // Over tonic's own limit (4 MiB): still RESOURCE_EXHAUSTED, not OUT_OF_RANGE.
    let status = raw_create_cluster(&env, vec![0x0a; 5 << 20]).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Bytes that are not a CreateClusterRequest: the caller's fault.
    let status = raw_create_cluster(&env, vec![0xff; 64]).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn invalid_arguments_carry_field_violations_and_stay_small() {
    let env = Env::start().await.unwrap();
    let mut clusters = env.admin().unwrap().clusters;
    // A long, invalid name: refused, named in a BadRequest detail, never echoed whole.
    let name = "X".repeat(100_000);
    let status = clusters
        .create_cluster(cluster_request(&name, "1.32"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().len() <= 1024, "{}", status.message().len());
    let details = status.get_error_details();
    let bad = details
        .bad_request()
        .expect("a google.rpc.BadRequest detail");
    assert!(
        bad.field_violations.iter().any(|v| v.field == "name"),
        "{bad:?}"
    );
}
