//! Delivery records and the jobs that drive them: creating one (once per id, whatever
//! the number of times its event arrives), putting its job on the worker's queue, and
//! reading them back.

use crate::domain::delivery::DeliveryStatus;
use crate::error::WorkError;
use crate::model::{Delivery, DeliveryJob, Target, keys};
use crate::state::EventsState;
use tracseq_aws::store::{Item, PageQuery, StoreError, from_item, keyed_item, n, now_epoch};
use tracseq_core::Problem;
use tracseq_core::pagination::{Page, PageRequest};

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

/// Store a delivery that happened already (a test send), for the delivery log.
pub async fn insert(st: &EventsState, d: &Delivery, target: &Target) -> Result<(), StoreError> {
    st.table.put_new(item(d, target)?).await
}

/// A page of one destination's deliveries, newest first, optionally in one status.
pub async fn page(
    st: &EventsState,
    lab: &str,
    target: &Target,
    status: Option<DeliveryStatus>,
    page: &PageRequest,
) -> Result<Page<Delivery>, Problem> {
    let partition = target.partition(lab);
    let mut q = PageQuery::of(&partition).with_prefix(keys::DELIVERY).newest_first();
    if let Some(s) = status {
        q = q.filter_eq("status", s.as_str());
    }
    st.table.query_page_as(&q, page).await
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

/// Jobs waiting to be queued, sent in batches of ten per queue.
#[derive(Debug, Default)]
pub struct Outbox {
    jobs: Vec<(DeliveryJob, i64)>,
}

impl Outbox {
    pub fn push(&mut self, job: DeliveryJob, delay: i64) {
        self.jobs.push((job, delay));
    }

    /// Queue every job (`SendMessageBatch`, ten per call); any failure fails the call, and
    /// the caller's retry queues them again (workers ignore a duplicate job).
    pub async fn flush(self, st: &EventsState) -> Result<(), WorkError> {
        let mut by_queue: std::collections::BTreeMap<String, Vec<(DeliveryJob, i64)>> = Default::default();
        for (job, delay) in self.jobs {
            let worker = Target::decode(&job.target)
                .map(|t| t.worker().to_owned())
                .unwrap_or_default();
            by_queue.entry(worker).or_default().push((job, delay));
        }
        for (worker, jobs) in by_queue {
            let url = st
                .settings
                .delivery_queues
                .get(&worker)
                .ok_or_else(|| WorkError::NoQueue(worker.clone()))?;
            let fail = |detail: String| WorkError::Queue {
                queue: worker.clone(),
                detail,
            };
            for chunk in jobs.chunks(10) {
                let mut entries = Vec::with_capacity(chunk.len());
                for (i, (job, delay)) in chunk.iter().enumerate() {
                    let body = serde_json::to_string(job).map_err(|e| fail(e.to_string()))?;
                    let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .delay_seconds((*delay).clamp(0, 900) as i32)
                        .build()
                        .map_err(|e| fail(e.to_string()))?;
                    entries.push(entry);
                }
                let out = st
                    .sqs
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| fail(format!("{e:?}")))?;
                if !out.failed.is_empty() {
                    return Err(fail(format!("{} of {} jobs not queued", out.failed.len(), chunk.len())));
                }
            }
        }
        Ok(())
    }
}

/// Write `d` unless a delivery with its id exists, and add its first attempt to `jobs` if
/// it has something to send. A repeat (the same event routed again) writes nothing and
/// queues a job the worker recognises as done or as a duplicate of the one in flight, so
/// a crash between the write and the queueing loses nothing.
pub async fn create(st: &EventsState, d: &Delivery, jobs: &mut Outbox) -> Result<(), WorkError> {
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
    jobs.push(job, delay);
    Ok(())
}
