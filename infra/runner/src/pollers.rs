//! Event sources, as Lambda's pollers run them: SQS queues in batches (a function error
//! leaves the whole batch to reappear after the visibility timeout; with
//! ReportBatchItemFailures only the reported messages do), and DynamoDB streams.

use crate::functions::{Functions, Loaded};
use crate::template::{SqsSource, StreamSource, filter_matches};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Batches of one SQS source processed at the same time (Lambda starts with five).
const SQS_BATCHES_IN_FLIGHT: usize = 5;

pub fn spawn_sqs(
    sqs: aws_sdk_sqs::Client,
    f: Arc<Loaded>,
    src: SqsSource,
    queue_url: String,
    region: String,
    stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut stop = stop;
        let in_flight = Arc::new(tokio::sync::Semaphore::new(SQS_BATCHES_IN_FLIGHT));
        loop {
            if *stop.borrow() {
                return;
            }
            let recv = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(src.batch_size.clamp(1, 10) as i32)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send();
            let out = tokio::select! {
                r = recv => r,
                _ = stop.changed() => return,
            };
            let messages = match out {
                Ok(o) => o.messages.unwrap_or_default(),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let attrs: HashMap<String, String> = m
                        .attributes()
                        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
                        .unwrap_or_default();
                    json!({
                        "messageId": m.message_id(),
                        "receiptHandle": m.receipt_handle(),
                        "body": m.body().unwrap_or_default(),
                        "attributes": attrs,
                        "messageAttributes": {},
                        "md5OfBody": m.md5_of_body(),
                        "eventSource": "aws:sqs",
                        "eventSourceARN": src.queue_arn,
                        "awsRegion": region,
                    })
                })
                .collect();
            // Like Lambda's pollers, keep several batches in flight when the queue is busy;
            // an idle queue costs one long poll at a time.
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let (sqs, f, src, queue_url) = (sqs.clone(), f.clone(), src.clone(), queue_url.clone());
            tokio::spawn(async move {
                let _permit = permit;
                finish_batch(&sqs, &f, &src, &queue_url, messages, records).await;
            });
        }
    });
}

/// Invoke the function with one batch and delete what it processed.
async fn finish_batch(
    sqs: &aws_sdk_sqs::Client,
    f: &Arc<Loaded>,
    src: &SqsSource,
    queue_url: &str,
    messages: Vec<aws_sdk_sqs::types::Message>,
    records: Vec<Value>,
) {
    let failed: HashSet<String> = match crate::functions::invoke(f, json!({ "Records": records })).await {
        Ok(v) if src.report_failures => v["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
            .collect(),
        Ok(_) => HashSet::new(),
        Err(e) => {
            tracing::warn!(function = %f.spec.logical_id, error = %e, "SQS batch failed; messages return after the visibility timeout");
            messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect()
        }
    };
    let entries: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.message_id().is_some_and(|id| !failed.contains(id)))
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle()?)
                .build()
                .ok()
        })
        .collect();
    if !entries.is_empty()
        && let Err(e) = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
    {
        tracing::warn!(error = ?e, "deleting processed SQS messages failed");
    }
}

/// Follow a table's stream (moto's DynamoDB Streams API, spoken directly as JSON) and
/// invoke the function with batches of the records its filters accept. As in Lambda, a
/// failed batch blocks its shard and is retried (with backoff) until it succeeds or
/// `MaximumRetryAttempts` runs out; then its position goes to the on-failure queue, if
/// any, and the shard moves on.
pub struct StreamPoller {
    pub moto_url: String,
    pub table: String,
    pub f: Arc<Loaded>,
    pub src: StreamSource,
    pub region: String,
    pub sqs: aws_sdk_sqs::Client,
    /// The on-failure queue's URL, resolved from its ARN.
    pub on_failure_url: Option<String>,
}

impl StreamPoller {
    pub fn spawn(self, stop: watch::Receiver<bool>) {
        tokio::spawn(async move { self.run(stop).await });
    }

    async fn call(&self, target: &str, body: Value) -> Result<Value, String> {
        crate::net::aws_json(&self.moto_url, &format!("DynamoDBStreams_20120810.{target}"), &body)
            .await
            .map_err(|e| e.to_string())
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let desc = crate::net::aws_json(
            &self.moto_url,
            "DynamoDB_20120810.DescribeTable",
            &json!({ "TableName": self.table }),
        )
        .await;
        let Some(stream_arn) = desc
            .ok()
            .and_then(|d| d["Table"]["LatestStreamArn"].as_str().map(str::to_owned))
        else {
            tracing::error!(table = %self.table, "table has no stream; stream consumer not started");
            return;
        };
        let mut iterators: HashMap<String, String> = HashMap::new();
        loop {
            if *stop.borrow() {
                return;
            }
            if let Ok(d) = self.call("DescribeStream", json!({ "StreamArn": stream_arn })).await {
                for shard in d["StreamDescription"]["Shards"].as_array().into_iter().flatten() {
                    let id = shard["ShardId"].as_str().unwrap_or_default().to_owned();
                    if let std::collections::hash_map::Entry::Vacant(slot) = iterators.entry(id) {
                        let req = json!({ "StreamArn": stream_arn, "ShardId": slot.key(), "ShardIteratorType": "TRIM_HORIZON" });
                        let it = self.call("GetShardIterator", req).await;
                        if let Some(it) = it.ok().and_then(|v| v["ShardIterator"].as_str().map(str::to_owned)) {
                            slot.insert(it);
                        }
                    }
                }
            }
            // Read as much as a call allows (1,000 records, Lambda's own limit), filter, and
            // invoke in batches; go straight on while the shard has more, so a burst of
            // writes (a 10,000-row import) is not drained at a trickle.
            let mut busy = false;
            for (shard, it) in iterators.iter_mut() {
                let Ok(out) = self
                    .call("GetRecords", json!({ "ShardIterator": it, "Limit": 1000 }))
                    .await
                else {
                    continue;
                };
                busy |= out["Records"].as_array().map_or(0, Vec::len) == 1000;
                let records: Vec<Value> = out["Records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| self.src.filters.is_empty() || self.src.filters.iter().any(|p| filter_matches(p, r)))
                    .map(|r| {
                        let mut r = r.clone();
                        r["eventSourceARN"] = json!(stream_arn);
                        r["awsRegion"] = json!(self.region);
                        r
                    })
                    .collect();
                for batch in records.chunks(self.src.batch_size.max(1) as usize) {
                    if !self.deliver(batch, &stream_arn, shard, &mut stop).await {
                        return;
                    }
                }
                if let Some(next) = out["NextShardIterator"].as_str() {
                    *it = next.to_owned();
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Invoke until the batch succeeds or its retries run out; `false` if stopped meanwhile.
    async fn deliver(
        &self,
        records: &[Value],
        stream_arn: &str,
        shard: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let event = json!({ "Records": records });
        let mut failures: u32 = 0;
        loop {
            match crate::functions::invoke(&self.f, event.clone()).await {
                Ok(_) => return true,
                Err(e) => {
                    tracing::warn!(function = %self.f.spec.logical_id, failures, error = %e, "stream batch failed");
                    if self.src.max_retries.is_some_and(|max| failures >= max) {
                        self.give_up(records, stream_arn, shard).await;
                        return true;
                    }
                    failures += 1;
                }
            }
            let backoff = Duration::from_millis((100u64 << failures.min(6)).min(5_000));
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return false,
            }
        }
    }

    /// What Lambda sends to a stream source's on-failure destination: where the batch was.
    async fn give_up(&self, records: &[Value], stream_arn: &str, shard: &str) {
        let seq = |r: Option<&Value>| {
            r.map(|r| r["dynamodb"]["SequenceNumber"].clone())
                .unwrap_or(Value::Null)
        };
        let info = json!({
            "requestContext": { "condition": "RetryAttemptsExhausted", "functionArn": self.f.spec.name },
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": seq(records.first()),
                "endSequenceNumber": seq(records.last()),
                "batchSize": records.len(),
                "streamArn": stream_arn,
            }
        });
        tracing::error!(function = %self.f.spec.logical_id, "stream batch given up after its retries");
        if let Some(url) = &self.on_failure_url
            && let Err(e) = self
                .sqs
                .send_message()
                .queue_url(url)
                .message_body(info.to_string())
                .send()
                .await
        {
            tracing::error!(error = ?e, "recording the failed stream batch failed");
        }
    }
}

fn queue_url_of(queue_urls: &HashMap<String, String>, arn: &str) -> Option<String> {
    let name = arn.rsplit(':').next().unwrap_or_default();
    queue_urls
        .values()
        .find(|u| u.rsplit('/').next() == Some(name))
        .cloned()
}

/// Start every event source of every function (streams only of the tables in `tables`).
pub fn start_all(
    functions: &Functions,
    sqs: &aws_sdk_sqs::Client,
    queue_urls: &HashMap<String, String>,
    tables: &HashMap<String, String>,
    moto_url: &str,
    region: &str,
    stop: &watch::Receiver<bool>,
) {
    for f in functions.all() {
        for src in &f.spec.sqs {
            match queue_url_of(queue_urls, &src.queue_arn) {
                Some(url) => spawn_sqs(
                    sqs.clone(),
                    f.clone(),
                    src.clone(),
                    url,
                    region.to_owned(),
                    stop.clone(),
                ),
                None => {
                    tracing::error!(function = %f.spec.logical_id, queue = %src.queue_arn, "event source queue not in the template")
                }
            }
        }
        for src in &f.spec.streams {
            if !tables.values().any(|t| *t == src.table) {
                tracing::info!(function = %f.spec.logical_id, table = %src.table, "stream not followed");
                continue;
            }
            StreamPoller {
                moto_url: moto_url.to_owned(),
                table: src.table.clone(),
                f: f.clone(),
                src: src.clone(),
                region: region.to_owned(),
                sqs: sqs.clone(),
                on_failure_url: src.on_failure.as_deref().and_then(|arn| queue_url_of(queue_urls, arn)),
            }
            .spawn(stop.clone());
        }
    }
}
