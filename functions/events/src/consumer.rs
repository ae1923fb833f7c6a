//! The shape every consumer of the event feed shares: read a batch of SQS messages, skip
//! events this consumer already handled (a dedupe record per event id and replay), handle
//! the rest, and report the ones that failed so only they come back.

use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::model::keys;
use crate::state::EventsState;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use tracseq_aws::store::{Item, n, now_epoch, s};
use tracseq_core::function::FunctionError;

/// A dedupe record outlives any redelivery: SQS keeps a message at most 4 days here.
const DEDUPE_TTL_SECS: i64 = 7 * 24 * 3600;

pub async fn consume<F, Fut>(
    st: Arc<EventsState>,
    batch: Value,
    consumer: &'static str,
    handle: F,
) -> Result<Value, FunctionError>
where
    F: Fn(Arc<EventsState>, FeedEvent) -> Fut,
    Fut: Future<Output = Result<(), WorkError>>,
{
    let mut failures = Vec::new();
    for record in batch["Records"].as_array().into_iter().flatten() {
        let message_id = record["messageId"].as_str().unwrap_or_default();
        let event: FeedEvent = match serde_json::from_str(record["body"].as_str().unwrap_or_default()) {
            Ok(e) => e,
            Err(e) => {
                // Never sent by our publisher: after its receives it lands in the DLQ.
                tracing::error!(consumer, error = %e, "unreadable event message");
                failures.push(json!({ "itemIdentifier": message_id }));
                continue;
            }
        };
        let pk = keys::dedupe(consumer, &event.event.id, event.replayid.as_deref());
        match st.table.get(&pk, "D").await {
            Ok(Some(_)) => {
                tracing::debug!(consumer, event = %event.event.id, "duplicate event skipped");
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(consumer, error = %e, "dedupe read failed");
                failures.push(json!({ "itemIdentifier": message_id }));
                continue;
            }
        }
        let id = event.event.id.clone();
        if let Err(e) = handle(st.clone(), event).await {
            tracing::warn!(consumer, event = %id, error = %e, "event not handled; it will be redelivered");
            failures.push(json!({ "itemIdentifier": message_id }));
            continue;
        }
        let done = Item::from([
            ("PK".into(), s(pk)),
            ("SK".into(), s("D")),
            ("entity".into(), s("dedupe")),
            ("expires_at".into(), n(now_epoch() + DEDUPE_TTL_SECS)),
        ]);
        if let Err(e) = st.table.put(done).await {
            // Handling is idempotent by itself (fixed delivery ids); this only saves work.
            tracing::warn!(consumer, error = %e, "dedupe record not written");
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}
