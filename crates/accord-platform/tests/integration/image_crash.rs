//! `kill -9` of the `accord-image-builder` binary in the middle of a build stage. The
//! provisioner binary runs beside it (API keys). After the restart on the same data directory
//! the build finishes from the stage it was in, its image is published exactly once (one
//! `image.published` for its id on the stream), and the published signature verifies with
//! the provider's public key.

use crate::support::{Bearer, BuilderProc, Proc, count};
use accord_bus::Bus;
use accord_proto::images::v1::{self as ipb, images_client::ImagesClient};
use accord_testkit::{DEFAULT_POLL_INTERVAL, NatsServer, default_deadline, eventually};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

type Images = ImagesClient<InterceptedService<Channel, Bearer>>;

async fn until<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    eventually(default_deadline(), DEFAULT_POLL_INTERVAL, check)
        .await
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

async fn build(client: &Images, id: &str) -> Result<ipb::Build, String> {
    client
        .clone()
        .get_build(ipb::GetBuildRequest { build: id.into() })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| s.to_string())
}

/// A manifest unlike the base release's (a kernel argument more), as JSON.
fn manifest() -> String {
    let types = [
        "c1a.16x",
        "h100-80gb-sxm-ib.8x",
        "h200-141gb-sxm-ib.8x",
        "l40s-48gb.10x",
    ];
    let base = accord_image::default_base(&types).unwrap();
    let mut m = base.for_branch("production").unwrap().clone();
    m.base
        .kernel_args
        .push("nvme_core.io_timeout=4294967295".into());
    serde_json::to_string(&m).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stage_resumes_the_build_and_publishes_once() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "image-crash").await.unwrap();
    let (pdata, idata, logs) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let key = accord_image::signing_key_from_seed([3; 32]);
    let key_file = idata.path().join("image-signing.pem");
    std::fs::write(&key_file, accord_image::signing_key_to_pem(&key).unwrap()).unwrap();
    let provisioner = Proc::start(&nats, pdata.path(), logs.path(), 1, false, true).await;
    let operator = provisioner.line("operator_token");

    let data = idata.path().join("data");
    let b = BuilderProc::start(&nats, &data, &key_file, logs.path(), 1, "400ms");
    let client = ImagesClient::with_interceptor(b.channel().await, Bearer::new(&operator));
    let accepted = until("the build accepted", || {
        let mut c = client.clone();
        async move {
            c.build_image(ipb::BuildImageRequest {
                manifest: manifest(),
                reason: "crash test".into(),
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| s.to_string())
        }
    })
    .await;
    // Kill it while a stage past the first runs.
    until("a later stage under way", || {
        let c = client.clone();
        let id = accepted.id.clone();
        async move {
            let b = build(&c, &id).await?;
            if b.state == "running" && ["install", "configure", "sbom"].contains(&b.stage.as_str())
            {
                Ok(())
            } else {
                Err(format!("{} {}", b.state, b.stage))
            }
        }
    })
    .await;
    let mut b = b;
    let _ = b.child.kill();
    let status = b.child.wait().unwrap();
    assert!(!status.success(), "killed: {status}");
    drop(b);

    let b = BuilderProc::start(&nats, &data, &key_file, logs.path(), 2, "400ms");
    let client = ImagesClient::with_interceptor(b.channel().await, Bearer::new(&operator));
    let done = until("the build finished after the restart", || {
        let c = client.clone();
        let id = accepted.id.clone();
        async move {
            let b = build(&c, &id).await?;
            match b.state.as_str() {
                "succeeded" => Ok(b),
                "failed" => Ok(b),
                _ => Err(format!("{} {}", b.state, b.stage)),
            }
        }
    })
    .await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert!(
        done.stages
            .iter()
            .flat_map(|s| &s.log)
            .any(|l| l.contains("resum")),
        "the interrupted stage says it resumed: {:?}",
        done.stages
    );
    let detail = client
        .clone()
        .get_image(ipb::GetImageRequest {
            image: done.image.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(detail.signature.as_ref().is_some_and(|s| s.verified));

    // Exactly one `image.published` for the image on the stream (the base release's are
    // there too).
    let hex = done.image.trim_start_matches("sha256:").to_owned();
    let published = until("the image's event on the stream", || {
        let bus = bus.clone();
        let hex = hex.clone();
        async move {
            match count(&bus, "image.published", Some(&hex)).await {
                0 => Err("none yet".to_owned()),
                n => Ok(n),
            }
        }
    })
    .await;
    assert_eq!(published, 1);
}
