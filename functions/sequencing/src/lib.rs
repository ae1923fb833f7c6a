//! The sequencing service (docs/domain.md, Sequencing).
//!
//! The rules live in [`domain`] as pure functions: reference data (instruments, flow
//! cells, a real index kit), the job and run status machines, Illumina sample sheets in
//! both formats with every check docs/domain.md lists, pooling checks and QC thresholds. The
//! HTTP functions cover reference data, libraries, pools, jobs, and runs with their
//! sample sheets and QC; a run moves its samples through their statuses as it starts and
//! ends (`handlers/run_samples.rs`).

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
    function!(r::INSTRUMENTS_ROUTE => h::reference::list_instruments),
    function!(r::LIST_KITS => h::reference::list_kits),
    function!(r::CREATE_KIT => h::reference::create_kit),
    function!(r::LIST_LIBRARIES => h::libraries::list_libraries),
    function!(r::CREATE_LIBRARY => h::libraries::create_library),
    function!(r::GET_LIBRARY => h::libraries::get_library),
    function!(r::LIST_POOLS => h::pools::list_pools),
    function!(r::CREATE_POOL => h::pools::create_pool),
    function!(r::GET_POOL => h::pools::get_pool),
    function!(r::ADD_TO_POOL => h::pools::add_to_pool),
    function!(r::REMOVE_FROM_POOL => h::pools::remove_from_pool),
    function!(r::LIST_RUNS => h::runs::list_runs),
    function!(r::CREATE_RUN => h::runs::create_run),
    function!(r::GET_RUN => h::runs::get_run),
    function!(r::TRANSITION_RUN => h::runs::transition_run),
    function!(r::SAMPLESHEET => h::runs::get_samplesheet),
    function!(r::VALIDATE_SAMPLESHEET => h::runs::validate_samplesheet),
    function!(r::RUN_QC => h::runs::submit_qc),
    function!(r::LIST_JOBS => h::jobs::list_jobs),
    function!(r::CREATE_JOB => h::jobs::create_job),
    function!(r::GET_JOB => h::jobs::get_job),
    function!(r::PATCH_JOB => h::jobs::update_job),
    function!(r::TRANSITION_JOB => h::jobs::transition_job),
    function!(r::GET_QC_SETTINGS => h::qc_settings::get_qc_settings),
    function!(r::PUT_QC_SETTINGS => h::qc_settings::put_qc_settings),
    function!(r::CREATE_FLOW_CELL => h::reference::create_flow_cell),
];
