//! The extraction worker: an upload's S3 event (through the intake queue) reads the file,
//! chunks and retrieves it, extracts with the offline extractor, assesses it, and leaves
//! the document `ready`, `needs_review`, or `rejected` with the reader's reason. A
//! redelivered event finds the work done and does nothing; a file that crashed the
//! reader three times is refused instead of looping.

use crate::domain::Prepared;
use crate::domain::chunk::Text;
use crate::domain::extraction::assess;
use crate::domain::formats::{self, Format, FormatError, MAX_BYTES};
use crate::model::{Document, DocumentStatus, Progress, ReadError, Step};
use crate::providers;
use crate::state::IntakeState;
use crate::store::{self, Change};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_aws::batch::{Failed, Unreadable, each_message};
use tracseq_core::events::CloudEvent;
use tracseq_core::function::FunctionError;
use tracseq_core::{Problem, now_rfc3339};

/// Reading attempts before a file is refused as unreadable.
const MAX_ATTEMPTS: u32 = 3;

/// An S3 event notification as S3 (and moto) put it on a queue; a test event has no
/// records.
#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: Entity,
}

#[derive(Debug, Deserialize)]
struct Entity {
    object: Object,
}

#[derive(Debug, Deserialize)]
struct Object {
    key: String,
}

/// S3 URL-encodes keys in events (`+` for a space); our keys hold no `&` or `=`.
fn decode_key(key: &str) -> String {
    form_urlencoded::parse(format!("k={key}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub async fn handle(st: Arc<IntakeState>, event: Value) -> Result<Value, FunctionError> {
    each_message(
        "intake_extract",
        event,
        Unreadable::ToDeadLetters,
        2,
        |n: Notification| {
            let st = st.clone();
            async move {
                for r in n.records.iter().filter(|r| r.event_name.starts_with("ObjectCreated")) {
                    let key = decode_key(&r.s3.object.key);
                    let Some((lab, id)) = store::owner_of(&key) else {
                        continue;
                    };
                    // The worker's own objects (text, extractions) raise events too.
                    if key.ends_with(".json") && (key.contains("/extraction-v") || key.ends_with("/text.json")) {
                        continue;
                    }
                    extract(&st, lab, id, &key)
                        .await
                        .map_err(|p| Failed::Retry(p.to_string()))?;
                }
                Ok(())
            }
        },
    )
    .await
}

/// Upload events the worker failed on every delivery: their documents end `rejected`
/// (`worker_gave_up`) instead of staying `extracting`.
pub async fn dead_letters(st: Arc<IntakeState>, event: Value) -> Result<Value, FunctionError> {
    each_message(
        "intake_extract_dead_letters",
        event,
        Unreadable::Drop,
        2,
        |n: Notification| {
            let st = st.clone();
            async move {
                for r in &n.records {
                    let key = decode_key(&r.s3.object.key);
                    let Some((lab, id)) = store::owner_of(&key) else {
                        continue;
                    };
                    tracing::error!(lab, document = id, "document extraction failed every delivery");
                    let e = ReadError {
                        code: "worker_gave_up".into(),
                        detail: "the document could not be read after every retry; upload it again".into(),
                    };
                    give_up(&st, lab, id, e)
                        .await
                        .map_err(|p| Failed::Retry(p.to_string()))?;
                }
                Ok(())
            }
        },
    )
    .await
}

fn event(kind: &str, lab: &str, id: &str, data: Value) -> Result<CloudEvent, Problem> {
    CloudEvent::new(kind, lab, &format!("intake/documents/{id}"), id, data).map_err(|_| Problem::internal())
}

/// Mark the document as being read (and arrived, for its first event); `None` when it
/// is past reading already, or not this upload.
async fn begin(st: &IntakeState, lab: &str, id: &str, key: &str) -> Result<Option<Document>, Problem> {
    let d = store::update(st, lab, id, |d| {
        if d.object_key != key || !d.status.is_unread() {
            return Ok(Change::Keep);
        }
        let mut events = vec![];
        if d.status == DocumentStatus::AwaitingUpload {
            d.status = d.status.next(Step::Arrived)?;
            events.push(event(
                "document.uploaded",
                lab,
                id,
                json!({ "document_id": id, "filename": d.filename, "size": d.size, "requested_by": d.created_by }),
            )?);
        }
        d.status = d.status.next(Step::Extract)?;
        d.attempts += 1;
        d.progress = Some(Progress {
            stage: "reading".into(),
            percent: 10,
        });
        d.updated_at = now_rfc3339();
        Ok(Change::Write(events))
    })
    .await;
    match d {
        Ok(d) => Ok((d.status == DocumentStatus::Extracting && d.object_key == key).then_some(d)),
        Err(p) if p.status == 404 => {
            tracing::warn!(lab, document = id, "an upload for no document; ignored");
            Ok(None)
        }
        Err(p) => Err(p),
    }
}

/// Read the text: the CPU part, off the async threads.
fn read(bytes: Vec<u8>, declared: Option<Format>) -> Result<(Format, Text), FormatError> {
    formats::extract(&bytes, declared)
}

async fn refuse(st: &IntakeState, lab: &str, id: &str, e: ReadError) -> Result<(), Problem> {
    end_unread(st, lab, id, e, |s| s == DocumentStatus::Extracting).await
}

async fn give_up(st: &IntakeState, lab: &str, id: &str, e: ReadError) -> Result<(), Problem> {
    match end_unread(st, lab, id, e, DocumentStatus::is_unread).await {
        Err(p) if p.status == 404 => Ok(()),
        other => other,
    }
}

/// Refuse a document that is in one of `from` as unreadable, with its reason.
async fn end_unread(
    st: &IntakeState,
    lab: &str,
    id: &str,
    e: ReadError,
    from: fn(DocumentStatus) -> bool,
) -> Result<(), Problem> {
    store::update(st, lab, id, |d| {
        if !from(d.status) {
            return Ok(Change::Keep);
        }
        d.status = d.status.next(Step::Unreadable)?;
        d.error = Some(e.clone());
        d.progress = None;
        d.updated_at = now_rfc3339();
        let ev = event(
            "document.rejected",
            lab,
            id,
            json!({ "document_id": id, "reason": e.detail, "code": e.code, "rejected_by": "reader" }),
        )?;
        Ok(Change::Write(vec![ev]))
    })
    .await?;
    Ok(())
}

/// The uploaded file, asked for again a few times over a few seconds when the store says
/// it is not there or is unavailable: a redelivered message comes back only after the
/// queue's visibility timeout (six minutes), while the document shows "reading".
async fn read_upload(st: &IntakeState, key: &str) -> Result<Option<Vec<u8>>, Problem> {
    let mut wait = std::time::Duration::from_millis(250);
    for _ in 0..4 {
        match store::get_bytes(st, key, MAX_BYTES).await {
            Ok(Some(b)) => return Ok(Some(b)),
            Err(p) if p.status != 503 => return Err(p),
            _ => tokio::time::sleep(wait).await,
        }
        wait *= 2;
    }
    store::get_bytes(st, key, MAX_BYTES).await
}

async fn extract(st: &IntakeState, lab: &str, id: &str, key: &str) -> Result<(), Problem> {
    let Some(doc) = begin(st, lab, id, key).await? else {
        return Ok(());
    };
    if doc.attempts > MAX_ATTEMPTS {
        let e = ReadError {
            code: "unreadable_file".into(),
            detail: format!("the reader failed on this file {MAX_ATTEMPTS} times"),
        };
        return refuse(st, lab, id, e).await;
    }
    let bytes = match read_upload(st, key).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            tracing::warn!(
                lab,
                document = id,
                "the upload is not readable yet; the message will come back"
            );
            return Err(Problem::unavailable("the upload is not readable yet"));
        }
        Err(p) if p.status == 413 => return refuse(st, lab, id, (&FormatError::TooLarge).into()).await,
        Err(p) => return Err(p),
    };
    let declared = doc.format;
    let outcome = tokio::task::spawn_blocking(move || read(bytes, declared))
        .await
        .map_err(|_| Problem::internal())?;
    let (format, text) = match outcome {
        Ok(v) => v,
        Err(e) => return refuse(st, lab, id, (&e).into()).await,
    };
    let settings = store::settings(st, lab).await?;
    let (provider, unusable) = match providers::for_lab(st, lab, &settings).await {
        Ok(p) => (p, None),
        Err(why) => (None, Some(why)),
    };
    let prepared = Prepared::new(&text);
    let outcome = providers::extract(&prepared, provider.as_deref()).await;
    let x = outcome.extraction;
    let assessment = assess(&x);
    let fallback = unusable.or(outcome.fallback);
    if let Some(why) = &fallback {
        tracing::warn!(lab, document = id, provider = settings.provider.as_str(), why = %why, "extracted offline instead");
    }
    let threshold = settings.threshold;
    store::put_json(st, &store::text_key(lab, id), &text).await?;
    let xkey = store::extraction_key(lab, id, doc.version + 1);
    store::put_json(st, &xkey, &x).await?;
    let pages = text.pages.len() as u32;
    store::update(st, lab, id, |d| {
        if d.status != DocumentStatus::Extracting {
            return Ok(Change::Keep);
        }
        d.threshold = threshold;
        let ready = assessment.confidence >= d.threshold && assessment.missing_critical.is_empty();
        d.status = d.status.next(Step::Extracted { ready })?;
        d.format = Some(format);
        d.pages = Some(pages);
        d.provider = Some(outcome.provider.as_str().into());
        d.fallback = fallback.clone();
        d.assessment = Some(assessment.clone());
        d.extraction_key = Some(xkey.clone());
        d.progress = Some(Progress {
            stage: "done".into(),
            percent: 100,
        });
        d.updated_at = now_rfc3339();
        let data = json!({
            "document_id": id,
            "status": d.status.as_str(),
            "confidence": assessment.confidence,
            "missing_critical": assessment.missing_critical,
            "sample_count": x.samples.len(),
            "requested_by": d.created_by,
        });
        let mut events = vec![event("document.extracted", lab, id, data.clone())?];
        if !ready {
            events.push(event("document.review_required", lab, id, data)?);
        }
        Ok(Change::Write(events))
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_decoded() {
        assert_eq!(
            decode_key("intake/L1/D1/my+form%281%29.pdf"),
            "intake/L1/D1/my form(1).pdf"
        );
        assert_eq!(decode_key("a%2"), "a%2");
    }

    #[test]
    fn moto_and_s3_notifications_parse() {
        let n: Notification = serde_json::from_str(
            r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"intake/L/D/f.txt","size":3}}}]}"#,
        )
        .unwrap();
        assert_eq!(n.records[0].s3.object.key, "intake/L/D/f.txt");
        let test: Notification = serde_json::from_str(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).unwrap();
        assert!(test.records.is_empty());
    }
}
