//! The table's stream, outbox inserts only: each event folded into the counters once.
//! A failed write fails the batch, and the stream gives it again from the same position;
//! what was counted before the failure finds its marker and is not counted twice.

use crate::domain::fold::{Effects, Event, fold};
use crate::state::ReportsState;
use crate::store;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracseq_aws::batch::StreamBatch;
use tracseq_aws::maintenance::without_restored_copies;
use tracseq_aws::outbox::{ENTITY, event_from_item};
use tracseq_core::function::FunctionError;

pub async fn handle(st: Arc<ReportsState>, batch: Value) -> Result<Value, FunctionError> {
    let marker = st.restore.get().await.map_err(FunctionError::transient)?;
    let mut batch = StreamBatch::parse(batch)?;
    // A restore's copies of events counted before it: their counters came back with them.
    let restored = without_restored_copies(&mut batch, marker.as_ref());
    if restored > 0 {
        tracing::info!(restored, "a restore's copies of earlier events; not counted again");
    }
    let mut unreadable = 0u32;
    // Each lab's events in stream order: they share counter items and transactions.
    let mut by_lab: BTreeMap<String, Vec<(String, Effects)>> = BTreeMap::new();
    for inserted in batch.inserted(ENTITY) {
        let Ok(event) = event_from_item(inserted.item) else {
            // An outbox item that is not an event cannot be counted; retrying will not help.
            unreadable += 1;
            continue;
        };
        let Ok(time) = OffsetDateTime::parse(&event.time, &Rfc3339) else {
            unreadable += 1;
            continue;
        };
        let kind = event.kind.strip_prefix("tracseq.").unwrap_or(&event.kind);
        let effects = fold(&Event {
            kind,
            time,
            data: &event.data,
        });
        let events = by_lab.entry(event.labid).or_default();
        // The same event twice in one batch would be two writes of its marker.
        let seen = events.iter().any(|(id, _)| *id == event.id);
        if !seen && (!effects.increments.is_empty() || !effects.observations.is_empty()) {
            events.push((event.id, effects));
        }
    }
    if unreadable > 0 {
        tracing::error!(unreadable, "outbox items that are not events were skipped");
    }
    let (mut counted, mut repeated) = (0, 0);
    for (lab, events) in &by_lab {
        let (c, r) = store::apply(&st, lab, events).await.map_err(|e| {
            tracing::warn!(lab, error = %e, "counting failed; the stream batch will be retried");
            FunctionError::transient(e)
        })?;
        counted += c;
        repeated += r;
    }
    Ok(json!({ "counted": counted, "repeated": repeated, "unreadable": unreadable }))
}
