//! The sequencing service (docs/domain.md, Sequencing).
//!
//! The rules live in [`domain`] as pure functions: reference data (instruments, flow
//! cells, a real index kit), the job and run status machines, Illumina sample sheets in
//! both formats with every check docs/domain.md lists, pooling checks and QC thresholds. The
//! HTTP functions cover reference data, libraries, pools, jobs, and runs with their
//! sample sheets and QC; a run moves its samples through their statuses as it starts and
//! ends (`store/run_samples.rs`). Starting a run is a saga on Step Functions
//! (`saga.rs`, docs/sagas.md): reserve, sheet, start, complete, and their compensations.

pub mod domain;
pub mod handlers;
pub mod model;
pub mod routes;
pub mod saga;
pub mod state;
pub mod store;

use state::SequencingState;
use tracseq_aws::FunctionDef;

tracseq_aws::service_state!(SequencingState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(SequencingState;
    http: [
        protected r::INSTRUMENTS_ROUTE => h::reference::list_instruments,
        protected r::LIST_KITS => h::reference::list_kits,
        protected r::CREATE_KIT => h::reference::create_kit,
        protected r::LIST_LIBRARIES => h::libraries::list_libraries,
        protected r::CREATE_LIBRARY => h::libraries::create_library,
        protected r::GET_LIBRARY => h::libraries::get_library,
        protected r::LIST_POOLS => h::pools::list_pools,
        protected r::CREATE_POOL => h::pools::create_pool,
        protected r::GET_POOL => h::pools::get_pool,
        protected r::ADD_TO_POOL => h::pools::add_to_pool,
        protected r::REMOVE_FROM_POOL => h::pools::remove_from_pool,
        protected r::LIST_RUNS => h::runs::list_runs,
        protected r::CREATE_RUN => h::runs::create_run,
        protected r::GET_RUN => h::runs::get_run,
        protected r::TRANSITION_RUN => h::runs::transition_run,
        protected r::START_RUN => h::runs::start_run,
        protected r::SAMPLESHEET => h::runs::get_samplesheet,
        protected r::VALIDATE_SAMPLESHEET => h::runs::validate_samplesheet,
        protected r::RUN_QC => h::runs::submit_qc,
        protected r::LIST_JOBS => h::jobs::list_jobs,
        protected r::CREATE_JOB => h::jobs::create_job,
        protected r::GET_JOB => h::jobs::get_job,
        protected r::PATCH_JOB => h::jobs::update_job,
        protected r::TRANSITION_JOB => h::jobs::transition_job,
        protected r::GET_QC_SETTINGS => h::qc_settings::get_qc_settings,
        protected r::PUT_QC_SETTINGS => h::qc_settings::put_qc_settings,
        protected r::CREATE_FLOW_CELL => h::reference::create_flow_cell,
    ],
    background: [
        "sequencing_run_saga_reserve" => |st, event| Box::pin(saga::run::reserve(st, event)),
        "sequencing_run_saga_sheet" => |st, event| Box::pin(saga::run::sheet(st, event)),
        "sequencing_run_saga_start" => |st, event| Box::pin(saga::run::start(st, event)),
        "sequencing_run_saga_complete" => |st, event| Box::pin(saga::run::complete(st, event)),
        "sequencing_run_saga_unstart" => |st, event| Box::pin(saga::run::unstart(st, event)),
        "sequencing_run_saga_unsheet" => |st, event| Box::pin(saga::run::unsheet(st, event)),
        "sequencing_run_saga_unreserve" => |st, event| Box::pin(saga::run::unreserve(st, event)),
        "sequencing_run_saga_end" => |st, event| Box::pin(saga::run::end(st, event)),
        "sequencing_saga_create_job" => |st, event| Box::pin(saga::job::create(st, event)),
        "sequencing_saga_cancel_job" => |st, event| Box::pin(saga::job::cancel(st, event)),
    ]
);
