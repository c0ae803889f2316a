//! Server-side behaviour of the auth config and the callout, against a real nats-server
//! (`ACCORD_NATS_SERVER` or the workspace's tools). Every assertion is about what the server
//! does: who it lets in, what it delivers, what it reports as a violation.
// Tests connect with async-nats directly: accord-bus cannot connect with credentials yet.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use accord_nats_auth::{ServiceUser, callout::MAX_TOKEN_LEN};
use async_nats::Event;
use bytes::Bytes;
use support::*;

fn event_subject(project: &str, resource: &str, event: &str, id: &str) -> String {
    format!("accord.evt.{project}.{resource}.{event}.{id}")
}

#[tokio::test]
async fn anonymous_connection_is_refused() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, calls) = server.responder().await.unwrap();
    let result = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(10))
        .connect(server.url())
        .await;
    let error = result.expect_err("an anonymous client must be refused");
    assert_eq!(
        error.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation,
        "{error:#}"
    );
    // Refused by the responder (no token), without a verdict call.
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn wrong_malformed_and_oversized_tokens_are_refused() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, calls) = server.responder().await.unwrap();
    for token in ["acc_wrong_token", "not a key \u{1}", "x"] {
        let error = server.customer(token).await.err().expect(token);
        assert!(
            format!("{error:#}")
                .to_lowercase()
                .contains("authorization violation"),
            "{token}: {error:#}"
        );
    }
    let after_lookups = calls.load(Ordering::SeqCst);
    assert_eq!(after_lookups, 3);
    let oversized = "k".repeat(MAX_TOKEN_LEN + 1);
    let error = server
        .customer(&oversized)
        .await
        .err()
        .expect("oversized token");
    assert!(
        format!("{error:#}")
            .to_lowercase()
            .contains("authorization violation"),
        "{error:#}"
    );
    // Refused without a lookup, and the token is in no log line.
    assert_eq!(calls.load(Ordering::SeqCst), after_lookups);
    let log = server.log();
    assert!(!log.contains(&oversized));
    assert!(!log.contains("acc_wrong_token"));
}

#[tokio::test]
async fn customer_receives_its_projects_events_from_the_provisioner() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, _) = server.responder().await.unwrap();
    let customer = server.customer(CUSTOMER_TOKEN).await.unwrap();
    let mut sub = customer
        .client
        .subscribe(format!("accord.evt.{PROJECT}.>"))
        .await
        .unwrap();
    customer.client.flush().await.unwrap();

    let provisioner = server.service(ServiceUser::Provisioner).await.unwrap();
    let subject = event_subject(PROJECT, "cluster", "created", "c1");
    provisioner
        .client
        .publish(subject.clone(), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    provisioner.client.flush().await.unwrap();

    let message = next_message(&mut sub).await.unwrap();
    assert_eq!(message.subject.as_str(), subject);
}

#[tokio::test]
async fn customer_cannot_subscribe_to_other_projects_or_commands() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, _) = server.responder().await.unwrap();
    let mut customer = server.customer(CUSTOMER_TOKEN).await.unwrap();
    for subject in [
        format!("accord.evt.{OTHER_PROJECT}.>"),
        "accord.cmd.>".to_owned(),
        "accord.evt.>".to_owned(),
    ] {
        let _sub = customer.client.subscribe(subject.clone()).await.unwrap();
        customer
            .wait_event("a subscription permissions violation", |event| {
                is_violation(event, &subject)
            })
            .await
            .unwrap();
    }
    // The connection survives the violations and still gets its own project's events.
    let mut own = customer
        .client
        .subscribe(format!("accord.evt.{PROJECT}.>"))
        .await
        .unwrap();
    customer.client.flush().await.unwrap();
    let provisioner = server.service(ServiceUser::Provisioner).await.unwrap();
    let theirs = event_subject(OTHER_PROJECT, "cluster", "created", "c2");
    let mine = event_subject(PROJECT, "cluster", "created", "c3");
    provisioner
        .client
        .publish(theirs, Bytes::new())
        .await
        .unwrap();
    provisioner
        .client
        .publish(mine.clone(), Bytes::new())
        .await
        .unwrap();
    provisioner.client.flush().await.unwrap();
    assert_eq!(next_message(&mut own).await.unwrap().subject.as_str(), mine);
}

/// `publisher` publishes `forbidden`; the server must report a violation and must not deliver
/// it: an operator observer subscribed to every event sees `sentinel` (published afterwards by
/// `sentinel_publisher`) as its first message.
async fn assert_publish_refused(
    server: &AuthServer,
    publisher: &mut Client,
    forbidden: String,
    sentinel_publisher: ServiceUser,
    sentinel: String,
) -> anyhow::Result<()> {
    let observer = server.customer(OPERATOR_TOKEN).await?;
    let mut all = observer.client.subscribe("accord.evt.>").await?;
    observer.client.flush().await?;

    publisher
        .client
        .publish(forbidden.clone(), Bytes::from_static(b"forged"))
        .await?;
    publisher.client.flush().await?;
    publisher
        .wait_event("a publish permissions violation", |event| {
            is_violation(event, &forbidden)
        })
        .await?;

    let allowed = server.service(sentinel_publisher).await?;
    allowed
        .client
        .publish(sentinel.clone(), Bytes::new())
        .await?;
    allowed.client.flush().await?;
    let first = next_message(&mut all).await?;
    anyhow::ensure!(
        first.subject.as_str() == sentinel,
        "the forbidden publish was delivered: first message on {}",
        first.subject
    );
    Ok(())
}

#[tokio::test]
async fn customer_cannot_publish_events() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, _) = server.responder().await.unwrap();
    let mut customer = server.customer(CUSTOMER_TOKEN).await.unwrap();
    assert_publish_refused(
        &server,
        &mut customer,
        event_subject(PROJECT, "addon", "ownership-changed", "x"),
        ServiceUser::AddonManager,
        event_subject(PROJECT, "addon", "installed", "sentinel"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_service_cannot_publish_another_services_events() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, _) = server.responder().await.unwrap();
    let mut firewall = server.service(ServiceUser::NetworkFirewall).await.unwrap();
    assert_publish_refused(
        &server,
        &mut firewall,
        event_subject(PROJECT, "cluster", "created", "x"),
        ServiceUser::Provisioner,
        event_subject(PROJECT, "cluster", "created", "sentinel"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn without_the_responder_customers_are_refused_and_services_still_work() {
    let server = AuthServer::start().await.unwrap();
    // No responder: the server waits for its auth timeout, then refuses.
    let error = server
        .customer(CUSTOMER_TOKEN)
        .await
        .err()
        .expect("no responder, no customer");
    assert!(
        format!("{error:#}")
            .to_lowercase()
            .contains("authorization violation"),
        "{error:#}"
    );

    // Services connect and work: request/reply between two services, and JetStream.
    let provisioner = server.service(ServiceUser::Provisioner).await.unwrap();
    let mut verify = provisioner
        .client
        .subscribe("accord.cmd.provisioner.apikey.verify")
        .await
        .unwrap();
    provisioner.client.flush().await.unwrap();
    let server_side = provisioner.client.clone();
    tokio::spawn(async move {
        if let Ok(request) = next_message(&mut verify).await
            && let Some(reply) = request.reply
        {
            let _ = server_side.publish(reply, Bytes::from_static(b"ok")).await;
        }
    });
    let firewall = server.service(ServiceUser::NetworkFirewall).await.unwrap();
    let reply = firewall
        .client
        .request(
            "accord.cmd.provisioner.apikey.verify",
            Bytes::from_static(b"t"),
        )
        .await
        .unwrap();
    assert_eq!(reply.payload.as_ref(), b"ok");

    let js = async_nats::jetstream::new(provisioner.client.clone());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "ACCORD_EVENTS".into(),
        subjects: vec!["accord.evt.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let ack = js
        .publish(
            event_subject(PROJECT, "cluster", "created", "js1"),
            Bytes::new(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ack.stream, "ACCORD_EVENTS");
}

#[tokio::test]
async fn a_static_user_missing_from_auth_users_goes_through_the_callout() {
    // Verifies the config invariant: take the provisioner out of auth_users.
    let server = AuthServer::start_with(|text, keys| {
        let key = keys.service(ServiceUser::Provisioner).public_key();
        text.replace(&format!("      \"{key}\" # provisioner\n"), "")
    })
    .await
    .unwrap();
    let error = server
        .service(ServiceUser::Provisioner)
        .await
        .err()
        .expect("the provisioner must go through the (absent) responder");
    assert!(
        format!("{error:#}")
            .to_lowercase()
            .contains("authorization violation"),
        "{error:#}"
    );
    // Listed users are unaffected.
    server.service(ServiceUser::AddonManager).await.unwrap();
}

#[tokio::test]
async fn the_server_disconnects_a_grant_when_its_jwt_expires() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, _) = server.responder().await.unwrap();
    let mut short = server.customer(SHORT_TOKEN).await.unwrap();
    // The server says why, then closes the connection.
    short
        .wait_event("the server's expiry error", |event| {
            matches!(
                event,
                Event::ServerError(async_nats::ServerError::Other(message))
                    if message.to_lowercase().contains("authentication expired")
            )
        })
        .await
        .unwrap();
    short
        .wait_event("the disconnect at expiry", |event| {
            matches!(event, Event::Disconnected)
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn services_use_jetstream_consumers_and_the_object_store_within_their_permissions() {
    use futures::StreamExt as _;
    let server = AuthServer::start().await.unwrap();
    let provisioner = server.service(ServiceUser::Provisioner).await.unwrap();
    let js = async_nats::jetstream::new(provisioner.client.clone());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "ACCORD_EVENTS".into(),
        subjects: vec!["accord.evt.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let subject = event_subject(PROJECT, "cluster", "created", "js2");
    js.publish(subject.clone(), Bytes::from_static(b"{}"))
        .await
        .unwrap()
        .await
        .unwrap();

    // network-firewall: a durable pull consumer, a fetch and an ack (JetStream API, inbox, ack).
    let firewall = server.service(ServiceUser::NetworkFirewall).await.unwrap();
    let fjs = async_nats::jetstream::new(firewall.client.clone());
    let stream = fjs.get_stream("ACCORD_EVENTS").await.unwrap();
    let consumer = stream
        .get_or_create_consumer(
            "network-firewall",
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some("network-firewall".into()),
                filter_subject: "accord.evt.*.cluster.>".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut messages = consumer.fetch().max_messages(1).messages().await.unwrap();
    let message = tokio::time::timeout(DEADLINE, messages.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(message.subject.as_str(), subject);
    message.double_ack().await.unwrap();

    // addon-manager: the plugin object store.
    let addons = server.service(ServiceUser::AddonManager).await.unwrap();
    let ajs = async_nats::jetstream::new(addons.client.clone());
    let store = ajs
        .create_object_store(async_nats::jetstream::object_store::Config {
            bucket: "ACCORD_PLUGINS".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store.put("p.wasm", &mut &b"wasm"[..]).await.unwrap();
    let mut object = store.get("p.wasm").await.unwrap();
    let mut body = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut object, &mut body)
        .await
        .unwrap();
    assert_eq!(body, b"wasm");
}

#[tokio::test]
async fn the_simulator_publishes_telemetry_only() {
    let server = AuthServer::start().await.unwrap();
    let (_responder, _) = server.responder().await.unwrap();
    let telemetry = server.service(ServiceUser::Telemetry).await.unwrap();
    let mut samples = telemetry
        .client
        .queue_subscribe("accord.tel.>", "telemetry".into())
        .await
        .unwrap();
    telemetry.client.flush().await.unwrap();
    let sim = server.service(ServiceUser::Sim).await.unwrap();
    sim.client
        .publish("accord.tel.c1.n1", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    sim.client.flush().await.unwrap();
    assert_eq!(
        next_message(&mut samples).await.unwrap().subject.as_str(),
        "accord.tel.c1.n1"
    );

    let mut sim = sim;
    assert_publish_refused(
        &server,
        &mut sim,
        event_subject("platform", "image", "released", "x"),
        ServiceUser::ImageBuilder,
        event_subject("platform", "image", "released", "sentinel"),
    )
    .await
    .unwrap();
}
