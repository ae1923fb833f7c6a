//! Helpers for the samples service's tests: templates, inline imports, waiting for the
//! import worker.

use crate::client::{Api, Tokens};
use base64::Engine;
use futures::StreamExt;
use serde_json::{Value, json};

/// `tests/fixtures/reference/sample_lab_template.csv`, a real lab manifest (kept in the repo
/// so CI has it).
pub const REFERENCE_CSV: &str = include_str!("../fixtures/reference/sample_lab_template.csv");

/// A template built for the reference manifest (also the README's example).
pub fn reference_template() -> Value {
    serde_json::from_str(include_str!("../fixtures/reference/template.json")).unwrap_or_default()
}

/// The reference manifest with every barcode given a fresh prefix, so many tests (and
/// many runs) can import it into one lab without colliding.
pub fn reference_csv_with_prefix(prefix: &str) -> String {
    REFERENCE_CSV.replace("LAB2024", prefix)
}

/// A fresh barcode prefix (`[A-Z0-9]`).
pub fn unique_prefix() -> String {
    let u = ulid::Ulid::new().to_string();
    format!("T{}", &u[u.len() - 8..])
}

/// Create and publish a template; answers its id.
pub async fn published_template(api: &Api, token: &str, def: Value) -> String {
    let (status, t) = api.post("/api/templates", Some(token), def).await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_str().unwrap_or_default().to_owned();
    let (status, p) = api
        .post(&format!("/api/templates/{id}/publish"), Some(token), json!({}))
        .await;
    assert_eq!(status, 200, "{p}");
    id
}

/// Start an import of `bytes` sent inline.
pub async fn start_import(api: &Api, token: &str, template: &str, bytes: &[u8], extra: Value) -> (u16, Value) {
    let mut body = json!({
        "template_id": template,
        "content": base64::engine::general_purpose::STANDARD.encode(bytes),
        "filename": "manifest.csv",
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    api.post("/api/imports", Some(token), body).await
}

/// A presigned upload of `bytes` as `filename`; the `POST /api/uploads` answer (with
/// `object_key`), once the PUT succeeded.
pub async fn upload(api: &Api, token: &str, filename: &str, content_type: &str, bytes: Vec<u8>) -> Value {
    let (status, up) = api
        .post(
            "/api/uploads",
            Some(token),
            json!({"filename": filename, "content_type": content_type, "size": bytes.len()}),
        )
        .await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up["headers"]["content-length"], bytes.len().to_string(), "{up}");
    put_presigned(&up, content_type, bytes).await;
    up
}

/// PUT `bytes` through a presigned upload link (`url`, signed headers) as a client would.
pub async fn put_presigned(link: &Value, content_type: &str, bytes: Vec<u8>) {
    let put = reqwest::Client::new()
        .put(link["url"].as_str().unwrap_or_default())
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert!(put.status().is_success(), "{}", put.status());
}

/// Poll an import until it reaches a final status (validated, completed, failed).
pub async fn wait_import(api: &Api, token: &str, id: &str, secs: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (status, v) = api.get(&format!("/api/imports/{id}"), token).await;
        assert_eq!(status, 200, "{v}");
        if matches!(v["status"].as_str(), Some("validated" | "completed" | "failed")) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "import {id} did not finish: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

/// Import inline and wait for the outcome.
pub async fn import(api: &Api, token: &str, template: &str, bytes: &[u8], extra: Value) -> Value {
    let (status, v) = start_import(api, token, template, bytes, extra).await;
    assert_eq!(status, 202, "{v}");
    wait_import(api, token, v["id"].as_str().unwrap_or_default(), 120).await
}

/// Every sample of a list query, following cursors.
pub async fn list_all(api: &Api, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if query.contains('?') { '&' } else { '?' };
        let path = match &cursor {
            Some(c) => format!("{query}{sep}cursor={c}"),
            None => query.to_owned(),
        };
        let (status, page) = api.get(&path, token).await;
        assert_eq!(status, 200, "{path}: {page}");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// The event types the lab's outbox holds for one subject, oldest first (read from the
/// table with the AWS SDK, as the stream publisher will).
pub async fn events_of(lab: &str, subject: &str) -> Vec<String> {
    events_at(crate::shared(), lab, subject).await
}

/// The outbox items about one subject on a stack, oldest first.
async fn subject_events(s: &crate::Endpoints, lab: &str, subject: &str) -> Vec<tracseq_aws::store::Item> {
    let client = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let out = client
        .query()
        .table_name(&s.table)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("LAB#{lab}#SUBJECT#{subject}")),
        )
        .send()
        .await
        .expect("query events");
    out.items.unwrap_or_default()
}

/// The `data` of each event of `kind` for one subject, oldest first.
pub async fn event_data(lab: &str, subject: &str, kind: &str) -> Vec<serde_json::Value> {
    subject_events(crate::shared(), lab, subject)
        .await
        .into_iter()
        .filter_map(|item| {
            (item.get("type")?.as_s().ok()? == kind).then_some(())?;
            serde_dynamo::from_attribute_value(item.get("data")?.clone()).ok()
        })
        .collect()
}

/// [`events_of`] on a given stack.
pub async fn events_at(s: &crate::Endpoints, lab: &str, subject: &str) -> Vec<String> {
    subject_events(s, lab, subject)
        .await
        .into_iter()
        .filter_map(|item| item.get("type")?.as_s().ok().cloned())
        .collect()
}

/// `n` validated samples of `sample_type` (registered as a batch, then validated).
pub async fn validated(api: &Api, t: &Tokens, n: usize, sample_type: &str, project: Option<&str>) -> Vec<Value> {
    let samples: Vec<Value> = (0..n)
        .map(|_| match project {
            Some(p) => json!({"sample_type": sample_type, "project": p}),
            None => json!({"sample_type": sample_type}),
        })
        .collect();
    let (status, v) = api
        .post("/api/samples/batch", Some(&t.access), json!({ "samples": samples }))
        .await;
    assert_eq!((status, v["created"].as_u64()), (200, Some(n as u64)), "{v}");
    let ids: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sample"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    futures::stream::iter(ids)
        .map(|sid| {
            let (api, token) = (api.clone(), t.access.clone());
            async move {
                let (status, v) = api
                    .post(
                        &format!("/api/samples/{sid}/transitions"),
                        Some(&token),
                        json!({"to": "validated"}),
                    )
                    .await;
                assert_eq!(status, 200, "{v}");
                v
            }
        })
        .buffered(8)
        .collect()
        .await
}
