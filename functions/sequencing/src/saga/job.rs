//! The sequencing-job step of the sample submission saga (docs/sagas.md): a submission
//! that asks for sequencing gets a job for its samples, `submitted`, requested by the
//! submitter; its compensation cancels that job with the reason. The job's id is the
//! submission's, so a redelivered task finds the job it made and makes no second one.

use crate::domain::status::JobStatus;
use crate::model::{Job, keys, now_rfc3339};
use crate::state::SequencingState;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_aws::record::{self, Change};
use tracseq_aws::saga::inject;
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::function::FunctionError;
use tracseq_core::saga::timeline::SagaError;
use tracseq_core::saga::{SagaContext, errors, parse_input, task_error};
use tracseq_lab::kinds::Priority;

/// What the submission asked for (checked by the submissions API; checked again here).
#[derive(Debug, Deserialize)]
struct JobRequest {
    name: String,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CreateArgs {
    sample_ids: Vec<String>,
    sequencing_job: JobRequest,
}

fn job_event(ctx: &SagaContext, kind: &str, data: Value) -> Result<CloudEvent, FunctionError> {
    CloudEvent::new(
        kind,
        &ctx.lab,
        &format!("sequencing/jobs/{}", ctx.saga_id),
        &ctx.saga_id,
        data,
    )
    .map_err(|e| FunctionError::invalid_event(e.to_string()))
}

fn refused(why: impl Into<String>) -> FunctionError {
    FunctionError::new(errors::JOB_REFUSED, why)
}

/// `sequencing_saga_create_job`: a `submitted` job for the submission's samples.
pub async fn create(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, CreateArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "create_job").await?;
    let req = &args.sequencing_job;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(refused("a job's name has 1 to 200 characters"));
    }
    let priority = match req.priority.as_deref() {
        Some(p) => Priority::parse(p).ok_or_else(|| refused(format!("no priority {p}")))?,
        None => Priority::Normal,
    };
    if args.sample_ids.is_empty() || args.sample_ids.len() > 1000 {
        return Err(refused("a job has 1 to 1000 samples"));
    }
    match st.job(&ctx.lab, &ctx.saga_id).await {
        Ok(job) => return Ok(json!({ "job_id": job.id })),
        Err(e) if e.status == 404 => {}
        Err(e) => return Err(task_error(&e, errors::TRANSIENT)),
    }
    let now = now_rfc3339();
    let job = Job {
        id: ctx.saga_id.clone(),
        name: name.to_owned(),
        requested_by: ctx.actor.user_id.clone(),
        priority,
        status: JobStatus::Submitted,
        sample_ids: args.sample_ids.clone(),
        instrument: None,
        reads: None,
        notes: req.notes.clone().filter(|n| !n.trim().is_empty()),
        status_reason: None,
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    };
    let ev = job_event(
        &ctx,
        "sequencing.job_created",
        json!({"job_id": job.id, "name": job.name, "priority": job.priority, "samples": job.sample_ids.len(),
               "requested_by": job.requested_by, "submission_id": ctx.saga_id}),
    )?;
    match crate::store::insert(&st, &ctx.lab, &job, &ev).await {
        Ok(()) => {}
        // A concurrent delivery of the same step made it.
        Err(e) if e.status == 409 => {}
        Err(e) => return Err(task_error(&e, errors::TRANSIENT)),
    }
    Ok(json!({ "job_id": job.id }))
}

#[derive(Debug, Deserialize)]
struct CancelArgs {
    #[serde(default)]
    error: SagaError,
}

/// `sequencing_saga_cancel_job`: compensation of create_job: the submission's job (if it
/// made one) is cancelled with the reason; a job that already ended stays as it is.
pub async fn cancel(st: Arc<SequencingState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, CancelArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "cancel_job").await?;
    let reason: String = format!(
        "submission {} was compensated: {}",
        ctx.saga_id,
        if args.error.error.is_empty() {
            "cancelled".to_owned()
        } else {
            args.error.error.clone()
        }
    )
    .chars()
    .take(500)
    .collect();
    let pk = keys::job(&ctx.lab, &ctx.saga_id);
    let outcome = record::update(&st.table, &ctx.lab, (&pk, keys::JOB_SK), "job", |job: &mut Job| {
        if matches!(job.status, JobStatus::Cancelled | JobStatus::Completed) {
            return Ok(Change::Keep);
        }
        let from = job.status;
        job.status = from
            .transition(JobStatus::Cancelled)
            .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
        job.status_reason = Some(reason.clone());
        job.updated_at = now_rfc3339();
        let ev = job_event(
            &ctx,
            "sequencing.job_status_changed",
            json!({"job_id": job.id, "from": from, "to": JobStatus::Cancelled, "reason": reason,
                   "requested_by": job.requested_by}),
        )
        .map_err(|_| Problem::internal())?;
        Ok(Change::Write(vec![ev]))
    })
    .await;
    match outcome {
        Ok(job) => Ok(json!({ "job_id": job.id, "status": job.status })),
        Err(e) if e.status == 404 => Ok(json!({ "job_id": null })),
        Err(e) => Err(task_error(&e, errors::TRANSIENT)),
    }
}
