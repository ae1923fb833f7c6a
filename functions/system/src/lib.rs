//! System functions: the deep health check, the build version and the OpenAPI document.
//!
//! This crate also holds the [`catalog`]: every function of every service, which the
//! local runner serves and the OpenAPI document describes.

pub mod health;
pub mod openapi;
pub mod version;

use tracseq_aws::FunctionDef;
use tracseq_core::route::RouteSpec;

/// The functions of this service.
pub const FUNCTIONS: &[FunctionDef] = &[health::FUNCTION, version::FUNCTION, openapi::FUNCTION];

/// Every function of every service crate.
pub fn catalog() -> Vec<FunctionDef> {
    [
        FUNCTIONS,
        tracseq_auth::FUNCTIONS,
        tracseq_samples::FUNCTIONS,
        tracseq_storage::FUNCTIONS,
        tracseq_sequencing::FUNCTIONS,
        tracseq_events::FUNCTIONS,
        tracseq_ops::FUNCTIONS,
    ]
    .concat()
}

/// Every HTTP route of every service, in catalogue order.
pub fn routes() -> Vec<RouteSpec> {
    catalog().iter().filter_map(|d| d.route.copied()).collect()
}
