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
pub mod state;

use state::SamplesState;
use std::sync::Arc;
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::function::SharedFunction;

tracseq_aws::service_state!(SamplesState);

macro_rules! function {
    ($route:path => $handler:path) => {
        tracseq_aws::service_function!(SamplesState; protected $route => $handler)
    };
}

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = &[
    function!(r::LIST_TEMPLATES => h::templates::list_templates),
    function!(r::CREATE_TEMPLATE => h::templates::create_template),
    function!(r::GET_TEMPLATE => h::templates::get_template),
    function!(r::PATCH_TEMPLATE => h::templates::update_template),
    function!(r::DELETE_TEMPLATE => h::templates::delete_template),
    function!(r::PUBLISH_TEMPLATE => h::templates::publish_template),
    function!(r::TEMPLATE_VERSIONS => h::templates::list_template_versions),
    function!(r::TEMPLATE_BLANK => h::templates::blank_template),
    function!(r::LIST_SAMPLES => h::search::list_samples),
    function!(r::CREATE_SAMPLE => h::samples::create_sample),
    function!(r::CREATE_BATCH => h::samples::create_batch),
    function!(r::GET_SAMPLE => h::samples::get_sample),
    function!(r::SAMPLE_BY_BARCODE => h::samples::get_by_barcode),
    function!(r::PATCH_SAMPLE => h::samples::update_sample),
    function!(r::DELETE_SAMPLE => h::samples::delete_sample),
    function!(r::TRANSITION_SAMPLE => h::samples::transition_sample),
    function!(r::SAMPLE_HISTORY => h::samples::sample_history),
    function!(r::CREATE_UPLOAD => h::imports::create_upload),
    function!(r::CREATE_IMPORT => h::imports::create_import),
    function!(r::GET_IMPORT => h::imports::get_import),
    function!(r::IMPORT_ERRORS_ROUTE => h::imports::list_import_errors),
    FunctionDef {
        handler: "samples_import_worker",
        route: None,
        build: |i| Box::pin(import_worker(i)),
    },
    FunctionDef {
        handler: "samples_import_dead_letters",
        route: None,
        build: |i| Box::pin(tracseq_aws::lambda::background::<SamplesState>(i, import_dead_letters)),
    },
];

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
