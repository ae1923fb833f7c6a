//! Typed events for the functions that are not behind the API: an SQS batch, a DynamoDB
//! stream batch and a schedule's tick, read with `aws_lambda_events`' types. Partial batch
//! failures, in-batch duplicates and the log line of a failed message are done here once,
//! so a handler sees one decoded message at a time and says what became of it.

use crate::store::Item;
use aws_lambda_events::dynamodb::Event as StreamEvent;
pub use aws_lambda_events::dynamodb::EventRecord;
pub use aws_lambda_events::sqs::SqsMessage;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use futures::future::Either;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
use std::future::Future;
use time::OffsetDateTime;
use tracseq_core::function::FunctionError;

/// Why one message was not handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// Worth another delivery: the message goes back to the queue (and after the queue's
    /// receive count, to its dead-letter queue).
    Retry(String),
    /// Will never succeed: logged and deleted, so it does not loop.
    Drop(String),
}

/// What to do with a message whose body is not the expected JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Let redelivery carry it to the dead-letter queue, where an operator can read it.
    ToDeadLetters,
    /// Log and delete it (a dead-letter queue's own consumer, which has nowhere further).
    Drop,
}

/// An SQS batch, each message once (SQS may deliver a message twice in one batch).
#[derive(Debug, Default)]
pub struct SqsBatch {
    pub messages: Vec<SqsMessage>,
}

impl SqsBatch {
    pub fn parse(event: Value) -> Result<Self, FunctionError> {
        let event: SqsEvent = serde_json::from_value(event).map_err(FunctionError::invalid_event)?;
        let mut seen = HashSet::new();
        let messages = event
            .records
            .into_iter()
            .filter(|m| m.message_id.as_ref().is_none_or(|id| seen.insert(id.clone())))
            .collect();
        Ok(Self { messages })
    }
}

/// The ids of the messages that should come back, as Lambda's partial batch response.
#[derive(Debug, Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn push(&mut self, message: &SqsMessage) {
        if let Some(id) = &message.message_id {
            self.0.push(id.clone());
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_response(self) -> Value {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = self
            .0
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        serde_json::to_value(response).unwrap_or_else(|_| serde_json::json!({"batchItemFailures": []}))
    }
}

/// Each message's body decoded as a `T` and handled by `handle`, up to `concurrency` at a
/// time; the answer reports the messages to retry. `function` names the log lines.
pub async fn each_message<T, F, Fut>(
    function: &'static str,
    event: Value,
    unreadable: Unreadable,
    concurrency: usize,
    handle: F,
) -> Result<Value, FunctionError>
where
    T: DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), Failed>>,
{
    let batch = SqsBatch::parse(event)?;
    let decoded: Vec<Result<T, String>> = batch
        .messages
        .iter()
        .map(|m| serde_json::from_str(m.body.as_deref().unwrap_or_default()).map_err(|e| e.to_string()))
        .collect();
    let work = decoded.into_iter().map(|body| match body {
        Ok(body) => Either::Left(handle(body)),
        Err(e) => Either::Right(std::future::ready(Err(match unreadable {
            Unreadable::ToDeadLetters => Failed::Retry(format!("unreadable message: {e}")),
            Unreadable::Drop => Failed::Drop(format!("unreadable message: {e}")),
        }))),
    });
    let outcomes: Vec<Result<(), Failed>> = futures::stream::iter(work).buffered(concurrency.max(1)).collect().await;
    let mut failures = Failures::default();
    for (message, outcome) in batch.messages.iter().zip(outcomes) {
        let id = message.message_id.as_deref().unwrap_or_default();
        match outcome {
            Ok(()) => {}
            Err(Failed::Retry(e)) => {
                tracing::warn!(function, message = id, error = %e, "message not handled; it will be redelivered");
                failures.push(message);
            }
            Err(Failed::Drop(e)) => tracing::error!(function, message = id, error = %e, "message dropped"),
        }
    }
    Ok(failures.into_response())
}

/// A DynamoDB stream batch, each record once.
#[derive(Debug, Default)]
pub struct StreamBatch {
    pub records: Vec<EventRecord>,
}

/// An item a stream batch inserted, and when the stream saw it (whole Unix seconds, as
/// AWS gives it; `None` when the record does not say).
#[derive(Debug, Clone)]
pub struct Inserted {
    pub item: Item,
    pub at: Option<f64>,
}

impl StreamBatch {
    pub fn parse(event: Value) -> Result<Self, FunctionError> {
        let event: StreamEvent = serde_json::from_value(event).map_err(FunctionError::invalid_event)?;
        let mut seen = HashSet::new();
        let records = event
            .records
            .into_iter()
            .filter(|r| seen.insert(r.event_id.clone()))
            .collect();
        Ok(Self { records })
    }

    /// The records left after `keep`.
    pub fn retain(&mut self, keep: impl FnMut(&EventRecord) -> bool) {
        self.records.retain(keep);
    }

    /// The items of `entity` the batch inserted, in stream order.
    pub fn inserted(&self, entity: &str) -> Vec<Inserted> {
        self.records
            .iter()
            .filter(|r| r.event_name == "INSERT")
            .filter(|r| entity_of(r) == Some(entity))
            .map(|r| Inserted {
                item: r.change.new_image.clone().into(),
                at: Some(r.change.approximate_creation_date_time.timestamp())
                    .filter(|t| *t > 0)
                    .map(|t| t as f64),
            })
            .collect()
    }
}

/// The `entity` attribute of a record's new image.
pub fn entity_of(record: &EventRecord) -> Option<&str> {
    match record.change.new_image.get("entity") {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// A string attribute of a record's new image.
pub fn new_string<'a>(record: &'a EventRecord, name: &str) -> Option<&'a str> {
    match record.change.new_image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// A schedule's tick: EventBridge's scheduled event (`aws_lambda_events`' type), or the
/// schedule's own input with an optional `time` (EventBridge Scheduler sends the input it
/// is given; an operator invoking by hand may send `{}`). No time means now.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    pub time: OffsetDateTime,
}

impl Tick {
    pub fn parse(event: &Value) -> Result<Self, FunctionError> {
        if event.get("detail-type").is_some() {
            let e: aws_lambda_events::eventbridge::EventBridgeEvent =
                serde_json::from_value(event.clone()).map_err(FunctionError::invalid_event)?;
            let time = match e.time {
                Some(t) => OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(FunctionError::invalid_event)?,
                None => OffsetDateTime::now_utc(),
            };
            return Ok(Self { time });
        }
        #[derive(serde::Deserialize)]
        struct Input {
            #[serde(default, with = "time::serde::rfc3339::option")]
            time: Option<OffsetDateTime>,
        }
        let input: Input = serde_json::from_value(event.clone()).map_err(FunctionError::invalid_event)?;
        Ok(Self {
            time: input.time.unwrap_or_else(OffsetDateTime::now_utc),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    fn sqs(bodies: &[(&str, &str)]) -> Value {
        json!({"Records": bodies.iter().map(|(id, body)| json!({
            "messageId": id, "body": body, "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}
        })).collect::<Vec<_>>()})
    }

    fn failed_ids(v: &Value) -> Vec<String> {
        v["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn each_message_reports_retries_drops_and_unreadable_bodies() {
        let seen = Mutex::new(Vec::new());
        let event = sqs(&[
            ("m1", r#"{"n":1}"#),
            ("m2", r#"{"n":2}"#),
            ("m3", "not json"),
            ("m1", r#"{"n":1}"#),
            ("m4", r#"{"n":4}"#),
        ]);
        #[derive(serde::Deserialize)]
        struct Job {
            n: u32,
        }
        let out = each_message("test", event.clone(), Unreadable::ToDeadLetters, 2, |j: Job| {
            seen.lock().unwrap().push(j.n);
            async move {
                match j.n {
                    2 => Err(Failed::Retry("busy".into())),
                    4 => Err(Failed::Drop("never".into())),
                    _ => Ok(()),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(failed_ids(&out), ["m2", "m3"]);
        assert_eq!(*seen.lock().unwrap(), [1, 2, 4], "the duplicate m1 is handled once");

        let out = each_message("test", event, Unreadable::Drop, 1, |_: Job| async { Ok(()) })
            .await
            .unwrap();
        assert!(failed_ids(&out).is_empty());
        assert!(
            each_message("test", json!({"Records": 3}), Unreadable::Drop, 1, |_: Job| async {
                Ok(())
            })
            .await
            .is_err()
        );
    }

    #[test]
    fn stream_batches_are_typed_and_deduped() {
        let record = |id: &str, name: &str, entity: &str| {
            json!({
                "eventID": id, "eventName": name, "awsRegion": "us-east-1", "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_795_737_600.5,
                    "Keys": {"PK": {"S": "A"}, "SK": {"S": "B"}},
                    "NewImage": {"PK": {"S": "A"}, "SK": {"S": "B"}, "entity": {"S": entity}, "n": {"N": "3"}},
                    "SizeBytes": 40, "StreamViewType": "NEW_IMAGE"
                }
            })
        };
        let batch = StreamBatch::parse(json!({"Records": [
            record("1", "INSERT", "event"), record("1", "INSERT", "event"),
            record("2", "MODIFY", "event"), record("3", "INSERT", "sample")
        ]}))
        .unwrap();
        assert_eq!(batch.records.len(), 3);
        let inserted = batch.inserted("event");
        assert_eq!(inserted.len(), 1);
        assert_eq!(inserted[0].at, Some(1_795_737_600.0));
        assert!(inserted[0].item.contains_key("n"));
        assert!(StreamBatch::parse(json!({"Records": [{"eventID": 1}]})).is_err());
    }

    #[test]
    fn ticks_read_eventbridge_events_and_plain_input() {
        let t = Tick::parse(&json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "time": "2026-12-03T10:00:00Z", "detail": {}
        }))
        .unwrap();
        assert_eq!(t.time.unix_timestamp(), 1_796_292_000);
        let t = Tick::parse(&json!({"time": "2026-12-03T10:00:00Z"})).unwrap();
        assert_eq!(t.time.unix_timestamp(), 1_796_292_000);
        assert!(Tick::parse(&json!({})).is_ok());
        assert!(Tick::parse(&json!({"time": "yesterday"})).is_err());
    }
}
