//! The HTTP handlers: the backup list and lab exports.

use crate::error::OpsError;
use crate::export::{self, ExportJob, ExportStatus, LabExport};
use crate::manifest::{self, Manifest};
use crate::state::OpsState;
use aws_sdk_s3::presigning::PresigningConfig;
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::{LabKeys, is_valid_id};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

/// One finished backup, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackupSummary {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    pub source_version: String,
    pub stage: String,
    pub items: u64,
    pub bytes: u64,
    pub tables: Vec<TableSummary>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TableSummary {
    pub name: String,
    pub items: u64,
    pub files: usize,
    pub digest: String,
}

pub type BackupPage = tracseq_core::pagination::Page<BackupSummary>;

impl From<Manifest> for BackupSummary {
    fn from(m: Manifest) -> Self {
        Self {
            items: m.items(),
            bytes: m.bytes(),
            tables: m
                .tables
                .iter()
                .map(|t| TableSummary {
                    name: t.name.clone(),
                    items: t.items,
                    files: t.files.len(),
                    digest: t.digest.clone(),
                })
                .collect(),
            id: m.id,
            started_at: m.started_at,
            finished_at: m.finished_at,
            source_version: m.source_version,
            stage: m.stage,
        }
    }
}

/// `GET /api/admin/backups`: finished backups, newest first. Unfinished ones (no manifest
/// yet, or a run that died) are skipped: they cannot be restored.
pub async fn list_backups(st: Arc<OpsState>, req: Request, _p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    if let Some(c) = page.cursor.as_deref().filter(|c| !manifest::is_backup_id(c)) {
        return Err(Problem::validation(vec![
            FieldError::field("cursor", "format", "not a cursor of this list").with_value(c),
        ]));
    }
    let ids: Vec<String> = st
        .backups
        .ids()
        .await?
        .into_iter()
        .rev()
        .filter(|id| page.cursor.as_deref().is_none_or(|c| id.as_str() < c))
        .collect();
    let mut items = Vec::new();
    let mut last = None;
    let reads: Vec<_> = ids.iter().map(|id| st.backups.manifest(id)).collect();
    let mut manifests = futures::stream::iter(reads).buffered(8);
    while let Some(read) = manifests.next().await {
        if items.len() == page.limit as usize {
            break;
        }
        match read {
            Ok(Some(m)) => {
                last = Some(m.id.clone());
                items.push(BackupSummary::from(m));
            }
            Ok(None) => {}
            // One damaged manifest must not hide every other backup from the operator.
            Err(e @ OpsError::Corrupted { .. }) => tracing::error!(error = %e, "unreadable backup manifest skipped"),
            Err(e) => return Err(e.into()),
        }
    }
    let more = last
        .as_ref()
        .is_some_and(|l| ids.last().is_some_and(|oldest| oldest < l));
    Ok(Response::ok(&BackupPage {
        next_cursor: if items.len() == page.limit as usize && more {
            last
        } else {
            None
        },
        items,
    }))
}

/// An export with its download link.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportView {
    #[serde(flatten)]
    pub export: LabExport,
    /// A link valid for a few minutes, once the export has completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// `POST /api/lab/exports`: record the request and queue it.
pub async fn create_export(st: Arc<OpsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let export = LabExport::new(ulid::Ulid::new().to_string(), p.lab_id.clone(), p.user_id.clone());
        export::insert(&st, &export).await?;
        let job = serde_json::to_string(&ExportJob {
            lab_id: export.lab_id.clone(),
            export_id: export.id.clone(),
        })
        .map_err(|_| Problem::internal())?;
        if let Err(e) = st
            .sqs
            .send_message()
            .queue_url(&st.settings.export_queue_url)
            .message_body(job)
            .send()
            .await
        {
            tracing::error!(error = ?e, "queueing the export failed");
            // Nothing will run it: do not leave a record that stays queued forever.
            export::forget(&st, &export).await;
            return Err(Problem::unavailable("the export could not be queued; try again"));
        }
        let location = format!("/api/lab/exports/{}", export.id);
        Ok(Response::json(202, &export).with_header(http::header::LOCATION, &location))
    })
    .await
}

/// `GET /api/lab/exports/{id}`.
pub async fn get_export(st: Arc<OpsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    if !is_valid_id(id) {
        return Err(Problem::not_found("export"));
    }
    let export = export::load(&st, &p.lab_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("export"))?;
    let download_url = match (&export.status, &export.archive_key) {
        (ExportStatus::Completed, Some(key)) => Some(presign(&st, key).await.map_err(Problem::from)?),
        _ => None,
    };
    Ok(Response::ok(&ExportView { export, download_url }))
}

async fn presign(st: &OpsState, key: &str) -> Result<String, OpsError> {
    let config = PresigningConfig::expires_in(Duration::from_secs(st.settings.download_ttl_secs))
        .map_err(|e| OpsError::Internal(e.to_string()))?;
    let req = st
        .s3
        .get_object()
        .bucket(&st.settings.files_bucket)
        .key(key)
        .presigned(config)
        .await
        .map_err(|e| OpsError::aws("signing the download link", e))?;
    Ok(req.uri().to_owned())
}
