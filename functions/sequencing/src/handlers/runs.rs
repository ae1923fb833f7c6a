//! Runs: an instrument, a flow cell, a read structure and the pools on each lane; their
//! status machine; the sample sheet built from the pools' libraries (validated whole,
//! exported in v2 or v1); QC judged against the thresholds.

use crate::domain::platform::{FlowCell, Instrument, SheetFormat};
use crate::domain::qc::{Metric, Verdict, evaluate};
use crate::domain::run_samples::{not_ready, sample_ids};
use crate::domain::samplesheet::{Issue, READS_RULE, Reads, Severity, render, validate};
use crate::domain::status::RunStatus;
use crate::model::PoolMember;
use crate::model::{QcResult, Run, RunLane, RunQc, RunStart, now_rfc3339};
use crate::state::SequencingState;
use crate::store::reservations::{self, Taken};
use crate::store::run_samples::{SampleSync, run_members, sheet_request, sync};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::keyed::LabKeys;
use tracseq_core::named::parse_reported;
use tracseq_core::saga::timeline::SagaStatus;
use tracseq_core::saga::{Actor, Fault, SagaContext, check_faults};
use tracseq_core::sheet::{Cell, Format, Sheet};
use tracseq_core::{FieldError, Problem};
use tracseq_lab::status::SampleStatus;

/// `POST /api/sequencing/runs`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = crate::domain::platform::Instrument)]
    pub instrument: String,
    /// A flow cell type of the instrument (`10B`, `S4`, `MiSeq v3` …).
    pub flow_cell: String,
    pub reads: Reads,
    #[schema(min_items = 1, max_items = 8)]
    pub lanes: Vec<RunLane>,
    /// Mismatches per index read, 0–2 (default 1).
    #[schema(maximum = 2)]
    pub barcode_mismatches: Option<u8>,
    /// Lower mismatches (with a warning) instead of refusing close indexes.
    pub allow_lower_mismatches: Option<bool>,
    /// The job the run serves.
    #[schema(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub job_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunTransition {
    pub to: RunStatus,
    pub run_folder: Option<String>,
    pub version: Option<u64>,
}

/// Metrics as submitted: keys are [`Metric`] names.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaneMetrics {
    #[schema(minimum = 1, maximum = 8)]
    pub lane: u8,
    pub metrics: BTreeMap<Metric, f64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LibraryMetrics {
    #[schema(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub library_id: String,
    pub metrics: BTreeMap<Metric, f64>,
}

/// `POST /api/sequencing/runs/{id}/qc`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQc {
    #[serde(default)]
    pub lanes: Vec<LaneMetrics>,
    #[serde(default)]
    pub libraries: Vec<LibraryMetrics>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

pub type RunPage = tracseq_core::pagination::Page<Run>;

/// Every problem of a run's sheet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SheetCheck {
    /// No errors: the sheet can be exported.
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    pub issues: Vec<Issue>,
}

fn check_new(body: &NewRun, cells: &[FlowCell]) -> Result<(Instrument, u8), Problem> {
    let mut errors = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::field("name", "length", "1 to 100 characters"));
    }
    let instrument = parse_reported(
        &mut errors,
        "instrument",
        &body.instrument,
        Instrument::parse,
        Instrument::names(),
    );
    let cell = instrument.and_then(|i| {
        let found = cells
            .iter()
            .find(|c| c.instrument == i && c.name.eq_ignore_ascii_case(body.flow_cell.trim()))
            .cloned();
        if found.is_none() {
            errors.push(
                FieldError::field("flow_cell", "one_of", format!("not a flow cell of the {}", i.as_str()))
                    .with_value(&body.flow_cell),
            );
        }
        found
    });
    if !body.reads.valid() {
        errors.push(FieldError::field("reads", "cycles", READS_RULE));
    }
    if body.barcode_mismatches.is_some_and(|m| m > 2) {
        errors.push(FieldError::field("barcode_mismatches", "range", "0, 1 or 2"));
    }
    if body.lanes.is_empty() {
        errors.push(FieldError::field("lanes", "required", "at least one lane with a pool"));
    }
    let mut seen = HashSet::new();
    for (i, l) in body.lanes.iter().enumerate() {
        if cell.as_ref().is_some_and(|c| l.lane == 0 || l.lane > c.lanes) {
            errors.push(FieldError::field(
                format!("lanes[{i}].lane"),
                "range",
                "not a lane of the flow cell",
            ));
        }
        if !seen.insert(l.lane) {
            errors.push(FieldError::field(
                format!("lanes[{i}].lane"),
                "unique",
                "each lane once",
            ));
        }
        if l.pool_ids.is_empty() || l.pool_ids.len() > 20 {
            errors.push(FieldError::field(
                format!("lanes[{i}].pool_ids"),
                "length",
                "1 to 20 pools",
            ));
        }
    }
    match (instrument, cell, errors.is_empty()) {
        (Some(i), Some(c), true) => Ok((i, c.lanes)),
        _ => Err(Problem::validation(errors)),
    }
}

pub async fn create_run(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewRun = req.json()?;
    let cells = super::reference::lab_flow_cells(&st, &p.lab_id).await?;
    let (instrument, flow_cell_lanes) = check_new(&body, &cells)?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut errors = Vec::new();
        for (i, l) in body.lanes.iter().enumerate() {
            for (j, pool) in l.pool_ids.iter().enumerate() {
                if let Err(e) = st.pool(&p.lab_id, pool).await {
                    if e.status != 404 {
                        return Err(e);
                    }
                    errors.push(
                        FieldError::field(format!("lanes[{i}].pool_ids[{j}]"), "exists", "no such pool")
                            .with_value(pool),
                    );
                }
            }
        }
        if let Some(job) = &body.job_id
            && let Err(e) = st.job(&p.lab_id, job).await
        {
            if e.status != 404 {
                return Err(e);
            }
            errors.push(FieldError::field("job_id", "exists", "no such job").with_value(job));
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        let now = now_rfc3339();
        let run = Run {
            id: ulid::Ulid::new().to_string(),
            name: body.name.trim().to_owned(),
            instrument,
            flow_cell: body.flow_cell.trim().to_owned(),
            flow_cell_lanes,
            lanes: body.lanes.clone(),
            reads: body.reads,
            barcode_mismatches: body.barcode_mismatches.unwrap_or(1),
            allow_lower_mismatches: body.allow_lower_mismatches.unwrap_or(false),
            status: RunStatus::Planned,
            job_id: body.job_id.clone(),
            run_folder: None,
            qc: None,
            start: None,
            version: 1,
            created_at: now.clone(),
            created_by: p.user_id.clone(),
            updated_at: now,
        };
        let ev = req.event(
            "sequencing.run_created",
            &p,
            &format!("sequencing/runs/{}", run.id),
            json!({"run_id": run.id, "name": run.name, "instrument": run.instrument, "flow_cell": run.flow_cell}),
        )?;
        crate::store::insert(&st, &p.lab_id, &run, &ev).await?;
        Ok(Response::created(&format!("/api/sequencing/runs/{}", run.id), &run))
    })
    .await
}

/// The run as JSON; with `Accept: text/csv` or the spreadsheet type, its samples (every
/// library on every lane) as a table.
pub async fn get_run(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let run = st.run(&p.lab_id, req.path_param("id")?).await?;
    match req.header("accept").and_then(Format::from_accept) {
        Some(format) => {
            let members = crate::store::run_samples::lane_members(&st, &p.lab_id, &run).await?;
            run_samples_sheet(&run, members).download(format, &format!("run-{}-samples", run.id))
        }
        None => Ok(Response::ok(&run)),
    }
}

/// A run's samples as a table: lane, pool, library, sample, indexes, project.
pub fn run_samples_sheet(run: &Run, members: Vec<(u8, PoolMember)>) -> Sheet {
    let mut sheet = Sheet::new(
        &run.name,
        &[
            "lane",
            "pool_id",
            "library_id",
            "library_name",
            "sample_id",
            "i7",
            "i5",
            "project",
        ],
    );
    for (lane, m) in members {
        sheet.push(vec![
            Cell::from(u64::from(lane)),
            Cell::from(m.pool_id),
            Cell::from(m.library_id),
            Cell::from(m.library_name),
            Cell::from(m.sample_id),
            Cell::from(m.i7.as_str()),
            Cell::from(m.i5.as_ref().map(|i| i.as_str())),
            m.project.into(),
        ]);
    }
    sheet
}

/// Newest first; `?status=` narrows to one status.
pub async fn list_runs(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let status = super::status_query::<RunStatus>(&req, "run")?;
    let page: RunPage = crate::store::runs(
        &st,
        &p.lab_id,
        status,
        &tracseq_core::pagination::PageRequest::from_request(&req)?,
    )
    .await?;
    Ok(Response::ok(&page))
}

pub async fn transition_run(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: RunTransition = req.json()?;
    let current = st.run(&p.lab_id, req.path_param("id")?).await?;
    if let Some(expected) = optional_version(&req, body.version)? {
        check_version("run", current.version, expected)?;
    }
    let to = current
        .status
        .transition(body.to)
        .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
    if current.start.as_ref().is_some_and(|s| s.status == SagaStatus::Running) {
        return Err(Problem::conflict(
            "start_in_progress",
            "the run's start saga is running; its outcome moves the run",
        ));
    }
    if let Some(folder) = &body.run_folder
        && (folder.is_empty() || folder.len() > 300 || folder.chars().any(char::is_control))
    {
        return Err(Problem::validation(vec![FieldError::field(
            "run_folder",
            "format",
            "1 to 300 printable characters",
        )]));
    }
    // A run is loaded only with a sheet that can be exported.
    if to == RunStatus::Loaded {
        let sheet = sheet_request(&st, &p.lab_id, &current).await?;
        let checked = validate(&sheet);
        if checked.has_errors() {
            let mut problem = Problem::conflict("samplesheet_invalid", "the run's sample sheet has errors; see errors");
            problem.errors = checked
                .issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .map(|i| FieldError::field("samplesheet", &i.code, &i.message))
                .collect();
            return Err(problem);
        }
    }
    // Only the steps that move samples read them (loading reads its pools for the sheet).
    let (members, samples) = if matches!(to, RunStatus::Planned | RunStatus::Loaded) {
        (Vec::new(), Vec::new())
    } else {
        let members = run_members(&st, &p.lab_id, &current).await?;
        let samples = crate::store::samples(&st, &p.lab_id, &sample_ids(&members)).await?;
        (members, samples)
    };
    if to == RunStatus::Running {
        let refused = not_ready(&samples);
        if !refused.is_empty() {
            let mut problem = Problem::conflict(
                "samples_not_ready",
                format!("{} sample(s) cannot go into sequencing; see errors", refused.len()),
            );
            problem.errors = refused;
            return Err(problem);
        }
        // Nothing sits in two active runs: the run takes its reservations first.
        let taken = reservations::reserve(
            &st,
            &p.lab_id,
            &current.id,
            &reservations::things_of(&current, &members),
        )
        .await?;
        if !taken.is_empty() {
            return Err(run_conflict(&taken));
        }
    }
    let mut next = current.clone();
    next.status = to;
    next.version += 1;
    next.updated_at = now_rfc3339();
    if body.run_folder.is_some() {
        next.run_folder = body.run_folder.clone();
    }
    let subject = format!("sequencing/runs/{}", next.id);
    let mut events = vec![req.event(
        "sequencing.run_status_changed",
        &p,
        &subject,
        json!({"run_id": next.id, "from": current.status, "to": to}),
    )?];
    if to == RunStatus::Completed {
        let requested_by = requester(&st, &p.lab_id, &next).await?;
        events.push(req.event(
            "sequencing.run_completed",
            &p,
            &subject,
            json!({"run_id": next.id, "name": next.name, "job_id": next.job_id, "requested_by": requested_by}),
        )?);
    }
    if let Err(e) = crate::store::replace(&st, &p.lab_id, &next, current.version, &events, "run").await {
        if to == RunStatus::Running {
            reservations::release(&st, &p.lab_id, &current.id).await?;
        }
        return Err(e);
    }
    if matches!(to, RunStatus::Completed | RunStatus::Failed | RunStatus::Aborted) {
        reservations::release(&st, &p.lab_id, &next.id).await?;
    }
    let samples = match to {
        RunStatus::Running => {
            sync(&st, &req, &p, &next, &run_reason(&next), samples, |s| {
                let out_of_freezer = s.storage.as_ref().is_none_or(|x| x.checked_out);
                (s.status == SampleStatus::Validated && out_of_freezer).then_some(SampleStatus::InSequencing)
            })
            .await?
        }
        RunStatus::Completed => {
            // Libraries that failed QC fail their samples; the rest complete.
            let failed_libraries: HashSet<&str> = next
                .qc
                .iter()
                .flat_map(|q| q.results.iter())
                .filter(|r| r.verdict == Verdict::Fail)
                .filter_map(|r| r.library_id.as_deref())
                .collect();
            let failed_samples: HashSet<String> = members
                .iter()
                .filter(|(l, _)| failed_libraries.contains(l.as_str()))
                .map(|(_, s)| s.clone())
                .collect();
            sync(&st, &req, &p, &next, &run_reason(&next), samples, |s| {
                (s.status == SampleStatus::InSequencing).then(|| {
                    if failed_samples.contains(&s.id) {
                        SampleStatus::Failed
                    } else {
                        SampleStatus::Completed
                    }
                })
            })
            .await?
        }
        RunStatus::Failed | RunStatus::Aborted => {
            sync(&st, &req, &p, &next, &run_reason(&next), samples, |s| {
                (s.status == SampleStatus::InSequencing).then_some(SampleStatus::Failed)
            })
            .await?
        }
        RunStatus::Planned | RunStatus::Loaded => SampleSync::default(),
    };
    Ok(Response::ok(&RunTransitionOutcome { run: next, samples }))
}

/// `POST /api/sequencing/runs/{id}/start`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The run's version, to be sure nobody changed it meanwhile.
    pub version: Option<u64>,
    /// Failures planted in steps, for tests; the local stack only (422 elsewhere).
    #[serde(default)]
    #[schema(max_items = 8)]
    pub faults: Vec<Fault>,
}

fn check_start(body: &StartRun, faults_allowed: bool) -> Result<(), Problem> {
    let mut errors = Vec::new();
    errors.extend(check_faults(&body.faults, faults_allowed));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// Start a planned or loaded run through its saga (docs/sagas.md): 202 with the run, whose
/// `start` shows the saga's steps as they go. The execution is named after the run and
/// the start's attempt, so one start never runs twice.
pub async fn start_run(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: StartRun = req.json()?;
    check_start(&body, st.faults_allowed)?;
    let arn = st
        .run_state_machine_arn
        .clone()
        .ok_or_else(|| Problem::unavailable("run starts are not configured on this stack"))?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    let id = req.path_param("id")?.to_owned();
    idempotent(&st.idem, &lab, &req, || async {
        let current = st.run(&p.lab_id, &id).await?;
        if let Some(expected) = body.version {
            check_version("run", current.version, expected)?;
        }
        if !matches!(current.status, RunStatus::Planned | RunStatus::Loaded) {
            return Err(Problem::conflict(
                "invalid_transition",
                format!("a {} run cannot be started", current.status.as_str()),
            ));
        }
        if current.start.as_ref().is_some_and(|s| s.status == SagaStatus::Running) {
            return Err(Problem::conflict("start_in_progress", "the run is being started"));
        }
        let attempt = current.start.as_ref().map_or(1, |s| s.attempt + 1);
        let name = format!("{id}-{attempt}");
        let now = now_rfc3339();
        let mut next = current.clone();
        next.start = Some(RunStart {
            status: SagaStatus::Running,
            attempt,
            execution_arn: format!("{}:{name}", arn.replacen(":stateMachine:", ":execution:", 1)),
            steps: vec![],
            from: current.status,
            sheet_key: None,
            error: None,
            requested_by: p.user_id.clone(),
            started_at: now.clone(),
            ended_at: None,
        });
        next.version += 1;
        next.updated_at = now;
        crate::store::replace(&st, &p.lab_id, &next, current.version, &[], "run").await?;
        let ctx = SagaContext {
            saga_id: id.clone(),
            lab: p.lab_id.clone(),
            actor: Actor {
                user_id: p.user_id.clone(),
                role: p.role,
            },
            faults: body.faults.clone(),
        };
        let mut input = serde_json::to_value(&ctx).map_err(|_| Problem::internal())?;
        // The run's saga names its subject `run_id` (the context reads either).
        if let Some(obj) = input.as_object_mut()
            && let Some(v) = obj.remove("submission_id")
        {
            obj.insert("run_id".into(), v);
        }
        let started = st
            .sfn
            .start_execution()
            .state_machine_arn(&arn)
            .name(&name)
            .input(input.to_string())
            .send()
            .await;
        match started {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_execution_already_exists()) => {}
            Err(e) => {
                tracing::error!(error = ?e, run = %id, "the run's saga did not start");
                // Nothing ran: the start is taken back so no record claims to run.
                let back = crate::store::replace(
                    &st,
                    &p.lab_id,
                    &current_with_version(&current, next.version + 1),
                    next.version,
                    &[],
                    "run",
                )
                .await;
                if let Err(e) = back {
                    tracing::error!(error = ?e, run = %id, "could not take back the start");
                }
                return Err(Problem::unavailable("the run could not be started; retry"));
            }
        }
        Ok(Response::json(202, &next).with_header(http::header::LOCATION, &format!("/api/sequencing/runs/{id}")))
    })
    .await
}

/// `run` as it was, at version `version`.
fn current_with_version(run: &Run, version: u64) -> Run {
    let mut r = run.clone();
    r.version = version;
    r.updated_at = now_rfc3339();
    r
}

/// 409 naming what another active run holds.
pub(crate) fn run_conflict(taken: &[Taken]) -> Problem {
    let mut problem = Problem::conflict(
        "reserved_by_another_run",
        format!(
            "{} of the run's pools, libraries and samples sit in another active run; see errors",
            taken.len()
        ),
    );
    problem.errors = taken
        .iter()
        .map(|t| {
            let field = match t.kind.as_str() {
                "pool" => "pools",
                "library" => "libraries",
                _ => "samples",
            };
            FieldError::field(field, "reserved", format!("{} {} is in run {}", t.kind, t.id, t.run_id))
                .with_value(&t.id)
        })
        .collect();
    problem
}

/// The history reason of a sample the run moves.
fn run_reason(run: &Run) -> String {
    format!("run {} {}", run.name, run.status.as_str())
}

/// Who asked for the run: its job's requester, else whoever planned it.
async fn requester(st: &SequencingState, lab: &str, run: &Run) -> Result<String, Problem> {
    match &run.job_id {
        Some(job) => Ok(st
            .job(lab, job)
            .await
            .map_or_else(|_| run.created_by.clone(), |j| j.requested_by)),
        None => Ok(run.created_by.clone()),
    }
}

/// A run after a transition, and what happened to its samples.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunTransitionOutcome {
    pub run: Run,
    pub samples: SampleSync,
}

fn sheet_check(issues: Vec<Issue>) -> SheetCheck {
    let errors = issues.iter().filter(|i| i.severity == Severity::Error).count();
    SheetCheck {
        valid: errors == 0,
        errors,
        warnings: issues.len() - errors,
        issues,
    }
}

/// Every problem at once (200 either way; `valid` says whether it can be exported).
pub async fn validate_samplesheet(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let run = st.run(&p.lab_id, req.path_param("id")?).await?;
    let sheet = sheet_request(&st, &p.lab_id, &run).await?;
    Ok(Response::ok(&sheet_check(validate(&sheet).issues)))
}

/// `text/csv`, ready for BCL Convert (v2, default) or bcl2fastq (v1); 409 with every
/// error when the sheet is not valid.
pub async fn get_samplesheet(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let format = match req.query("format").unwrap_or("v2") {
        "v2" => SheetFormat::V2,
        "v1" => SheetFormat::V1,
        other => {
            return Err(Problem::validation(vec![
                FieldError::field("format", "one_of", "v2 or v1").with_value(other),
            ]));
        }
    };
    let run = st.run(&p.lab_id, req.path_param("id")?).await?;
    let sheet = sheet_request(&st, &p.lab_id, &run).await?;
    match render(&sheet, format) {
        Ok(csv) => Ok(Response::download(
            csv.into_bytes(),
            "text/csv; charset=utf-8",
            &format!("SampleSheet-{}.csv", run.id),
        )),
        Err(errors) => {
            let mut problem = Problem::conflict(
                "samplesheet_invalid",
                format!("{} error(s) block the export", errors.len()),
            );
            problem.errors = errors
                .into_iter()
                .map(|i| FieldError::field("samplesheet", &i.code, &i.message))
                .collect();
            Err(problem)
        }
    }
}

/// Judge submitted metrics per lane and per library; a failure raises
/// `sequencing.qc_failed` naming the failing metrics.
pub async fn submit_qc(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewQc = req.json()?;
    let expected = expected_version(&req, body.version)?;
    let current = st.run(&p.lab_id, req.path_param("id")?).await?;
    check_version("run", current.version, expected)?;
    if !matches!(
        current.status,
        RunStatus::Running | RunStatus::Completed | RunStatus::Failed
    ) {
        return Err(Problem::conflict(
            "invalid_state",
            format!("QC is for runs that ran; this one is {}", current.status.as_str()),
        ));
    }
    let mut errors = Vec::new();
    if body.lanes.is_empty() && body.libraries.is_empty() {
        errors.push(FieldError::field(
            "lanes",
            "required",
            "metrics for at least one lane or library",
        ));
    }
    for (i, l) in body.lanes.iter().enumerate() {
        if !current.lanes.iter().any(|x| x.lane == l.lane) {
            errors.push(FieldError::field(
                format!("lanes[{i}].lane"),
                "exists",
                "the run has no such lane",
            ));
        }
    }
    for (i, m) in body
        .lanes
        .iter()
        .map(|l| &l.metrics)
        .chain(body.libraries.iter().map(|l| &l.metrics))
        .enumerate()
    {
        if m.values().any(|v| !v.is_finite()) {
            errors.push(FieldError::field(
                format!("metrics[{i}]"),
                "number",
                "metrics are finite numbers",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let thresholds = super::qc_settings::lab_thresholds(&st, &p.lab_id).await?.thresholds;
    let mut results = Vec::new();
    for l in &body.lanes {
        let (verdict, findings) = evaluate(&l.metrics, &thresholds);
        results.push(QcResult {
            lane: Some(l.lane),
            library_id: None,
            verdict,
            findings,
        });
    }
    for l in &body.libraries {
        let (verdict, findings) = evaluate(&l.metrics, &thresholds);
        results.push(QcResult {
            lane: None,
            library_id: Some(l.library_id.clone()),
            verdict,
            findings,
        });
    }
    let verdict = results.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Pass);
    let mut next = current.clone();
    next.qc = Some(RunQc {
        verdict,
        results: results.clone(),
        submitted_at: now_rfc3339(),
        submitted_by: p.user_id.clone(),
    });
    next.version += 1;
    next.updated_at = now_rfc3339();
    let subject = format!("sequencing/runs/{}", next.id);
    let mut events = vec![req.event(
        "sequencing.qc_recorded",
        &p,
        &subject,
        json!({"run_id": next.id, "verdict": verdict, "instrument": next.instrument}),
    )?];
    if verdict == Verdict::Fail {
        let failing: Vec<_> = results
            .iter()
            .flat_map(|r| {
                r.findings.iter().filter(|f| f.verdict == Verdict::Fail).map(
                    move |f| json!({"lane": r.lane, "library_id": r.library_id, "metric": f.metric, "value": f.value}),
                )
            })
            .collect();
        events.push(req.event(
            "sequencing.qc_failed",
            &p,
            &subject,
            json!({"run_id": next.id, "name": next.name, "failing": failing, "job_id": next.job_id,
                   "requested_by": requester(&st, &p.lab_id, &next).await?}),
        )?);
    }
    crate::store::replace(&st, &p.lab_id, &next, current.version, &events, "run").await?;
    Ok(Response::ok(&next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> NewRun {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_run_names_a_flow_cell_of_its_instrument_and_lanes_on_it() {
        let ok = body(json!({"name": "R1", "instrument": "novaseq x", "flow_cell": "25b",
            "reads": {"read1": 151, "index1": 10, "index2": 10, "read2": 151},
            "lanes": [{"lane": 1, "pool_ids": ["P"]}, {"lane": 8, "pool_ids": ["Q"]}]}));
        let cells = crate::domain::platform::flow_cells();
        assert_eq!(check_new(&ok, &cells).unwrap(), (Instrument::NovaSeqX, 8));
        let bad = body(json!({"name": "", "instrument": "MiSeq", "flow_cell": "25B",
            "reads": {"read1": 151, "index1": 8, "index2": 8, "read2": 151},
            "lanes": [{"lane": 1, "pool_ids": []}, {"lane": 1, "pool_ids": ["P"]}], "barcode_mismatches": 3}));
        let fields: Vec<String> = check_new(&bad, &cells)
            .unwrap_err()
            .errors
            .into_iter()
            .filter_map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "flow_cell",
                "barcode_mismatches",
                "lanes[0].pool_ids",
                "lanes[1].lane"
            ]
        );
        let mut no_read = ok.clone();
        no_read.reads.read1 = 0;
        assert_eq!(check_new(&no_read, &cells).unwrap_err().errors[0].rule, "cycles");
    }
}
