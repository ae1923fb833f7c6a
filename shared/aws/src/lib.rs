//! TracSeq's AWS adapters: everything that talks to DynamoDB, SQS or S3 on behalf of a
//! handler, plus the Lambda entry point that builds a function once per container.
//!
//! - [`lambda`]: [`FunctionDef`](lambda::FunctionDef), the per-service function catalogue,
//!   and `main`, the `bootstrap` that picks a function from `_HANDLER`.
//! - [`clients`]: SDK clients built once from one `SdkConfig`.
//! - [`store`]: conditional writes, optimistic locking, transactions with guard items,
//!   queries with cursors, and SDK errors mapped to [`StoreError`](store::StoreError).
//! - [`export`]: list exports to S3 with progress and a presigned link.
//! - [`outbox`], [`idempotency`]: the transactional outbox and `Idempotency-Key` records.

pub mod account_mail;
pub mod auth;
pub mod batch;
pub mod clients;
pub mod compress;
pub mod export;
pub mod idempotency;
pub mod jwt_keys;
pub mod lambda;
pub mod maintenance;
pub mod outbox;
pub mod record;
pub mod saga;
pub mod store;
pub mod upload;

pub use clients::Clients;
pub use lambda::{FunctionDef, Init, InitError};
pub use store::{StoreError, Table};
