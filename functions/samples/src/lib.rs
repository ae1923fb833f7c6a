//! The samples service: submission templates, samples and manifest imports.
//!
//! Rules are docs/domain.md's (Samples, Templates), implemented as pure functions in
//! [`domain`] and tested there; handlers add storage around them. The lab always comes
//! from the token and another lab's record is a 404. Every change is one DynamoDB
//! transaction with its history line and its domain event. Imports validate the whole
//! file before writing anything and commit in checkpointed chunks ([`import`]).

pub mod blank;
pub mod domain;
pub mod handlers;
pub mod import;
pub mod model;
pub mod routes;
pub mod saga;
pub mod state;
pub mod store;

use state::SamplesState;
use std::sync::Arc;
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::function::SharedFunction;

tracseq_aws::service_state!(SamplesState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(SamplesState;
    http: [
        protected r::LIST_TEMPLATES => h::templates::list_templates,
        protected r::CREATE_TEMPLATE => h::templates::create_template,
        protected r::GET_TEMPLATE => h::templates::get_template,
        protected r::PATCH_TEMPLATE => h::templates::update_template,
        protected r::DELETE_TEMPLATE => h::templates::delete_template,
        protected r::PUBLISH_TEMPLATE => h::templates::publish_template,
        protected r::TEMPLATE_VERSIONS => h::templates::list_template_versions,
        protected r::TEMPLATE_BLANK => h::templates::blank_template,
        protected r::LIST_SAMPLES => h::search::list_samples,
        protected r::CREATE_SAMPLE => h::samples::create_sample,
        protected r::CREATE_BATCH => h::samples::create_batch,
        protected r::GET_SAMPLE => h::samples::get_sample,
        protected r::SAMPLE_BY_BARCODE => h::samples::get_by_barcode,
        protected r::PATCH_SAMPLE => h::samples::update_sample,
        protected r::DELETE_SAMPLE => h::samples::delete_sample,
        protected r::TRANSITION_SAMPLE => h::samples::transition_sample,
        protected r::SAMPLE_HISTORY => h::samples::sample_history,
        protected r::SAMPLE_LABEL => h::labels::sample_label,
        protected r::SAMPLE_LABELS => h::labels::batch_labels,
        protected r::CREATE_UPLOAD => h::imports::create_upload,
        protected r::CREATE_IMPORT => h::imports::create_import,
        protected r::GET_IMPORT => h::imports::get_import,
        protected r::IMPORT_ERRORS_ROUTE => h::imports::list_import_errors,
        protected r::START_EXPORT => h::exports::start_export,
        protected r::GET_EXPORT => h::exports::get_export,
    ],
    background: [
        "samples_import_dead_letters" => |st, event| import_dead_letters(st, event),
        "samples_export_worker" => |st, event| Box::pin(h::exports::work(st, event)),
        "samples_saga_register" => |st, event| Box::pin(saga::register(st, event)),
        "samples_saga_validate" => |st, event| Box::pin(saga::validate(st, event)),
        "samples_saga_reject" => |st, event| Box::pin(saga::reject(st, event)),
    ],
    other: [
        FunctionDef {
            handler: "samples_import_worker",
            route: None,
            build: |i| Box::pin(import_worker(i)),
        },
    ]
);

/// The import queue's dead-letter consumer (see `import::dead_letters`).
fn import_dead_letters(
    st: Arc<SamplesState>,
    event: serde_json::Value,
) -> tracseq_core::function::BoxFuture<Result<serde_json::Value, tracseq_core::function::FunctionError>> {
    Box::pin(import::dead_letters(st, event))
}

/// The SQS-driven import worker.
async fn import_worker(init: Arc<Init>) -> Result<SharedFunction, InitError> {
    let st = SamplesState::build(&init).await?;
    let f = move |event: serde_json::Value, ctx: tracseq_core::function::InvokeContext| {
        let st = st.clone();
        async move { import::handle(st, event, ctx).await }
    };
    Ok(Arc::new(f))
}
