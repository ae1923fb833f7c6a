//! Event sources, as Lambda's pollers run them: SQS queues in batches (a function error
//! leaves the whole batch to reappear after the visibility timeout; with
//! ReportBatchItemFailures only the reported messages do), and DynamoDB streams.

use crate::functions::{Functions, Loaded};
use crate::template::{SqsSource, StreamSource};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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
            let failed: HashSet<String> = match crate::functions::invoke(&f, json!({ "Records": records })).await {
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
                    .queue_url(&queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
            {
                tracing::warn!(error = ?e, "deleting processed SQS messages failed");
            }
        }
    });
}

/// Follow a table's stream (moto's DynamoDB Streams API, spoken directly as JSON) and
/// invoke the function with batches of records. A failed batch is retried, then skipped.
pub fn spawn_stream(
    moto_url: String,
    table: String,
    f: Arc<Loaded>,
    src: StreamSource,
    region: String,
    stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut stop = stop;
        let call = |target: &'static str, body: Value| {
            let url = moto_url.clone();
            async move { crate::net::aws_json(&url, &format!("DynamoDBStreams_20120810.{target}"), &body).await }
        };
        let desc = crate::net::aws_json(
            &moto_url,
            "DynamoDB_20120810.DescribeTable",
            &json!({ "TableName": table }),
        )
        .await;
        let Some(stream_arn) = desc
            .ok()
            .and_then(|d| d["Table"]["LatestStreamArn"].as_str().map(str::to_owned))
        else {
            tracing::error!(%table, "table has no stream; stream consumer not started");
            return;
        };
        let mut iterators: HashMap<String, String> = HashMap::new();
        loop {
            if *stop.borrow() {
                return;
            }
            if let Ok(d) = call("DescribeStream", json!({ "StreamArn": stream_arn })).await {
                for shard in d["StreamDescription"]["Shards"].as_array().into_iter().flatten() {
                    let id = shard["ShardId"].as_str().unwrap_or_default().to_owned();
                    if let std::collections::hash_map::Entry::Vacant(slot) = iterators.entry(id) {
                        let req = json!({ "StreamArn": stream_arn, "ShardId": slot.key(), "ShardIteratorType": "TRIM_HORIZON" });
                        let it = call("GetShardIterator", req).await;
                        if let Some(it) = it.ok().and_then(|v| v["ShardIterator"].as_str().map(str::to_owned)) {
                            slot.insert(it);
                        }
                    }
                }
            }
            for it in iterators.values_mut() {
                let Ok(out) = call("GetRecords", json!({ "ShardIterator": it, "Limit": src.batch_size })).await else {
                    continue;
                };
                let records: Vec<Value> = out["Records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let mut r = r.clone();
                        r["eventSourceARN"] = json!(stream_arn);
                        r["awsRegion"] = json!(region);
                        r
                    })
                    .collect();
                if !records.is_empty() {
                    let event = json!({ "Records": records });
                    for attempt in 0..3 {
                        match crate::functions::invoke(&f, event.clone()).await {
                            Ok(_) => break,
                            Err(e) => {
                                tracing::warn!(function = %f.spec.logical_id, attempt, error = %e, "stream batch failed");
                                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                            }
                        }
                    }
                }
                if let Some(next) = out["NextShardIterator"].as_str() {
                    *it = next.to_owned();
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = stop.changed() => return,
            }
        }
    });
}

/// Start every event source of every function.
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
            let name = src.queue_arn.rsplit(':').next().unwrap_or_default();
            let url = queue_urls
                .values()
                .find(|u| u.rsplit('/').next() == Some(name))
                .cloned();
            match url {
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
            match tables.get(&src.table_logical_id) {
                Some(t) => spawn_stream(
                    moto_url.to_owned(),
                    t.clone(),
                    f.clone(),
                    src.clone(),
                    region.to_owned(),
                    stop.clone(),
                ),
                None => {
                    tracing::error!(function = %f.spec.logical_id, table = %src.table_logical_id, "stream table not in the template")
                }
            }
        }
    }
}
