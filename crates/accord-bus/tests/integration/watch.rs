//! Live watching of events with an ordered ephemeral consumer.

use std::time::Duration;

use accord_bus::{BusError, CloudEvent, StartAt, subjects};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::support::{self, env};

async fn take(
    stream: &mut BoxStream<'static, Result<CloudEvent, BusError>>,
    n: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within the deadline")
            .expect("the watch stream does not end");
        ids.push(next.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn new_events_arrive_in_order() {
    let env = env().await;
    let old = support::entry(0);
    env.bus.publish_entry(&old).await.unwrap();

    let mut watch = env
        .bus
        .watch_events(&subjects::events_all(), StartAt::New)
        .await
        .unwrap();
    let entries: Vec<_> = (1..=5).map(support::entry).collect();
    for entry in &entries {
        env.bus.publish_entry(entry).await.unwrap();
    }
    let expected: Vec<_> = entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        take(&mut watch, 5).await,
        expected,
        "only new events, in order"
    );
}

#[tokio::test]
async fn all_and_last_n_replay_history_then_follow() {
    let env = env().await;
    let mut other = support::entry(100);
    other.subject = subjects::event("prj-test", "gadget", "made", "g1").unwrap();
    let widgets: Vec<_> = (1..=6).map(support::entry).collect();
    // Interleave another resource so the filter matters for Last(n).
    for (i, entry) in widgets.iter().enumerate() {
        env.bus.publish_entry(entry).await.unwrap();
        if i % 2 == 0 {
            let mut gadget = support::entry(200 + i as u32);
            gadget.subject =
                subjects::event("prj-test", "gadget", "made", &format!("g{i}")).unwrap();
            env.bus.publish_entry(&gadget).await.unwrap();
        }
    }
    let widget_ids: Vec<_> = widgets.iter().map(|e| e.id.clone()).collect();
    let filter = subjects::events_of("widget").unwrap();

    let mut all = env.bus.watch_events(&filter, StartAt::All).await.unwrap();
    assert_eq!(take(&mut all, 6).await, widget_ids);

    let mut last = env
        .bus
        .watch_events(&filter, StartAt::Last(2))
        .await
        .unwrap();
    assert_eq!(take(&mut last, 2).await, widget_ids[4..].to_vec());

    let mut last_many = env
        .bus
        .watch_events(&filter, StartAt::Last(50))
        .await
        .unwrap();
    assert_eq!(take(&mut last_many, 6).await, widget_ids);

    let live = support::entry(7);
    env.bus.publish_entry(&live).await.unwrap();
    env.bus.publish_entry(&other).await.unwrap();
    assert_eq!(take(&mut last, 1).await, vec![live.id.clone()]);
    assert_eq!(take(&mut all, 1).await, vec![live.id.clone()]);
}

#[tokio::test]
async fn a_corrupt_stored_event_is_an_error_item_not_the_end() {
    let env = env().await;
    let mut watch = env
        .bus
        .watch_events(&subjects::events_all(), StartAt::New)
        .await
        .unwrap();
    env.bus
        .publish_entry(&support::raw_entry("garbage", b"nope".to_vec()))
        .await
        .unwrap();
    let good = support::entry(1);
    env.bus.publish_entry(&good).await.unwrap();

    let first = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Err(BusError::InvalidEvent(_))), "{first:?}");
    assert_eq!(take(&mut watch, 1).await, vec![good.id]);
}
