//! What consumer queues carry: a CloudEvents 1.0 envelope in structured JSON form, with
//! `replayid` added when an administrator's replay re-delivers it. Consumers dedupe on
//! the event id (and replay id), so a message delivered twice acts once.

use crate::state::EventsState;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use serde::{Deserialize, Serialize};
use tracseq_core::events::CloudEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    #[serde(flatten)]
    pub event: CloudEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayid: Option<String>,
}

impl FeedEvent {
    /// Milliseconds since the epoch of the event time (0 if unreadable).
    pub fn time_ms(&self) -> u64 {
        time::OffsetDateTime::parse(&self.event.time, &time::format_description::well_known::Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000).max(0) as u64)
            .unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("publishing to {queue} failed: {detail}")]
pub struct SendError {
    pub queue: String,
    pub detail: String,
}

fn attr(v: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .ok()
}

/// The most a message body (and a batch of them) may be here: SQS takes 256 KiB per
/// message and per batch on queues made before 2025 and 1 MiB since; the attributes count
/// too, and an outbox item may be up to DynamoDB's 400 KB.
pub const MAX_BODY: usize = 200 * 1024;

/// What a message says for an event kept in S3 instead (a claim check).
#[derive(Debug, Serialize, Deserialize)]
struct ClaimCheck {
    claim_check: String,
}

/// The message body for `e`: the event itself, or (too large for a queue) a claim check
/// naming where it was stored. The key is fixed by event and replay, so a retried batch
/// overwrites the same object.
async fn body_of(st: &EventsState, e: &FeedEvent) -> Result<String, String> {
    let body = serde_json::to_string(e).map_err(|err| err.to_string())?;
    if body.len() <= MAX_BODY {
        return Ok(body);
    }
    let bucket = st
        .settings
        .claim_bucket
        .as_deref()
        .ok_or("an event is over the queue's size limit and no claim bucket is set")?;
    let key = format!(
        "claims/{}/{}{}.json",
        e.event.labid,
        e.event.id,
        e.replayid.as_deref().map(|r| format!("-{r}")).unwrap_or_default()
    );
    st.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/cloudevents+json")
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|err| format!("storing a large event: {err:?}"))?;
    tracing::info!(event = %e.event.id, %key, "event over the message limit; sent as a claim check");
    serde_json::to_string(&ClaimCheck { claim_check: key }).map_err(|err| err.to_string())
}

/// Read a consumer message back into its event, fetching a claim check's object.
pub async fn read_message(st: &EventsState, body: &str) -> Result<FeedEvent, String> {
    if let Ok(claim) = serde_json::from_str::<ClaimCheck>(body) {
        let bucket = st
            .settings
            .claim_bucket
            .as_deref()
            .ok_or("a claim check, and no claim bucket is set")?;
        let out = st
            .s3
            .get_object()
            .bucket(bucket)
            .key(&claim.claim_check)
            .send()
            .await
            .map_err(|err| format!("reading a claim check: {err:?}"))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|err| format!("reading a claim check: {err}"))?
            .into_bytes();
        return serde_json::from_slice(&bytes).map_err(|err| err.to_string());
    }
    serde_json::from_str(body).map_err(|err| err.to_string())
}

/// Send `events` to one queue, up to ten and [`MAX_BODY`] bytes per request (a larger
/// event goes as a claim check). Any entry that fails fails the call, so the caller's retry
/// re-sends the batch; consumers dedupe what arrived twice.
pub async fn send_all(st: &EventsState, queue_url: &str, events: &[FeedEvent]) -> Result<(), SendError> {
    let fail = |detail: String| SendError {
        queue: queue_url.rsplit('/').next().unwrap_or_default().to_owned(),
        detail,
    };
    let mut batches: Vec<Vec<SendMessageBatchRequestEntry>> = vec![vec![]];
    let mut batch_bytes = 0;
    for e in events {
        let body = body_of(st, e).await.map_err(fail)?;
        let full = batches
            .last()
            .is_some_and(|b| b.len() == 10 || batch_bytes + body.len() > MAX_BODY);
        if full {
            batches.push(vec![]);
            batch_bytes = 0;
        }
        batch_bytes += body.len();
        let Some(batch) = batches.last_mut() else { break };
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(batch.len().to_string())
            .message_body(body);
        // Attributes let an SQS subscription filter or a person reading the DLQ see
        // what a message is without parsing it.
        if let Some(a) = attr(&e.event.kind) {
            entry = entry.message_attributes("type", a);
        }
        if let Some(a) = attr(&e.event.labid) {
            entry = entry.message_attributes("labid", a);
        }
        batch.push(entry.build().map_err(|err| fail(err.to_string()))?);
    }
    for entries in batches.into_iter().filter(|b| !b.is_empty()) {
        let count = entries.len();
        let out = st
            .sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| fail(format!("{e:?}")))?;
        if let Some(f) = out.failed.first() {
            return Err(fail(format!(
                "{} of {count} entries: {}",
                out.failed.len(),
                f.message.clone().unwrap_or_default()
            )));
        }
    }
    Ok(())
}
