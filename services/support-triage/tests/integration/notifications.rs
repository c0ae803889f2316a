//! Customer webhooks over a temporary store and a local HTTP server: a remediation decision
//! enqueues its notifications in the commit that opens the incident; the delivery path POSTs
//! them (retried after a 500 with the backoff, given up on a 404, retried after a timeout);
//! the consumer never waits for an endpoint; webhooks are bounded and their URLs checked.

use std::{
    collections::{HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use accord_core::{
    DomainError,
    autoclusters::RemediationState,
    iam::{Principal, Role},
    ids::{ApiKeyId, ClusterId, NodeId, ProjectId, RemediationId, UserId},
    remediation::{Finding, FindingKind, RemediationAction, RemediationDecision, RemediationEvent},
    responsibility::SupportScope,
};
use accord_notify::{
    Delivery, DeliveryState, Notifier, Request, UrlPolicy, Webhook,
    signature::{SIGNATURE_HEADER, verify},
};
use accord_runtime::metrics::Metrics;
use accord_store::{Commit, Expect, Store};
use accord_support_triage::{
    NotifySettings, RuleSet, SupportDesk,
    catch_up::CatchUp,
    handlers::incidents::Source,
    notify::delivery_loop,
    service::Input,
    trees::{CLUSTERS, Tickets as _},
    view::ClusterView,
};
use axum::{Router, body::Bytes, http::HeaderMap, http::StatusCode, routing::post};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// A receiver answering the scripted statuses in turn (200 once they run out), or hanging.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receiver(script: &[u16], hang: bool) -> Receiver {
    let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let script = Arc::new(Mutex::new(
        script.iter().copied().collect::<VecDeque<u16>>(),
    ));
    let rec = Arc::clone(&got);
    let app = Router::new().route(
        "/hook",
        post(move |h: HeaderMap, b: Bytes| {
            let (rec, script) = (Arc::clone(&rec), Arc::clone(&script));
            async move {
                rec.lock().unwrap().push((h, b));
                if hang {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let s = script.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(s).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/hook"),
        got,
    }
}

struct World {
    desk: Arc<SupportDesk>,
    view: ClusterView,
    admin: Principal,
    node: NodeId,
}

async fn world() -> World {
    let store = Store::temporary().unwrap();
    let desk = SupportDesk::with_settings(
        store.clone(),
        Arc::new(RuleSet::shipped().unwrap()),
        &Metrics::new("support-triage"),
        CatchUp::default(),
        NotifySettings::local(),
    );
    let view = ClusterView {
        id: ClusterId::generate(),
        name: "train".into(),
        project: ProjectId::generate(),
        addons: Default::default(),
    };
    let mut c = Commit::new();
    c.push_put_in(CLUSTERS, &view.id.to_string(), &view, Expect::Any)
        .unwrap();
    store.commit(c).await.unwrap();
    let admin = Principal::Customer {
        user: UserId::generate(),
        user_name: "ada@example.com".into(),
        project: view.project,
        role: Role::Admin,
        key: ApiKeyId::generate(),
    };
    World {
        desk,
        view,
        admin,
        node: NodeId::generate(),
    }
}

impl World {
    async fn webhook(&self, url: &str, kinds: &[&str]) -> Webhook {
        self.desk
            .create_webhook(
                &self.admin,
                self.view.project,
                url.into(),
                kinds.iter().map(|k| (*k).to_owned()).collect(),
            )
            .await
            .unwrap()
    }

    /// A decision to reboot a node (opens an incident), as event `id`.
    async fn decided(&self, id: &str) {
        let finding = Finding {
            kind: FindingKind::GpuXid,
            cluster: self.view.id.to_string(),
            node: self.node.to_string(),
            xid: Some(79),
            gpu: Some(3),
            port: None,
            state: None,
            minutes: None,
            temp_c: None,
            signal: None,
            severity: None,
        };
        let ev = RemediationEvent::Decided {
            finding,
            decision: RemediationDecision {
                action: RemediationAction::RebootNode,
                responsibility: SupportScope::Supported,
                reason: "XID 79: the GPU fell off the bus".into(),
            },
            project: self.view.project,
            evidence: vec![],
            remediation: Some(RemediationId::generate()),
            state: Some(RemediationState::Running),
        };
        self.desk
            .on_input(
                Input::Remediation(ev),
                Source {
                    event_type: "accord.remediation.decided.v1".into(),
                    event_id: id.into(),
                },
            )
            .await
            .unwrap();
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.desk
            .list_deliveries(self.view.project, None, None, 1000)
            .unwrap()
    }

    /// One pass of the delivery path at `now`, in this task: every due delivery sent and its
    /// outcome recorded (the loop does the same on its tasks).
    async fn step(&self, notifier: &Notifier, now: OffsetDateTime) -> usize {
        let due = self
            .desk
            .due_deliveries(now, &HashSet::new(), 8, 64)
            .await
            .unwrap();
        for d in &due {
            let outcome = notifier
                .deliver(&Request {
                    url: &d.webhook.url,
                    secret: &d.webhook.secret,
                    event_id: &d.delivery.event_id,
                    body: d.delivery.body.as_deref().unwrap().as_bytes(),
                    now_unix: now.unix_timestamp(),
                })
                .await;
            self.desk
                .record_attempt(&d.key, &outcome, now)
                .await
                .unwrap();
        }
        due.len()
    }
}

fn notifier(timeout: Duration) -> Notifier {
    Notifier::with_timeout(UrlPolicy::new(true), timeout).unwrap()
}

const EVENT: &str = "01KEVENT0000000000000000AA";

#[tokio::test]
async fn a_decision_and_its_incident_are_enqueued_in_one_commit_and_the_loop_delivers_them() {
    let w = world().await;
    let r = receiver(&[], false).await;
    let hook = w.webhook(&r.url, &[]).await;
    let _held_only = w
        .webhook("http://127.0.0.1:9/other", &["remediation-held"])
        .await;
    let commits = w.desk.engine().commits();
    w.decided(EVENT).await;
    assert_eq!(w.desk.engine().commits(), commits + 1, "one commit");
    let ds = w.deliveries();
    let kinds: HashSet<&str> = ds.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        HashSet::from(["remediation-decided", "incident-opened"]),
        "{ds:?}"
    );
    assert!(
        ds.iter()
            .all(|d| d.webhook == hook.id && d.state == DeliveryState::Pending)
    );
    // Redelivered: nothing new.
    w.decided(EVENT).await;
    assert_eq!(w.deliveries().len(), 2);

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(delivery_loop::run(
        Arc::clone(&w.desk),
        notifier(Duration::from_secs(2)),
        shutdown.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !w
        .deliveries()
        .iter()
        .all(|d| d.state == DeliveryState::Delivered)
    {
        assert!(Instant::now() < deadline, "{:?}", w.deliveries());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
    for d in w.deliveries() {
        assert_eq!((d.attempts, d.last_status), (1, Some(200)), "{d:?}");
        assert!(d.body.is_none() && d.next_attempt.is_none());
    }
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for (h, body) in &got {
        let sig = h[SIGNATURE_HEADER].to_str().unwrap();
        assert!(verify(&hook.secret, sig, body, now, 300));
    }
    let ids: Vec<&str> = got
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    assert!(ids.contains(&EVENT), "{ids:?}");
}

#[tokio::test]
async fn a_500_is_retried_after_the_backoff_and_delivered_on_the_second_attempt() {
    let w = world().await;
    let r = receiver(&[500], false).await;
    w.webhook(&r.url, &["remediation-decided"]).await;
    w.decided(EVENT).await;
    let n = notifier(Duration::from_secs(2));
    let t0 = OffsetDateTime::now_utc();
    assert_eq!(w.step(&n, t0).await, 1);
    let d = &w.deliveries()[0];
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Pending, 1, Some(500))
    );
    assert_eq!(d.next_attempt, Some(t0 + Duration::from_secs(10)));
    assert!(d.last_error.contains("500"), "{}", d.last_error);
    // Not due before the backoff …
    assert_eq!(w.step(&n, t0 + Duration::from_secs(5)).await, 0);
    // … due after it.
    assert_eq!(w.step(&n, t0 + Duration::from_secs(11)).await, 1);
    let d = &w.deliveries()[0];
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Delivered, 2, Some(200))
    );
    assert_eq!(r.got.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_404_fails_for_good_and_a_timeout_is_retried() {
    let w = world().await;
    let gone = receiver(&[404], false).await;
    w.webhook(&gone.url, &["incident-opened"]).await;
    w.decided(EVENT).await;
    let n = notifier(Duration::from_millis(300));
    let t0 = OffsetDateTime::now_utc();
    assert_eq!(w.step(&n, t0).await, 1);
    let d = &w.deliveries()[0];
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Failed, 1, Some(404))
    );
    assert!(d.next_attempt.is_none());
    assert_eq!(w.step(&n, t0 + Duration::from_secs(3600)).await, 0);

    let w = world().await;
    let hanging = receiver(&[], true).await;
    w.webhook(&hanging.url, &["incident-opened"]).await;
    w.decided(EVENT).await;
    let t0 = OffsetDateTime::now_utc();
    assert_eq!(w.step(&n, t0).await, 1);
    let d = &w.deliveries()[0];
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Pending, 1, None)
    );
    assert!(d.last_error.contains("timed out"), "{}", d.last_error);
    assert_eq!(w.step(&n, t0 + Duration::from_secs(11)).await, 1);
    assert_eq!(w.deliveries()[0].attempts, 2);
}

#[tokio::test]
async fn a_delivery_is_given_up_after_20_attempts() {
    let w = world().await;
    let r = receiver(&[503; 25], false).await;
    w.webhook(&r.url, &["remediation-decided"]).await;
    w.decided(EVENT).await;
    let n = notifier(Duration::from_secs(2));
    let mut now = OffsetDateTime::now_utc();
    for _ in 0..20 {
        assert_eq!(w.step(&n, now).await, 1);
        now += Duration::from_secs(601);
    }
    let d = &w.deliveries()[0];
    assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 20));
    assert!(
        d.last_error.starts_with("gave up after 20 attempts"),
        "{}",
        d.last_error
    );
}

#[tokio::test]
async fn the_consumer_never_waits_for_a_dead_endpoint() {
    let mut w = world().await;
    let hanging = receiver(&[], true).await;
    w.webhook(&hanging.url, &[]).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(delivery_loop::run(
        Arc::clone(&w.desk),
        notifier(Duration::from_secs(5)),
        shutdown.clone(),
    ));
    w.decided(EVENT).await;
    // The loop is now stuck on the endpoint (5 s deadline); events are handled meanwhile.
    let deadline = Instant::now() + Duration::from_secs(5);
    while hanging.got.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    w.node = NodeId::generate();
    w.decided("01KEVENT0000000000000000BB").await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(w.deliveries().len(), 4, "{:?}", w.deliveries());
    assert_eq!(w.desk.reader().tickets().unwrap().len(), 2);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn webhooks_are_checked_bounded_and_scoped_to_their_project() {
    let w = world().await;
    let err = w
        .desk
        .create_webhook(
            &w.admin,
            w.view.project,
            "http://example.com/x".into(),
            vec![],
        )
        .await
        .unwrap_err();
    match err {
        DomainError::InvalidArgument(v) => assert_eq!(v.first().unwrap().field, "url"),
        other => panic!("{other:?}"),
    }
    let err = w
        .desk
        .create_webhook(
            &w.admin,
            w.view.project,
            "https://hooks.example.com/x".into(),
            vec!["nope".into()],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::InvalidArgument(_)), "{err:?}");
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            w.webhook(&format!("https://hooks.example.com/{i}"), &[])
                .await
                .id,
        );
    }
    let err = w
        .desk
        .create_webhook(
            &w.admin,
            w.view.project,
            "https://hooks.example.com/x".into(),
            vec![],
        )
        .await
        .unwrap_err();
    match err {
        DomainError::ResourceExhausted(m) => assert!(m.contains("10"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Another project's lookup of the webhook: NOT_FOUND like a missing one.
    let other = ProjectId::generate();
    assert!(matches!(
        w.desk.webhook(other, ids[0]),
        Err(DomainError::NotFound { .. })
    ));
    w.desk.delete_webhook(w.view.project, ids[0]).await.unwrap();
    assert!(matches!(
        w.desk.delete_webhook(w.view.project, ids[0]).await,
        Err(DomainError::NotFound { .. })
    ));
}
