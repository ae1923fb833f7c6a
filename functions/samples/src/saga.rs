//! The samples steps of the sample submission saga (docs/sagas.md): register a chunk of
//! the submitted samples, validate the registered ones (`pending → validated`), and, when
//! the saga compensates, reject them with the reason.
//!
//! Registering a chunk is one transaction: its samples (record, barcode guard, first
//! history line, event) and a marker item that holds the chunk's outcome. A redelivered
//! task finds the marker and answers what the first run did, so no chunk is ever
//! registered twice; a chunk with a bad row writes no sample, only the marker with the
//! row errors (the validate step then fails the saga).

use crate::domain::status::SampleStatus;
use crate::handlers::samples::{
    Prepared, TemplateCache, change_status, created_event, new_sample, plan_status, prepare,
};
use crate::model::{Sample, now_rfc3339};
use crate::state::SamplesState;
use crate::store::samples as store;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use tracseq_aws::saga::inject;
use tracseq_aws::store::{StoreError, from_item, keyed_item};
use tracseq_core::auth::Principal;
use tracseq_core::function::FunctionError;
use tracseq_core::http::Request;
use tracseq_core::keyed::lab_key;
use tracseq_core::saga::{SagaContext, errors, parse_input, task_error};
use tracseq_core::{FieldError, Problem};

/// The most samples one chunk (one transaction of 4 actions each, plus the marker) holds.
pub const CHUNK: usize = 24;

/// Samples validated or rejected at once.
const PARALLEL: usize = 8;

#[derive(Debug, Deserialize)]
struct Chunk {
    index: u32,
    /// The position of the chunk's first sample in the submission.
    offset: usize,
    /// Sample bodies (an inline submission).
    #[serde(default)]
    samples: Vec<Value>,
    /// Or rows `offset..offset + count` of a finished import, whose samples exist.
    #[serde(default)]
    import_id: Option<String>,
    #[serde(default)]
    count: usize,
}

#[derive(Debug, Deserialize)]
struct RegisterArgs {
    chunk: Chunk,
}

/// The row errors of one submitted sample.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowErrors {
    /// The sample's position in the submission (from 0).
    pub index: usize,
    pub code: String,
    pub errors: Vec<FieldError>,
}

/// What registering one chunk did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registered {
    pub index: u32,
    pub sample_ids: Vec<String>,
    pub errors: Vec<RowErrors>,
}

fn marker_pk(lab: &str, submission: &str) -> String {
    lab_key(lab, &["SUBMISSION", submission, "SAMPLES"])
}

fn marker_sk(index: u32) -> String {
    format!("CHUNK#{index:05}")
}

async fn marker(st: &SamplesState, lab: &str, submission: &str, index: u32) -> Result<Option<Registered>, StoreError> {
    st.table.get_as(&marker_pk(lab, submission), &marker_sk(index)).await
}

/// `samples_saga_register`: register one chunk of the submission, all or none.
pub async fn register(st: Arc<SamplesState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, RegisterArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "register").await?;
    let chunk = args.chunk;
    if let Some(import) = &chunk.import_id {
        return adopt(&st, &ctx, chunk.index, import, chunk.offset, chunk.count).await;
    }
    if chunk.samples.len() > CHUNK {
        return Err(FunctionError::invalid_event(format!(
            "a chunk has at most {CHUNK} samples"
        )));
    }
    if let Some(done) = marker(&st, &ctx.lab, &ctx.saga_id, chunk.index)
        .await
        .map_err(FunctionError::transient)?
    {
        return to_value(&done);
    }
    let p = ctx.principal();
    let mut cache = TemplateCache::default();
    let mut prepared = Vec::with_capacity(chunk.samples.len());
    let mut rows = Vec::new();
    for (i, raw) in chunk.samples.iter().enumerate() {
        match prepare(&st, &ctx.lab, raw, &mut cache).await {
            Ok(x) => prepared.push(x),
            Err(e) if e.status >= 500 || e.status == 429 => return Err(task_error(&e, errors::VALIDATION_FAILED)),
            Err(e) => rows.push(row(chunk.offset + i, &e)),
        }
    }
    rows.extend(repeated_barcodes(&prepared, chunk.offset));
    let outcome = if rows.is_empty() {
        write(&st, &ctx, &p, chunk.index, prepared, chunk.offset).await?
    } else {
        Registered {
            index: chunk.index,
            sample_ids: vec![],
            errors: rows,
        }
    };
    if outcome.sample_ids.is_empty() {
        let item = keyed_item(
            &outcome,
            &[
                ("PK", marker_pk(&ctx.lab, &ctx.saga_id)),
                ("SK", marker_sk(chunk.index)),
            ],
            "submission_chunk",
        )
        .map_err(FunctionError::transient)?;
        match st.table.put_new(item).await {
            Ok(()) => {}
            Err(e) if e.is_condition_failure() => {}
            Err(e) => return Err(FunctionError::transient(e)),
        }
    }
    to_value(&outcome)
}

/// Register rows `offset..offset + count` of a finished import: its samples exist (the
/// import committed them, `pending`), so the chunk's marker only records their ids; a row
/// whose sample is gone is a row error. The submissions API made sure one import feeds
/// one submission.
async fn adopt(
    st: &SamplesState,
    ctx: &SagaContext,
    index: u32,
    import: &str,
    offset: usize,
    count: usize,
) -> Result<Value, FunctionError> {
    if count == 0 || count > CHUNK * 4 {
        return Err(FunctionError::invalid_event("an import chunk has 1 to 96 rows"));
    }
    if let Some(done) = marker(st, &ctx.lab, &ctx.saga_id, index)
        .await
        .map_err(FunctionError::transient)?
    {
        return to_value(&done);
    }
    let imp = st
        .import(&ctx.lab, import)
        .await
        .map_err(|e| task_error(&e, errors::VALIDATION_FAILED))?;
    if imp.status != tracseq_lab::sample::ImportStatus::Completed {
        return Err(FunctionError::new(
            errors::VALIDATION_FAILED,
            format!("import {import} is {}, not completed", imp.status.as_str()),
        ));
    }
    let ids: Vec<String> = (offset..offset + count)
        .map(|i| crate::import::sample_id(&imp, i))
        .collect();
    let keys: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            (
                tracseq_lab::keys::sample(&ctx.lab, id),
                tracseq_lab::keys::SAMPLE_SK.to_owned(),
            )
        })
        .collect();
    let found: Vec<Sample> = st
        .table
        .batch_get(&keys)
        .await
        .map_err(FunctionError::transient)?
        .into_iter()
        .map(from_item::<Sample>)
        .collect::<Result<_, _>>()
        .map_err(FunctionError::transient)?;
    let mut outcome = Registered {
        index,
        sample_ids: Vec::with_capacity(count),
        errors: vec![],
    };
    for (i, id) in ids.iter().enumerate() {
        match found.iter().find(|x| &x.id == id) {
            Some(x) if x.status != SampleStatus::Deleted && x.import_id.as_deref() == Some(import) => {
                outcome.sample_ids.push(id.clone());
            }
            _ => outcome.errors.push(RowErrors {
                index: offset + i,
                code: "not_found".into(),
                errors: vec![FieldError::field(
                    "row",
                    "exists",
                    format!("row {} of import {import} has no sample", offset + i + 1),
                )],
            }),
        }
    }
    if !outcome.errors.is_empty() {
        outcome.sample_ids.clear();
    }
    let item = keyed_item(
        &outcome,
        &[("PK", marker_pk(&ctx.lab, &ctx.saga_id)), ("SK", marker_sk(index))],
        "submission_chunk",
    )
    .map_err(FunctionError::transient)?;
    match st.table.put_new(item).await {
        Ok(()) => to_value(&outcome),
        // An earlier delivery wrote it: answer what that one recorded.
        Err(e) if e.is_condition_failure() => marker(st, &ctx.lab, &ctx.saga_id, index)
            .await
            .map_err(FunctionError::transient)?
            .map_or_else(
                || Err(FunctionError::transient("the chunk marker vanished")),
                |m| to_value(&m),
            ),
        Err(e) => Err(FunctionError::transient(e)),
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, FunctionError> {
    serde_json::to_value(v).map_err(FunctionError::transient)
}

fn row(index: usize, e: &Problem) -> RowErrors {
    RowErrors {
        index,
        code: e.code.clone(),
        errors: e.errors.clone(),
    }
}

/// Rows of the chunk that repeat a barcode given earlier in it.
fn repeated_barcodes(prepared: &[Prepared], offset: usize) -> Vec<RowErrors> {
    let mut seen = HashSet::new();
    prepared
        .iter()
        .enumerate()
        .filter_map(|(i, x)| {
            let code = x.fields.barcode.as_ref()?;
            (!seen.insert(code.clone())).then(|| RowErrors {
                index: offset + i,
                code: "barcode_taken".into(),
                errors: vec![FieldError::field("barcode", "unique", "given twice in the submission").with_value(code)],
            })
        })
        .collect()
}

/// Write the chunk's samples with their marker in one transaction.
async fn write(
    st: &SamplesState,
    ctx: &SagaContext,
    p: &Principal,
    index: u32,
    mut prepared: Vec<Prepared>,
    offset: usize,
) -> Result<Registered, FunctionError> {
    let missing = prepared.iter().filter(|x| x.fields.barcode.is_none()).count();
    let mut codes = st
        .new_barcodes(&ctx.lab, missing)
        .await
        .map_err(|e| task_error(&e, errors::TRANSIENT))?
        .into_iter();
    let req = Request::internal(&ctx.saga_id);
    let now = now_rfc3339();
    let mut samples: Vec<Sample> = Vec::with_capacity(prepared.len());
    let mut ops = Vec::with_capacity(prepared.len() * 4 + 1);
    for x in prepared.iter_mut() {
        let barcode = match x.fields.barcode.clone() {
            Some(b) => b,
            None => codes
                .next()
                .ok_or_else(|| FunctionError::transient("no barcode was allocated"))?,
        };
        let sample = new_sample(p, x.clone(), barcode, &now);
        ops.extend(store::create_ops(st, &ctx.lab, &sample).map_err(FunctionError::transient)?);
        let ev = created_event(p, &req, &sample).map_err(|e| task_error(&e, errors::TRANSIENT))?;
        ops.push(tracseq_aws::outbox::put_event_op(&st.table, &ev).map_err(FunctionError::transient)?);
        samples.push(sample);
    }
    let outcome = Registered {
        index,
        sample_ids: samples.iter().map(|s| s.id.clone()).collect(),
        errors: vec![],
    };
    let item = keyed_item(
        &outcome,
        &[("PK", marker_pk(&ctx.lab, &ctx.saga_id)), ("SK", marker_sk(index))],
        "submission_chunk",
    )
    .map_err(FunctionError::transient)?;
    ops.push(st.table.put_new_op(item).map_err(FunctionError::transient)?);
    let marker_at = ops.len() - 1;
    match st.table.transact(ops).await {
        Ok(()) => Ok(outcome),
        // The same chunk was registered by an earlier delivery of this task.
        Err(e) if e.failed_action() == Some(marker_at) => marker(st, &ctx.lab, &ctx.saga_id, index)
            .await
            .map_err(FunctionError::transient)?
            .ok_or_else(|| FunctionError::transient("the chunk marker vanished")),
        Err(e) if e.is_condition_failure() => {
            // A barcode someone else holds: name the rows, write nothing.
            let mut rows = Vec::new();
            for (i, s) in samples.iter().enumerate() {
                if store::by_barcode(st, &ctx.lab, &s.barcode)
                    .await
                    .map_err(|e| task_error(&e, errors::TRANSIENT))?
                    .is_some()
                {
                    rows.push(row(offset + i, &store::barcode_taken(&s.barcode)));
                }
            }
            if rows.is_empty() {
                return Err(FunctionError::transient("the chunk lost a race; retry"));
            }
            Ok(Registered {
                index,
                sample_ids: vec![],
                errors: rows,
            })
        }
        Err(e) => Err(FunctionError::transient(e)),
    }
}

#[derive(Debug, Deserialize)]
struct ValidateArgs {
    registered: Vec<Registered>,
}

/// `samples_saga_validate`: the submission goes on only if every row registered; then
/// each sample moves `pending → validated` (its history line and `sample.validated`).
pub async fn validate(st: Arc<SamplesState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, ValidateArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "validate").await?;
    let mut rows: Vec<&RowErrors> = args.registered.iter().flat_map(|r| &r.errors).collect();
    if !rows.is_empty() {
        rows.sort_by_key(|r| r.index);
        let detail = serde_json::to_string(&rows).unwrap_or_default();
        return Err(FunctionError::new(
            errors::VALIDATION_FAILED,
            format!("{} rows break the rules: {detail}", rows.len()),
        ));
    }
    let mut chunks: Vec<&Registered> = args.registered.iter().collect();
    chunks.sort_by_key(|r| r.index);
    let ids: Vec<String> = chunks.iter().flat_map(|r| r.sample_ids.iter().cloned()).collect();
    let req = Request::internal(&ctx.saga_id);
    let p = ctx.principal();
    move_all(&st, &ctx.lab, &req, &p, &ids, SampleStatus::Validated, None).await?;
    Ok(json!({ "sample_ids": ids }))
}

/// `samples_saga_reject`: the compensation of `register` and `validate`. Every sample the
/// submission registered (found by its chunk markers) becomes `rejected` with the reason.
pub async fn reject(st: Arc<SamplesState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    inject(&st.table, &ctx, "reject").await?;
    let why = event["error"]["Error"].as_str().unwrap_or("failed");
    let reason = format!("submission {} was compensated: {why}", ctx.saga_id);
    let chunks = st
        .table
        .query_prefix(&marker_pk(&ctx.lab, &ctx.saga_id), "CHUNK#")
        .await
        .map_err(FunctionError::transient)?;
    let mut ids = Vec::new();
    for item in chunks {
        let r: Registered = from_item(item).map_err(FunctionError::transient)?;
        ids.extend(r.sample_ids);
    }
    let req = Request::internal(&ctx.saga_id);
    let p = ctx.principal();
    move_all(&st, &ctx.lab, &req, &p, &ids, SampleStatus::Rejected, Some(reason)).await?;
    Ok(json!({ "rejected": ids.len() }))
}

/// Samples whose status changes go in one transaction (4 actions each at most).
const GROUP: usize = 24;

/// Move every sample of `ids` to `to`, 24 to a transaction; one already there is
/// skipped, so a redelivered step does nothing twice. A group that loses a race (someone
/// changed one of its samples) is done sample by sample.
async fn move_all(
    st: &SamplesState,
    lab: &str,
    req: &Request,
    p: &Principal,
    ids: &[String],
    to: SampleStatus,
    reason: Option<String>,
) -> Result<(), FunctionError> {
    let groups: Vec<Vec<String>> = ids.chunks(GROUP).map(<[_]>::to_vec).collect();
    let outcomes: Vec<Result<(), Problem>> = futures::stream::iter(groups)
        .map(|group: Vec<String>| {
            let reason = reason.clone();
            async move {
                let mut changes = Vec::with_capacity(group.len());
                let mut alone = Vec::new();
                for current in read_all(st, lab, &group).await? {
                    if current.status == to {
                        continue;
                    }
                    if current.storage.is_some() {
                        alone.push(current);
                        continue;
                    }
                    changes.push(plan_status(req, p, current, to, reason.clone())?);
                }
                let refs: Vec<_> = changes
                    .iter()
                    .map(|c| (&c.current, &c.next, &c.history, c.events.as_slice()))
                    .collect();
                if !refs.is_empty() && store::save_all(st, lab, &refs).await.is_err() {
                    alone.extend(changes.into_iter().map(|c| c.current));
                }
                for current in alone {
                    let fresh = st.sample(lab, &current.id).await?;
                    if fresh.status != to {
                        change_status(st, req, p, fresh, to, reason.clone()).await?;
                    }
                }
                Ok(())
            }
        })
        .buffer_unordered(PARALLEL / 2)
        .collect()
        .await;
    match outcomes.into_iter().find_map(Result::err) {
        None => Ok(()),
        Some(e) => Err(task_error(&e, errors::TRANSIENT)),
    }
}

/// The samples of `ids` in one batch read; a missing one is an error (the saga wrote it).
async fn read_all(st: &SamplesState, lab: &str, ids: &[String]) -> Result<Vec<Sample>, Problem> {
    let keys: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            (
                tracseq_lab::keys::sample(lab, id),
                tracseq_lab::keys::SAMPLE_SK.to_owned(),
            )
        })
        .collect();
    let found = st.table.batch_get(&keys).await?;
    if found.len() != ids.len() {
        return Err(Problem::unavailable("a sample of the submission could not be read"));
    }
    found
        .into_iter()
        .map(|i| from_item::<Sample>(i).map_err(Problem::from))
        .collect()
}
