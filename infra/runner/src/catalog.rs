//! Every function of every service: what the local runner serves, and what the OpenAPI
//! document (`docs/openapi.json`, checked in and served by the system function) describes.
//! Only the runner and the tests link every service; no deployed function does.

use tracseq_aws::FunctionDef;
use tracseq_core::route::RouteSpec;

/// Every function of every service crate.
pub fn catalog() -> Vec<FunctionDef> {
    [
        tracseq_system::FUNCTIONS,
        tracseq_auth::FUNCTIONS,
        tracseq_samples::FUNCTIONS,
        tracseq_storage::FUNCTIONS,
        tracseq_sequencing::FUNCTIONS,
        tracseq_events::FUNCTIONS,
        tracseq_ops::FUNCTIONS,
        tracseq_submissions::FUNCTIONS,
        tracseq_intake::FUNCTIONS,
        tracseq_reports::FUNCTIONS,
    ]
    .concat()
}

/// Every HTTP route of every service, in catalogue order.
pub fn routes() -> Vec<RouteSpec> {
    catalog().iter().filter_map(|d| d.route.copied()).collect()
}

/// The OpenAPI 3.1 document of every route, as `docs/openapi.json` holds it.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    let doc = tracseq_core::openapi::document_json("TracSeq API", env!("CARGO_PKG_VERSION"), &routes())?;
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
