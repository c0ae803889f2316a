//! The standalone provisioner binary on a NATS server that requires authentication (the
//! production shape of `deploy/`): it connects with the seeds of its credentials directory
//! (`runtime.nats_credentials_dir`, only its own users' files), answers the server's auth
//! callout, so a customer's API key reads that project's events, and nothing connects
//! without credentials.

use std::time::Duration;

use accord_bus::{Bus, BusAuth, BusError, ConnectOptions, subjects};
use accord_nats_auth::{KeyRing, ServiceUser};
use futures::StreamExt as _;

use crate::support::{Proc, create, free_url};

fn options(auth: Option<BusAuth>) -> ConnectOptions {
    ConnectOptions::default()
        .with_connect_timeout(Duration::from_secs(2))
        .with_auth(auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_provisioner_uses_its_credentials_and_answers_the_callout() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::load_or_generate(&dir.path().join("keys")).unwrap();
    // The process gets its own users' seeds only (as a deployment mounts them).
    let creds = dir.path().join("creds");
    std::fs::create_dir_all(&creds).unwrap();
    for (from, name) in [
        (
            keys.service_seed_path(ServiceUser::Provisioner),
            "provisioner.nk",
        ),
        (keys.service_seed_path(ServiceUser::Sim), "sim.nk"),
        (keys.callout_user_seed_path(), "auth-callout.nk"),
        (keys.issuer_seed_path(), "callout-issuer.nk"),
    ] {
        std::fs::copy(&from, creds.join(name)).unwrap();
    }
    let url = free_url();
    let _nats = accord_platform::nats::start(&url, &dir.path().join("nats"), Some(&keys), None)
        .await
        .unwrap();
    let data = dir.path().join("data");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let proc = Proc::start_at(
        &url,
        &data,
        &logs,
        0,
        false,
        true,
        &[(
            "ACCORD_PROVISIONER__RUNTIME__NATS_CREDENTIALS_DIR",
            creds.display().to_string(),
        )],
    )
    .await;
    let (admin, project) = (proc.line("admin_token"), proc.line("project"));

    // Nothing connects without credentials.
    assert!(matches!(
        Bus::connect_with(&url, "anonymous", options(None)).await,
        Err(BusError::NotAuthorized { .. })
    ));
    // The customer's key is checked by the standalone provisioner: its project's events flow.
    let customer = Bus::connect_with(
        &url,
        "customer",
        options(Some(BusAuth::Token(admin.clone()))),
    )
    .await
    .unwrap();
    let mut events = customer
        .live_events(&subjects::events_in(&project).unwrap())
        .await
        .unwrap();
    proc.clusters(&admin)
        .await
        .create_cluster(create("standalone"))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .expect("no event of the project")
        .unwrap()
        .unwrap();
    assert_eq!(
        first.project.as_deref(),
        Some(project.as_str()),
        "{first:?}"
    );
}
