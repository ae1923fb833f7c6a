//! The submission's own steps of its saga (docs/sagas.md): a checkpoint before each
//! forward step (the timeline, and where a cancel request takes effect), and the records
//! of how the saga ended, each with its event in the same transaction (the submitter's
//! notification goes out from that event).

use crate::model::Placement;
use crate::state::SubmissionsState;
use crate::store::{self, Change};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_aws::saga::inject;
use tracseq_core::events::CloudEvent;
use tracseq_core::function::FunctionError;
use tracseq_core::saga::timeline::{self as domain, Failure, SagaError, SagaStatus as Status};
use tracseq_core::saga::{SagaContext, errors, parse_input, task_error};
use tracseq_core::{Problem, now_rfc3339};

#[derive(Debug, Deserialize)]
struct StepArgs {
    step: String,
}

fn saga_event(ctx: &SagaContext, kind: &str, data: Value) -> Result<CloudEvent, Problem> {
    CloudEvent::new(
        kind,
        &ctx.lab,
        &format!("submissions/{}", ctx.saga_id),
        &ctx.saga_id,
        data,
    )
    .map_err(|_| Problem::internal())
}

fn transient(p: Problem) -> FunctionError {
    task_error(&p, errors::TRANSIENT)
}

/// `submissions_saga_step`: step `step` begins. Fails with `SubmissionCancelled` when a
/// cancel was asked for, so the saga compensates instead of going on.
pub async fn step(st: Arc<SubmissionsState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, StepArgs) = parse_input(&event)?;
    let now = now_rfc3339();
    let s = store::update(&st, &ctx.lab, &ctx.saga_id, |s| {
        if s.cancel_requested || s.status.is_terminal() {
            return Ok(Change::Keep);
        }
        let before = s.steps.clone();
        domain::begin(&mut s.steps, &args.step, &now);
        if s.steps == before {
            return Ok(Change::Keep);
        }
        s.updated_at = now.clone();
        Ok(Change::Write(vec![]))
    })
    .await
    .map_err(transient)?;
    if s.cancel_requested {
        return Err(FunctionError::new(
            errors::CANCELLED,
            format!("cancelled before step {}", args.step),
        ));
    }
    Ok(json!({ "step": args.step }))
}

#[derive(Debug, Deserialize)]
struct CompleteArgs {
    sample_ids: Vec<String>,
    #[serde(default)]
    positions: Vec<Placement>,
    #[serde(default)]
    job_id: Option<String>,
}

/// `submissions_saga_complete`: the saga succeeded; the record and `submission.completed`
/// (which notifies the submitter) are written together.
pub async fn complete(st: Arc<SubmissionsState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, CompleteArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "complete").await?;
    let now = now_rfc3339();
    let s = store::update(&st, &ctx.lab, &ctx.saga_id, |s| {
        if s.status == Status::Completed {
            return Ok(Change::Keep);
        }
        s.status = s
            .status
            .end(Status::Completed)
            .map_err(|e| Problem::conflict("ended", e))?;
        domain::succeed(&mut s.steps, &now);
        s.sample_ids = args.sample_ids.clone();
        s.positions = args.positions.clone();
        s.job_id = args.job_id.clone();
        s.updated_at = now.clone();
        s.ended_at = Some(now.clone());
        Ok(Change::Write(vec![saga_event(
            &ctx,
            "submission.completed",
            json!({
                "submission_id": s.id,
                "sample_count": s.sample_count,
                "sample_ids": s.sample_ids,
                "stored": s.positions.len(),
                "job_id": s.job_id,
                "requested_by": s.created_by,
            }),
        )?]))
    })
    .await
    .map_err(|p| task_error(&p, errors::TRANSIENT))?;
    Ok(json!({ "status": s.status }))
}

#[derive(Debug, Deserialize)]
struct EndArgs {
    #[serde(default)]
    error: SagaError,
}

/// `submissions_saga_compensated`: a step failed (or the submission was cancelled) and the
/// compensations ran; the record says which step and why, and `submission.compensated`
/// tells the submitter.
pub async fn compensated(st: Arc<SubmissionsState>, event: Value) -> Result<Value, FunctionError> {
    end(st, event, Status::Compensated, "submission.compensated").await
}

/// `submissions_saga_failed`: a compensation failed after its retries; the record keeps
/// the error for an operator, and `submission.failed` goes out.
pub async fn failed(st: Arc<SubmissionsState>, event: Value) -> Result<Value, FunctionError> {
    end(st, event, Status::Failed, "submission.failed").await
}

async fn end(st: Arc<SubmissionsState>, event: Value, to: Status, kind: &str) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, EndArgs) = parse_input(&event)?;
    let now = now_rfc3339();
    let code = if args.error.error.is_empty() {
        "States.Runtime".to_owned()
    } else {
        args.error.error.clone()
    };
    let detail = args.error.detail();
    let s = store::update(&st, &ctx.lab, &ctx.saga_id, |s| {
        if s.status == to {
            return Ok(Change::Keep);
        }
        // A failed compensation may follow a compensated record only if that record was
        // never written; otherwise the first ending stands.
        s.status = s.status.end(to).map_err(|e| Problem::conflict("ended", e))?;
        domain::fail(&mut s.steps, &now, &code);
        s.error = Some(Failure {
            step: domain::failed_step(&s.steps).map(str::to_owned),
            code: code.clone(),
            detail: detail.clone(),
        });
        s.updated_at = now.clone();
        s.ended_at = Some(now.clone());
        Ok(Change::Write(vec![saga_event(
            &ctx,
            kind,
            json!({
                "submission_id": s.id,
                "sample_count": s.sample_count,
                "step": s.error.as_ref().and_then(|e| e.step.clone()),
                "code": code,
                "detail": detail,
                "requested_by": s.created_by,
            }),
        )?]))
    })
    .await
    .map_err(transient)?;
    Ok(json!({ "status": s.status }))
}
