//! The sequencing service (docs/domain.md, Sequencing).
//!
//! The rules live in [`domain`] as pure functions: reference data (instruments, flow
//! cells, a real index kit), the job and run status machines, Illumina sample sheets in
//! both formats with every check docs/domain.md lists, pooling checks and QC thresholds. The
//! HTTP functions cover reference data, libraries, pools, jobs, and runs with their
//! sample sheets and QC; runs do not move their samples' statuses yet.

pub mod domain;
pub mod handlers;
pub mod model;
pub mod routes;
pub mod state;

use state::SequencingState;
use tracseq_aws::FunctionDef;

tracseq_aws::service_state!(SequencingState);

macro_rules! function {
    ($route:path => $handler:path) => {
        tracseq_aws::service_function!(SequencingState; protected $route => $handler)
    };
}

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = &[
    function!(r::INSTRUMENTS_ROUTE => h::list_instruments),
    function!(r::LIST_KITS => h::list_kits),
    function!(r::CREATE_KIT => h::create_kit),
    function!(r::LIST_LIBRARIES => h::list_libraries),
    function!(r::CREATE_LIBRARY => h::create_library),
    function!(r::GET_LIBRARY => h::get_library),
    function!(r::LIST_POOLS => h::list_pools),
    function!(r::CREATE_POOL => h::create_pool),
    function!(r::GET_POOL => h::get_pool),
    function!(r::ADD_TO_POOL => h::add_to_pool),
    function!(r::REMOVE_FROM_POOL => h::remove_from_pool),
    function!(r::LIST_RUNS => h::list_runs),
    function!(r::CREATE_RUN => h::create_run),
    function!(r::GET_RUN => h::get_run),
    function!(r::TRANSITION_RUN => h::transition_run),
    function!(r::SAMPLESHEET => h::get_samplesheet),
    function!(r::VALIDATE_SAMPLESHEET => h::validate_samplesheet),
    function!(r::RUN_QC => h::submit_qc),
    function!(r::LIST_JOBS => h::list_jobs),
    function!(r::CREATE_JOB => h::create_job),
    function!(r::GET_JOB => h::get_job),
    function!(r::PATCH_JOB => h::update_job),
    function!(r::TRANSITION_JOB => h::transition_job),
    function!(r::GET_QC_SETTINGS => h::get_qc_settings),
    function!(r::PUT_QC_SETTINGS => h::put_qc_settings),
    function!(r::CREATE_FLOW_CELL => h::create_flow_cell),
];
