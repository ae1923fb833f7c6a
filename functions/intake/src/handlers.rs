//! The intake API: register a document and hand out its upload link, list and read
//! documents with their extraction, correct fields, submit, reject, ask.

use crate::domain::Prepared;
use crate::domain::chunk::Text;
use crate::domain::extraction::{Citation, Extracted, Extraction, FieldValue, assess, is_field};
use crate::domain::fields::COLUMNS;
use crate::domain::formats::{MAX_BYTES, declared};
use crate::domain::mapping;
use crate::model::{
    Answer, Correction, Corrections, CreatedDocument, Document, DocumentStatus, DocumentText, DocumentView,
    IntakeSettings, NewDocument, NewIntakeSettings, Question, RejectDocument, Step, SubmissionRef, SubmitDocument,
    SubmittedDocument,
};
use crate::providers;
use crate::state::IntakeState;
use crate::store::{self, Change};
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_aws::upload::{presign_put, safe_name};
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, header};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem, now_rfc3339};

/// `POST /api/intake/documents`: 201 with the document and a presigned PUT signed for
/// its exact length; the upload's S3 event starts extraction.
pub async fn create(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewDocument = req.json()?;
    let mut errors = Vec::new();
    let filename = body.filename.trim();
    if filename.is_empty() || body.filename.chars().count() > 255 {
        errors.push(FieldError::field("filename", "length", "1 to 255 characters"));
    }
    let content_type = body.content_type.clone();
    if content_type
        .as_ref()
        .is_some_and(|t| t.len() > 200 || !t.bytes().all(|b| (b' '..=b'~').contains(&b)))
    {
        errors.push(FieldError::field("content_type", "media_type", "a media type"));
    }
    let size = match body.size {
        Some(s) if s > 0 => s,
        _ => {
            errors.push(FieldError::field(
                "size",
                "required",
                "the file's size in bytes (1 or more): the upload link is signed for exactly that length",
            ));
            0
        }
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    if size > MAX_BYTES {
        return Err(Problem::new(
            413,
            "file_too_large",
            format!("documents are at most {MAX_BYTES} bytes"),
        ));
    }
    let Some(format) = declared(filename, content_type.as_deref()) else {
        return Err(Problem::new(
            415,
            "unsupported_format",
            "documents are TXT, PDF, DOCX or EML (by file name or content type)",
        ));
    };
    let content_type = content_type.unwrap_or_else(|| {
        match format {
            crate::domain::formats::Format::Txt => "text/plain",
            crate::domain::formats::Format::Pdf => "application/pdf",
            crate::domain::formats::Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            crate::domain::formats::Format::Eml => "message/rfc822",
        }
        .to_owned()
    });
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let id = ulid::Ulid::new().to_string();
        let key = format!("{}{}", store::prefix(&p.lab_id, &id), safe_name(filename, "document"));
        let upload = presign_put(&st.s3, &st.bucket, &key, &content_type, size, st.upload_ttl_secs).await?;
        let now = now_rfc3339();
        let document = Document {
            id: id.clone(),
            filename: filename.chars().take(255).collect(),
            content_type: content_type.clone(),
            size,
            status: DocumentStatus::AwaitingUpload,
            format: Some(format),
            pages: None,
            progress: None,
            provider: None,
            fallback: None,
            assessment: None,
            threshold: st.default_threshold,
            error: None,
            corrections: vec![],
            submission_id: None,
            rejection_reason: None,
            attempts: 0,
            object_key: key,
            extraction_key: None,
            created_by: p.user_id.clone(),
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        };
        store::insert(&st, &p.lab_id, &document).await?;
        Ok(Response::json(201, &CreatedDocument { document, upload })
            .with_header(header::LOCATION, &format!("/api/intake/documents/{id}")))
    })
    .await
}

pub async fn list(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = store::page(&st, &p.lab_id, &PageRequest::from_request(&req)?).await?;
    Ok(Response::ok(&page))
}

pub async fn get(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let document = store::get(&st, &p.lab_id, req.path_param("id")?).await?;
    let extraction = store::extraction(&st, &document).await?;
    Ok(Response::ok(&DocumentView { document, extraction }))
}

/// A document of the caller's lab (404 otherwise) as it was read; 409 before it was read.
async fn read_text(st: &IntakeState, lab: &str, id: &str) -> Result<Text, Problem> {
    store::get(st, lab, id).await?;
    store::text(st, lab, id)
        .await?
        .ok_or_else(|| Problem::conflict("not_extracted", "the document has not been read yet"))
}

/// The text the citations point into, for showing the document beside its fields.
pub async fn text(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    let text = read_text(&st, &p.lab_id, id).await?;
    Ok(Response::ok(&DocumentText {
        id: id.to_owned(),
        pages: text.pages,
    }))
}

/// Longest corrected value, and most items in a corrected list.
const MAX_VALUE: usize = 2000;
const MAX_ITEMS: usize = 384;

fn check_value(field: &str, v: &FieldValue, errors: &mut Vec<FieldError>) {
    let too_long = v.items().iter().any(|s| s.chars().count() > MAX_VALUE);
    let too_many = matches!(v, FieldValue::List(l) if l.len() > MAX_ITEMS);
    if too_long || too_many || v.is_empty() {
        errors.push(FieldError::field(
            field,
            "length",
            format!("1 to {MAX_VALUE} characters, at most {MAX_ITEMS} items (null removes the field)"),
        ));
    }
}

/// Apply a person's corrections: each field they set is theirs (confidence 1, no
/// citation), and each change is recorded with its old value.
fn apply(x: &mut Extraction, body: &Corrections, who: &str, at: &str) -> Vec<Correction> {
    let mut log = Vec::new();
    for (field, value) in &body.fields {
        let from = x.fields.get(field).map(|f| f.value.clone());
        if from.as_ref() == value.as_ref() {
            continue;
        }
        match value {
            Some(v) => {
                x.fields.insert(field.clone(), Extracted::new(v.clone(), 1.0, None));
            }
            None => {
                x.fields.remove(field);
            }
        }
        log.push(Correction {
            field: field.clone(),
            from,
            to: value.clone(),
            by: who.to_owned(),
            at: at.to_owned(),
        });
    }
    if let Some(rows) = &body.samples {
        let before: Vec<Value> = x
            .samples
            .iter()
            .map(|r| r.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect())
            .collect();
        x.samples = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| (k.clone(), Extracted::new(FieldValue::Text(v.clone()), 1.0, None)))
                    .collect()
            })
            .collect();
        let ids: Vec<String> = x
            .samples
            .iter()
            .filter_map(|r| ["sample_id", "barcode", "name"].iter().find_map(|c| r.get(*c)))
            .filter_map(|f| f.value.as_text().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            x.fields.remove("sample_ids");
        } else {
            x.fields
                .insert("sample_ids".into(), Extracted::new(FieldValue::List(ids), 1.0, None));
        }
        log.push(Correction {
            field: "samples".into(),
            from: Some(FieldValue::List(before.iter().map(Value::to_string).collect())),
            to: Some(FieldValue::List(rows.iter().map(|r| json!(r).to_string()).collect())),
            by: who.to_owned(),
            at: at.to_owned(),
        });
    }
    log
}

fn check_corrections(body: &Corrections) -> Result<(), Problem> {
    let mut errors = Vec::new();
    if body.fields.is_empty() && body.samples.is_none() {
        errors.push(FieldError::field(
            "fields",
            "required",
            "at least one field or the samples",
        ));
    }
    for (name, value) in &body.fields {
        if !is_field(name) {
            errors.push(FieldError::field(
                format!("fields.{name}"),
                "unknown",
                "not a field of the catalogue (docs/domain.md)",
            ));
        } else if let Some(v) = value {
            check_value(&format!("fields.{name}"), v, &mut errors);
        }
    }
    if let Some(rows) = &body.samples {
        if rows.len() > MAX_ITEMS {
            errors.push(FieldError::field(
                "samples",
                "length",
                format!("at most {MAX_ITEMS} rows"),
            ));
        }
        for (i, row) in rows.iter().enumerate() {
            for (col, v) in row {
                if !COLUMNS.iter().any(|c| c.name == col) {
                    errors.push(FieldError::field(
                        format!("samples[{i}].{col}"),
                        "unknown",
                        "not a sample column",
                    ));
                } else if v.trim().is_empty() || v.chars().count() > 200 {
                    errors.push(FieldError::field(
                        format!("samples[{i}].{col}"),
                        "length",
                        "1 to 200 characters",
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// `PATCH /api/intake/documents/{id}`: corrections at the document's version (409 when
/// stale); the document is assessed again and may become `ready` or need review.
pub async fn patch(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: Corrections = req.json()?;
    let expected = expected_version(&req, body.version)?;
    check_corrections(&body)?;
    let id = req.path_param("id")?.to_owned();
    let current = store::get(&st, &p.lab_id, &id).await?;
    check_version("document", current.version, expected)?;
    current.status.next(Step::Corrected { ready: false })?;
    let mut x = store::extraction(&st, &current).await?.unwrap_or_default();
    let now = now_rfc3339();
    let log = apply(&mut x, &body, &p.user_id, &now);
    let assessment = assess(&x);
    // A new object per version: the one being read stays whole until the record moves.
    let key = store::extraction_key(&p.lab_id, &id, expected + 1);
    store::put_json(&st, &key, &x).await?;
    let updated = store::update(&st, &p.lab_id, &id, |d| {
        check_version("document", d.version, expected)?;
        let ready = assessment.confidence >= d.threshold && assessment.missing_critical.is_empty();
        d.status = d.status.next(Step::Corrected { ready })?;
        d.assessment = Some(assessment.clone());
        d.extraction_key = Some(key.clone());
        d.corrections.extend(log.iter().cloned());
        d.updated_at = now.clone();
        let ev = req.event(
            "document.corrected",
            &p,
            &format!("intake/documents/{id}"),
            json!({
                "document_id": id,
                "fields": log.iter().map(|c| c.field.clone()).collect::<Vec<_>>(),
                "corrected_by": p.user_id,
                "confidence": assessment.confidence,
            }),
        )?;
        Ok(Change::Write(vec![ev]))
    })
    .await?;
    Ok(Response::ok(&DocumentView {
        document: updated,
        extraction: Some(x),
    }))
}

/// What the submissions service answers (its `submissions_from_document` function): the
/// submission, or its refusal as a problem.
#[derive(serde::Deserialize)]
struct Started {
    status: u16,
    #[serde(default)]
    submission: Option<SubmissionRef>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    errors: Vec<FieldError>,
}

async fn start_submission(st: &IntakeState, function: &str, input: Value) -> Result<Started, Problem> {
    let out = st
        .lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(input.to_string()))
        .send()
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "the submissions service did not answer");
            Problem::unavailable("submissions are unavailable; retry shortly")
        })?;
    if out.function_error().is_some() {
        tracing::error!(error = ?out.function_error(), "the submissions service failed");
        return Err(Problem::unavailable("submissions are unavailable; retry shortly"));
    }
    let payload = out.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    serde_json::from_slice(&payload).map_err(|e| {
        tracing::error!(error = %e, "the submissions service answered something else");
        Problem::internal()
    })
}

/// `POST /api/intake/documents/{id}/submit`: the reviewed samples go to the submission
/// saga as one submission whose id is the document's, so a second submit (or a retried
/// one) can never start another.
pub async fn submit(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: SubmitDocument = if req.body.is_empty() {
        SubmitDocument::default()
    } else {
        req.json()?
    };
    let function = st
        .submit_function
        .clone()
        .ok_or_else(|| Problem::unavailable("submissions are not configured on this stack"))?;
    let id = req.path_param("id")?.to_owned();
    let doc = store::get(&st, &p.lab_id, &id).await?;
    if doc.status == DocumentStatus::Submitted {
        return Err(Problem::conflict(
            "already_submitted",
            format!(
                "the document was submitted as submission {}",
                doc.submission_id.as_deref().unwrap_or(&id)
            ),
        ));
    }
    doc.status.next(Step::Submit)?;
    let x = store::extraction(&st, &doc).await?.unwrap_or_default();
    let mut samples = mapping::samples(&x).map_err(Problem::validation)?;
    if let Some(t) = &body.template_id {
        for s in &mut samples {
            s["template_id"] = json!(t);
        }
    }
    let mut input = json!({
        "lab": p.lab_id,
        "user_id": p.user_id,
        "role": p.role,
        "submission_id": id,
        "correlation_id": req.correlation_id,
        "samples": samples,
    });
    if let Some(boxes) = &body.storage_location_ids {
        input["storage"] = json!({ "location_ids": boxes });
    }
    let started = start_submission(&st, &function, input).await?;
    if started.status >= 400 {
        let mut problem = Problem::new(started.status, &started.code, started.detail);
        problem.errors = started.errors;
        return Err(problem);
    }
    let Some(submission) = started.submission else {
        tracing::error!("the submissions service answered no submission");
        return Err(Problem::internal());
    };
    let submission_id = submission.id.clone();
    let count = samples.len();
    let document = store::update(&st, &p.lab_id, &id, |d| {
        if d.status == DocumentStatus::Submitted {
            return Ok(Change::Keep);
        }
        d.status = d.status.next(Step::Submit)?;
        d.submission_id = Some(submission_id.clone());
        d.updated_at = now_rfc3339();
        let ev = req.event(
            "document.submitted",
            &p,
            &format!("intake/documents/{id}"),
            json!({ "document_id": id, "submission_id": submission_id, "sample_count": count, "requested_by": p.user_id }),
        )?;
        Ok(Change::Write(vec![ev]))
    })
    .await?;
    Ok(Response::json(202, &SubmittedDocument { document, submission })
        .with_header(header::LOCATION, &format!("/api/submissions/{submission_id}")))
}

pub async fn reject(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: RejectDocument = req.json()?;
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || body.reason.chars().count() > 1000 {
        return Err(Problem::validation(vec![FieldError::field(
            "reason",
            "length",
            "1 to 1000 characters",
        )]));
    }
    let id = req.path_param("id")?.to_owned();
    let d = store::update(&st, &p.lab_id, &id, |d| {
        d.status = d.status.next(Step::Reject)?;
        d.rejection_reason = Some(reason.clone());
        d.updated_at = now_rfc3339();
        let ev = req.event(
            "document.rejected",
            &p,
            &format!("intake/documents/{id}"),
            json!({ "document_id": id, "reason": reason, "rejected_by": p.user_id }),
        )?;
        Ok(Change::Write(vec![ev]))
    })
    .await?;
    Ok(Response::ok(&d))
}

/// `POST /api/intake/documents/{id}/ask`: the lines of this document that answer the
/// question best, cited with their page and offset: the lab's LLM provider answers in
/// prose from those lines only; `offline` quotes them.
pub async fn ask(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: Question = req.json()?;
    let q = body.question.trim();
    if q.is_empty() || body.question.chars().count() > 1000 {
        return Err(Problem::validation(vec![FieldError::field(
            "question",
            "length",
            "1 to 1000 characters",
        )]));
    }
    let id = req.path_param("id")?;
    let text = read_text(&st, &p.lab_id, id).await?;
    let settings = store::settings(&st, &p.lab_id).await?;
    let (provider, unusable) = match providers::for_lab(&st, &p.lab_id, &settings).await {
        Ok(pr) => (pr, None),
        Err(why) => (None, Some(why)),
    };
    let doc = Prepared::new(&text);
    let a = providers::ask(&doc, q, provider.as_deref()).await;
    let citations: Vec<Citation> = a
        .lines
        .iter()
        .filter_map(|i| doc.lines.get(*i))
        .map(|l| Citation::new(l.at, &l.text))
        .collect();
    Ok(Response::ok(&Answer {
        answer: a.answer,
        provider: a.provider.as_str().into(),
        fallback: unusable.or(a.fallback),
        citations,
    }))
}

/// `GET /api/intake/settings`: the lab's provider, model and threshold (never its key).
pub async fn get_settings(st: Arc<IntakeState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&store::settings(&st, &p.lab_id).await?))
}

/// `PUT /api/intake/settings`: choose the provider; its key (if sent) goes to SSM as a
/// SecureString for this lab and provider.
pub async fn put_settings(st: Arc<IntakeState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewIntakeSettings = req.json()?;
    let mut errors = Vec::new();
    if let Some(t) = body.threshold
        && !(0.5..=1.0).contains(&t)
    {
        errors.push(FieldError::field("threshold", "range", "0.5 to 1"));
    }
    if let Some(m) = &body.model
        && (m.is_empty() || m.len() > 200 || !m.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b)))
    {
        errors.push(FieldError::field(
            "model",
            "pattern",
            "a model id: letters, digits and ._:/-",
        ));
    }
    if let Some(k) = &body.api_key
        && (k.len() < 8 || k.len() > 512 || !k.bytes().all(|b| (b' '..=b'~').contains(&b)))
    {
        errors.push(FieldError::field("api_key", "pattern", "8 to 512 printable characters"));
    }
    if body.api_key.is_some() && !body.provider.needs_key() {
        errors.push(FieldError::field(
            "api_key",
            "not_needed",
            format!("{} takes no key", body.provider.as_str()),
        ));
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let current = store::settings(&st, &p.lab_id).await?;
    let expected = body.version.unwrap_or(0);
    check_version("settings", current.version, expected)?;
    let name = store::key_parameter(&st, &p.lab_id, body.provider);
    if let Some(k) = &body.api_key {
        store::put_key(&st, &name, k).await?;
    }
    let api_key_set =
        body.api_key.is_some() || (body.provider.needs_key() && store::get_key(&st, &name).await?.is_some());
    if body.provider.needs_key() && !api_key_set {
        return Err(Problem::validation(vec![FieldError::field(
            "api_key",
            "required",
            format!("{} needs the lab's API key", body.provider.as_str()),
        )]));
    }
    let next = IntakeSettings {
        provider: body.provider,
        model: body.model.clone(),
        threshold: body.threshold.unwrap_or(current.threshold),
        api_key_set,
        updated_by: Some(p.user_id.clone()),
        updated_at: Some(now_rfc3339()),
        version: expected + 1,
    };
    store::put_settings(&st, &p.lab_id, &next, expected).await?;
    Ok(Response::ok(&next))
}
