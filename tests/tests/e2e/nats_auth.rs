//! Issue 15's bus tenancy against a real nats-server started with authentication (as `accord
//! up` runs it) and the real provisioner answering its auth callout: anonymous and bad keys are
//! refused; a customer's key reads its own project's events live and nothing else — another
//! project's subjects, commands and publishing are refused by the server, not filtered by the
//! client; a service's credentials cannot publish another service's events; a revoked key is
//! refused at once and its open connection ends when its grant expires.

use std::time::Duration;

use accord_bus::{Bus, BusAuth, BusError, CloudEvent, subjects};
use accord_e2e::{SecuredEnv, cluster_request};
use accord_nats_auth::ServiceUser;
use accord_proto::provisioner::v1 as pb;
use bytes::Bytes;
use futures::{FutureExt as _, StreamExt as _, stream::BoxStream};

/// How long any one awaited event may take.
const WAIT: Duration = Duration::from_secs(20);

type Events = BoxStream<'static, Result<CloudEvent, BusError>>;

/// The next event of `events` (within [`WAIT`]).
async fn next(events: &mut Events, what: &str) -> CloudEvent {
    tokio::time::timeout(WAIT, events.next())
        .await
        .unwrap_or_else(|_| panic!("no event within {WAIT:?}: {what}"))
        .unwrap_or_else(|| panic!("the subscription ended: {what}"))
        .unwrap_or_else(|e| panic!("an undecodable event: {what}: {e}"))
}

/// Reads `events` until a `cluster.created` about `cluster`; every event before must pass
/// `each`.
async fn until_created(events: &mut Events, cluster: &str, each: impl Fn(&CloudEvent)) {
    loop {
        let ev = next(events, "cluster.created").await;
        each(&ev);
        if ev.r#type == "accord.cluster.created.v1" && ev.subject.as_deref() == Some(cluster) {
            return;
        }
    }
}

/// Creates cluster `name` with `token`; returns its id.
async fn create_cluster(env: &SecuredEnv, token: &str, name: &str) -> String {
    env.api(token)
        .unwrap()
        .clusters
        .create_cluster(cluster_request(name, ""))
        .await
        .unwrap()
        .into_inner()
        .metadata
        .unwrap()
        .id
}

/// A second project (created by the bootstrap Admin, who becomes its Admin) and its key.
async fn second_project(env: &SecuredEnv) -> (String, String) {
    let created = env
        .api(&env.admin_token)
        .unwrap()
        .projects
        .create_project(pb::CreateProjectRequest {
            name: "other".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (created.project.unwrap().metadata.unwrap().id, created.token)
}

fn token(t: &str) -> Option<BusAuth> {
    Some(BusAuth::Token(t.to_owned()))
}

/// Publishes `subject` from `bus` and waits until the server has processed it.
async fn publish(bus: &Bus, subject: &str) {
    bus.publish_core(subject, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    bus.flush().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_read_only_their_projects_events_and_cannot_publish_or_command() {
    let env = SecuredEnv::start(Duration::from_secs(60)).await.unwrap();

    // Refused: no credentials, a wrong key, garbage, an oversized token.
    let wrong = format!(
        "{}x",
        &env.admin_token[..env.admin_token.len().saturating_sub(1)]
    );
    for (what, auth) in [
        ("anonymous", None),
        ("wrong key", token(&wrong)),
        ("garbage", token("not-a-key")),
        // Longer than any key: refused without a lookup.
        ("oversized", token(&"a".repeat(1000))),
    ] {
        match env.connect("e2e-refused", auth).await {
            Err(BusError::NotAuthorized { .. }) => {}
            other => panic!("{what}: expected NotAuthorized, got {other:?}"),
        }
    }
    // Beyond the server's protocol line limit: the server drops the connection itself.
    assert!(
        env.connect("e2e-huge", token(&"a".repeat(8192)))
            .await
            .is_err()
    );

    let (other_project, other_token) = second_project(&env).await;
    let customer = env
        .connect("e2e-customer", token(&env.admin_token))
        .await
        .unwrap();
    let observer = env.connect_as(ServiceUser::CliOperator).await.unwrap();
    let mut all = observer.live_events(&subjects::events_all()).await.unwrap();
    let mut mine = customer
        .live_events(&subjects::events_in(&env.project).unwrap())
        .await
        .unwrap();
    // Another project's events: the server refuses the subscription.
    let mut theirs = customer
        .live_events(&subjects::events_in(&other_project).unwrap())
        .await
        .unwrap();

    // The other project's cluster, then ours: the observer sees both; the customer only ours.
    let their_cluster = create_cluster(&env, &other_token, "theirs").await;
    until_created(&mut all, &their_cluster, |_| {}).await;
    let our_cluster = create_cluster(&env, &env.admin_token, "ours").await;
    let project = env.project.clone();
    until_created(&mut mine, &our_cluster, |ev| {
        assert_eq!(ev.project.as_deref(), Some(project.as_str()), "{ev:?}");
    })
    .await;
    // The relay published theirs before ours, on one connection: had the server delivered
    // theirs to the customer, it would be waiting by now.
    assert!(
        theirs.next().now_or_never().is_none(),
        "the customer received another project's event"
    );

    // Forged events: from the customer, and from a service about a resource it does not own.
    // The observer's next message is the genuine sentinel published after them.
    publish(
        &customer,
        &subjects::event(&env.project, "addon", "ownership-changed", "forged").unwrap(),
    )
    .await;
    let firewall = env.connect_as(ServiceUser::NetworkFirewall).await.unwrap();
    publish(
        &firewall,
        &subjects::event(&env.project, "cluster", "created", "forged").unwrap(),
    )
    .await;
    let sentinel = env.connect_as(ServiceUser::Provisioner).await.unwrap();
    let entry = CloudEvent::new(
        "/accord/provisioner",
        accord_core::events::Scope::Project(env.project.parse().unwrap()),
        &accord_core::cluster::ClusterEvent::DeletionStarted {
            cluster: their_cluster.parse().unwrap(),
        },
    )
    .unwrap()
    .outbox_entry()
    .unwrap();
    sentinel
        .publish_core(&entry.subject, Bytes::from(entry.payload.clone()))
        .await
        .unwrap();
    loop {
        let ev = next(&mut all, "the sentinel").await;
        assert_ne!(ev.subject.as_deref(), Some("forged"), "{ev:?}");
        if ev.id == CloudEvent::from_json_bytes(&entry.payload).unwrap().id {
            break;
        }
    }

    // Commands and the simulator are not the customer's.
    let list = accord_sim::fault_server::list_subject().unwrap();
    assert!(
        customer
            .request(&list, Bytes::new(), Duration::from_secs(2))
            .await
            .is_err(),
        "a customer reached the simulator"
    );
    // The operator's tool user may.
    observer
        .request(&list, Bytes::new(), Duration::from_secs(5))
        .await
        .unwrap();
    // After every refusal the customer's connection still serves its own events.
    assert!(*customer.connected().borrow());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_at_once_and_its_open_connection_ends_with_its_grant() {
    // Grants of two seconds: an open connection of a revoked key lasts at most that long.
    let env = SecuredEnv::start(Duration::from_secs(2)).await.unwrap();
    let api = env.api(&env.admin_token).unwrap();
    let created = api
        .projects
        .clone()
        .create_api_key(pb::CreateApiKeyRequest {
            project: env.project.clone(),
            name: "watcher".into(),
            user: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let key_id = created.key.unwrap().id;
    let watcher = env
        .connect("e2e-watcher", token(&created.token))
        .await
        .unwrap();
    let mut connected = watcher.connected();
    assert!(*connected.borrow());

    api.projects
        .clone()
        .revoke_api_key(pb::RevokeApiKeyRequest {
            project: env.project.clone(),
            key: key_id,
        })
        .await
        .unwrap();
    // A new connection with it is refused at once.
    match env.connect("e2e-revoked", token(&created.token)).await {
        Err(BusError::NotAuthorized { .. }) => {}
        other => panic!("a revoked key connected: {other:?}"),
    }
    // The open one is closed when its grant expires, and cannot come back.
    tokio::time::timeout(Duration::from_secs(30), connected.wait_for(|c| !*c))
        .await
        .expect("the revoked key's connection outlived its grant")
        .unwrap();
    // Meanwhile a valid key keeps connecting.
    env.connect("e2e-admin", token(&env.admin_token))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_clients_verify_the_servers_and_plaintext_is_refused() {
    let env = SecuredEnv::start_with(Duration::from_secs(60), true)
        .await
        .unwrap();
    let ca = env.ca_file.clone().unwrap();

    // gRPC: the harness's channel verified the certificate against the CA; a call works.
    let me = env
        .api(&env.admin_token)
        .unwrap()
        .projects
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.project, env.project);
    // Plaintext to the TLS port fails; so does TLS trusting only the system's roots.
    let port = env.grpc_addr.port();
    let plain = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        let refused = accord_proto::provisioner::v1::projects_client::ProjectsClient::new(channel)
            .who_am_i(pb::WhoAmIRequest {})
            .await;
        assert!(refused.is_err(), "a plaintext call was answered");
    }
    let untrusted = tonic::transport::Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
        .unwrap()
        .connect()
        .await;
    assert!(
        untrusted.is_err(),
        "the local CA's certificate passed the system roots"
    );

    // NATS: with the CA, a customer's key reads its events over TLS; without it, no connection.
    let customer = env
        .connect("e2e-tls-customer", token(&env.admin_token))
        .await
        .unwrap();
    let mut mine = customer
        .live_events(&subjects::events_in(&env.project).unwrap())
        .await
        .unwrap();
    let cluster = create_cluster(&env, &env.admin_token, "tls").await;
    until_created(&mut mine, &cluster, |_| {}).await;
    let no_ca = Bus::connect_with(
        &env.nats_url,
        "e2e-no-ca",
        accord_bus::ConnectOptions::default()
            .with_connect_timeout(Duration::from_secs(2))
            .with_auth(token(&env.admin_token)),
    )
    .await;
    assert!(no_ca.is_err(), "a plaintext NATS client connected");
    let wrong_ca = Bus::connect_with(
        &env.nats_url,
        "e2e-wrong-ca",
        accord_bus::ConnectOptions::default()
            .with_connect_timeout(Duration::from_secs(2))
            .with_auth(token(&env.admin_token))
            .with_tls_ca_file(Some(
                accord_platform::tls::local_ca(&env.dir().join("other-ca"), &[])
                    .unwrap()
                    .ca_file,
            )),
    )
    .await;
    assert!(wrong_ca.is_err(), "a certificate of another CA was trusted");
    assert!(ca.exists());
}
