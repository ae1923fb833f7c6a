//! The outbox publisher: a DynamoDB stream consumer. Every INSERT of an outbox item (an
//! event written in the same transaction as its state change) goes to every consumer's
//! queue; every INSERT of an account-mail item becomes one email delivery to its owner. A failed batch fails the invocation, and Lambda (or the local runner) retries it
//! from the same stream position, so nothing is lost; what was sent before the failure is
//! sent again, and consumers dedupe on the event id.

use crate::feed::{FeedEvent, send_all};
use crate::state::EventsState;
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_aws::batch::StreamBatch;
pub use tracseq_aws::maintenance::without_restored_copies;
use tracseq_aws::outbox::{ENTITY, event_from_item};
use tracseq_core::function::FunctionError;
use tracseq_core::telemetry::{Metrics, NAMESPACE, Unit};

/// The outbox events of a stream batch, in stream order. Other writes, and outbox items
/// that do not read back as events (never written by our code), are skipped with a log line.
pub fn outbox_events(batch: &StreamBatch) -> Vec<FeedEvent> {
    let mut out = Vec::new();
    for inserted in batch.inserted(ENTITY) {
        match event_from_item(inserted.item) {
            Ok(event) => out.push(FeedEvent { event, replayid: None }),
            Err(e) => tracing::error!(error = %e, "an outbox item is not an event; skipped"),
        }
    }
    out
}

/// One stream batch: account mail goes to its owner (see `account_mail`), outbox events to
/// every consumer queue. Both read the table's stream once, through this one function.
pub async fn handle(st: Arc<EventsState>, batch: Value) -> Result<Value, FunctionError> {
    let marker = st.restore.get().await.map_err(FunctionError::transient)?;
    let mut batch = StreamBatch::parse(batch)?;
    let restored = without_restored_copies(&mut batch, marker.as_ref());
    if restored > 0 {
        tracing::info!(
            restored,
            "a restore's copies of earlier events and mail; not sent again"
        );
    }
    let mailed = crate::account_mail::handle(&st, &batch).await?;
    let events = outbox_events(&batch);
    if events.is_empty() {
        return Ok(json!({ "published": 0, "account_mail": mailed }));
    }
    fault(&st, &events, true)?;
    let sends = st.settings.consumers.iter().map(|(name, url)| {
        let events = &events;
        let st = &st;
        async move { send_all(st, url, events).await.map_err(|e| (name, e)) }
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(name, e)| {
            tracing::warn!(consumer = %name, error = %e, "publishing failed; the stream batch will be retried");
            FunctionError::transient(e)
        })?;
    }
    fault(&st, &events, false)?;
    if tracseq_core::telemetry::emf_enabled() {
        business_metrics(&st.settings.stage, &events).emit();
    }
    tracing::info!(events = events.len(), "published");
    Ok(json!({ "published": events.len(), "account_mail": mailed }))
}

/// The lab's activity as metrics, counted where every event passes once (a retried batch
/// counts again; the dashboard shows trends, the event history is the record).
pub fn business_metrics(stage: &str, events: &[FeedEvent]) -> Metrics {
    const COUNTED: [(&str, &str); 6] = [
        ("tracseq.sample.created", "SamplesRegistered"),
        ("tracseq.sample.stored", "Placements"),
        ("tracseq.sample.moved", "Moves"),
        ("tracseq.sequencing.run_completed", "RunsCompleted"),
        ("tracseq.sequencing.qc_failed", "QcFailures"),
        ("tracseq.import.completed", "ImportsCompleted"),
    ];
    let mut m = Metrics::new(NAMESPACE).dimension("Stage", stage);
    for (kind, metric) in COUNTED {
        let n = events.iter().filter(|e| e.event.kind == kind).count();
        m.put(metric, n as f64, Unit::Count);
    }
    m.put("EventsPublished", events.len() as f64, Unit::Count);
    m
}

/// The test hook of [`crate::state::Settings::publish_fault`].
fn fault(st: &EventsState, events: &[FeedEvent], before: bool) -> Result<(), FunctionError> {
    let Some(prefix) = &st.settings.publish_fault else {
        return Ok(());
    };
    let mode = if before { "before/" } else { "after/" };
    let Ok(mut seen) = st.faulted.lock() else {
        return Ok(());
    };
    let hit = events
        .iter()
        .filter(|e| {
            e.event
                .subject
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with(mode))
        })
        .any(|e| seen.insert(e.event.id.clone()));
    if hit {
        tracing::warn!(before, "publish fault injected");
        return Err(FunctionError::transient("injected publisher crash"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracseq_aws::maintenance::RestoreMarker;

    #[test]
    fn only_outbox_inserts_are_published() {
        let image = json!({
            "PK": {"S": "LAB#L#EVENTS#2026-11-27"}, "SK": {"S": "2026-11-27T00:00:00Z#E1"},
            "entity": {"S": "event"}, "specversion": {"S": "1.0"}, "id": {"S": "E1"},
            "source": {"S": "tracseq/sample"}, "type": {"S": "tracseq.sample.created"},
            "subject": {"S": "samples/S1"}, "time": {"S": "2026-11-27T00:00:00Z"},
            "datacontenttype": {"S": "application/json"}, "labid": {"S": "L"},
            "correlationid": {"S": "c"}, "data": {"M": {"n": {"N": "3"}}}
        });
        let record = |id: &str, name: &str, image: Value| {
            json!({"eventID": id, "eventName": name, "awsRegion": "us-east-1",
                   "dynamodb": {"NewImage": image, "SizeBytes": 100}})
        };
        let batch = json!({"Records": [
            record("1", "INSERT", image.clone()),
            record("2", "MODIFY", image.clone()),
            record("3", "INSERT", json!({"entity": {"S": "sample"}})),
            record("4", "INSERT", json!({"entity": {"S": "event"}, "id": {"S": "broken"}})),
        ]});
        let parse = |v: &Value| StreamBatch::parse(v.clone()).unwrap();
        let events = outbox_events(&parse(&batch));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.id, "E1");
        assert_eq!(events[0].event.data, json!({"n": 3}));
        let body = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(body["type"], "tracseq.sample.created");
        assert!(body.get("PK").is_none() && body.get("replayid").is_none());
        let marker = RestoreMarker {
            backup: "b".into(),
            target: "t".into(),
            running: false,
            // 2026-11-27T00:00:01Z: the image's event is older.
            started_at: 1_795_737_601.0,
            finished_at: None,
        };
        let mut restored = batch.clone();
        restored["Records"][0]["dynamodb"]["ApproximateCreationDateTime"] = json!(1_795_737_700.0);
        let mut kept = parse(&restored);
        let dropped = without_restored_copies(&mut kept, Some(&marker));
        assert_eq!(
            (dropped, outbox_events(&kept).len()),
            (1, 0),
            "the restore's copy is dropped"
        );
        let mut original = batch.clone();
        original["Records"][0]["dynamodb"]["ApproximateCreationDateTime"] = json!(1_795_737_600.0);
        let mut kept = parse(&original);
        let dropped = without_restored_copies(&mut kept, Some(&marker));
        assert_eq!(
            (dropped, outbox_events(&kept).len()),
            (0, 1),
            "an original met late is kept"
        );
        let m = business_metrics("staging", &events).to_json();
        assert_eq!(
            (m["SamplesRegistered"].as_f64(), m["Placements"].as_f64()),
            (Some(1.0), Some(0.0))
        );
        assert_eq!(m["Stage"], "staging");
    }
}
