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
use serde_json::Value;
use state::OpsState;
use std::sync::Arc;
use tracseq_aws::FunctionDef;
use tracseq_aws::batch::{Failed, Unreadable, each_message};
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
        each_message(
            "ops_export_dead_letters",
            event,
            Unreadable::Drop,
            1,
            |job: export::ExportJob| {
                let st = st.clone();
                async move {
                    export::give_up(&st, &job)
                        .await
                        .map_err(|e| Failed::Retry(format!("failing export {}: {e}", job.export_id)))
                }
            },
        )
        .await
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

/// SQS batch of export jobs; a job that fails for a transient reason is retried by SQS, a
/// malformed one never will succeed and is dropped (logged) instead of looping.
fn export_batch(st: Arc<OpsState>, event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        each_message(
            "ops_lab_export",
            event,
            Unreadable::Drop,
            1,
            |job: export::ExportJob| {
                let st = st.clone();
                async move {
                    match export::run(&st, &job).await {
                        Ok(()) => Ok(()),
                        Err(OpsError::Invalid(e)) => Err(Failed::Drop(e)),
                        Err(e) => Err(Failed::Retry(e.to_string())),
                    }
                }
            },
        )
        .await
    })
}
