//! The import worker (SQS): validate the whole file, then commit it in checkpointed
//! chunks, so an import is all-or-nothing and survives a crash at any point.
//!
//! Phases, each resumable from the import item alone:
//! 1. `queued/validating`: read the file, check every row; nothing is written to the
//!    table. Errors → `failed` (with every row error in S3); dry run → `validated`.
//!    Otherwise the checked rows (with their barcodes) go to S3 and the import turns
//!    `committing`.
//! 2. `committing`: each chunk of rows is one transaction together with the checkpoint
//!    `rows_committed` (conditional on its old value), so a chunk is written exactly once
//!    however often the message is redelivered. Sample ids are derived from (import, row),
//!    so a resumed run rebuilds the same records. Imported samples carry `import_id` and
//!    stay invisible until the import is `completed`; that single write makes every row
//!    visible at once. A barcode taken meanwhile turns the import `rolling_back`.
//! 3. `rolling_back`: the written chunks are deleted (checkpoint counting down) → `failed`.
//! 4. `completed`: `sample.created` events are written for every row (deterministic ids,
//!    so a repeat overwrites rather than duplicates).

use crate::domain::manifest::{self, Format};
use crate::domain::rows::{self, row_error};
use crate::domain::status::SampleStatus;
use crate::handlers::samples::{Prepared, new_sample};
use crate::model::{Import, ImportFailure, ImportStatus, Sample, keys, now_rfc3339};
use crate::state::SamplesState;
use crate::store::samples::create_ops;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tracseq_aws::batch::{Failed, Unreadable, each_message};
use tracseq_aws::outbox::event_item;
use tracseq_aws::store::{StoreError, s};
use tracseq_core::FieldError;
use tracseq_core::Problem;
use tracseq_core::auth::{Principal, Role};
use tracseq_core::events::CloudEvent;
use tracseq_core::function::{FunctionError, InvokeContext};
use tracseq_lab::fields::SampleFields;

/// The queue message.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportJob {
    pub lab_id: String,
    pub import_id: String,
}

/// A checked row as the commit reads it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedRow {
    pub row: u32,
    pub barcode: String,
    pub fields: SampleFields,
}

pub fn errors_key(lab: &str, id: &str) -> String {
    format!("imports/{lab}/{id}/errors.json")
}
/// Each validation run writes its own copy; the import records the one that won.
fn rows_key(lab: &str, id: &str) -> String {
    format!("imports/{lab}/{id}/rows-{}.json", ulid::Ulid::new())
}

/// Why a phase stopped early.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// Retry later (SQS redelivers): a dependency failed.
    #[error("transient: {0}")]
    Transient(String),
    /// The test hook pulled the plug.
    #[error("simulated crash after {0} chunks")]
    Crash(u32),
}

impl From<Problem> for Stop {
    fn from(p: Problem) -> Self {
        Stop::Transient(p.to_string())
    }
}
impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Transient(e.to_string())
    }
}

/// The SQS handler: one import per message; a paused import's message comes back, an
/// unreadable one reaches the dead-letter queue through redelivery.
pub async fn handle(st: Arc<SamplesState>, event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    each_message(
        "samples_import_worker",
        event,
        Unreadable::ToDeadLetters,
        1,
        |job: ImportJob| {
            let st = st.clone();
            async move {
                run(&st, &job)
                    .await
                    .map_err(|e| Failed::Retry(format!("import {} paused: {e}", job.import_id)))
            }
        },
    )
    .await
}

/// The import queue's dead letters: jobs that failed every delivery. Each import ends
/// `failed` with the reason, never left `validating` or `committing`: rows a crashed commit
/// wrote are rolled back first, so nothing stays half-written.
pub async fn dead_letters(st: Arc<SamplesState>, event: Value) -> Result<Value, FunctionError> {
    each_message("samples_import_dead_letters", event, Unreadable::Drop, 1, |job: ImportJob| {
        let st = st.clone();
        async move {
            tracing::error!(import = %job.import_id, lab = %job.lab_id, "import job failed every delivery; failing the import");
            give_up(&st, &job)
                .await
                .map_err(|e| Failed::Retry(format!("failing import {}: {e}", job.import_id)))
        }
    })
    .await
}

const GAVE_UP: &str = "worker_gave_up";

async fn give_up(st: &SamplesState, job: &ImportJob) -> Result<(), Stop> {
    let imp = match st.import(&job.lab_id, &job.import_id).await {
        Ok(i) => i,
        Err(p) if p.status == 404 => return Ok(()),
        Err(p) => return Err(p.into()),
    };
    let reason = |what: &str| ImportFailure {
        code: GAVE_UP.into(),
        detail: format!("the import could not be processed after every retry; {what}"),
    };
    match imp.status {
        ImportStatus::Queued | ImportStatus::Validating => {
            let f = reason("nothing was written");
            fail(st, &job.lab_id, imp, &f.code, f.detail).await
        }
        ImportStatus::Committing => {
            let mut imp = imp;
            imp.status = ImportStatus::RollingBack;
            imp.failure = Some(reason("what it had written was removed"));
            let imp = save(st, &job.lab_id, imp, vec![]).await?;
            roll_back(st, &job.lab_id, imp).await
        }
        ImportStatus::RollingBack => roll_back(st, &job.lab_id, imp).await,
        // Finished (or waiting for a person): a late dead letter changes nothing.
        _ => Ok(()),
    }
}

async fn run(st: &SamplesState, job: &ImportJob) -> Result<(), Stop> {
    let mut chunks_this_run = 0u32;
    // Each phase ends in a status change; a handful of steps finish any import.
    for _ in 0..8 {
        let imp = match st.import(&job.lab_id, &job.import_id).await {
            Ok(i) => i,
            Err(p) if p.status == 404 => {
                tracing::error!(import = %job.import_id, "import message for an unknown import; dropped");
                return Ok(());
            }
            Err(p) => return Err(p.into()),
        };
        match imp.status {
            ImportStatus::Queued | ImportStatus::Validating => validate(st, &job.lab_id, imp).await?,
            ImportStatus::Committing => commit(st, &job.lab_id, imp, &mut chunks_this_run).await?,
            ImportStatus::RollingBack => roll_back(st, &job.lab_id, imp).await?,
            ImportStatus::Completed if imp.events_written < imp.rows_committed => {
                write_events(st, &job.lab_id, imp).await?
            }
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Replace the import item if it is still at `imp.version` (another worker may have moved it).
async fn save(st: &SamplesState, lab: &str, mut imp: Import, extra: Vec<TransactWriteItem>) -> Result<Import, Stop> {
    let expected = imp.version;
    imp.version += 1;
    imp.updated_at = now_rfc3339();
    let mut ops = vec![st.table.put_versioned_op(imp.item(lab)?, expected)?];
    ops.extend(extra);
    match st.table.transact(ops).await {
        Ok(()) => Ok(imp),
        Err(e) if e.failed_action() == Some(0) => Err(Stop::Transient("the import changed meanwhile".into())),
        Err(e) => Err(e.into()),
    }
}

fn import_event(st: &SamplesState, lab: &str, imp: &Import, kind: &str) -> Result<TransactWriteItem, Stop> {
    let ev = CloudEvent::new(
        kind,
        lab,
        &format!("imports/{}", imp.id),
        &imp.id,
        json!({
            "import_id": imp.id,
            "template_id": imp.template_id,
            "template_version": imp.template_version,
            "dry_run": imp.dry_run,
            "rows_total": imp.rows_total,
            "rows_committed": imp.rows_committed,
            "errors_total": imp.errors_total,
            "created_by": imp.created_by,
            "failure": imp.failure,
        }),
    )
    .map_err(|e| Stop::Transient(e.to_string()))?;
    Ok(tracseq_aws::outbox::put_event_op(&st.table, &ev)?)
}

async fn fail(st: &SamplesState, lab: &str, mut imp: Import, code: &str, detail: String) -> Result<(), Stop> {
    imp.status = ImportStatus::Failed;
    imp.failure = Some(ImportFailure {
        code: code.to_owned(),
        detail,
    });
    imp.finished_at = Some(now_rfc3339());
    let ev = import_event(st, lab, &imp, "import.failed")?;
    save(st, lab, imp, vec![ev]).await.map(|_| ())
}

async fn get_object(st: &SamplesState, key: &str) -> Result<Option<Vec<u8>>, Stop> {
    match st.s3.get_object().bucket(&st.bucket).key(key).send().await {
        Ok(out) => {
            let bytes = out.body.collect().await.map_err(|e| Stop::Transient(e.to_string()))?;
            Ok(Some(bytes.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(Stop::Transient(format!("S3 get {key}: {e}"))),
    }
}

/// What reading an import's file found.
enum Checked {
    Bytes(Vec<u8>),
    Missing,
    /// Not the object checked when the import was made (its ETag differs).
    Changed,
    TooLarge,
}

/// The import's file as it was checked: read by the recorded ETag (`If-Match`), and never
/// more than the size limit, streamed with a cap rather than collected whole.
async fn read_checked(st: &SamplesState, imp: &Import) -> Result<Checked, Stop> {
    use tokio::io::AsyncReadExt;
    let limit = crate::domain::manifest::MAX_BYTES;
    let mut get = st.s3.get_object().bucket(&st.bucket).key(&imp.object_key);
    if let Some(etag) = &imp.object_etag {
        get = get.if_match(etag);
    }
    let out = match get.send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(Checked::Missing),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => return Ok(Checked::Changed),
        Err(e) => return Err(Stop::Transient(format!("S3 get {}: {e}", imp.object_key))),
    };
    if out.content_length().is_some_and(|n| n as usize > limit) {
        return Ok(Checked::TooLarge);
    }
    let mut bytes = Vec::new();
    out.body
        .into_async_read()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| Stop::Transient(e.to_string()))?;
    Ok(if bytes.len() > limit {
        Checked::TooLarge
    } else {
        Checked::Bytes(bytes)
    })
}

async fn put_json<T: Serialize>(st: &SamplesState, key: &str, value: &T) -> Result<(), Stop> {
    let body = serde_json::to_vec(value).map_err(|e| Stop::Transient(e.to_string()))?;
    st.s3
        .put_object()
        .bucket(&st.bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into())
        .send()
        .await
        .map_err(|e| Stop::Transient(format!("S3 put {key}: {e}")))?;
    Ok(())
}

/// Every row error of an import, as stored by the validation phase.
pub async fn read_errors(st: &SamplesState, key: &str) -> Result<Vec<FieldError>, Problem> {
    match get_object(st, key).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).map_err(|e| {
            tracing::error!(error = %e, "stored import errors are unreadable");
            Problem::internal()
        }),
        Ok(None) => Ok(Vec::new()),
        Err(e) => {
            tracing::error!(error = %e, "import errors unavailable");
            Err(Problem::unavailable("file storage is unavailable; retry shortly"))
        }
    }
}

/// Barcodes (of `codes`) already taken in the lab.
async fn taken_barcodes(
    st: &SamplesState,
    lab: &str,
    codes: &[&str],
) -> Result<std::collections::HashSet<String>, Stop> {
    let keys: Vec<(String, String)> = codes
        .iter()
        .map(|c| (keys::barcode(lab, c), keys::BARCODE_SK.to_owned()))
        .collect();
    let found = st.table.batch_get(&keys).await.map_err(|e| match e {
        StoreError::Throttled => Stop::Transient("barcode lookups were throttled".into()),
        other => Stop::from(other),
    })?;
    let taken = found
        .iter()
        .filter_map(|item| item.get("PK").and_then(|v| v.as_s().ok()))
        .map(|pk| pk.rsplit('#').next().unwrap_or_default().to_owned())
        .collect();
    Ok(taken)
}

/// Phase 1: read and check everything; write nothing to the table.
async fn validate(st: &SamplesState, lab: &str, mut imp: Import) -> Result<(), Stop> {
    if imp.status == ImportStatus::Queued {
        imp.status = ImportStatus::Validating;
        imp = save(st, lab, imp, vec![]).await?;
    }
    let bytes = match read_checked(st, &imp).await? {
        Checked::Bytes(b) => b,
        Checked::Missing => return fail(st, lab, imp, "file_missing", "the uploaded file is gone".into()).await,
        Checked::Changed => {
            let detail = "the file was replaced after it was checked; start a new import".into();
            return fail(st, lab, imp, "file_changed", detail).await;
        }
        Checked::TooLarge => {
            let detail = format!("the file is larger than {} bytes", crate::domain::manifest::MAX_BYTES);
            return fail(st, lab, imp, "file_too_large", detail).await;
        }
    };
    let format = Format::detect(&bytes);
    imp.format = Some(format);
    let sheet = match manifest::read(&bytes, format, imp.sheet.as_deref()) {
        Ok(sheet) => sheet,
        Err(e) => return fail(st, lab, imp, e.code(), e.to_string()).await,
    };
    let version = st.template_version(lab, &imp.template_id, imp.template_version).await?;
    let template = version
        .definition
        .compile()
        .map_err(|_| Stop::Transient("a published template does not compile".into()))?;
    let (records, mut errors) = rows::validate(&template, &sheet);
    imp.rows_total = sheet.rows.len() as u32;
    // Barcodes already in the lab are row errors too, found before anything is written.
    let barcode_column = template
        .mapped(crate::domain::template::CoreField::Barcode)
        .map(|i| template.fields[i].def.label.clone())
        .unwrap_or_default();
    let codes: Vec<&str> = records.iter().filter_map(|r| r.fields.barcode.as_deref()).collect();
    let taken = taken_barcodes(st, lab, &codes).await?;
    let mut valid = Vec::with_capacity(records.len());
    for r in records {
        match r.fields.barcode.as_deref() {
            Some(code) if taken.contains(code) => errors.push(row_error(
                r.row,
                &barcode_column,
                code,
                "unique",
                format!("barcode {code} is already in use in this lab"),
            )),
            _ => valid.push(r),
        }
    }
    errors.sort_by_key(|e| e.row);
    imp.rows_valid = valid.len() as u32;
    imp.errors_total = errors.len() as u32;
    if !errors.is_empty() {
        put_json(st, &errors_key(lab, &imp.id), &errors).await?;
        let n = errors.len();
        return fail(
            st,
            lab,
            imp,
            "validation_failed",
            format!("{n} errors; nothing was imported"),
        )
        .await;
    }
    if imp.rows_total == 0 {
        return fail(st, lab, imp, "no_rows", "the file has a header but no rows".into()).await;
    }
    if imp.dry_run {
        imp.status = ImportStatus::Validated;
        imp.finished_at = Some(now_rfc3339());
        let ev = import_event(st, lab, &imp, "import.validated")?;
        return save(st, lab, imp, vec![ev]).await.map(|_| ());
    }
    let needed = valid.iter().filter(|r| r.fields.barcode.is_none()).count();
    let mut codes = st.new_barcodes(lab, needed).await?.into_iter();
    let mut staged = Vec::with_capacity(valid.len());
    for r in valid {
        let barcode = match r.fields.barcode.clone().or_else(|| codes.next()) {
            Some(code) => code,
            None => return Err(Stop::Transient("fewer barcodes than rows".into())),
        };
        staged.push(StagedRow {
            row: r.row,
            barcode,
            fields: r.fields,
        });
    }
    let rows_object = rows_key(lab, &imp.id);
    put_json(st, &rows_object, &staged).await?;
    imp.rows_object = Some(rows_object);
    imp.status = ImportStatus::Committing;
    imp.committed_at = Some(now_rfc3339());
    save(st, lab, imp, vec![]).await.map(|_| ())
}

/// The id of the sample an import creates from its `index`-th row: the same on every run.
pub(crate) fn sample_id(imp: &Import, index: usize) -> String {
    let ms = time::OffsetDateTime::parse(
        imp.committed_at.as_deref().unwrap_or(&imp.created_at),
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as u64)
    .unwrap_or(0);
    // 48 bits from the import, 32 from the row: unique, and in row order within an import.
    let digest = Sha256::digest(imp.id.as_bytes());
    let mut random = [0u8; 16];
    random[6..12].copy_from_slice(&digest[..6]);
    random[12..].copy_from_slice(&(index as u32).to_be_bytes());
    ulid::Ulid::from_parts(ms, u128::from_be_bytes(random)).to_string()
}

fn importer(lab: &str, imp: &Import) -> Principal {
    Principal {
        user_id: imp.created_by.clone(),
        lab_id: lab.to_owned(),
        role: Role::LabTechnician,
        session_id: String::new(),
        token_id: String::new(),
        operator: false,
        expires_at: 0,
    }
}

fn staged_sample(lab: &str, imp: &Import, index: usize, row: &StagedRow) -> Sample {
    let at = imp.committed_at.clone().unwrap_or_else(|| imp.created_at.clone());
    let prepared = Prepared {
        sample_type: row
            .fields
            .sample_type
            .unwrap_or(crate::domain::kinds::SampleType::Other),
        fields: row.fields.clone(),
        template: Some((imp.template_id.clone(), imp.template_version)),
        parent: None,
    };
    let mut sample = new_sample(&importer(lab, imp), prepared, row.barcode.clone(), &at);
    sample.id = sample_id(imp, index);
    sample.import_id = Some(imp.id.clone());
    sample.status = SampleStatus::Pending;
    sample
}

async fn load_rows(st: &SamplesState, imp: &Import) -> Result<Vec<StagedRow>, Stop> {
    let key = imp
        .rows_object
        .as_deref()
        .ok_or_else(|| Stop::Transient("the import names no staged rows".into()))?;
    let bytes = get_object(st, key)
        .await?
        .ok_or_else(|| Stop::Transient("the staged rows are missing".into()))?;
    serde_json::from_slice(&bytes).map_err(|e| Stop::Transient(format!("staged rows unreadable: {e}")))
}

/// The checkpoint action: `rows_committed` moves from `from` to `to` (and nobody else moved it).
fn checkpoint_op(st: &SamplesState, lab: &str, imp: &Import, from: u32, to: u32) -> Result<TransactWriteItem, Stop> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(keys::import(lab, &imp.id)))
        .key("SK", s(keys::IMPORT_SK))
        .update_expression("SET rows_committed = :to, updated_at = :now")
        .condition_expression("rows_committed = :from AND #status = :status")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", tracseq_aws::store::n(to))
        .expression_attribute_values(":from", tracseq_aws::store::n(from))
        .expression_attribute_values(":status", s(imp.status.as_str()))
        .expression_attribute_values(":now", s(now_rfc3339()))
        .build()
        .map_err(|e| Stop::Transient(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Phase 2: write the rows chunk by chunk, each chunk with its checkpoint.
async fn commit(st: &SamplesState, lab: &str, mut imp: Import, chunks_run: &mut u32) -> Result<(), Stop> {
    let rows = load_rows(st, &imp).await?;
    let size = st.settings.chunk_rows;
    let mut done = imp.rows_committed as usize;
    while done < rows.len() {
        if let Some(limit) = st.settings.crash_after_chunks
            && *chunks_run >= limit
        {
            return Err(Stop::Crash(*chunks_run));
        }
        let end = (done + size).min(rows.len());
        let mut ops = Vec::with_capacity((end - done) * 3 + 1);
        for (i, row) in rows.iter().enumerate().take(end).skip(done) {
            ops.extend(create_ops(st, lab, &staged_sample(lab, &imp, i, row))?);
        }
        let checkpoint_at = ops.len();
        ops.push(checkpoint_op(st, lab, &imp, done as u32, end as u32)?);
        match st.table.transact(ops).await {
            Ok(()) => {
                done = end;
                *chunks_run += 1;
            }
            Err(e) if e.failed_action() == Some(checkpoint_at) => {
                // Another delivery of this message moved on; continue from its checkpoint.
                return Err(Stop::Transient("another worker is committing this import".into()));
            }
            Err(e) if e.failed_action().is_some_and(|i| i % 3 == 1) => {
                let row = &rows[done + e.failed_action().unwrap_or(0) / 3];
                let imp = st.import(lab, &imp.id).await?;
                let mut imp = imp;
                imp.status = ImportStatus::RollingBack;
                imp.failure = Some(ImportFailure {
                    code: "barcode_taken".into(),
                    detail: format!(
                        "row {}: barcode {} was taken while the import ran; nothing was imported",
                        row.row, row.barcode
                    ),
                });
                save(st, lab, imp, vec![]).await?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut imp_now = st.import(lab, &imp.id).await?;
    imp_now.status = ImportStatus::Completed;
    imp_now.finished_at = Some(now_rfc3339());
    let ev = import_event(st, lab, &imp_now, "import.completed")?;
    imp = save(st, lab, imp_now, vec![ev]).await?;
    tracing::info!(import = %imp.id, rows = imp.rows_committed, "import committed");
    Ok(())
}

fn delete_op(st: &SamplesState, pk: String, sk: String) -> Result<TransactWriteItem, Stop> {
    let d = Delete::builder()
        .table_name(&st.table.name)
        .key("PK", s(pk))
        .key("SK", s(sk))
        .build()
        .map_err(|e| Stop::Transient(e.to_string()))?;
    Ok(TransactWriteItem::builder().delete(d).build())
}

/// Phase 3: delete what phase 2 wrote, newest chunk first, each chunk with its checkpoint.
async fn roll_back(st: &SamplesState, lab: &str, imp: Import) -> Result<(), Stop> {
    let rows = load_rows(st, &imp).await?;
    let size = st.settings.chunk_rows;
    let mut done = imp.rows_committed as usize;
    while done > 0 {
        let start = done.saturating_sub(size);
        let mut ops = Vec::new();
        for (i, row) in rows.iter().enumerate().take(done).skip(start) {
            let sample = staged_sample(lab, &imp, i, row);
            ops.push(delete_op(st, keys::sample(lab, &sample.id), keys::SAMPLE_SK.into())?);
            ops.push(delete_op(
                st,
                keys::barcode(lab, &sample.barcode),
                keys::BARCODE_SK.into(),
            )?);
            ops.push(delete_op(
                st,
                keys::sample(lab, &sample.id),
                keys::history_sk(&sample.created_at, &sample.id),
            )?);
        }
        ops.push(checkpoint_op(st, lab, &imp, done as u32, start as u32)?);
        st.table.transact(ops).await?;
        done = start;
    }
    let imp = st.import(lab, &imp.id).await?;
    let detail = imp.failure.as_ref().map(|f| f.detail.clone()).unwrap_or_default();
    let code = imp
        .failure
        .as_ref()
        .map(|f| f.code.clone())
        .unwrap_or_else(|| "rolled_back".into());
    fail(st, lab, imp, &code, detail).await
}

/// Phase 4: a `sample.created` event per imported sample.
async fn write_events(st: &SamplesState, lab: &str, imp: Import) -> Result<(), Stop> {
    let rows = load_rows(st, &imp).await?;
    let mut done = imp.events_written as usize;
    let total = imp.rows_committed as usize;
    while done < total {
        let end = (done + 25).min(total);
        let mut events = Vec::with_capacity(end - done);
        for (i, row) in rows.iter().enumerate().take(end).skip(done) {
            let sample = staged_sample(lab, &imp, i, row);
            let mut ev = CloudEvent::new(
                "sample.created",
                lab,
                &format!("samples/{}", sample.id),
                &imp.id,
                sample.created_event_data(),
            )
            .map_err(|e| Stop::Transient(e.to_string()))?;
            // Deterministic id and time: a repeated run rewrites the same item.
            ev.id = sample.id.clone();
            ev.time = tracseq_core::events::normalize_time(&sample.created_at).unwrap_or(ev.time);
            events.push(event_item(&ev)?);
        }
        st.table.batch_put(events).await.map_err(|e| match e {
            StoreError::Throttled => Stop::Transient("event writes were throttled".into()),
            other => Stop::from(other),
        })?;
        st.table
            .client
            .update_item()
            .table_name(&st.table.name)
            .key("PK", s(keys::import(lab, &imp.id)))
            .key("SK", s(keys::IMPORT_SK))
            .update_expression("SET events_written = :to")
            .condition_expression("events_written = :from OR attribute_not_exists(events_written)")
            .expression_attribute_values(":to", tracseq_aws::store::n(end))
            .expression_attribute_values(":from", tracseq_aws::store::n(done))
            .send()
            .await
            .map_err(|e| Stop::from(StoreError::from_sdk(e)))?;
        done = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imp() -> Import {
        serde_json::from_value(json!({
            "id": "01JIMPORT", "template_id": "t", "template_version": 1, "object_key": "k",
            "dry_run": false, "status": "committing", "rows_total": 2, "rows_valid": 2,
            "rows_committed": 0, "errors_total": 0, "version": 1,
            "committed_at": "2026-11-27T01:02:03Z",
            "created_at": "2026-11-27T01:00:00Z", "created_by": "u", "updated_at": "2026-11-27T01:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn sample_ids_are_stable_per_row_and_distinct_across_rows_and_imports() {
        let a = imp();
        let mut b = imp();
        b.id = "01JOTHER".into();
        assert_eq!(sample_id(&a, 0), sample_id(&a, 0));
        assert_ne!(sample_id(&a, 0), sample_id(&a, 1));
        assert_ne!(sample_id(&a, 0), sample_id(&b, 0));
        assert!(sample_id(&a, 0) < sample_id(&a, 1), "row order");
        assert!(sample_id(&a, 0).parse::<ulid::Ulid>().is_ok());
        assert!(tracseq_core::keyed::is_valid_id(&sample_id(&a, 0)));
    }
}
