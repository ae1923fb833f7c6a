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

/// Send `events` to one queue, ten per request. Any entry that fails fails the call, so
/// the caller's retry re-sends the batch; consumers dedupe what arrived twice.
pub async fn send_all(st: &EventsState, queue_url: &str, events: &[FeedEvent]) -> Result<(), SendError> {
    let fail = |detail: String| SendError {
        queue: queue_url.rsplit('/').next().unwrap_or_default().to_owned(),
        detail,
    };
    for chunk in events.chunks(10) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            let body = serde_json::to_string(e).map_err(|err| fail(err.to_string()))?;
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body);
            // Attributes let an SQS subscription filter or a person reading the DLQ see
            // what a message is without parsing it.
            if let Some(a) = attr(&e.event.kind) {
                entry = entry.message_attributes("type", a);
            }
            if let Some(a) = attr(&e.event.labid) {
                entry = entry.message_attributes("labid", a);
            }
            entries.push(entry.build().map_err(|err| fail(err.to_string()))?);
        }
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
                "{} of {} entries: {}",
                out.failed.len(),
                chunk.len(),
                f.message.clone().unwrap_or_default()
            )));
        }
    }
    Ok(())
}
