//! Operations: backups that are proven restorable, and a lab's data to take away.
//!
//! - [`backup`]: the scheduled `ops_backup` exports every table to the backup bucket as
//!   gzip JSON lines with a [`manifest`] (item counts, SHA-256 per file, a digest per table);
//! - [`restore`]: `ops_restore` (and `tracseq-local restore`) writes a chosen backup into an
//!   empty table and proves it by reading it back;
//! - [`export`]: one lab's items and files as a `.tar.gz` archive;
//! - `GET /api/admin/backups` lists finished backups for the platform operator.

pub mod backup;
pub mod dynamo_json;
pub mod error;
pub mod export;
pub mod handlers;
pub mod manifest;
pub mod partitions;
pub mod restore;
pub mod routes;
pub mod scan;
pub mod state;
pub mod store;

use error::OpsError;
use serde_json::{Value, json};
use state::OpsState;
use std::sync::Arc;
use tracseq_aws::FunctionDef;
use tracseq_core::function::{BoxFuture, FunctionError};
use tracseq_core::telemetry::{Metrics, NAMESPACE, Unit, emf_enabled};

tracseq_aws::service_state!(OpsState);

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(OpsState;
    http: [
        protected routes::LIST_BACKUPS => handlers::list_backups,
        protected routes::CREATE_EXPORT => handlers::create_export,
        protected routes::GET_EXPORT => handlers::get_export,
    ],
    background: [
        "ops_backup" => |st, event| backup_now(st, event),
        "ops_restore" => |st, event| restore_backup(st, event),
        "ops_lab_export" => |st, event| export_batch(st, event),
        "ops_export_dead_letters" => |st, event| export_dead_letters(st, event),
    ]
);

/// The export queue's dead letters: each export ends `failed` (see `export::give_up`).
fn export_dead_letters(st: Arc<OpsState>, event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        let mut failures = Vec::new();
        for record in event["Records"].as_array().into_iter().flatten() {
            let id = record["messageId"].as_str().unwrap_or_default();
            let Ok(job) = serde_json::from_str::<export::ExportJob>(record["body"].as_str().unwrap_or_default()) else {
                tracing::error!(
                    message = id,
                    "an unreadable message in the export dead-letter queue; dropped"
                );
                continue;
            };
            if let Err(e) = export::give_up(&st, &job).await {
                tracing::warn!(message = id, error = %e, "failing the export failed; it will be retried");
                failures.push(json!({"itemIdentifier": id}));
            }
        }
        Ok(json!({"batchItemFailures": failures}))
    })
}

/// The schedule's event: back up every configured table. The `BackupsCompleted` metric is
/// what the "no backup in 26 hours" alarm watches.
fn backup_now(st: Arc<OpsState>, _event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        if let Some(paused) = st.restore_marker.skip_while_restoring("backup").await? {
            return Ok(paused);
        }
        let started = std::time::Instant::now();
        let manifest = st
            .backup()
            .run(&st.settings.tables)
            .await
            .map_err(FunctionError::from)?;
        let ms = started.elapsed().as_millis() as f64;
        if emf_enabled() {
            let mut m = Metrics::new(NAMESPACE).dimension("Stage", &st.settings.stage);
            m.put("BackupsCompleted", 1.0, Unit::Count)
                .put("BackupItems", manifest.items() as f64, Unit::Count)
                .put("BackupBytes", manifest.bytes() as f64, Unit::Bytes)
                .put("BackupDuration", ms, Unit::Milliseconds);
            m.emit();
        }
        tracing::info!(backup = %manifest.id, items = manifest.items(), ms, "backup finished");
        serde_json::to_value(&manifest).map_err(FunctionError::transient)
    })
}

fn restore_backup(st: Arc<OpsState>, event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        let req: restore::RestoreRequest = serde_json::from_value(event).map_err(FunctionError::invalid_event)?;
        let report = st.restore().run(&req).await.map_err(FunctionError::from)?;
        serde_json::to_value(&report).map_err(FunctionError::transient)
    })
}

/// SQS batch of export jobs; a job that fails for a transient reason is retried by SQS.
fn export_batch(st: Arc<OpsState>, event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        let mut failures = Vec::new();
        for record in event["Records"].as_array().into_iter().flatten() {
            let id = record["messageId"].as_str().unwrap_or_default();
            let job = serde_json::from_str::<export::ExportJob>(record["body"].as_str().unwrap_or_default());
            let outcome = match job {
                Ok(job) => export::run(&st, &job).await,
                Err(e) => Err(OpsError::Invalid(format!("not an export job: {e}"))),
            };
            match outcome {
                Ok(()) => {}
                // A malformed job will never succeed: drop it (logged) instead of looping.
                Err(OpsError::Invalid(e)) => tracing::error!(message = id, error = %e, "dropping export job"),
                Err(e) => {
                    tracing::warn!(message = id, error = %e, "export job will be retried");
                    failures.push(json!({"itemIdentifier": id}));
                }
            }
        }
        Ok(json!({"batchItemFailures": failures}))
    })
}
