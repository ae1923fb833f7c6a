//! The tasks of the sequencing run saga (docs/sagas.md, Sequencing run): reserve the
//! run's pools, libraries and samples; build, check and store its sample sheet (the run is
//! loaded); take its samples into sequencing; and record the start with `run.started`
//! (the run is running). The compensations undo those in reverse, and the end records say
//! how the saga ended. Every task may run twice for one step and does nothing the second
//! time: reservations already held, a sheet already stored, samples already moved and
//! records already written are all skipped.

use crate::domain::platform::SheetFormat;
use crate::domain::run_samples::{not_ready, sample_ids};
use crate::domain::samplesheet::{Severity, render, validate};
use crate::domain::status::RunStatus;
use crate::model::{Run, keys};
use crate::state::SequencingState;
use crate::store::reservations;
use crate::store::run_samples::{run_members, sheet_request, sync};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_aws::record::{self, Change};
use tracseq_aws::saga::inject;
use tracseq_core::events::CloudEvent;
use tracseq_core::function::FunctionError;
use tracseq_core::http::Request;
use tracseq_core::saga::timeline::{self, Failure, SagaError, SagaStatus};
use tracseq_core::saga::{SagaContext, errors, parse_input, task_error};
use tracseq_core::{Problem, now_rfc3339};
use tracseq_lab::status::SampleStatus;

fn transient(p: Problem) -> FunctionError {
    task_error(&p, errors::TRANSIENT)
}

fn run_event(ctx: &SagaContext, kind: &str, data: Value) -> Result<CloudEvent, Problem> {
    CloudEvent::new(
        kind,
        &ctx.lab,
        &format!("sequencing/runs/{}", ctx.saga_id),
        &ctx.saga_id,
        data,
    )
    .map_err(|_| Problem::internal())
}

/// Change the saga's run, again when another writer got there first.
async fn update<F>(st: &SequencingState, ctx: &SagaContext, change: F) -> Result<Run, Problem>
where
    F: FnMut(&mut Run) -> Result<Change, Problem>,
{
    let pk = keys::run(&ctx.lab, &ctx.saga_id);
    record::update(&st.table, &ctx.lab, (&pk, keys::RUN_SK), "run", change).await
}

/// Step `step` begins in the run's start timeline (a redelivered task changes nothing),
/// then the fault a test planted for it, if any, strikes.
async fn begin(st: &SequencingState, ctx: &SagaContext, step: &str) -> Result<Run, FunctionError> {
    let now = now_rfc3339();
    let run = update(st, ctx, |run| {
        let Some(start) = run.start.as_mut().filter(|s| s.status == SagaStatus::Running) else {
            return Ok(Change::Keep);
        };
        let before = start.steps.len();
        timeline::begin(&mut start.steps, step, &now);
        if start.steps.len() == before {
            return Ok(Change::Keep);
        }
        run.updated_at = now.clone();
        Ok(Change::Write(vec![]))
    })
    .await
    .map_err(transient)?;
    inject(&st.table, ctx, step).await?;
    Ok(run)
}

/// `sequencing_run_saga_reserve`: every sample must be ready (validated, out of the
/// freezer), and the run's pools, libraries and samples are reserved for it. Fails with
/// `SamplesNotReady` or `RunConflict` (naming the other run).
pub async fn reserve(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    let run = begin(&st, &ctx, "reserve").await?;
    let members = run_members(&st, &ctx.lab, &run).await.map_err(transient)?;
    if members.is_empty() {
        return Err(FunctionError::new(
            errors::SAMPLES_NOT_READY,
            "the run's pools hold no libraries",
        ));
    }
    let samples = crate::store::samples(&st, &ctx.lab, &sample_ids(&members))
        .await
        .map_err(transient)?;
    // A sample this run already took into sequencing (a redelivered step) is ready.
    let refused: Vec<String> = not_ready(&samples).into_iter().map(|e| e.message).collect();
    if !refused.is_empty() {
        return Err(FunctionError::new(errors::SAMPLES_NOT_READY, refused.join("; ")));
    }
    let taken = reservations::reserve(&st, &ctx.lab, &run.id, &reservations::things_of(&run, &members))
        .await
        .map_err(transient)?;
    if let Some(t) = taken.first() {
        return Err(FunctionError::new(
            errors::RUN_CONFLICT,
            format!("{} {} is in run {} ({} in all)", t.kind, t.id, t.run_id, taken.len()),
        ));
    }
    Ok(json!({ "reserved": members.len() }))
}

/// `sequencing_run_saga_sheet`: the sheet is built from the pools, checked (every error
/// at once: `SampleSheetInvalid`), written to the files bucket, and the run is loaded.
pub async fn sheet(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    let run = begin(&st, &ctx, "sheet").await?;
    let request = sheet_request(&st, &ctx.lab, &run).await.map_err(transient)?;
    let checked = validate(&request);
    if checked.has_errors() {
        let errors: Vec<String> = checked
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| format!("{}: {}", i.code, i.message))
            .collect();
        return Err(FunctionError::new(errors::SAMPLESHEET_INVALID, errors.join("; ")));
    }
    let csv = render(&request, SheetFormat::V2).map_err(|issues| {
        FunctionError::new(
            errors::SAMPLESHEET_INVALID,
            issues.into_iter().map(|i| i.message).collect::<Vec<_>>().join("; "),
        )
    })?;
    let bucket = st
        .files_bucket
        .as_deref()
        .ok_or_else(|| FunctionError::new(errors::TRANSIENT, "FILES_BUCKET is not configured"))?;
    let attempt = run.start.as_ref().map_or(1, |s| s.attempt);
    let key = keys::sheet_object(&ctx.lab, &run.id, attempt);
    st.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("text/csv; charset=utf-8")
        .body(csv.into_bytes().into())
        .send()
        .await
        .map_err(|e| FunctionError::new(errors::TRANSIENT, format!("the sheet was not stored: {e}")))?;
    let now = now_rfc3339();
    let run = update(&st, &ctx, |run| {
        let mut events = Vec::new();
        if run.status == RunStatus::Planned {
            run.status = RunStatus::Loaded;
            events.push(run_event(
                &ctx,
                "sequencing.run_status_changed",
                json!({"run_id": run.id, "from": RunStatus::Planned, "to": RunStatus::Loaded}),
            )?);
        } else if run.status != RunStatus::Loaded {
            return Err(Problem::conflict(
                "invalid_transition",
                format!("the run is {}", run.status.as_str()),
            ));
        }
        let Some(start) = run.start.as_mut() else {
            return Err(Problem::conflict("no_start", "the run has no start saga"));
        };
        if events.is_empty() && start.sheet_key.as_deref() == Some(key.as_str()) {
            return Ok(Change::Keep);
        }
        start.sheet_key = Some(key.clone());
        run.updated_at = now.clone();
        Ok(Change::Write(events))
    })
    .await
    .map_err(|p| task_error(&p, errors::SAMPLES_NOT_READY))?;
    Ok(json!({ "sheet_key": run.start.and_then(|s| s.sheet_key) }))
}

/// `sequencing_run_saga_start`: the run's samples go into sequencing (`validated →
/// in_sequencing`, each with its history line and event). A sample that changed meanwhile
/// into a state the run cannot take it from fails the step with `SamplesNotReady`.
pub async fn start(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    let run = begin(&st, &ctx, "start").await?;
    let moved = move_samples(&st, &ctx, &run, &format!("run {} started", run.name), |s| {
        let out_of_freezer = s.storage.as_ref().is_none_or(|x| x.checked_out);
        (s.status == SampleStatus::Validated && out_of_freezer).then_some(SampleStatus::InSequencing)
    })
    .await?;
    Ok(json!({ "moved": moved }))
}

/// Move the samples this run holds with `target`; any left behind fail the step.
async fn move_samples(
    st: &SequencingState,
    ctx: &SagaContext,
    run: &Run,
    reason: &str,
    target: impl Fn(&tracseq_lab::sample::Sample) -> Option<SampleStatus>,
) -> Result<usize, FunctionError> {
    let ids = reservations::held(st, &ctx.lab, &run.id, "sample")
        .await
        .map_err(transient)?;
    let samples = crate::store::samples(st, &ctx.lab, &ids).await.map_err(transient)?;
    let req = Request::internal(&ctx.saga_id);
    let outcome = sync(st, &req, &ctx.principal(), run, reason, samples, target)
        .await
        .map_err(|p| task_error(&p, errors::SAMPLES_NOT_READY))?;
    if !outcome.not_moved.is_empty() {
        let why: Vec<String> = outcome.not_moved.into_iter().map(|e| e.message).collect();
        return Err(FunctionError::new(errors::SAMPLES_NOT_READY, why.join("; ")));
    }
    Ok(outcome.moved)
}

/// `sequencing_run_saga_complete`: the run is running, the start is `completed`, and
/// `run.started` (which notifies whoever started it) goes out, in one transaction.
pub async fn complete(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    begin(&st, &ctx, "complete").await?;
    let now = now_rfc3339();
    let run = update(&st, &ctx, |run| {
        let Some(start) = run.start.as_mut() else {
            return Err(Problem::conflict("no_start", "the run has no start saga"));
        };
        if start.status == SagaStatus::Completed {
            return Ok(Change::Keep);
        }
        start.status = start
            .status
            .end(SagaStatus::Completed)
            .map_err(|e| Problem::conflict("ended", e))?;
        timeline::succeed(&mut start.steps, &now);
        start.ended_at = Some(now.clone());
        let from = run.status;
        run.status = from
            .transition(RunStatus::Running)
            .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
        run.updated_at = now.clone();
        let requested_by = start.requested_by.clone();
        let sheet_key = start.sheet_key.clone();
        Ok(Change::Write(vec![
            run_event(
                &ctx,
                "sequencing.run_status_changed",
                json!({"run_id": run.id, "from": from, "to": RunStatus::Running}),
            )?,
            run_event(
                &ctx,
                "run.started",
                json!({"run_id": run.id, "name": run.name, "sheet_key": sheet_key, "requested_by": requested_by}),
            )?,
        ]))
    })
    .await
    .map_err(transient)?;
    Ok(json!({ "status": run.status }))
}

/// `sequencing_run_saga_unstart`: compensation of start: the samples this run took into
/// sequencing go back to `validated`.
pub async fn unstart(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    inject(&st.table, &ctx, "unstart").await?;
    let run = st.run(&ctx.lab, &ctx.saga_id).await.map_err(transient)?;
    let moved = move_samples(&st, &ctx, &run, &format!("run {} start undone", run.name), |s| {
        (s.status == SampleStatus::InSequencing).then_some(SampleStatus::Validated)
    })
    .await
    .map_err(|e| FunctionError::new(errors::TRANSIENT, e.error_message))?;
    Ok(json!({ "moved": moved }))
}

/// `sequencing_run_saga_unsheet`: compensation of sheet: the stored sheet is deleted and
/// a run the saga loaded is planned again.
pub async fn unsheet(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    inject(&st.table, &ctx, "unsheet").await?;
    let run = st.run(&ctx.lab, &ctx.saga_id).await.map_err(transient)?;
    if let (Some(key), Some(bucket)) = (
        run.start.as_ref().and_then(|s| s.sheet_key.clone()),
        st.files_bucket.as_deref(),
    ) {
        st.s3
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| FunctionError::new(errors::TRANSIENT, format!("the sheet was not deleted: {e}")))?;
    }
    let now = now_rfc3339();
    update(&st, &ctx, |run| {
        let Some(start) = run.start.as_mut() else {
            return Ok(Change::Keep);
        };
        let mut events = Vec::new();
        if run.status == RunStatus::Loaded && start.from == RunStatus::Planned {
            run.status = RunStatus::Planned;
            events.push(run_event(
                &ctx,
                "sequencing.run_status_changed",
                json!({"run_id": run.id, "from": RunStatus::Loaded, "to": RunStatus::Planned}),
            )?);
        }
        if events.is_empty() && start.sheet_key.is_none() {
            return Ok(Change::Keep);
        }
        start.sheet_key = None;
        run.updated_at = now.clone();
        Ok(Change::Write(events))
    })
    .await
    .map_err(transient)?;
    Ok(json!({}))
}

/// `sequencing_run_saga_unreserve`: compensation of reserve: every reservation the run
/// holds is given back.
pub async fn unreserve(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, _): (SagaContext, Value) = parse_input(&event)?;
    inject(&st.table, &ctx, "unreserve").await?;
    let released = reservations::release(&st, &ctx.lab, &ctx.saga_id)
        .await
        .map_err(transient)?;
    Ok(json!({ "released": released }))
}

#[derive(Debug, Deserialize)]
struct EndArgs {
    /// `compensated` or `failed`.
    outcome: SagaStatus,
    #[serde(default)]
    error: SagaError,
}

/// `sequencing_run_saga_end`: how a start that did not complete ended: `compensated`
/// (`run.compensated`) or `failed` after a compensation gave up (`run.failed`); the
/// record keeps the failed step, its error type and detail.
pub async fn end(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, EndArgs) = parse_input(&event)?;
    let kind = match args.outcome {
        SagaStatus::Compensated => "run.compensated",
        SagaStatus::Failed => "run.failed",
        other => {
            return Err(FunctionError::invalid_event(format!(
                "an end record is compensated or failed, not {}",
                other.as_str()
            )));
        }
    };
    let code = if args.error.error.is_empty() {
        "States.Runtime".to_owned()
    } else {
        args.error.error.clone()
    };
    let detail = args.error.detail();
    let now = now_rfc3339();
    let run = update(&st, &ctx, |run| {
        let Some(start) = run.start.as_mut() else {
            return Err(Problem::conflict("no_start", "the run has no start saga"));
        };
        if start.status == args.outcome {
            return Ok(Change::Keep);
        }
        start.status = start
            .status
            .end(args.outcome)
            .map_err(|e| Problem::conflict("ended", e))?;
        timeline::fail(&mut start.steps, &now, &code);
        start.error = Some(Failure {
            step: timeline::failed_step(&start.steps).map(str::to_owned),
            code: code.clone(),
            detail: detail.clone(),
        });
        start.ended_at = Some(now.clone());
        run.updated_at = now.clone();
        let data = json!({
            "run_id": run.id,
            "name": run.name,
            "step": start.error.as_ref().and_then(|e| e.step.clone()),
            "code": code,
            "detail": detail,
            "requested_by": start.requested_by,
        });
        Ok(Change::Write(vec![run_event(&ctx, kind, data)?]))
    })
    .await
    .map_err(transient)?;
    Ok(json!({ "status": run.start.map(|s| s.status) }))
}
