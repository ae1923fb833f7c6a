//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, generated from the
//! same route declarations the handlers and template.yaml use and checked in as
//! `docs/openapi.json` (a test regenerates it and fails when it is stale).

use std::sync::Arc;
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::Problem;
use tracseq_core::http::{Request, Response, header, public_route};
use tracseq_core::route::{Access, Method, ResponseSpec, RouteSpec};

pub static ROUTE: RouteSpec = RouteSpec {
    handler: "openapi",
    method: Method::Get,
    path: "/api/openapi.json",
    access: Access::Public,
    summary: "This API's OpenAPI 3.1 document",
    tag: "system",
    request: None,
    responses: &[ResponseSpec {
        status: 200,
        description: "OpenAPI 3.1 document",
        schema: None,
        media_type: "application/json",
    }],
    query: &[],
};

pub const FUNCTION: FunctionDef = FunctionDef {
    handler: "openapi",
    route: Some(&ROUTE),
    build: |init| Box::pin(build(init)),
};

/// The checked-in document.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

async fn build(_init: Arc<Init>) -> Result<tracseq_core::function::SharedFunction, InitError> {
    Ok(public_route(&ROUTE, Arc::new(DOCUMENT.as_bytes().to_vec()), handle)?)
}

async fn handle(body: Arc<Vec<u8>>, _req: Request) -> Result<Response, Problem> {
    Ok(Response::new(200)
        .with_header(header::CONTENT_TYPE, "application/json")
        .with_body(body.as_ref().clone()))
}
