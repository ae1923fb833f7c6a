//! The shape every consumer of the event feed shares. A batch's events are grouped by
//! lab; each lab's configuration (subscriptions, webhooks) is read once per batch; only
//! events someone wants are checked against the consumer's dedupe records, handled, and
//! recorded as done. Failed events are reported so only their messages come back.

use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::model::keys;
use crate::state::EventsState;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tracseq_aws::batch::{Failures, SqsBatch, SqsMessage};
use tracseq_aws::store::{Item, n, now_epoch, s};
use tracseq_core::function::FunctionError;

/// A dedupe record outlives any redelivery: SQS keeps a message at most 4 days here.
const DEDUPE_TTL_SECS: i64 = 7 * 24 * 3600;

/// One consumer of the feed.
pub trait Consumer: Send + Sync + 'static {
    /// The consumer's name: its queue in `CONSUMER_QUEUES`, and its dedupe records.
    const NAME: &'static str;
    /// What it needs to know about a lab to handle its events.
    type Lab: Send + Sync;
    /// Work on a lab's records that its events in this batch call for before any is
    /// handled (the router gives a new lab its default subscriptions).
    fn prepare(_st: &EventsState, _events: &[&FeedEvent]) -> impl Future<Output = Result<(), WorkError>> + Send {
        async { Ok(()) }
    }
    fn load(st: &EventsState, lab: &str) -> impl Future<Output = Result<Self::Lab, WorkError>> + Send;
    /// Whether the event has anything to do here (most events have nothing).
    fn wants(lab: &Self::Lab, ev: &FeedEvent) -> bool;
    fn handle(st: &EventsState, lab: &Self::Lab, ev: &FeedEvent) -> impl Future<Output = Result<(), WorkError>> + Send;
}

pub async fn consume<C: Consumer>(st: Arc<EventsState>, batch: Value) -> Result<Value, FunctionError> {
    let batch = SqsBatch::parse(batch)?;
    let mut failures = Failures::default();
    // (message, event), grouped by lab in arrival order.
    let mut labs: Vec<(String, Vec<(&SqsMessage, FeedEvent)>)> = Vec::new();
    for message in &batch.messages {
        match crate::feed::read_message(&st, message.body.as_deref().unwrap_or_default()).await {
            Ok(ev) => match labs.iter_mut().find(|(l, _)| *l == ev.event.labid) {
                Some((_, list)) => list.push((message, ev)),
                None => labs.push((ev.event.labid.clone(), vec![(message, ev)])),
            },
            Err(e) => {
                // Never sent by our publisher: after its receives it lands in the DLQ.
                tracing::error!(consumer = C::NAME, error = %e, "unreadable event message");
                failures.push(message);
            }
        }
    }
    for (lab, events) in labs {
        let feed: Vec<&FeedEvent> = events.iter().map(|(_, ev)| ev).collect();
        if let Err(e) = C::prepare(&st, &feed).await {
            tracing::warn!(consumer = C::NAME, %lab, error = %e, "preparing the lab failed; its events come back");
            events.iter().for_each(|(m, _)| failures.push(m));
            continue;
        }
        let config = match C::load(&st, &lab).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(consumer = C::NAME, %lab, error = %e, "lab configuration unreadable; its events come back");
                events.iter().for_each(|(m, _)| failures.push(m));
                continue;
            }
        };
        for (message, ev) in events {
            if !C::wants(&config, &ev) {
                continue;
            }
            if let Err(e) = once::<C>(&st, &config, &ev).await {
                tracing::warn!(consumer = C::NAME, event = %ev.event.id, error = %e, "event not handled; it will be redelivered");
                failures.push(message);
            }
        }
    }
    Ok(failures.into_response())
}

/// Handle `ev` unless this consumer already did (the dedupe record by event and replay).
async fn once<C: Consumer>(st: &EventsState, config: &C::Lab, ev: &FeedEvent) -> Result<(), WorkError> {
    let pk = keys::dedupe(C::NAME, &ev.event.id, ev.replayid.as_deref());
    if st.table.get(&pk, "D").await?.is_some() {
        tracing::debug!(consumer = C::NAME, event = %ev.event.id, "duplicate event skipped");
        return Ok(());
    }
    C::handle(st, config, ev).await?;
    let done = Item::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s("D")),
        ("entity".into(), s("dedupe")),
        ("expires_at".into(), n(now_epoch() + DEDUPE_TTL_SECS)),
    ]);
    if let Err(e) = st.table.put(done).await {
        // Handling is idempotent by itself (fixed delivery ids); this only saves work.
        tracing::warn!(consumer = C::NAME, error = %e, "dedupe record not written");
    }
    Ok(())
}
