//! Durable consumers: ack, retry, dead-lettering, bad input, panics, multi-filter, filters
//! that grow across restarts, resumption.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_bus::consumer::{
    DLQ_CONSUMER_HEADER, DLQ_DELIVERIES_HEADER, DLQ_ORIGINAL_MSG_ID_HEADER, DLQ_REASON_HEADER,
    DLQ_SEQUENCE_HEADER, DLQ_STREAM_HEADER, DLQ_SUBJECT_HEADER,
};
use accord_bus::{
    Bus, BusError, CancellationToken, CloudEvent, ConsumerSpec, DLQ_STREAM, EVENTS_STREAM,
    HandlerError, StoredMessage, subjects,
};
use accord_testkit::{assert_eventually, assert_eventually_eq};
use tokio::task::JoinHandle;

use crate::support::{self, env};

struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), BusError>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("consumer stops promptly on shutdown")
            .unwrap()
            .unwrap();
    }
}

fn spawn_consumer<H, Fut>(bus: &Bus, spec: ConsumerSpec, handler: H) -> Running
where
    H: Fn(CloudEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let shutdown = CancellationToken::new();
    let bus = bus.clone();
    let token = shutdown.clone();
    let task = tokio::spawn(async move { bus.consume(spec, handler, token).await });
    Running { shutdown, task }
}

/// Short waits so redelivery tests take milliseconds.
fn fast_spec(durable: &str) -> ConsumerSpec {
    ConsumerSpec::new(durable, vec![subjects::events_of("widget").unwrap()])
        .with_ack_wait(Duration::from_secs(2))
        .with_backoff(vec![Duration::from_millis(10)])
        .with_max_deliver(3)
}

/// Records the ids the handler saw, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, id: &str) -> usize {
        let mut seen = self.0.lock().unwrap();
        seen.push(id.to_owned());
        seen.iter().filter(|s| *s == id).count()
    }
    fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

async fn dead_letters(bus: &Bus, durable: &str, n: usize) -> Vec<StoredMessage> {
    support::read_stream(bus, DLQ_STREAM, &subjects::dead_letter(durable).unwrap(), n).await
}

async fn dlq_count(bus: &Bus) -> u64 {
    bus.stream_state(DLQ_STREAM).await.unwrap().messages
}

#[tokio::test]
async fn ok_is_acked_once_and_a_restarted_durable_resumes() {
    let env = env().await;
    let entries: Vec<_> = (1..=2).map(support::entry).collect();
    for entry in &entries {
        env.bus.publish_entry(entry).await.unwrap();
    }
    let seen = Seen::default();
    let handler = {
        let seen = seen.clone();
        move |event: CloudEvent| {
            let seen = seen.clone();
            async move {
                seen.push(&event.id);
                Ok(())
            }
        }
    };
    let running = spawn_consumer(&env.bus, fast_spec("ok-svc"), handler.clone());

    assert_eventually_eq!(seen.len(), 2);
    assert_eventually!({
        let state = env
            .bus
            .consumer_state(EVENTS_STREAM, "ok-svc")
            .await
            .unwrap();
        state.num_ack_pending == 0 && state.ack_floor_stream_sequence == 2
    });
    let state = env
        .bus
        .consumer_state(EVENTS_STREAM, "ok-svc")
        .await
        .unwrap();
    assert_eq!(
        state.num_redelivered, 0,
        "acked messages are not redelivered"
    );
    assert_eq!(
        seen.ids(),
        entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    running.stop().await;

    // The durable remembers its position: only the new event is delivered after a restart.
    let third = support::entry(3);
    env.bus.publish_entry(&third).await.unwrap();
    let running = spawn_consumer(&env.bus, fast_spec("ok-svc"), handler);
    assert_eventually_eq!(seen.len(), 3);
    assert_eq!(seen.ids()[2], third.id);
    assert_eventually_eq!(
        env.bus
            .consumer_state(EVENTS_STREAM, "ok-svc")
            .await
            .unwrap()
            .ack_floor_stream_sequence,
        3
    );
    running.stop().await;
    assert_eq!(dlq_count(&env.bus).await, 0);
}

#[tokio::test]
async fn retry_twice_then_ok_is_processed() {
    let env = env().await;
    let entry = support::entry(1);
    env.bus.publish_entry(&entry).await.unwrap();
    let seen = Seen::default();
    let running = spawn_consumer(&env.bus, fast_spec("retry-svc"), {
        let seen = seen.clone();
        move |event: CloudEvent| {
            let attempt = seen.push(&event.id);
            async move {
                if attempt < 3 {
                    Err(HandlerError::Retry(format!("attempt {attempt}")))
                } else {
                    Ok(())
                }
            }
        }
    });

    assert_eventually_eq!(seen.len(), 3);
    assert_eventually!({
        let state = env
            .bus
            .consumer_state(EVENTS_STREAM, "retry-svc")
            .await
            .unwrap();
        state.num_ack_pending == 0 && state.ack_floor_stream_sequence == 1
    });
    running.stop().await;
    assert_eq!(
        dlq_count(&env.bus).await,
        0,
        "a message that succeeded is not dead-lettered"
    );
}

#[tokio::test]
async fn retries_exhausted_go_to_the_dead_letter_stream() {
    let env = env().await;
    let entry = support::entry(1);
    env.bus.publish_entry(&entry).await.unwrap();
    let seen = Seen::default();
    let running = spawn_consumer(&env.bus, fast_spec("exhaust-svc"), {
        let seen = seen.clone();
        move |event: CloudEvent| {
            seen.push(&event.id);
            async { Err(HandlerError::Retry("database is down".into())) }
        }
    });

    assert_eventually_eq!(dlq_count(&env.bus).await, 1);
    let dead = dead_letters(&env.bus, "exhaust-svc", 1).await;
    let dead = &dead[0];
    assert_eq!(dead.subject, "accord.dlq.exhaust-svc");
    assert_eq!(dead.payload.as_ref(), entry.payload.as_slice());
    let reason = dead.header(DLQ_REASON_HEADER).unwrap();
    assert!(reason.contains("gave up after 3 deliveries"), "{reason}");
    assert!(reason.contains("database is down"), "{reason}");
    assert_eq!(
        dead.header(DLQ_SUBJECT_HEADER),
        Some(entry.subject.as_str())
    );
    assert_eq!(dead.header(DLQ_STREAM_HEADER), Some(EVENTS_STREAM));
    assert_eq!(dead.header(DLQ_SEQUENCE_HEADER), Some("1"));
    assert_eq!(dead.header(DLQ_CONSUMER_HEADER), Some("exhaust-svc"));
    assert_eq!(dead.header(DLQ_DELIVERIES_HEADER), Some("3"));
    assert_eq!(
        dead.header(DLQ_ORIGINAL_MSG_ID_HEADER),
        Some(entry.id.as_str())
    );
    assert_eq!(seen.len(), 3, "delivered exactly max_deliver times");

    assert_eventually_eq!(
        env.bus
            .consumer_state(EVENTS_STREAM, "exhaust-svc")
            .await
            .unwrap()
            .num_ack_pending,
        0,
        "the message is terminated after dead-lettering"
    );
    running.stop().await;
}

#[tokio::test]
async fn reject_dead_letters_immediately() {
    let env = env().await;
    env.bus.publish_entry(&support::entry(1)).await.unwrap();
    let seen = Seen::default();
    let running = spawn_consumer(&env.bus, fast_spec("reject-svc"), {
        let seen = seen.clone();
        move |event: CloudEvent| {
            seen.push(&event.id);
            async { Err(HandlerError::reject("cluster spec is invalid")) }
        }
    });
    assert_eventually_eq!(dlq_count(&env.bus).await, 1);
    let dead = dead_letters(&env.bus, "reject-svc", 1).await;
    assert_eq!(
        dead[0].header(DLQ_REASON_HEADER),
        Some("rejected by the handler: cluster spec is invalid")
    );
    assert_eq!(dead[0].header(DLQ_DELIVERIES_HEADER), Some("1"));
    assert_eq!(seen.len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_messages_are_dead_lettered_and_the_consumer_goes_on() {
    let env = env().await;
    let malformed = support::raw_entry("malformed", b"{not json".to_vec());
    let oversized = support::raw_entry("oversized", vec![b'x'; 8 * 1024]);
    let missing_type = support::raw_entry(
        "missing-type",
        br#"{"specversion":"1.0","id":"x","source":"/t","time":"2026-11-24T10:00:00Z"}"#.to_vec(),
    );
    let valid = support::entry(1);
    for entry in [&malformed, &oversized, &missing_type, &valid] {
        env.bus.publish_entry(entry).await.unwrap();
    }
    let seen = Seen::default();
    let running = spawn_consumer(
        &env.bus,
        fast_spec("robust-svc").with_max_payload(4 * 1024),
        {
            let seen = seen.clone();
            move |event: CloudEvent| {
                seen.push(&event.id);
                async { Ok(()) }
            }
        },
    );

    assert_eventually_eq!(seen.ids(), vec![valid.id.clone()]);
    assert_eventually_eq!(dlq_count(&env.bus).await, 3);
    let dead = dead_letters(&env.bus, "robust-svc", 3).await;
    let reasons: HashMap<&str, &str> = dead
        .iter()
        .map(|m| {
            (
                m.header(DLQ_ORIGINAL_MSG_ID_HEADER).unwrap(),
                m.header(DLQ_REASON_HEADER).unwrap(),
            )
        })
        .collect();
    assert!(
        reasons["malformed"].contains("invalid cloudevent"),
        "{reasons:?}"
    );
    assert!(
        reasons["oversized"].contains("exceeds the consumer limit of 4096 bytes"),
        "{reasons:?}"
    );
    assert!(reasons["missing-type"].contains("type"), "{reasons:?}");
    assert_eq!(
        dead.iter()
            .find(|m| m.header(DLQ_ORIGINAL_MSG_ID_HEADER) == Some("oversized"))
            .unwrap()
            .payload
            .len(),
        8 * 1024,
        "the original payload is kept"
    );
    assert_eventually!({
        let state = env
            .bus
            .consumer_state(EVENTS_STREAM, "robust-svc")
            .await
            .unwrap();
        state.num_ack_pending == 0 && state.ack_floor_stream_sequence == 4
    });
    running.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_is_retried_and_does_not_kill_the_consumer() {
    let env = env().await;
    env.bus.publish_entry(&support::entry(1)).await.unwrap();
    let seen = Seen::default();
    let running = spawn_consumer(&env.bus, fast_spec("panic-svc"), {
        let seen = seen.clone();
        move |event: CloudEvent| {
            let attempt = seen.push(&event.id);
            async move {
                if attempt == 1 {
                    panic!("handler bug on first delivery");
                }
                Ok(())
            }
        }
    });
    assert_eventually_eq!(seen.len(), 2);
    assert_eventually_eq!(
        env.bus
            .consumer_state(EVENTS_STREAM, "panic-svc")
            .await
            .unwrap()
            .ack_floor_stream_sequence,
        1
    );
    running.stop().await;
}

#[tokio::test]
async fn multi_filter_consumers_see_only_their_subjects() {
    let env = env().await;
    let mut gadget = support::entry(1);
    gadget.subject = subjects::event("prj-test", "gadget", "made", "g1").unwrap();
    let mut other = support::entry(2);
    other.subject = subjects::event("prj-test", "other", "happened", "o1").unwrap();
    let widget = support::entry(3);
    for entry in [&gadget, &other, &widget] {
        env.bus.publish_entry(entry).await.unwrap();
    }
    let seen = Seen::default();
    let spec = ConsumerSpec::new(
        "filter-svc",
        vec![
            subjects::events_named("widget", "changed").unwrap(),
            subjects::events_of("gadget").unwrap(),
        ],
    );
    let running = spawn_consumer(&env.bus, spec, {
        let seen = seen.clone();
        move |event: CloudEvent| {
            seen.push(&event.id);
            async { Ok(()) }
        }
    });
    assert_eventually_eq!(seen.ids(), vec![gadget.id.clone(), widget.id.clone()]);
    assert_eventually_eq!(
        env.bus
            .consumer_state(EVENTS_STREAM, "filter-svc")
            .await
            .unwrap()
            .num_pending,
        0
    );
    running.stop().await;
}

/// A release that consumes one more resource restarts the same durable consumer with one more
/// filter subject: binding updates the existing consumer's filters (create-or-update), so the
/// new kind is delivered from where the consumer stands, and nothing already acknowledged
/// comes again.
#[tokio::test]
async fn a_durable_consumer_restarted_with_more_filters_receives_the_new_kind() {
    let env = env().await;
    let seen = Seen::default();
    let handler = |seen: Seen| {
        move |event: CloudEvent| {
            seen.push(&event.id);
            async { Ok(()) }
        }
    };
    let widget = support::entry(1);
    env.bus.publish_entry(&widget).await.unwrap();
    let before = ConsumerSpec::new("growing-svc", vec![subjects::events_of("widget").unwrap()]);
    let running = spawn_consumer(&env.bus, before, handler(seen.clone()));
    assert_eventually_eq!(seen.ids(), vec![widget.id.clone()]);
    running.stop().await;

    let mut gadget = support::entry(2);
    gadget.subject = subjects::event("prj-test", "gadget", "made", "g1").unwrap();
    env.bus.publish_entry(&gadget).await.unwrap();
    let after = ConsumerSpec::new(
        "growing-svc",
        vec![
            subjects::events_of("widget").unwrap(),
            subjects::events_of("gadget").unwrap(),
        ],
    );
    let running = spawn_consumer(&env.bus, after, handler(seen.clone()));
    assert_eventually_eq!(seen.ids(), vec![widget.id.clone(), gadget.id.clone()]);
    let widget2 = support::entry(3);
    env.bus.publish_entry(&widget2).await.unwrap();
    assert_eventually_eq!(
        seen.ids(),
        vec![widget.id.clone(), gadget.id.clone(), widget2.id.clone()]
    );
    assert_eventually_eq!(
        env.bus
            .consumer_state(EVENTS_STREAM, "growing-svc")
            .await
            .unwrap()
            .num_pending,
        0
    );
    running.stop().await;
}

#[tokio::test]
async fn an_invalid_spec_or_missing_stream_fails_fast() {
    let env = env().await;
    let error = env
        .bus
        .consume(
            ConsumerSpec::new("bad.name", vec![]),
            |_event: CloudEvent| async { Ok(()) },
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, BusError::InvalidSubjectToken { .. }),
        "{error:?}"
    );

    let error = env
        .bus
        .consume(
            ConsumerSpec::new("svc", vec![]).with_stream("NO_SUCH_STREAM"),
            |_event: CloudEvent| async { Ok(()) },
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(!error.is_unavailable(), "{error:?}");
}
