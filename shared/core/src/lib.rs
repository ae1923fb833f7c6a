//! TracSeq platform core: everything a function needs that does not talk to AWS.
//!
//! - [`problem`]: RFC 9457 problem+json errors with stable machine codes.
//! - [`http`]: the API Gateway HTTP API (payload v2) adapter, request parsing with limits.
//! - [`route`]: route declarations (method, path, minimum role) that the template, the
//!   runner and the OpenAPI document are checked against.
//! - [`function`]: the uniform Lambda function interface and the handler registry.
//! - [`auth`]: roles, claims and JWT verification with pinned algorithm/issuer/audience.
//! - [`sheet`]: tables as CSV or XLSX downloads and exports.
//! - [`pagination`], [`idempotency`], [`events`], [`telemetry`], [`config`].

pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod events;
pub mod function;
pub mod http;
pub mod idempotency;
pub mod keyed;
pub mod named;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod route;
pub mod saga;
pub mod secret;
pub mod sheet;
pub mod telemetry;

pub use problem::{FieldError, Problem};

/// The current time in RFC 3339 (UTC), as every record stores it.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
