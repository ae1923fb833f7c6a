//! Uploads and imports: a presigned PUT (or an inline body) puts the file in S3;
//! `POST /api/imports` checks the request, records the import and queues it for the
//! worker ([`crate::import`]), answering 202; `GET /api/imports/{id}` shows its progress
//! and every row error.

use super::templates::lab_keys;
use crate::domain::manifest::MAX_BYTES;
use crate::import::{errors_key, read_errors};
use crate::model::{Import, ImportStatus, now_rfc3339};
use crate::state::SamplesState;
use crate::store::imports as store;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_aws::upload::presign_put;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, header};
use tracseq_core::{FieldError, Problem};

/// Errors shown inline by `GET /api/imports/{id}`; the rest page through `/errors`.
pub const INLINE_ERRORS: usize = 1000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// The file's name (kept for people; the key is generated).
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub filename: String,
    /// Sent again as `Content-Type` with the PUT; default `application/octet-stream`.
    #[schema(max_length = 200, pattern = "^[ -~]*$")]
    pub content_type: Option<String>,
    /// Bytes, at most 10 MB; the link is signed for exactly this length.
    #[schema(required, nullable = false, minimum = 1, maximum = 10485760)]
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Upload {
    pub object_key: String,
    /// A presigned `PUT` URL.
    pub url: String,
    pub method: &'static str,
    /// Headers the PUT must carry (they are part of the signature).
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImport {
    pub template_id: String,
    /// From `POST /api/uploads`.
    pub object_key: Option<String>,
    /// The file itself, base64, for small files (instead of `object_key`).
    pub content: Option<String>,
    pub filename: Option<String>,
    /// A worksheet of an XLSX (default: the first).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub sheet: Option<String>,
    /// Check every row and report, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

tracseq_core::ruled_body!(
    /// [`NewImport`] as the document states it: the file either uploaded (`object_key`) or
    /// inline (`content`, standard base64 of a non-empty file), not both.
    NewImportWire for NewImport,
    serde_json::json!({
        "properties": {
            "template_id": { "type": "string", "pattern": tracseq_core::openapi::ULID_PATTERN },
            "content": { "type": ["string", "null"], "contentEncoding": "base64",
                "pattern": "^\\s*([A-Za-z0-9+/]{4})*([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/]{4})\\s*$",
                "description": "The file itself, base64, for small files (instead of `object_key`)." },
        },
        "oneOf": [
            { "required": ["object_key"], "properties": { "object_key": { "type": "string" }, "content": { "type": "null" } } },
            { "required": ["content"], "properties": { "content": { "type": "string" }, "object_key": { "type": "null" } } },
        ],
    })
);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportView {
    #[serde(flatten)]
    pub import: Import,
    /// The first 1000 row errors (all of them through `/api/imports/{id}/errors`).
    pub errors: Vec<FieldError>,
}

pub type ImportErrorPage = tracseq_core::pagination::Page<FieldError>;

fn upload_prefix(lab: &str) -> String {
    format!("uploads/{lab}/")
}

fn safe_name(name: &str) -> String {
    tracseq_aws::upload::safe_name(name, "manifest")
}

pub async fn create_upload(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewUpload = req.json()?;
    if body.filename.trim().is_empty() || body.filename.chars().count() > 255 {
        return Err(Problem::validation(vec![FieldError::field(
            "filename",
            "length",
            "1 to 255 characters",
        )]));
    }
    let Some(size) = body.size.filter(|s| *s > 0) else {
        return Err(Problem::validation(vec![FieldError::field(
            "size",
            "required",
            "the file's size in bytes (1 or more): the upload link is signed for exactly that length",
        )]));
    };
    if size > MAX_BYTES as u64 {
        return Err(Problem::new(
            413,
            "file_too_large",
            format!("manifests are at most {MAX_BYTES} bytes"),
        ));
    }
    let content_type = body.content_type.unwrap_or_else(|| "application/octet-stream".into());
    if content_type.len() > 200 || !content_type.is_ascii() || content_type.contains(['\r', '\n']) {
        return Err(Problem::validation(vec![FieldError::field(
            "content_type",
            "media_type",
            "a media type",
        )]));
    }
    let key = format!(
        "{}{}/{}",
        upload_prefix(&p.lab_id),
        ulid::Ulid::new(),
        safe_name(&body.filename)
    );
    let put = presign_put(
        &st.s3,
        &st.bucket,
        &key,
        &content_type,
        size,
        st.settings.upload_ttl_secs,
    )
    .await?;
    let upload = Upload {
        object_key: key.clone(),
        url: put.url,
        method: put.method,
        headers: put.headers,
        expires_in: put.expires_in,
    };
    Ok(Response::json(201, &upload))
}

/// Check the object an import names: the lab's own upload, present, small enough; its
/// ETag, which pins the import to this very object.
async fn check_object(st: &SamplesState, lab: &str, key: &str) -> Result<Option<String>, Problem> {
    let missing = || {
        Problem::validation(vec![
            FieldError::field("object_key", "exists", "no such upload in this lab").with_value(key),
        ])
    };
    if !key.starts_with(&upload_prefix(lab)) || key.contains("..") || key.len() > 400 {
        return Err(missing());
    }
    let head = st.s3.head_object().bucket(&st.bucket).key(key).send().await;
    match head {
        Ok(h) if h.content_length().unwrap_or(0) as usize > MAX_BYTES => Err(Problem::new(
            413,
            "file_too_large",
            format!("manifests are at most {MAX_BYTES} bytes"),
        )),
        Ok(h) => Ok(h.e_tag().map(str::to_owned)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Err(missing()),
        Err(e) => {
            tracing::error!(error = %e, "head object failed");
            Err(Problem::unavailable("file storage is unavailable; retry shortly"))
        }
    }
}

pub async fn create_import(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    // Inline content travels base64 (4/3 larger) inside JSON.
    let limit = st.settings.inline_limit * 4 / 3 + 16 * 1024;
    let body: NewImport = req.json_limited(limit)?;
    let mut errors = Vec::new();
    if body
        .sheet
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.chars().count() > 100)
    {
        errors.push(FieldError::field("sheet", "length", "1 to 100 characters"));
    }
    if body.object_key.is_some() == body.content.is_some() {
        errors.push(FieldError::field(
            "object_key",
            "one_of",
            "give either object_key or content",
        ));
    }
    let inline = match &body.content {
        Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
            Ok(bytes) if bytes.len() > st.settings.inline_limit => {
                return Err(Problem::new(
                    413,
                    "file_too_large",
                    format!(
                        "inline files are at most {} bytes; upload larger ones through POST /api/uploads",
                        st.settings.inline_limit
                    ),
                ));
            }
            Ok(bytes) if bytes.is_empty() => {
                errors.push(FieldError::field("content", "required", "the file is empty"));
                None
            }
            Ok(bytes) => Some(bytes),
            Err(_) => {
                errors.push(FieldError::field("content", "base64", "content must be base64"));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let (template_version, _) = st.published(&p.lab_id, &body.template_id, "template_id").await?;
    let checked_etag = match &body.object_key {
        Some(key) => check_object(&st, &p.lab_id, key).await?,
        None => None,
    };
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let id = ulid::Ulid::new().to_string();
        let (object_key, object_etag) = match (&body.object_key, inline) {
            (Some(k), _) => (k.clone(), checked_etag.clone()),
            (None, Some(bytes)) => {
                let key = format!(
                    "{}{id}/{}",
                    upload_prefix(&p.lab_id),
                    safe_name(body.filename.as_deref().unwrap_or("inline"))
                );
                let put = st
                    .s3
                    .put_object()
                    .bucket(&st.bucket)
                    .key(&key)
                    .body(bytes.into())
                    .send()
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "inline upload failed");
                        Problem::unavailable("file storage is unavailable; retry shortly")
                    })?;
                (key, put.e_tag().map(str::to_owned))
            }
            (None, None) => return Err(Problem::internal()),
        };
        let now = now_rfc3339();
        let import = Import {
            id: id.clone(),
            template_id: body.template_id.clone(),
            template_version,
            object_key,
            object_etag,
            sheet: body.sheet.clone(),
            format: None,
            dry_run: body.dry_run,
            status: ImportStatus::Queued,
            rows_total: 0,
            rows_valid: 0,
            rows_committed: 0,
            errors_total: 0,
            failure: None,
            events_written: 0,
            rows_object: None,
            committed_at: None,
            version: 1,
            created_at: now.clone(),
            created_by: p.user_id.clone(),
            updated_at: now,
            finished_at: None,
        };
        store::insert(&st, &p.lab_id, &import).await?;
        let message = json!({ "lab_id": p.lab_id, "import_id": id }).to_string();
        if let Err(e) = st
            .sqs
            .send_message()
            .queue_url(&st.import_queue_url)
            .message_body(message)
            .send()
            .await
        {
            tracing::error!(error = %e, import = %id, "import not queued");
            // Nothing refers to the import yet: take it back so the client's retry is clean.
            store::remove_unqueued(&st, &p.lab_id, &id).await;
            return Err(Problem::unavailable("the import queue is unavailable; retry shortly"));
        }
        Ok(Response::json(202, &import).with_header(header::LOCATION, &format!("/api/imports/{id}")))
    })
    .await
}

pub async fn get_import(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let import = st.import(&p.lab_id, req.path_param("id")?).await?;
    let mut errors = match import.errors_total {
        0 => Vec::new(),
        _ => read_errors(&st, &errors_key(&p.lab_id, &import.id)).await?,
    };
    errors.truncate(INLINE_ERRORS);
    Ok(Response::ok(&ImportView { import, errors }))
}

pub async fn list_import_errors(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let import = st.import(&p.lab_id, req.path_param("id")?).await?;
    let page = tracseq_core::pagination::PageRequest::from_query(req.query("limit"), None)?;
    let offset: usize = match req.query("cursor") {
        Some(c) => c
            .parse()
            .map_err(|_| Problem::bad_request("invalid_cursor", "the cursor is not valid for this list"))?,
        None => 0,
    };
    let all = match import.errors_total {
        0 => Vec::new(),
        _ => read_errors(&st, &errors_key(&p.lab_id, &import.id)).await?,
    };
    let end = (offset + page.limit as usize).min(all.len());
    let items = all.get(offset.min(end)..end).unwrap_or_default().to_vec();
    let next_cursor = (end < all.len()).then(|| end.to_string());
    Ok(Response::ok(&ImportErrorPage { items, next_cursor }))
}
