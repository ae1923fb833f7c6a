//! The channel workers: one SQS-driven function per channel (and one for webhooks), each
//! running this loop. A job names a delivery and the attempt it asks for; the delivery's
//! state decides what happens (see `domain::delivery`): a duplicate job or one for an
//! attempt already made does nothing, a held-back delivery is re-queued for later, a rate
//! limit defers it, and otherwise one attempt is made and recorded. A failed attempt
//! queues the next one after the retry delay; the last failure goes to the channel's
//! dead-letter queue and leaves the delivery `failed`.

use crate::domain::channel::ChannelKind;
use crate::domain::delivery::{Attempt, DeliveryStatus, Next, after_attempt, claimable};
use crate::error::WorkError;
use crate::model::{Delivery, DeliveryJob, Target};
use crate::send::{Outcome, send};
use crate::state::EventsState;
use crate::store::deliveries;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use tracseq_aws::batch::{Failed, Unreadable, each_message};
use tracseq_aws::store::{StoreError, n, now_epoch, s};
use tracseq_core::function::FunctionError;
use tracseq_core::now_rfc3339;
use tracseq_core::telemetry::{Metrics, NAMESPACE, Unit, emf_enabled};

pub async fn handle(st: Arc<EventsState>, batch: Value, worker: &'static str) -> Result<Value, FunctionError> {
    // Each message is its own delivery and mostly waits on I/O: work them side by side.
    each_message(
        worker,
        batch,
        Unreadable::ToDeadLetters,
        usize::MAX,
        |job: DeliveryJob| {
            let st = st.clone();
            async move { one(&st, &job, worker).await }
        },
    )
    .await
}

/// One job; a failure brings its message back.
async fn one(st: &EventsState, job: &DeliveryJob, worker: &'static str) -> Result<(), Failed> {
    let target = match Target::decode(&job.target) {
        Some(t) if t.worker() == worker => t,
        _ => {
            return Err(Failed::Drop(format!(
                "delivery job for another worker ({})",
                job.target
            )));
        }
    };
    process(st, job, &target, worker)
        .await
        .map_err(|e| Failed::Retry(format!("delivery {}: {e}", job.id)))
}

async fn process(st: &EventsState, job: &DeliveryJob, target: &Target, worker: &str) -> Result<(), WorkError> {
    let now = now_epoch();
    let d = match claim(st, job, target, now).await? {
        Claim::Taken(d) => *d,
        Claim::NotYet(due) => return deliveries::enqueue(st, job, due - now).await,
        Claim::Nothing => return Ok(()),
    };
    if let Target::Channel(kind) = target
        && *kind != ChannelKind::InApp
        && let Some(wait) = rate_limited(st, &d, *kind, now).await?
    {
        let due = now + wait;
        let held = transition(
            st,
            &d,
            target,
            DeliveryStatus::Sending,
            vec![
                ("status", s(DeliveryStatus::Scheduled.as_str())),
                ("not_before", n(due)),
                ("reason", s(format!("rate limit of the {} channel", kind.as_str()))),
            ],
            &[],
        )
        .await?;
        if held {
            deliveries::enqueue(st, job, wait).await?;
        }
        return Ok(());
    }
    let started = Instant::now();
    let outcome = send(st, &d, target).await;
    finish(
        st,
        &d,
        job,
        target,
        worker,
        outcome,
        started.elapsed().as_millis() as u64,
    )
    .await
}

async fn finish(
    st: &EventsState,
    d: &Delivery,
    job: &DeliveryJob,
    target: &Target,
    worker: &str,
    outcome: Outcome,
    duration_ms: u64,
) -> Result<(), WorkError> {
    let number = d.attempt_count + 1;
    let (ok, code, error) = match outcome {
        Outcome::Skip(reason) => {
            tracing::info!(worker, delivery = %d.id, %reason, "delivery skipped");
            let sets = vec![("status", s(DeliveryStatus::Skipped.as_str())), ("reason", s(reason))];
            transition(st, d, target, DeliveryStatus::Sending, sets, &["not_before"]).await?;
            return Ok(());
        }
        Outcome::Delivered { code } => (true, code, None),
        Outcome::Failed { code, error } => (false, code, Some(error)),
    };
    let attempt = Attempt {
        number,
        at: now_rfc3339(),
        ok,
        status_code: code,
        error: error.clone(),
        duration_ms,
    };
    let attempt_av = serde_dynamo::to_attribute_value::<_, AttributeValue>(&attempt)
        .map_err(|e| StoreError::Serde(e.to_string()))?;
    let mut sets = vec![
        ("attempts", AttributeValue::L(vec![attempt_av])),
        ("attempt_count", n(number)),
    ];
    let mut remove: Vec<&str> = vec![];
    let next = after_attempt(&st.settings.retry, number as usize, ok);
    match next {
        Next::Sent => {
            sets.push(("status", s(DeliveryStatus::Sent.as_str())));
            remove.extend(["reason", "not_before"]);
        }
        Next::RetryIn(delay) => {
            // Queue the next attempt first: a crash after it leaves a job that finds this
            // attempt unrecorded and does nothing, while this message comes back and
            // records it. The other order could leave a delivery retrying forever.
            let next_job = DeliveryJob {
                attempt: number + 1,
                ..job.clone()
            };
            deliveries::enqueue(st, &next_job, i64::from(delay)).await?;
            sets.push(("status", s(DeliveryStatus::Retrying.as_str())));
            sets.push(("not_before", n(now_epoch() + i64::from(delay))));
            sets.push(("reason", s(error.clone().unwrap_or_default())));
        }
        Next::Fail => {
            let reason = format!("gave up after {number} attempts: {}", error.clone().unwrap_or_default());
            dead_letter(st, d, &attempt, worker, &reason).await?;
            announce_failure(st, d, number, &reason).await;
            sets.push(("status", s(DeliveryStatus::Failed.as_str())));
            sets.push(("reason", s(reason)));
            remove.push("not_before");
        }
    }
    transition(st, d, target, DeliveryStatus::Sending, sets, &remove).await?;
    if emf_enabled() {
        let mut m = Metrics::new(NAMESPACE).dimension("Channel", worker);
        m.put("NotificationsSent", f64::from(u8::from(ok)), Unit::Count)
            .put(
                "NotificationFailures",
                f64::from(u8::from(next == Next::Fail)),
                Unit::Count,
            )
            .put("DeliveryLatency", duration_ms as f64, Unit::Milliseconds);
        m.emit();
    }
    Ok(())
}

enum Claim {
    /// This worker holds the delivery for the job's attempt.
    Taken(Box<Delivery>),
    /// The attempt is due later (quiet hours, a rate limit, a retry delay not yet over).
    NotYet(i64),
    /// Done, taken by another worker, a duplicate job, or no such delivery.
    Nothing,
}

/// Take the delivery for the job's attempt in one conditional write (see
/// [`claimable`]); when the condition fails, the item as it was says why.
async fn claim(st: &EventsState, job: &DeliveryJob, target: &Target, now: i64) -> Result<Claim, WorkError> {
    use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
    let out = st
        .table
        .client
        .update_item()
        .table_name(&st.table.name)
        .key("PK", s(target.partition(&job.lab_id)))
        .key("SK", s(deliveries::sort_key(&job.id)))
        .update_expression("SET #status = :sending, lease_until = :lease, updated_at = :updated")
        .condition_expression(
            "attempt_count = :prior AND (#status IN (:pending, :scheduled, :retrying) OR (#status = :sending AND lease_until < :now)) \
             AND (attribute_not_exists(not_before) OR not_before <= :now)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
        .expression_attribute_values(":pending", s(DeliveryStatus::Pending.as_str()))
        .expression_attribute_values(":scheduled", s(DeliveryStatus::Scheduled.as_str()))
        .expression_attribute_values(":retrying", s(DeliveryStatus::Retrying.as_str()))
        .expression_attribute_values(":prior", n(job.attempt.saturating_sub(1)))
        .expression_attribute_values(":lease", n(now + st.settings.lease_secs))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":updated", s(now_rfc3339()))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let old = match out {
        Ok(o) => {
            return Ok(Claim::Taken(Box::new(deliveries::read(
                o.attributes.unwrap_or_default(),
            )?)));
        }
        Err(e) => match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                c.item().cloned()
            }
            _ => return Err(StoreError::from_sdk(e).into()),
        },
    };
    // Some stores do not return the old item: read it.
    let old = match old {
        Some(item) if !item.is_empty() => Some(deliveries::read(item)?),
        _ => deliveries::load(st, &job.lab_id, target, &job.id).await?,
    };
    let Some(d) = old else {
        tracing::warn!(delivery = %job.id, "job for an unknown delivery; dropped");
        return Ok(Claim::Nothing);
    };
    let due = d.not_before.filter(|t| *t > now);
    Ok(match due {
        Some(due)
            if claimable(
                d.status,
                d.attempt_count as usize,
                job.attempt as usize,
                d.lease_until,
                now,
            ) =>
        {
            Claim::NotYet(due)
        }
        _ => Claim::Nothing,
    })
}

/// Apply `sets` (and remove `remove`) if the delivery is still in `from` at the attempt
/// count the caller read. `attempts` in `sets` is appended, not replaced. `false` when
/// another worker moved it first.
async fn transition(
    st: &EventsState,
    d: &Delivery,
    target: &Target,
    from: DeliveryStatus,
    sets: Vec<(&str, AttributeValue)>,
    remove: &[&str],
) -> Result<bool, WorkError> {
    let mut expr = String::from("SET #updated = :updated");
    let mut req = st
        .table
        .client
        .update_item()
        .table_name(&st.table.name)
        .key("PK", s(target.partition(&d.lab_id)))
        .key("SK", s(deliveries::sort_key(&d.id)))
        .condition_expression("#status = :from AND attempt_count = :count")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#updated", "updated_at")
        .expression_attribute_values(":updated", s(now_rfc3339()))
        .expression_attribute_values(":from", s(from.as_str()))
        .expression_attribute_values(":count", n(d.attempt_count));
    for (i, (attr, value)) in sets.into_iter().enumerate() {
        let (name, val) = (format!("#a{i}"), format!(":v{i}"));
        if attr == "attempts" {
            expr.push_str(&format!(", {name} = list_append(if_not_exists({name}, :empty), {val})"));
            req = req.expression_attribute_values(":empty", AttributeValue::L(vec![]));
        } else {
            expr.push_str(&format!(", {name} = {val}"));
        }
        req = req
            .expression_attribute_names(name, attr)
            .expression_attribute_values(val, value);
    }
    if !remove.is_empty() {
        expr.push_str(" REMOVE ");
        for (i, attr) in remove.iter().enumerate() {
            if i > 0 {
                expr.push_str(", ");
            }
            let name = format!("#r{i}");
            expr.push_str(&name);
            req = req.expression_attribute_names(name, *attr);
        }
    }
    match req.update_expression(expr).send().await.map_err(StoreError::from_sdk) {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Take one send from the lab's per-minute and per-hour windows of `kind`; the seconds to
/// wait when either is used up.
async fn rate_limited(st: &EventsState, d: &Delivery, kind: ChannelKind, now: i64) -> Result<Option<i64>, WorkError> {
    let config = crate::send::channel(st, &d.lab_id, kind).await?;
    let Some(config) = config else { return Ok(None) };
    let windows = [
        (
            format!("m{}", now / 60),
            config.settings.per_minute(),
            60 - now % 60,
            120,
        ),
        (
            format!("h{}", now / 3600),
            config.settings.per_hour(),
            3600 - now % 3600,
            7200,
        ),
    ];
    let mut ops = Vec::new();
    for (window, limit, _, ttl) in &windows {
        let update = Update::builder()
            .table_name(&st.table.name)
            .key("PK", s(crate::model::keys::rate(&d.lab_id, kind.as_str(), window)))
            .key("SK", s("R"))
            .update_expression("ADD sent :one SET expires_at = :exp")
            .condition_expression("attribute_not_exists(sent) OR sent < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(*limit))
            .expression_attribute_values(":exp", n(now + ttl))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        ops.push(TransactWriteItem::builder().update(update).build());
    }
    match st.table.transact(ops).await {
        Ok(()) => Ok(None),
        Err(StoreError::TransactionCancelled { reasons }) => {
            let wait = reasons
                .iter()
                .zip(&windows)
                .filter(|(r, _)| r.as_deref() == Some("ConditionalCheckFailed"))
                .map(|(_, w)| w.2)
                .max();
            match wait {
                Some(w) => Ok(Some(w.max(1))),
                None => Err(StoreError::TransactionCancelled { reasons }.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Tell the operations alarm topic that a delivery failed for good: which lab, channel and
/// event, never the recipient or the message. Best effort: the delivery is already
/// recorded as failed and dead-lettered, and a topic outage must not make it retry.
async fn announce_failure(st: &EventsState, d: &Delivery, attempts: u32, reason: &str) {
    let Some(topic) = &st.settings.alarm_topic else {
        return;
    };
    let body = json!({
        "kind": "notification_delivery_failed",
        "lab_id": d.lab_id,
        "delivery_id": d.id,
        "target": d.target,
        "event_type": d.event_type,
        "event_id": d.event_id,
        "attempts": attempts,
        "reason": reason.chars().take(500).collect::<String>(),
    });
    let channel = d.target.split(':').next().unwrap_or("delivery");
    let sent = st
        .sns
        .publish()
        .topic_arn(topic)
        .subject(format!("TracSeq: a {channel} delivery failed for good"))
        .message(body.to_string())
        .send()
        .await;
    if let Err(e) = sent {
        tracing::warn!(delivery = %d.id, error = ?e, "could not announce the failed delivery");
    }
}

async fn dead_letter(
    st: &EventsState,
    d: &Delivery,
    last: &Attempt,
    worker: &str,
    reason: &str,
) -> Result<(), WorkError> {
    let url = st
        .settings
        .dead_letters
        .get(worker)
        .ok_or_else(|| WorkError::NoQueue(format!("{worker} dead letters")))?;
    let mut record = serde_json::to_value(d).map_err(|e| StoreError::Serde(e.to_string()))?;
    if let Some(a) = record["attempts"].as_array_mut() {
        a.push(serde_json::to_value(last).unwrap_or(Value::Null));
    }
    record["reason"] = json!(reason);
    record["status"] = json!(DeliveryStatus::Failed.as_str());
    record["attempt_count"] = json!(last.number);
    // Reset tokens never leave the table; the DLQ may be read by more people.
    record["message"]["body"] = json!(d.message.body.chars().take(2000).collect::<String>());
    st.sqs
        .send_message()
        .queue_url(url)
        .message_body(record.to_string())
        .send()
        .await
        .map_err(|e| WorkError::Queue {
            queue: format!("{worker} dead letters"),
            detail: format!("{e:?}"),
        })?;
    Ok(())
}
