//! Delivery against a local HTTP server: what is sent (headers, body, signature), which answers
//! count as delivered, retryable or permanent, timeouts and size caps.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use accord_notify::{
    Notifier, Outcome, Request, UrlPolicy,
    signature::{ID_HEADER, SIGNATURE_HEADER, verify},
};
use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, StatusCode},
    routing::post,
};

/// What the server received.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A local server answering `status` (or hanging when `None`), recording every request.
async fn server(status: Option<u16>) -> (SocketAddr, Arc<Mutex<Vec<Received>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rec = Arc::clone(&seen);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let rec = Arc::clone(&rec);
            async move {
                rec.lock().unwrap().push(Received { headers, body });
                match status {
                    Some(s) => (StatusCode::from_u16(s).unwrap(), "answer body"),
                    None => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        (StatusCode::OK, "late")
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn notifier() -> Notifier {
    Notifier::with_timeout(UrlPolicy::new(true), Duration::from_millis(500)).unwrap()
}

const BODY: &[u8] =
    br#"{"specversion":"1.0","id":"01JEVENT","type":"accord.remediation.decided.v1"}"#;

fn request(url: &str) -> Request<'_> {
    Request {
        url,
        secret: "whsec_test",
        event_id: "01JEVENT",
        body: BODY,
        now_unix: 1_733_000_000,
    }
}

#[tokio::test]
async fn a_2xx_is_delivered_with_signature_id_and_cloudevents_body() {
    let (addr, seen) = server(Some(204)).await;
    let url = format!("http://{addr}/hook");
    assert_eq!(
        notifier().deliver(&request(&url)).await,
        Outcome::Delivered { status: 204 }
    );
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let h = &got[0].headers;
    assert_eq!(h["content-type"], "application/cloudevents+json");
    assert_eq!(h[ID_HEADER], "01JEVENT");
    let sig = h[SIGNATURE_HEADER].to_str().unwrap();
    assert!(sig.starts_with("t=1733000000,v1="), "{sig}");
    assert!(verify("whsec_test", sig, &got[0].body, 1_733_000_010, 300));
    assert_eq!(&got[0].body[..], BODY);
}

#[tokio::test]
async fn server_errors_and_429_are_retryable_and_404_is_permanent() {
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (408, true),
        (404, false),
        (400, false),
        (302, false),
    ] {
        let (addr, _) = server(Some(status)).await;
        let url = format!("http://{addr}/hook");
        let out = notifier().deliver(&request(&url)).await;
        assert_eq!(out.status(), Some(status));
        match out {
            Outcome::Retryable { error, .. } if retryable => {
                assert!(error.contains(&status.to_string()), "{error}");
                assert!(error.contains("answer body"), "{error}");
            }
            Outcome::Permanent { .. } if !retryable => {}
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_hanging_endpoint_times_out_as_retryable() {
    let (addr, seen) = server(None).await;
    let url = format!("http://{addr}/hook");
    let started = std::time::Instant::now();
    let out = notifier().deliver(&request(&url)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    match out {
        Outcome::Retryable {
            status: None,
            error,
        } => assert!(error.contains("timed out"), "{error}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dead_port_is_retryable_and_a_refused_url_is_permanent_without_a_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/hook");
    assert!(matches!(
        notifier().deliver(&request(&url)).await,
        Outcome::Retryable { status: None, .. }
    ));
    let prod = Notifier::with_timeout(UrlPolicy::new(false), Duration::from_millis(500)).unwrap();
    match prod.deliver(&request(&url)).await {
        Outcome::Permanent {
            status: None,
            error,
        } => {
            assert!(error.starts_with("url "), "{error}");
            assert!(!error.contains(&addr.port().to_string()), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_huge_answer_is_read_only_up_to_the_cap() {
    let big = "x".repeat(4 * 1024 * 1024);
    let app = Router::new().route(
        "/hook",
        post(move || {
            let big = big.clone();
            async move { (StatusCode::BAD_REQUEST, big) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/hook");
    match notifier().deliver(&request(&url)).await {
        Outcome::Permanent {
            status: Some(400),
            error,
        } => assert!(error.len() <= 512),
        other => panic!("{other:?}"),
    }
}
