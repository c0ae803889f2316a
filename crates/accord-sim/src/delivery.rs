//! Event delivery: every [`InfraEvent`] reaches the subscribed sink, in the order the fleet's
//! state changed, exactly once.
//!
//! The fleet queues events (and subscriptions) on an unbounded channel while it holds its state
//! lock, so the queue order is the order of the state changes. One task drains the queue and
//! calls the sink, outside every lock, so a sink may call back into the fleet.
//!
//! Invariants:
//! - Events queued before any subscriber are kept and delivered, in order, to the first sink that
//!   subscribes. A later `subscribe` replaces the sink for the events after it.
//! - The sink is called from one task at a time, never concurrently with itself.
//! - A sink that panics loses that one event (logged), not the delivery task.

use std::{collections::VecDeque, panic::AssertUnwindSafe};

use accord_core::infra::{InfraEvent, InfraEventSink};
use tokio::sync::mpsc;

/// What the delivery task is told, in order.
pub(crate) enum Delivery {
    /// Deliver this event.
    Event(InfraEvent),
    /// From now on, deliver to this sink (first the backlog).
    Subscribe(InfraEventSink),
}

/// The fleet's end of the queue.
pub(crate) type DeliveryQueue = mpsc::UnboundedSender<Delivery>;

/// Starts the delivery task on `runtime`; it ends when every queue sender is dropped.
pub(crate) fn spawn(runtime: &tokio::runtime::Handle) -> DeliveryQueue {
    let (tx, rx) = mpsc::unbounded_channel();
    runtime.spawn(run(rx));
    tx
}

async fn run(mut rx: mpsc::UnboundedReceiver<Delivery>) {
    let mut sink: Option<InfraEventSink> = None;
    let mut backlog: VecDeque<InfraEvent> = VecDeque::new();
    while let Some(item) = rx.recv().await {
        match item {
            Delivery::Subscribe(new_sink) => {
                while let Some(event) = backlog.pop_front() {
                    deliver(&new_sink, event);
                }
                sink = Some(new_sink);
            }
            Delivery::Event(event) => match &sink {
                Some(sink) => deliver(sink, event),
                None => backlog.push_back(event),
            },
        }
    }
}

fn deliver(sink: &InfraEventSink, event: InfraEvent) {
    tracing::debug!(?event, "infra event");
    let call = std::panic::catch_unwind(AssertUnwindSafe(|| sink(event)));
    if call.is_err() {
        tracing::error!("the infra event sink panicked; the event is lost");
    }
}
