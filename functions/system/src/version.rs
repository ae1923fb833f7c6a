//! `GET /api/version`: what is deployed. No I/O: also the runner's baseline benchmark route.

use serde::Serialize;
use std::sync::Arc;
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::Problem;
use tracseq_core::http::{Request, Response, header, public_route};
use tracseq_core::route::{Access, Method, ResponseSpec, RouteSpec, SchemaRef};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub name: &'static str,
    pub version: &'static str,
    /// Commit the build came from (`TRACSEQ_GIT_SHA` at build time), or `unknown`.
    pub commit: &'static str,
    pub stage: String,
}

pub static ROUTE: RouteSpec = RouteSpec {
    handler: "version",
    method: Method::Get,
    path: "/api/version",
    access: Access::Public,
    summary: "Deployed version",
    tag: "system",
    request: None,
    responses: &[ResponseSpec::json(
        200,
        "Version of the deployed API",
        SchemaRef::of::<VersionInfo>(),
    )],
    query: &[],
};

pub const FUNCTION: FunctionDef = FunctionDef {
    handler: "version",
    route: Some(&ROUTE),
    build: |init| Box::pin(build(init)),
};

async fn build(init: Arc<Init>) -> Result<tracseq_core::function::SharedFunction, InitError> {
    let info = Arc::new(VersionInfo {
        name: "tracseq",
        version: env!("CARGO_PKG_VERSION"),
        commit: option_env!("TRACSEQ_GIT_SHA").unwrap_or("unknown"),
        stage: init.env.get("STAGE").unwrap_or("local").to_owned(),
    });
    // Serialized once: the answer never changes for the life of the function.
    let body = Arc::new(Response::ok(info.as_ref()).body);
    Ok(public_route(&ROUTE, body, handle)?)
}

async fn handle(body: Arc<Vec<u8>>, _req: Request) -> Result<Response, Problem> {
    Ok(Response::new(200)
        .with_header(header::CONTENT_TYPE, "application/json")
        .with_body(body.as_ref().clone()))
}
