//! Delivery records and the jobs that drive them: creating one (once per id, whatever
//! the number of times its event arrives), putting its job on the worker's queue, and
//! reading them back.

use crate::error::WorkError;
use crate::model::{Delivery, DeliveryJob, Target, keys};
use crate::state::EventsState;
use tracseq_aws::store::{Item, StoreError, from_item, keyed_item, n, now_epoch};

/// Delivery records stay readable for 90 days.
const DELIVERY_TTL_SECS: i64 = 90 * 24 * 3600;

pub fn sort_key(id: &str) -> String {
    format!("{}{id}", keys::DELIVERY)
}

pub fn item(d: &Delivery, target: &Target) -> Result<Item, StoreError> {
    let mut item = keyed_item(
        d,
        &[("PK", target.partition(&d.lab_id)), ("SK", sort_key(&d.id))],
        "delivery",
    )?;
    item.insert("expires_at".into(), n(now_epoch() + DELIVERY_TTL_SECS));
    Ok(item)
}

pub async fn load(st: &EventsState, lab: &str, target: &Target, id: &str) -> Result<Option<Delivery>, StoreError> {
    st.table.get_as(&target.partition(lab), &sort_key(id)).await
}

pub fn read(item: Item) -> Result<Delivery, StoreError> {
    from_item(item)
}

/// Put the job for `attempt` on the worker's queue, due in `delay` seconds (SQS caps
/// delays at 15 minutes; a later due time is re-checked and re-queued by the worker).
pub async fn enqueue(st: &EventsState, job: &DeliveryJob, delay: i64) -> Result<(), WorkError> {
    let worker = Target::decode(&job.target)
        .map(|t| t.worker().to_owned())
        .unwrap_or_default();
    let url = st
        .settings
        .delivery_queues
        .get(&worker)
        .ok_or_else(|| WorkError::NoQueue(worker.clone()))?;
    let body = serde_json::to_string(job).map_err(|e| WorkError::Queue {
        queue: worker.clone(),
        detail: e.to_string(),
    })?;
    st.sqs
        .send_message()
        .queue_url(url)
        .message_body(body)
        .delay_seconds(delay.clamp(0, 900) as i32)
        .send()
        .await
        .map_err(|e| WorkError::Queue {
            queue: worker,
            detail: format!("{e:?}"),
        })?;
    Ok(())
}

/// Write `d` unless a delivery with its id exists, then queue its first attempt if it has
/// something to send. A repeat (the same event routed again) writes nothing and queues a
/// job the worker recognises as done or as a duplicate of the one in flight, so a crash
/// between the write and the send loses nothing.
pub async fn create(st: &EventsState, d: &Delivery) -> Result<(), WorkError> {
    let target = Target::decode(&d.target).ok_or_else(|| WorkError::NoQueue(d.target.clone()))?;
    match st.table.put_new(item(d, &target)?).await {
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    if d.status.is_final() {
        return Ok(());
    }
    let delay = d.not_before.map_or(0, |t| t - now_epoch());
    let job = DeliveryJob {
        lab_id: d.lab_id.clone(),
        target: d.target.clone(),
        id: d.id.clone(),
        attempt: 1,
    };
    enqueue(st, &job, delay).await
}
