//! System functions: the deep health check, the build version and the OpenAPI document.
//! The document is `docs/openapi.json`, generated from every service's route table by
//! the tests (`template::openapi_json_is_generated_from_the_route_tables`) and checked
//! in, so this crate links no service.

pub mod health;
pub mod openapi;
pub mod version;

use tracseq_aws::FunctionDef;

/// The functions of this service.
pub const FUNCTIONS: &[FunctionDef] = &[health::FUNCTION, version::FUNCTION, openapi::FUNCTION];
