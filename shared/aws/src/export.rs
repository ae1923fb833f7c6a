//! Exports of lists too long for one response. A service's export route checks the list's
//! filters as its list route does and calls [`start`] with a page source: a list that fits
//! in the first page (1,000 rows, [`PAGE_ROWS`]) is written at once and answered `201` with its link; a
//! longer one is recorded `running`, queued, and answered `202`. The service's export worker
//! calls [`write`] with the same page source: CSV goes to S3 as a multipart upload, 8 MiB
//! per part as the rows come; a workbook is written row by row to a temporary file. The
//! record counts the rows after every page, so [`status`] shows progress, and ends `done`
//! with the object's key or `failed` with the reason. [`status`] hands back a presigned
//! `GET` link for a finished export.
//!
//! The record's status moves only through [`ExportStatus::step`]; a worker that dies
//! without ending it leaves `updated_at` unchanged, and a running export not heard from for
//! [`STALL_SECS`] reads as failed (`stalled`), so no export stays running for ever.

use crate::Init;
use crate::InitError;
use crate::store::{Table, from_item, keyed_item, now_epoch};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, header};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_core::sheet::{Cell, CsvRows, Format, XlsxRows};
use tracseq_core::{Problem, now_rfc3339};

/// Rows read per page of the list (and the most a list written at once may have).
pub const PAGE_ROWS: u32 = 1000;
/// S3's multipart parts are at least 5 MiB (but the last); ours are 8.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// A running export whose worker has said nothing for this long has died.
pub const STALL_SECS: i64 = 900;
/// Export records and files are kept a week.
const KEEP_SECS: i64 = 7 * 24 * 3600;

/// Where an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ListExportStatus)]
pub enum ExportStatus {
    Running,
    Done,
    Failed,
}

/// What happens to an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportStep {
    /// More rows were written.
    Progress,
    Finish,
    Fail,
}

impl ExportStatus {
    /// The one transition function: only a running export moves, and an ended one stays.
    pub fn step(self, step: &ExportStep) -> Option<Self> {
        match (self, step) {
            (Self::Running, ExportStep::Progress) => Some(Self::Running),
            (Self::Running, ExportStep::Finish) => Some(Self::Done),
            (Self::Running, ExportStep::Fail) => Some(Self::Failed),
            (Self::Done | Self::Failed, _) => None,
        }
    }
}

/// An export as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportJob {
    pub id: String,
    pub list: String,
    pub format: Format,
    pub status: ExportStatus,
    pub rows: u64,
    pub filters: BTreeMap<String, String>,
    pub filename: String,
    pub requested_by: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    pub version: u64,
}

/// An export as a client sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ListExport)]
pub struct ExportView {
    pub id: String,
    /// The list exported (`samples`, `audit`).
    pub list: String,
    pub format: Format,
    /// `running` until every row is written; `failed` says why in `error`.
    pub status: ExportStatus,
    /// Rows written so far; every row once `done`.
    pub rows: u64,
    /// The list's filters, as given.
    pub filters: BTreeMap<String, String>,
    pub filename: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A presigned `GET` of the file, once `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seconds the link stays valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_expires_in: Option<u64>,
}

/// What a service asks to export.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// The list's name, as the worker recognises it.
    pub list: &'static str,
    /// Where the export's status is read, `{id}` appended: `/api/samples/exports/`.
    pub status_path: &'static str,
    pub header: &'static [&'static str],
    pub format: Format,
    pub filters: BTreeMap<String, String>,
}

/// The message an export worker receives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportMessage {
    pub lab_id: String,
    pub export_id: String,
}

/// What exports need: the table, the bucket, the queue of the service's worker.
#[derive(Debug, Clone)]
pub struct Exports {
    table: Table,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    queue_url: String,
    link_secs: u64,
    page_rows: u32,
}

impl Exports {
    /// From `EXPORT_BUCKET`, `EXPORT_QUEUE_URL`, `EXPORT_LINK_SECS` (default 900) and
    /// `EXPORT_PAGE_ROWS` (default and at most [`PAGE_ROWS`]; tests lower it to reach the
    /// queued path with a few hundred rows).
    pub fn from_init(init: &Init, table: Table) -> Result<Self, InitError> {
        let env = &init.env;
        Ok(Self {
            table,
            s3: init.clients.s3.clone(),
            sqs: init.clients.sqs.clone(),
            bucket: env.require("EXPORT_BUCKET")?.to_owned(),
            queue_url: env.require("EXPORT_QUEUE_URL")?.to_owned(),
            link_secs: env.parse_or("EXPORT_LINK_SECS", 900)?,
            page_rows: env.parse_or("EXPORT_PAGE_ROWS", PAGE_ROWS)?.clamp(10, PAGE_ROWS),
        })
    }
}

fn keys(lab: &str, id: &str) -> Result<(String, String), Problem> {
    let k = LabKeys::new(lab).map_err(|_| Problem::not_found("export"))?;
    let pk = k.partition(&["EXPORTS"]).map_err(|_| Problem::internal())?;
    tracseq_core::keyed::check_id("export", id).map_err(|_| Problem::not_found("export"))?;
    Ok((pk, id.to_owned()))
}

fn item(lab: &str, job: &ExportJob) -> Result<crate::store::Item, Problem> {
    let (pk, sk) = keys(lab, &job.id)?;
    let mut item = keyed_item(job, &[("PK", pk), ("SK", sk)], "list_export")?;
    item.insert(
        crate::store::EXPIRES_AT.into(),
        crate::store::n(now_epoch() + KEEP_SECS),
    );
    Ok(item)
}

async fn load(table: &Table, lab: &str, id: &str) -> Result<Option<ExportJob>, Problem> {
    let (pk, sk) = keys(lab, id)?;
    Ok(table.get(&pk, &sk).await?.map(from_item).transpose()?)
}

/// Saves `job` moved by `step`, at its version (the worker is its only writer).
async fn save(table: &Table, lab: &str, job: &mut ExportJob, step: ExportStep) -> Result<(), Problem> {
    let next = job
        .status
        .step(&step)
        .ok_or_else(|| Problem::conflict("export_ended", "the export has ended"))?;
    let expected = job.version;
    job.status = next;
    job.version += 1;
    job.updated_at = now_rfc3339();
    if next != ExportStatus::Running {
        job.finished_at = Some(job.updated_at.clone());
    }
    let op = table.put_versioned_op(item(lab, job)?, expected)?;
    table.transact(vec![op]).await.map_err(|e| {
        if e.is_condition_failure() {
            Problem::conflict("stale_version", "the export changed meanwhile")
        } else {
            e.into()
        }
    })
}

fn object_key(lab: &str, job: &ExportJob) -> String {
    format!("exports/{lab}/{}/{}", job.id, job.filename)
}

fn stale(job: &ExportJob) -> bool {
    job.status == ExportStatus::Running
        && time::OffsetDateTime::parse(&job.updated_at, &time::format_description::well_known::Rfc3339)
            .map(|t| now_epoch() - t.unix_timestamp() > STALL_SECS)
            .unwrap_or(false)
}

async fn view(ex: &Exports, job: ExportJob) -> Result<ExportView, Problem> {
    let (status, error) = if stale(&job) {
        (
            ExportStatus::Failed,
            Some("stalled: the export stopped; start it again".to_owned()),
        )
    } else {
        (job.status, job.error.clone())
    };
    let url = match (&job.object_key, status) {
        (Some(key), ExportStatus::Done) => {
            let config =
                PresigningConfig::expires_in(Duration::from_secs(ex.link_secs)).map_err(|_| Problem::internal())?;
            let presigned = ex
                .s3
                .get_object()
                .bucket(&ex.bucket)
                .key(key)
                .response_content_disposition(format!("attachment; filename=\"{}\"", job.filename))
                .response_content_type(job.format.media_type())
                .presigned(config)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "presigning an export failed");
                    Problem::unavailable("exports are unavailable; retry shortly")
                })?;
            Some(presigned.uri().to_owned())
        }
        _ => None,
    };
    Ok(ExportView {
        url_expires_in: url.as_ref().map(|_| ex.link_secs),
        url,
        id: job.id,
        list: job.list,
        format: job.format,
        status,
        rows: job.rows,
        filters: job.filters,
        filename: job.filename,
        created_at: job.created_at,
        updated_at: job.updated_at,
        finished_at: job.finished_at,
        error,
    })
}

/// Writes rows to the export's object: CSV part by part, a workbook at the end.
enum Sink {
    Csv {
        rows: CsvRows,
        upload_id: String,
        parts: Vec<CompletedPart>,
    },
    Xlsx(Box<XlsxRows>),
}

impl Sink {
    async fn open(ex: &Exports, key: &str, format: Format, list: &str, header: &[&str]) -> Result<Self, Problem> {
        Ok(match format {
            Format::Csv => {
                let created = ex
                    .s3
                    .create_multipart_upload()
                    .bucket(&ex.bucket)
                    .key(key)
                    .content_type(format.media_type())
                    .send()
                    .await
                    .map_err(s3_failed)?;
                Sink::Csv {
                    rows: CsvRows::new(header),
                    upload_id: created.upload_id().unwrap_or_default().to_owned(),
                    parts: Vec::new(),
                }
            }
            Format::Xlsx => Sink::Xlsx(Box::new(XlsxRows::new(list, header)?)),
        })
    }

    async fn push(&mut self, ex: &Exports, key: &str, cells: &[Cell]) -> Result<(), Problem> {
        match self {
            Sink::Csv { rows, upload_id, parts } => {
                rows.push(cells);
                if rows.len() >= PART_BYTES {
                    let bytes = rows.take();
                    upload_part(ex, key, upload_id, parts, bytes).await?;
                }
                Ok(())
            }
            Sink::Xlsx(book) => book.push(cells),
        }
    }

    async fn finish(self, ex: &Exports, key: &str, format: Format) -> Result<(), Problem> {
        match self {
            Sink::Csv {
                mut rows,
                upload_id,
                mut parts,
            } => {
                if !rows.is_empty() || parts.is_empty() {
                    let bytes = rows.take();
                    upload_part(ex, key, &upload_id, &mut parts, bytes).await?;
                }
                ex.s3
                    .complete_multipart_upload()
                    .bucket(&ex.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                    .send()
                    .await
                    .map_err(s3_failed)?;
                Ok(())
            }
            Sink::Xlsx(book) => put(ex, key, format, book.finish()?).await,
        }
    }

    async fn abort(self, ex: &Exports, key: &str) {
        if let Sink::Csv { upload_id, .. } = self {
            // An upload left open costs storage until the bucket's lifecycle rule aborts it.
            let _ = ex
                .s3
                .abort_multipart_upload()
                .bucket(&ex.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await;
        }
    }
}

fn s3_failed<E: std::fmt::Debug>(e: E) -> Problem {
    tracing::error!(error = ?e, "export storage failed");
    Problem::unavailable("exports are unavailable; retry shortly")
}

async fn upload_part(
    ex: &Exports,
    key: &str,
    upload_id: &str,
    parts: &mut Vec<CompletedPart>,
    bytes: Vec<u8>,
) -> Result<(), Problem> {
    let number = parts.len() as i32 + 1;
    let out = ex
        .s3
        .upload_part()
        .bucket(&ex.bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(s3_failed)?;
    parts.push(
        CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_owned))
            .build(),
    );
    Ok(())
}

async fn put(ex: &Exports, key: &str, format: Format, bytes: Vec<u8>) -> Result<(), Problem> {
    ex.s3
        .put_object()
        .bucket(&ex.bucket)
        .key(key)
        .content_type(format.media_type())
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(s3_failed)?;
    Ok(())
}

/// The filters of `names` a request gives, as an export keeps them to read the list again.
pub fn filters(req: &Request, names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .filter_map(|name| req.query(name).map(|v| ((*name).to_owned(), v.to_owned())))
        .collect()
}

/// `format=csv|xlsx` (default csv); 422 naming `format` otherwise.
pub fn format(req: &Request) -> Result<Format, Problem> {
    match req.query("format") {
        None => Ok(Format::Csv),
        Some(raw) => Format::parse(raw).ok_or_else(|| {
            Problem::validation(vec![
                tracseq_core::FieldError::field("format", "one_of", "csv or xlsx").with_value(raw),
            ])
        }),
    }
}

/// Starts an export of the list `pages` reads (filters already checked): a list that
/// ends within its first page is written now (`201`, done, with its link); a longer one
/// is queued for the worker (`202`, running). Both answer the export and its `Location`.
pub async fn start<F, Fut>(ex: &Exports, p: &Principal, spec: ExportSpec, mut pages: F) -> Result<Response, Problem>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<Vec<Cell>>, Problem>>,
{
    let lab = p.lab_id.as_str();
    let id = ulid::Ulid::new().to_string();
    let day = now_rfc3339().get(..10).unwrap_or_default().to_owned();
    let now = now_rfc3339();
    let mut job = ExportJob {
        filename: format!("{}-{day}-{}.{}", spec.list, &id[id.len() - 6..], spec.format.as_str()).to_lowercase(),
        id,
        list: spec.list.to_owned(),
        format: spec.format,
        status: ExportStatus::Running,
        rows: 0,
        filters: spec.filters,
        requested_by: p.user_id.clone(),
        created_at: now.clone(),
        updated_at: now,
        finished_at: None,
        error: None,
        object_key: None,
        version: 1,
    };
    let first = pages(PageRequest::first(ex.page_rows)).await?;
    let location = format!("{}{}", spec.status_path, job.id);
    if first.next_cursor.is_none() {
        let mut sheet = tracseq_core::sheet::Sheet::new(spec.list, spec.header);
        job.rows = first.items.len() as u64;
        for row in first.items {
            sheet.push(row);
        }
        let key = object_key(lab, &job);
        put(ex, &key, spec.format, sheet.render(spec.format)?).await?;
        job.object_key = Some(key);
        job.status = ExportStatus::Done;
        job.finished_at = Some(job.updated_at.clone());
        ex.table.put(item(lab, &job)?).await?;
        return Ok(Response::created(&location, &view(ex, job).await?));
    }
    ex.table.put(item(lab, &job)?).await?;
    let message = ExportMessage {
        lab_id: lab.to_owned(),
        export_id: job.id.clone(),
    };
    let body = serde_json::to_string(&message).map_err(|_| Problem::internal())?;
    if let Err(e) = ex
        .sqs
        .send_message()
        .queue_url(&ex.queue_url)
        .message_body(body)
        .send()
        .await
    {
        tracing::error!(error = ?e, "queueing an export failed");
        job.error = Some("the export could not be queued; start it again".into());
        save(&ex.table, lab, &mut job, ExportStep::Fail).await?;
        return Err(Problem::unavailable("exports are unavailable; retry shortly"));
    }
    Ok(Response::json(202, &view(ex, job).await?).with_header(header::LOCATION, &location))
}

/// The export `id` of `list` in the caller's lab, with its link once done (another list's
/// export is not found here: its route checks its own role).
pub async fn status(ex: &Exports, p: &Principal, list: &str, id: &str) -> Result<Response, Problem> {
    let job = load(&ex.table, &p.lab_id, id)
        .await?
        .filter(|j| j.list == list)
        .ok_or_else(|| Problem::not_found("export"))?;
    Ok(Response::ok(&view(ex, job).await?))
}

/// The export a worker's message names, if it is still running (a redelivered message
/// of an ended export finds nothing to do).
pub async fn running(ex: &Exports, message: &ExportMessage) -> Result<Option<ExportJob>, Problem> {
    Ok(load(&ex.table, &message.lab_id, &message.export_id)
        .await?
        .filter(|j| j.status == ExportStatus::Running))
}

/// Writes every row `pages` reads to the export's object, counting rows after each page,
/// and ends the export `done`, or `failed` with the reason. Only a lost record write is
/// returned as an error (the message comes back and the export starts again).
pub async fn write<F, Fut>(
    ex: &Exports,
    lab: &str,
    mut job: ExportJob,
    header: &[&str],
    mut pages: F,
) -> Result<(), Problem>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<Vec<Cell>>, Problem>>,
{
    let key = object_key(lab, &job);
    job.rows = 0;
    let outcome = async {
        let mut sink = Sink::open(ex, &key, job.format, &job.list, header).await?;
        let mut page = PageRequest::first(ex.page_rows);
        let written = loop {
            let got = match pages(page.clone()).await {
                Ok(got) => got,
                Err(e) => break Err(e),
            };
            let mut failed = None;
            for row in &got.items {
                if let Err(e) = sink.push(ex, &key, row).await {
                    failed = Some(e);
                    break;
                }
                job.rows += 1;
            }
            if let Some(e) = failed {
                break Err(e);
            }
            match got.next_cursor {
                Some(cursor) => {
                    save(&ex.table, lab, &mut job, ExportStep::Progress).await?;
                    page = PageRequest {
                        limit: ex.page_rows,
                        cursor: Some(cursor),
                    };
                }
                None => break Ok(()),
            }
        };
        match written {
            Ok(()) => sink.finish(ex, &key, job.format).await,
            Err(e) => {
                sink.abort(ex, &key).await;
                Err(e)
            }
        }
    }
    .await;
    match outcome {
        Ok(()) => {
            job.object_key = Some(key);
            save(&ex.table, lab, &mut job, ExportStep::Finish).await
        }
        Err(e) => {
            tracing::warn!(export = %job.id, code = %e.code, "export failed");
            job.error = Some(format!("{}: {}", e.code, e.detail));
            save(&ex.table, lab, &mut job, ExportStep::Fail).await
        }
    }
}

/// A service's export worker: one export per message. The running export the message
/// names (a redelivered message of an ended export does nothing) has its filters read by
/// `filter` (filters that no longer parse drop the message) and every row `pages` reads
/// written by [`write`]; a store or storage failure gives the message back.
pub async fn work<C, P, F, Fut>(
    function: &'static str,
    ex: &Exports,
    event: serde_json::Value,
    header: &'static [&'static str],
    filter: P,
    pages: F,
) -> Result<serde_json::Value, tracseq_core::function::FunctionError>
where
    C: Clone,
    P: Fn(&BTreeMap<String, String>) -> Result<C, Problem>,
    F: Fn(C, String, PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<Vec<Cell>>, Problem>>,
{
    use crate::batch::{Failed, Unreadable, each_message};
    let (filter, pages) = (&filter, &pages);
    each_message(function, event, Unreadable::Drop, 1, |m: ExportMessage| async move {
        let retry = |e: Problem| Failed::Retry(format!("export {}: {}", m.export_id, e.detail));
        let Some(job) = running(ex, &m).await.map_err(retry)? else {
            return Ok(());
        };
        let c = filter(&job.filters).map_err(|e| Failed::Drop(e.detail))?;
        write(ex, &m.lab_id, job, header, |page| {
            pages(c.clone(), m.lab_id.clone(), page)
        })
        .await
        .map_err(retry)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_running_export_moves() {
        use ExportStatus::*;
        assert_eq!(Running.step(&ExportStep::Progress), Some(Running));
        assert_eq!(Running.step(&ExportStep::Finish), Some(Done));
        assert_eq!(Running.step(&ExportStep::Fail), Some(Failed));
        for ended in [Done, Failed] {
            for step in [ExportStep::Progress, ExportStep::Finish, ExportStep::Fail] {
                assert_eq!(ended.step(&step), None, "{ended:?} {step:?}");
            }
        }
    }
}
