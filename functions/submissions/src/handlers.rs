//! The submissions API: start a submission (its saga), list and read them, cancel one.

use crate::domain::{chunks, import_chunks};
use crate::model::{MAX_SAMPLES, NewSubmission, Submission};
use crate::state::SubmissionsState;
use crate::store::{self, Change};
use aws_sdk_sfn::error::ProvideErrorMetadata;
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response, header};
use tracseq_core::keyed::{LabKeys, is_valid_id};
use tracseq_core::pagination::PageRequest;
use tracseq_core::saga::timeline::SagaStatus as Status;
use tracseq_core::saga::{Actor, SagaContext, check_faults};
use tracseq_core::{FieldError, Problem, now_rfc3339};
use tracseq_lab::kinds::Priority;

/// Samples per Map item of the register step: one transaction each (4 actions a sample
/// and the chunk's marker stay under DynamoDB's 100).
const CHUNK: usize = 24;

/// Step Functions takes at most 256 KiB of execution input.
const MAX_INPUT: usize = 256 * 1024;

fn check(body: &NewSubmission, faults_allowed: bool) -> Result<(), Problem> {
    let mut errors = Vec::new();
    match &body.import_id {
        None if body.samples.is_empty() || body.samples.len() > MAX_SAMPLES => {
            errors.push(FieldError::field(
                "samples",
                "length",
                format!("a submission has 1 to {MAX_SAMPLES} samples (import larger manifests)"),
            ));
        }
        Some(_) if !body.samples.is_empty() => {
            errors.push(FieldError::field(
                "samples",
                "one_source",
                "a submission takes its samples from a list or from an import, not both",
            ));
        }
        Some(id) if !is_valid_id(id) => {
            errors.push(FieldError::field("import_id", "pattern", "an import id").with_value(id));
        }
        _ => {}
    }
    for (i, s) in body.samples.iter().enumerate() {
        if !s.is_object() {
            errors.push(FieldError::field(format!("samples[{i}]"), "type", "must be an object"));
        }
    }
    if let Some(t) = &body.storage {
        if t.location_ids.is_empty() || t.location_ids.len() > 20 {
            errors.push(FieldError::field("storage.location_ids", "length", "1 to 20 boxes"));
        }
        for (i, id) in t.location_ids.iter().enumerate() {
            if id.len() != 26 || ulid::Ulid::from_string(id).is_err() {
                errors.push(FieldError::field(
                    format!("storage.location_ids[{i}]"),
                    "pattern",
                    "a location id",
                ));
            }
        }
    }
    if let Some(job) = &body.sequencing_job {
        if job.name.trim().is_empty() || job.name.chars().count() > 200 {
            errors.push(FieldError::field(
                "sequencing_job.name",
                "length",
                "1 to 200 characters",
            ));
        }
        if let Some(p) = &job.priority
            && Priority::parse(p).is_none()
        {
            errors.push(FieldError::field("sequencing_job.priority", "one_of", Priority::names()).with_value(p));
        }
        if job.notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            errors.push(FieldError::field(
                "sequencing_job.notes",
                "max_length",
                "at most 2000 characters",
            ));
        }
    }
    errors.extend(check_faults(&body.faults, faults_allowed));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// `POST /api/submissions`: 202 with the running submission; its saga goes on alone.
pub async fn create(st: Arc<SubmissionsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewSubmission = req.json_limited(MAX_INPUT)?;
    check(&body, st.faults_allowed)?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let by = Actor {
            user_id: p.user_id.clone(),
            role: p.role,
        };
        let id = ulid::Ulid::new().to_string();
        let submission = start(&st, &p.lab_id, by, id, &body, &req.correlation_id).await?;
        let id = &submission.id;
        Ok(Response::json(202, &submission).with_header(header::LOCATION, &format!("/api/submissions/{id}")))
    })
    .await
}

/// Record a submission and start its saga; the submission's id names the execution.
pub async fn start(
    st: &SubmissionsState,
    lab: &str,
    by: Actor,
    id: String,
    body: &NewSubmission,
    correlation_id: &str,
) -> Result<Submission, Problem> {
    let arn = st
        .state_machine_arn
        .clone()
        .ok_or_else(|| Problem::unavailable("submissions are not configured on this stack"))?;
    let (sample_count, chunk_items) = match &body.import_id {
        Some(import) => {
            let rows = store::import_rows(st, lab, import).await?;
            if rows as usize > MAX_SAMPLES {
                return Err(Problem::validation(vec![
                    FieldError::field(
                        "import_id",
                        "length",
                        format!("the import has {rows} samples; a submission takes at most {MAX_SAMPLES}"),
                    )
                    .with_value(import),
                ]));
            }
            let items = serde_json::to_value(import_chunks(import, rows as usize, CHUNK));
            (rows, items)
        }
        None => (
            body.samples.len() as u32,
            serde_json::to_value(chunks(&body.samples, CHUNK)),
        ),
    };
    let ctx = SagaContext {
        saga_id: id.clone(),
        lab: lab.to_owned(),
        actor: by.clone(),
        faults: body.faults.clone(),
    };
    let mut input = serde_json::to_value(&ctx).map_err(|_| Problem::internal())?;
    input["storage"] = serde_json::to_value(&body.storage).map_err(|_| Problem::internal())?;
    input["sequencing_job"] = serde_json::to_value(&body.sequencing_job).map_err(|_| Problem::internal())?;
    input["chunks"] = chunk_items.map_err(|_| Problem::internal())?;
    let input = input.to_string();
    if input.len() > MAX_INPUT {
        return Err(Problem::payload_too_large(MAX_INPUT));
    }
    let now = now_rfc3339();
    // The execution is named after the submission: a second start of the same one
    // is refused by Step Functions, never run twice.
    let execution_arn = format!("{}:{id}", arn.replacen(":stateMachine:", ":execution:", 1));
    let submission = Submission {
        id: id.clone(),
        status: Status::Running,
        sample_count,
        import_id: body.import_id.clone(),
        storage: body.storage.clone(),
        steps: vec![],
        sample_ids: vec![],
        positions: vec![],
        job_id: None,
        error: None,
        cancel_requested: false,
        execution_arn,
        created_at: now.clone(),
        created_by: by.user_id.clone(),
        updated_at: now,
        ended_at: None,
        version: 1,
    };
    let started = CloudEvent::new(
        "submission.started",
        lab,
        &format!("submissions/{id}"),
        correlation_id,
        json!({
            "submission_id": id,
            "sample_count": submission.sample_count,
            "requested_by": by.user_id,
        }),
    )
    .map_err(|_| Problem::internal())?;
    store::insert(st, lab, &submission, &started).await?;
    let start = st
        .sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(&id)
        .input(input)
        .send()
        .await;
    match start {
        Ok(_) => {}
        Err(e) if e.code() == Some("ExecutionAlreadyExists") => {}
        Err(e) => {
            tracing::error!(error = ?e, submission = %id, "the saga did not start");
            // Nothing ran: the submission is taken back so no record claims to run.
            if let Err(e) = store::forget(st, lab, &submission).await {
                tracing::error!(error = %e, submission = %id, "could not take back the submission");
            }
            return Err(Problem::unavailable("the submission could not be started; retry"));
        }
    }
    Ok(submission)
}

/// What the intake service sends to start a submission from a reviewed document.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromDocument {
    pub lab: String,
    pub user_id: String,
    pub role: tracseq_core::auth::Role,
    /// The document's id, which the submission takes: one document, one submission.
    pub submission_id: String,
    pub correlation_id: String,
    pub samples: Vec<serde_json::Value>,
    #[serde(default)]
    pub storage: Option<crate::model::StorageTarget>,
}

/// `submissions_from_document` (invoked by the intake service): the submission, new or
/// the one this document started already, or the refusal as a problem's fields.
pub async fn from_document(
    st: Arc<SubmissionsState>,
    event: serde_json::Value,
) -> Result<serde_json::Value, tracseq_core::function::FunctionError> {
    let refused = |p: Problem| json!({ "status": p.status, "code": p.code, "detail": p.detail, "errors": p.errors });
    let cmd: FromDocument = match serde_json::from_value(event) {
        Ok(c) => c,
        Err(e) => return Ok(refused(Problem::bad_request("invalid_command", e.to_string()))),
    };
    let body = NewSubmission {
        samples: cmd.samples,
        import_id: None,
        storage: cmd.storage,
        sequencing_job: None,
        faults: vec![],
    };
    if let Err(p) = check(&body, false) {
        return Ok(refused(p));
    }
    if !is_valid_id(&cmd.submission_id) || !is_valid_id(&cmd.lab) {
        return Ok(refused(Problem::bad_request(
            "invalid_command",
            "ids must be plain identifiers",
        )));
    }
    if let Ok(Some(existing)) = store::find(&st, &cmd.lab, &cmd.submission_id).await {
        return Ok(json!({ "status": 202, "submission": existing }));
    }
    let by = Actor {
        user_id: cmd.user_id,
        role: cmd.role,
    };
    match start(&st, &cmd.lab, by, cmd.submission_id.clone(), &body, &cmd.correlation_id).await {
        Ok(s) => Ok(json!({ "status": 202, "submission": s })),
        // Two submits of one document raced: the other one's submission is this one's.
        Err(p) if p.code == "submission_exists" => match store::find(&st, &cmd.lab, &cmd.submission_id).await {
            Ok(Some(s)) => Ok(json!({ "status": 202, "submission": s })),
            _ => Ok(refused(p)),
        },
        Err(p) => Ok(refused(p)),
    }
}

pub async fn list(st: Arc<SubmissionsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = store::page(&st, &p.lab_id, &PageRequest::from_request(&req)?).await?;
    Ok(Response::ok(&page))
}

pub async fn get(st: Arc<SubmissionsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&store::get(&st, &p.lab_id, req.path_param("id")?).await?))
}

/// `POST /api/submissions/{id}/cancel`: the saga stops before its next step and undoes
/// what it did (202); a submission that has ended answers 409.
pub async fn cancel(st: Arc<SubmissionsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?.to_owned();
    let s = store::update(&st, &p.lab_id, &id, |s| {
        if s.status.is_terminal() {
            return Err(Problem::conflict(
                "not_running",
                format!("the submission has ended ({})", s.status.as_str()),
            ));
        }
        if s.cancel_requested {
            return Ok(Change::Keep);
        }
        s.cancel_requested = true;
        s.updated_at = now_rfc3339();
        Ok(Change::Write(vec![]))
    })
    .await?;
    Ok(Response::json(202, &s))
}
