//! Every route of the sequencing service and the least role it needs (docs/domain.md's matrix:
//! sequencing research_scientist / lab_technician / lab_administrator; index kits are
//! reference data that administrators edit).

use crate::handlers::jobs::JobPage;
use crate::handlers::jobs::JobTransition;
use crate::handlers::libraries::LibraryPage;
use crate::handlers::pools::NewPool;
use crate::handlers::pools::PoolPage;
use crate::handlers::pools::PoolView;
use crate::handlers::qc_settings::QcSettings;
use crate::handlers::qc_settings::QcSettingsPatch;
use crate::handlers::reference::InstrumentList;
use crate::handlers::reference::KitList;
use crate::handlers::reference::KitView;
use crate::handlers::reference::NewFlowCell;
use crate::handlers::reference::NewKit;
use crate::handlers::runs::NewQc;
use crate::handlers::runs::NewRun;
use crate::handlers::runs::RunPage;
use crate::handlers::runs::RunTransition;
use crate::handlers::runs::RunTransitionOutcome;
use crate::handlers::runs::SheetCheck;
use crate::handlers::runs::StartRun;
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Method::*, NO_CONTENT, PAGING, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role};

const TAG: &str = "sequencing";
const INSTRUMENTS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Instruments with their flow cells and i5 conventions",
    SchemaRef::of::<InstrumentList>(),
)];
const KITS: &[ResponseSpec] = &[ResponseSpec::json(200, "Index kits", SchemaRef::of::<KitList>())];
const KIT_CREATED: &[ResponseSpec] = &[ResponseSpec::json(201, "The lab's new kit", SchemaRef::of::<KitView>())];
const LIBRARY: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The library",
    SchemaRef::of::<crate::model::Library>(),
)];
const LIBRARY_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The registered library",
    SchemaRef::of::<crate::model::Library>(),
)];
const LIBRARY_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Libraries, newest first",
    SchemaRef::of::<LibraryPage>(),
)];
const POOL: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The pool and its libraries",
    SchemaRef::of::<PoolView>(),
)];
const POOL_CREATED: &[ResponseSpec] = &[ResponseSpec::json(201, "The new pool", SchemaRef::of::<PoolView>())];
const POOL_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Pools, newest first",
    SchemaRef::of::<PoolPage>(),
)];

pub static INSTRUMENTS_ROUTE: RouteSpec = RouteSpec::new(
    "sequencing_instruments",
    Get,
    "/api/sequencing/instruments",
    role(ResearchScientist),
)
.doc("Instruments, flow cells and how each wants i5 in a sheet", TAG)
.answers(INSTRUMENTS);
pub static LIST_KITS: RouteSpec = RouteSpec::new(
    "sequencing_kits_list",
    Get,
    "/api/sequencing/index-kits",
    role(ResearchScientist),
)
.doc("Index kits: the shipped Nextera XT v2 and the lab's own", TAG)
.query(PAGING)
.answers(KITS);
pub static CREATE_KIT: RouteSpec = RouteSpec::new(
    "sequencing_kits_create",
    Post,
    "/api/sequencing/index-kits",
    role(LabAdministrator),
)
.doc("Add a lab index kit (i7 and forward i5 sequences)", TAG)
.takes(SchemaRef::of::<NewKit>())
.answers(KIT_CREATED);
pub static LIST_LIBRARIES: RouteSpec = RouteSpec::new("libraries_list", Get, "/api/libraries", role(ResearchScientist))
    .doc("Libraries, newest first", TAG)
    .query(PAGING)
    .answers(LIBRARY_PAGE);
pub static CREATE_LIBRARY: RouteSpec = RouteSpec::new("libraries_create", Post, "/api/libraries", role(LabTechnician))
    .doc("Register a library made from a sample", TAG)
    .takes(SchemaRef::ruled::<crate::handlers::libraries::NewLibraryWire>())
    .answers(LIBRARY_CREATED);
pub static GET_LIBRARY: RouteSpec =
    RouteSpec::new("libraries_get", Get, "/api/libraries/{id}", role(ResearchScientist))
        .doc("A library", TAG)
        .answers(LIBRARY);
pub static LIST_POOLS: RouteSpec = RouteSpec::new("pools_list", Get, "/api/pools", role(ResearchScientist))
    .doc("Pools, newest first", TAG)
    .query(PAGING)
    .answers(POOL_PAGE);
pub static CREATE_POOL: RouteSpec = RouteSpec::new("pools_create", Post, "/api/pools", role(LabTechnician))
    .doc("Create an empty pool", TAG)
    .takes(SchemaRef::of::<NewPool>())
    .answers(POOL_CREATED);
pub static GET_POOL: RouteSpec = RouteSpec::new("pools_get", Get, "/api/pools/{id}", role(ResearchScientist))
    .doc("A pool with its libraries", TAG)
    .answers(POOL);
pub static ADD_TO_POOL: RouteSpec = RouteSpec::new(
    "pools_add_libraries",
    Post,
    "/api/pools/{id}/libraries",
    role(LabTechnician),
)
.doc("Add libraries (all or none; index collisions refused)", TAG)
.takes(SchemaRef::ruled::<crate::handlers::pools::AddLibrariesWire>())
.answers(POOL);
pub static REMOVE_FROM_POOL: RouteSpec = RouteSpec::new(
    "pools_remove_library",
    Delete,
    "/api/pools/{id}/libraries/{library_id}",
    role(LabTechnician),
)
.doc("Take a library out of a pool", TAG)
.answers(NO_CONTENT);

const RUN: &[ResponseSpec] = &[ResponseSpec::json(200, "The run", SchemaRef::of::<crate::model::Run>())];
const RUN_OR_SAMPLES: &[ResponseSpec] = &[
    ResponseSpec::json(200, "The run", SchemaRef::of::<crate::model::Run>()),
    ResponseSpec::file(200, "The run's samples as CSV (Accept: text/csv)", "text/csv"),
    ResponseSpec::file(
        200,
        "The run's samples as an XLSX workbook (Accept: the spreadsheet media type)",
        tracseq_core::sheet::XLSX,
    ),
];
const RUN_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The planned run",
    SchemaRef::of::<crate::model::Run>(),
)];
const RUN_TRANSITIONED: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The run and what happened to its samples",
    SchemaRef::of::<RunTransitionOutcome>(),
)];
const RUN_STARTING: &[ResponseSpec] = &[ResponseSpec::json(
    202,
    "The run with its start saga running; GET the run to follow its steps",
    SchemaRef::of::<crate::model::Run>(),
)];
const RUN_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Runs, newest first",
    SchemaRef::of::<RunPage>(),
)];
const SHEET: &[ResponseSpec] = &[ResponseSpec {
    status: 200,
    description: "The sample sheet (CSV)",
    schema: None,
    media_type: "text/csv",
}];
const SHEET_CHECK: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Every problem of the sheet; errors block the export",
    SchemaRef::of::<SheetCheck>(),
)];

pub static LIST_RUNS: RouteSpec = RouteSpec::new("runs_list", Get, "/api/sequencing/runs", role(ResearchScientist))
    .doc("Runs, newest first", TAG)
    .query(&[
        QueryParam::one_of(
            "status",
            "only runs in this status",
            crate::domain::status::RunStatus::NAMES,
        ),
        QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(RUN_PAGE);
pub static CREATE_RUN: RouteSpec = RouteSpec::new("runs_create", Post, "/api/sequencing/runs", role(LabTechnician))
    .doc("Plan a run: instrument, flow cell, reads, pools per lane", TAG)
    .takes(SchemaRef::of::<NewRun>())
    .answers(RUN_CREATED);
pub static GET_RUN: RouteSpec = RouteSpec::new("runs_get", Get, "/api/sequencing/runs/{id}", role(ResearchScientist))
    .doc("A run; its samples as CSV or XLSX by Accept", TAG)
    .answers(RUN_OR_SAMPLES);
pub static TRANSITION_RUN: RouteSpec = RouteSpec::new(
    "runs_transition",
    Post,
    "/api/sequencing/runs/{id}/transitions",
    role(LabTechnician),
)
.doc(
    "Move a run through its status machine (loading needs a valid sheet); its samples follow",
    TAG,
)
.takes(SchemaRef::of::<RunTransition>())
.answers(RUN_TRANSITIONED);
pub static START_RUN: RouteSpec = RouteSpec::new(
    "runs_start",
    Post,
    "/api/sequencing/runs/{id}/start",
    role(LabTechnician),
)
.doc(
    "Start a run as a saga: reserve its pools, libraries and samples, store its sample sheet, take its samples into sequencing (Idempotency-Key honoured)",
    TAG,
)
.takes(SchemaRef::of::<StartRun>())
.answers(RUN_STARTING);
pub static SAMPLESHEET: RouteSpec = RouteSpec::new(
    "runs_samplesheet",
    Get,
    "/api/sequencing/runs/{id}/samplesheet",
    role(ResearchScientist),
)
.doc("The run's sample sheet for BCL Convert (v2) or bcl2fastq (v1)", TAG)
.query(&[QueryParam::one_of("format", "v2 (default) or v1", &["v2", "v1"])])
.answers(SHEET);
pub static VALIDATE_SAMPLESHEET: RouteSpec = RouteSpec::new(
    "runs_samplesheet_validate",
    Post,
    "/api/sequencing/runs/{id}/samplesheet/validate",
    role(ResearchScientist),
)
.doc("Every problem of the run's sample sheet at once", TAG)
.answers(SHEET_CHECK);
pub static RUN_QC: RouteSpec = RouteSpec::new("runs_qc", Post, "/api/sequencing/runs/{id}/qc", role(LabTechnician))
    .doc("Submit lane and library metrics; judged against the QC thresholds", TAG)
    .takes(SchemaRef::of::<NewQc>())
    .answers(RUN);

const JOB: &[ResponseSpec] = &[ResponseSpec::json(200, "The job", SchemaRef::of::<crate::model::Job>())];
const JOB_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The drafted job",
    SchemaRef::of::<crate::model::Job>(),
)];
const JOB_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Jobs, newest first",
    SchemaRef::of::<JobPage>(),
)];

pub static LIST_JOBS: RouteSpec = RouteSpec::new("jobs_list", Get, "/api/sequencing/jobs", role(ResearchScientist))
    .doc("Sequencing jobs, newest first", TAG)
    .query(&[
        QueryParam::of::<crate::domain::status::JobStatus>("status", "one job status"),
        QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(JOB_PAGE);
pub static CREATE_JOB: RouteSpec = RouteSpec::new("jobs_create", Post, "/api/sequencing/jobs", role(LabTechnician))
    .doc("Request sequencing of samples (a draft)", TAG)
    .takes(SchemaRef::ruled::<crate::handlers::jobs::NewJobWire>())
    .answers(JOB_CREATED);
pub static GET_JOB: RouteSpec = RouteSpec::new("jobs_get", Get, "/api/sequencing/jobs/{id}", role(ResearchScientist))
    .doc("A job", TAG)
    .answers(JOB);
pub static PATCH_JOB: RouteSpec =
    RouteSpec::new("jobs_update", Patch, "/api/sequencing/jobs/{id}", role(LabTechnician))
        .doc("Change a job (what it requests only until it is queued)", TAG)
        .takes(SchemaRef::ruled::<crate::handlers::jobs::JobPatchWire>())
        .answers(JOB);
pub static TRANSITION_JOB: RouteSpec = RouteSpec::new(
    "jobs_transition",
    Post,
    "/api/sequencing/jobs/{id}/transitions",
    role(LabTechnician),
)
.doc("Move a job through its status machine", TAG)
.takes(SchemaRef::of::<JobTransition>())
.answers(JOB);

const QC_SETTINGS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The lab's QC thresholds (defaults filled in)",
    SchemaRef::of::<QcSettings>(),
)];

pub static GET_QC_SETTINGS: RouteSpec = RouteSpec::new(
    "sequencing_qc_thresholds_get",
    Get,
    "/api/sequencing/qc-thresholds",
    role(ResearchScientist),
)
.doc("The lab's QC thresholds", TAG)
.answers(QC_SETTINGS);
pub static PUT_QC_SETTINGS: RouteSpec = RouteSpec::new(
    "sequencing_qc_thresholds_put",
    Put,
    "/api/sequencing/qc-thresholds",
    role(LabAdministrator),
)
.doc("Replace some of the lab's QC thresholds (version-checked)", TAG)
.takes(SchemaRef::of::<QcSettingsPatch>())
.answers(QC_SETTINGS);

const FLOW_CELL_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The lab's new flow cell type",
    SchemaRef::of::<crate::domain::platform::FlowCell>(),
)];

pub static CREATE_FLOW_CELL: RouteSpec = RouteSpec::new(
    "sequencing_flow_cells_create",
    Post,
    "/api/sequencing/flow-cells",
    role(LabAdministrator),
)
.doc(
    "Add a flow cell type of the lab's own (listed with its instrument)",
    TAG,
)
.takes(SchemaRef::of::<NewFlowCell>())
.answers(FLOW_CELL_CREATED);
