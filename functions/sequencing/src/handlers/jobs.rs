//! Jobs: requests for sequencing, from draft to completed, through docs/domain.md's machine.
//! Holding, cancelling and failing say why; edits of what is requested end once the job
//! is queued.

use crate::domain::platform::Instrument;
use crate::domain::samplesheet::{READS_RULE, Reads};
use crate::domain::status::JobStatus;
use crate::model::{Job, now_rfc3339};
use crate::state::SequencingState;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::keyed::LabKeys;
use tracseq_core::named::parse_reported;
use tracseq_core::{FieldError, Problem};
use tracseq_lab::kinds::Priority;
use tracseq_lab::sample::Sample;
use tracseq_lab::status::SampleStatus;

const MAX_SAMPLES: usize = 1000;
const MAX_TEXT: usize = 2000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = Option<tracseq_lab::kinds::Priority>)]
    pub priority: Option<String>,
    /// 1 to 1000 distinct samples (stated in [`NewJobWire`]).
    pub sample_ids: Vec<String>,
    #[schema(value_type = Option<crate::domain::platform::Instrument>)]
    pub instrument: Option<String>,
    pub reads: Option<Reads>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

tracseq_core::ruled_body!(
    /// [`NewJob`] as the document states it: distinct samples.
    NewJobWire for NewJob,
    serde_json::json!({ "properties": { "sample_ids": tracseq_core::openapi::distinct_ids(MAX_SAMPLES, false) } })
);

tracseq_core::ruled_body!(
    /// [`JobPatch`] as the document states it: distinct samples.
    JobPatchWire for JobPatch,
    serde_json::json!({ "properties": { "sample_ids": tracseq_core::openapi::distinct_ids(MAX_SAMPLES, true) } })
);

/// `PATCH`: absent keys stay; `sample_ids`, `instrument` and `reads` only before queueing.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(value_type = Option<tracseq_lab::kinds::Priority>)]
    pub priority: Option<String>,
    pub sample_ids: Option<Vec<String>>,
    #[schema(value_type = Option<crate::domain::platform::Instrument>)]
    pub instrument: Option<String>,
    pub reads: Option<Reads>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobTransition {
    pub to: JobStatus,
    /// Required for on_hold, cancelled and failed (at most 500 characters).
    pub reason: Option<String>,
    pub version: Option<u64>,
}

pub type JobPage = tracseq_core::pagination::Page<Job>;

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::field("name", "length", "1 to 200 characters"));
    }
}

fn check_reads(reads: &Option<Reads>, errors: &mut Vec<FieldError>) {
    if reads.is_some_and(|r| !r.valid()) {
        errors.push(FieldError::field("reads", "cycles", READS_RULE));
    }
}

fn check_notes(notes: &Option<String>, errors: &mut Vec<FieldError>) {
    if notes.as_ref().is_some_and(|n| n.chars().count() > MAX_TEXT) {
        errors.push(FieldError::field("notes", "max_length", "at most 2000 characters"));
    }
}

/// Every sample exists in the lab and is not deleted.
async fn check_samples(
    st: &SequencingState,
    lab: &str,
    ids: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<(), Problem> {
    let unique: HashSet<&String> = ids.iter().collect();
    if ids.is_empty() || ids.len() > MAX_SAMPLES || unique.len() != ids.len() {
        errors.push(FieldError::field(
            "sample_ids",
            "length",
            format!("1 to {MAX_SAMPLES} distinct sample ids"),
        ));
        return Ok(());
    }
    let found: Vec<Sample> = crate::store::samples(st, lab, ids).await?;
    for (i, id) in ids.iter().enumerate() {
        if !found.iter().any(|s| &s.id == id && s.status != SampleStatus::Deleted) {
            errors.push(FieldError::field(format!("sample_ids[{i}]"), "exists", "no such sample").with_value(id));
        }
    }
    Ok(())
}

pub async fn create_job(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewJob = req.json_limited(256 * 1024)?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut errors = Vec::new();
        check_name(&body.name, &mut errors);
        check_notes(&body.notes, &mut errors);
        check_reads(&body.reads, &mut errors);
        let priority = match &body.priority {
            Some(x) => parse_reported(&mut errors, "priority", x, Priority::parse, Priority::names()),
            None => Some(Priority::Normal),
        };
        let instrument = body
            .instrument
            .as_deref()
            .and_then(|x| parse_reported(&mut errors, "instrument", x, Instrument::parse, Instrument::names()));
        check_samples(&st, &p.lab_id, &body.sample_ids, &mut errors).await?;
        let (Some(priority), true) = (priority, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        let now = now_rfc3339();
        let job = Job {
            id: ulid::Ulid::new().to_string(),
            name: body.name.trim().to_owned(),
            requested_by: p.user_id.clone(),
            priority,
            status: JobStatus::Draft,
            sample_ids: body.sample_ids.clone(),
            instrument,
            reads: body.reads,
            notes: body.notes.clone().filter(|n| !n.trim().is_empty()),
            status_reason: None,
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        };
        let ev = req.event(
            "sequencing.job_created",
            &p,
            &format!("sequencing/jobs/{}", job.id),
            json!({"job_id": job.id, "name": job.name, "priority": job.priority, "samples": job.sample_ids.len(), "requested_by": job.requested_by}),
        )?;
        crate::store::insert(&st, &p.lab_id, &job, &ev).await?;
        Ok(Response::created(&format!("/api/sequencing/jobs/{}", job.id), &job))
    })
    .await
}

pub async fn get_job(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.job(&p.lab_id, req.path_param("id")?).await?))
}

/// Newest first; `?status=` narrows to one status.
pub async fn list_jobs(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let status = super::status_query::<JobStatus>(&req, "job")?;
    let page: JobPage = crate::store::jobs(
        &st,
        &p.lab_id,
        status,
        &tracseq_core::pagination::PageRequest::from_request(&req)?,
    )
    .await?;
    Ok(Response::ok(&page))
}

pub async fn update_job(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let patch: JobPatch = req.json_limited(256 * 1024)?;
    let expected = expected_version(&req, patch.version)?;
    let current = st.job(&p.lab_id, req.path_param("id")?).await?;
    check_version("job", current.version, expected)?;
    if matches!(current.status, JobStatus::Completed | JobStatus::Cancelled) {
        return Err(Problem::conflict(
            "job_closed",
            "a completed or cancelled job does not change",
        ));
    }
    let editable = matches!(
        current.status,
        JobStatus::Draft | JobStatus::Submitted | JobStatus::Validated
    );
    let mut errors = Vec::new();
    let mut next = current.clone();
    if let Some(n) = &patch.name {
        check_name(n, &mut errors);
        next.name = n.trim().to_owned();
    }
    if let Some(x) = &patch.priority
        && let Some(v) = parse_reported(&mut errors, "priority", x, Priority::parse, Priority::names())
    {
        next.priority = v;
    }
    check_notes(&patch.notes, &mut errors);
    if let Some(n) = &patch.notes {
        next.notes = Some(n.trim().to_owned()).filter(|n| !n.is_empty());
    }
    let scope_change = patch.sample_ids.is_some() || patch.instrument.is_some() || patch.reads.is_some();
    if scope_change && !editable {
        errors.push(FieldError::field(
            "sample_ids",
            "queued",
            "what a job requests cannot change once it is queued",
        ));
    }
    if let Some(ids) = &patch.sample_ids {
        check_samples(&st, &p.lab_id, ids, &mut errors).await?;
        next.sample_ids = ids.clone();
    }
    if let Some(x) = &patch.instrument {
        next.instrument = parse_reported(&mut errors, "instrument", x, Instrument::parse, Instrument::names());
    }
    check_reads(&patch.reads, &mut errors);
    if patch.reads.is_some() {
        next.reads = patch.reads;
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    if next == current {
        return Ok(Response::ok(&current));
    }
    next.version += 1;
    next.updated_at = now_rfc3339();
    let ev = req.event(
        "sequencing.job_updated",
        &p,
        &format!("sequencing/jobs/{}", next.id),
        json!({"job_id": next.id, "priority": next.priority}),
    )?;
    crate::store::replace(&st, &p.lab_id, &next, current.version, &[ev], "job").await?;
    Ok(Response::ok(&next))
}

pub async fn transition_job(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: JobTransition = req.json()?;
    let current = st.job(&p.lab_id, req.path_param("id")?).await?;
    if let Some(expected) = optional_version(&req, body.version)? {
        check_version("job", current.version, expected)?;
    }
    let to = current
        .status
        .transition(body.to)
        .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
    let reason = body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let needs = matches!(to, JobStatus::OnHold | JobStatus::Cancelled | JobStatus::Failed);
    if reason.is_some_and(|r| r.chars().count() > 500) || (needs && reason.is_none()) {
        return Err(Problem::validation(vec![FieldError::field(
            "reason",
            "required",
            "holding, cancelling and failing a job say why (at most 500 characters)",
        )]));
    }
    let mut next = current.clone();
    next.status = to;
    next.status_reason = reason
        .map(str::to_owned)
        .or(if needs { None } else { current.status_reason.clone() });
    next.version += 1;
    next.updated_at = now_rfc3339();
    let ev = req.event(
        "sequencing.job_status_changed",
        &p,
        &format!("sequencing/jobs/{}", next.id),
        json!({"job_id": next.id, "from": current.status, "to": to, "reason": reason, "requested_by": next.requested_by}),
    )?;
    crate::store::replace(&st, &p.lab_id, &next, current.version, &[ev], "job").await?;
    Ok(Response::ok(&next))
}
