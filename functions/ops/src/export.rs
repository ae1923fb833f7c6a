//! One lab's data as a downloadable archive, for a lab that leaves.
//!
//! `POST /api/lab/exports` records the request and queues it; the `ops_lab_export` worker
//! (SQS) reads the lab's partitions by key (`partitions`: Query only, the worker may not
//! Scan), adds the lab's uploaded files, and streams one `.tar.gz` to the files bucket as a
//! multipart upload, so memory holds about one part whatever the lab's size;
//! `GET /api/lab/exports/{id}` then answers with a short-lived download link.
//!
//! The archive holds `items/NNNNN.jsonl` (plain-JSON items, one per line, sorted by key,
//! about 8 MiB each), `files/…`, and last `manifest.json` (counts, and a SHA-256 per items
//! entry and file). Only the kinds [`KINDS`] marks as exported leave: reset and invitation
//! mail and anything unclassified stay behind, counted in the manifest's `excluded`;
//! password hashes are removed from users. Idempotency records (a stored answer can hold a
//! webhook's secret), global login lookups (email guards, sessions, refresh tokens,
//! throttles) and consumer dedupe records are not read at all.

use crate::dynamo_json::{Item, item_to_plain};
use crate::error::OpsError;
use crate::state::OpsState;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use tracseq_aws::store::{from_item, keyed_item, s};

tracseq_core::named_enum!(
    /// Where an export is.
    ExportStatus {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
    }
);

/// Attributes never exported.
pub const REDACTED: &[&str] = &["password_hash", "token_sha256"];

/// Whether an item kind (its `entity`) leaves in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// The lab's data, exported on purpose.
    Exported,
    /// Left out, and why.
    Excluded(&'static str),
}

/// Every item kind found in a lab's partitions. The list is an allow-list: a kind not named
/// here is left out (and logged), so a new kind that holds a secret cannot leak by default.
pub const KINDS: &[(&str, Carry)] = &[
    ("lab", Carry::Exported),
    ("user", Carry::Exported),
    ("audit", Carry::Exported),
    ("event", Carry::Exported),
    ("sample", Carry::Exported),
    ("sample_history", Carry::Exported),
    ("counter", Carry::Exported),
    ("guard", Carry::Exported),
    ("position", Carry::Exported),
    ("template", Carry::Exported),
    ("template_version", Carry::Exported),
    ("import", Carry::Exported),
    ("location", Carry::Exported),
    ("custody", Carry::Exported),
    ("storage_operation", Carry::Exported),
    ("job", Carry::Exported),
    ("library", Carry::Exported),
    ("pool", Carry::Exported),
    ("run", Carry::Exported),
    ("qc_thresholds", Carry::Exported),
    ("index_kit", Carry::Exported),
    ("flow_cell", Carry::Exported),
    ("subscription", Carry::Exported),
    ("notification_channel", Carry::Exported),
    ("notification_template", Carry::Exported),
    ("webhook", Carry::Exported),
    ("delivery", Carry::Exported),
    ("inbox_message", Carry::Exported),
    ("digest_entry", Carry::Exported),
    ("digest_window", Carry::Exported),
    ("lab_export", Carry::Exported),
    (
        "idempotency",
        Carry::Excluded("a stored answer can hold a secret shown once (a webhook's)"),
    ),
    (
        "secret_delivery",
        Carry::Excluded("a reset or invitation token (written before account mail)"),
    ),
    ("account_mail", Carry::Excluded("a reset or invitation token")),
    ("session", Carry::Excluded("a sign-in, not lab data")),
    ("refresh_token", Carry::Excluded("a credential")),
    ("password_reset", Carry::Excluded("a credential")),
    ("throttle", Carry::Excluded("a rate counter")),
    ("dedupe", Carry::Excluded("a consumer's bookkeeping")),
    (
        "report_counter",
        Carry::Excluded("derived from the lab's events, which the export carries"),
    ),
    ("report_marker", Carry::Excluded("the reports consumer's bookkeeping")),
    (
        "list_export",
        Carry::Excluded("a list export's record: its file is kept 7 days, its rows are in the export"),
    ),
    // A unit's band and watch; its device token's hash is redacted (a new token is issued).
    ("monitor", Carry::Exported),
    ("reading", Carry::Exported),
    ("alert_period", Carry::Exported),
];

/// An item's kind: its `entity`, or for the few bare items (counters, guards) the first
/// part of its sort key in lower case (`COUNTER#barcode` is a `counter`).
pub fn kind_of(item: &Item) -> String {
    if let Some(e) = item.get("entity").and_then(|v| v.as_s().ok()) {
        return e.clone();
    }
    let sk = item.get("SK").and_then(|v| v.as_s().ok()).map_or("", String::as_str);
    sk.split('#').next().unwrap_or_default().to_lowercase()
}

/// What an export does with an item: by its kind, and a delivery that names an account
/// mail's link (`secret_ref`) is left out whatever its body says.
pub fn carry(item: &Item) -> Carry {
    let kind = kind_of(item);
    if kind == "delivery" && item.contains_key("secret_ref") {
        return Carry::Excluded("a reset or invitation email");
    }
    match KINDS.iter().find(|(k, _)| *k == kind) {
        Some((_, c)) => *c,
        None => Carry::Excluded("an unclassified kind"),
    }
}

/// S3 prefixes holding a lab's files (`{lab}` is replaced).
const FILE_PREFIXES: &[&str] = &["uploads/{lab}/", "imports/{lab}/"];

/// The export record (`LAB#{lab}` / `EXPORT#{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabExport {
    pub id: String,
    pub lab_id: String,
    pub status: ExportStatus,
    pub requested_by: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    /// Size of the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// SHA-256 of the archive, to check the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Object key of the archive (never shown; the API gives a link).
    #[serde(default, skip_serializing)]
    pub archive_key: Option<String>,
    /// Workers that took the export on (a worker that died leaves it to the next one).
    #[serde(default)]
    pub attempts: u32,
    pub version: u64,
}

pub mod keys {

    use tracseq_core::keyed::lab_key;
    pub fn lab(lab: &str) -> String {
        lab_key(lab, &[])
    }
    pub fn export_sk(id: &str) -> String {
        format!("EXPORT#{id}")
    }
}

/// The job on the export queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportJob {
    pub lab_id: String,
    pub export_id: String,
}

impl LabExport {
    pub fn new(id: String, lab_id: String, requested_by: String) -> Self {
        Self {
            id,
            lab_id,
            status: ExportStatus::Queued,
            requested_by,
            created_at: tracseq_core::now_rfc3339(),
            finished_at: None,
            items: None,
            files: None,
            bytes: None,
            sha256: None,
            error: None,
            archive_key: None,
            attempts: 0,
            version: 1,
        }
    }

    pub fn to_item(&self) -> Result<Item, OpsError> {
        keyed_item(
            self,
            &[("PK", keys::lab(&self.lab_id)), ("SK", keys::export_sk(&self.id))],
            "lab_export",
        )
        .map_err(|e| OpsError::Internal(e.to_string()))
    }
}

/// Record a new export request.
pub async fn insert(st: &OpsState, export: &LabExport) -> Result<(), OpsError> {
    st.table
        .put_new(export.to_item()?)
        .await
        .map_err(|e| OpsError::aws("recording the export", e))
}

/// Take back an export request nothing will run (it could not be queued). Best effort: a
/// leftover record stays `queued`.
pub async fn forget(st: &OpsState, export: &LabExport) {
    let _ = st
        .table
        .delete_versioned(&keys::lab(&export.lab_id), &keys::export_sk(&export.id), 1)
        .await;
}

pub async fn load(st: &OpsState, lab: &str, id: &str) -> Result<Option<LabExport>, OpsError> {
    st.table
        .get(&keys::lab(lab), &keys::export_sk(id))
        .await
        .map_err(|e| OpsError::aws("reading the export", e))?
        .map(|item| from_item(item).map_err(|e| OpsError::Internal(e.to_string())))
        .transpose()
}

/// The archive's own description of itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArchiveManifest {
    pub format: u32,
    pub lab_id: String,
    pub export_id: String,
    pub created_at: String,
    pub items: u64,
    /// Items per `entity`.
    pub entities: BTreeMap<String, u64>,
    /// The `items/NNNNN.jsonl` entries, in order.
    pub item_parts: Vec<ItemPart>,
    pub files: Vec<ArchiveFile>,
    pub redacted: Vec<String>,
    /// Items left out per kind (see [`KINDS`]).
    #[serde(default)]
    pub excluded: BTreeMap<String, u64>,
}

/// One entry of the items: plain-JSON items, one per line, sorted by key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemPart {
    pub path: String,
    pub items: u64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArchiveFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Run one export job to its end. A job for a finished export (a redelivered message)
/// does nothing. The queue hands a job out again only after its visibility timeout, which
/// outlasts the worker, so a `running` export met here was left by a worker that died: it
/// is taken over (one claim wins, by version), not left `running` for ever.
pub async fn run(st: &OpsState, job: &ExportJob) -> Result<(), OpsError> {
    let Some(export) = load(st, &job.lab_id, &job.export_id).await? else {
        tracing::warn!(export = %job.export_id, "export job for an unknown export");
        return Ok(());
    };
    if !matches!(export.status, ExportStatus::Queued | ExportStatus::Running) {
        return Ok(());
    }
    let (pk, sk) = (keys::lab(&job.lab_id), keys::export_sk(&job.export_id));
    let attempt = export.attempts + 1;
    let claimed = st
        .table
        .update_versioned(
            &pk,
            &sk,
            export.version,
            &[
                ("status", s(ExportStatus::Running.as_str())),
                ("attempts", AttributeValue::N(attempt.to_string())),
            ],
        )
        .await;
    let version = match claimed {
        Ok(v) => v,
        Err(e) if e.is_condition_failure() => return Ok(()),
        Err(e) => return Err(OpsError::aws("claiming the export", e)),
    };
    if attempt <= st.settings.export_crash_attempts {
        return Err(OpsError::Internal(format!("simulated crash on attempt {attempt}")));
    }
    let outcome = build(st, &export).await;
    let mut sets = vec![("finished_at", s(tracseq_core::now_rfc3339()))];
    match &outcome {
        Ok(done) => {
            sets.extend([
                ("status", s(ExportStatus::Completed.as_str())),
                ("items", AttributeValue::N(done.items.to_string())),
                ("files", AttributeValue::N(done.files.to_string())),
                ("bytes", AttributeValue::N(done.bytes.to_string())),
                ("sha256", s(done.sha256.as_str())),
                ("archive_key", s(done.key.as_str())),
            ]);
        }
        Err(e) => {
            tracing::error!(export = %export.id, error = %e, "lab export failed");
            sets.extend([
                ("status", s(ExportStatus::Failed.as_str())),
                ("error", s(e.to_string().chars().take(300).collect::<String>())),
            ]);
        }
    }
    st.table
        .update_versioned(&pk, &sk, version, &sets)
        .await
        .map_err(|e| OpsError::aws("recording the export", e))?;
    Ok(())
}

/// The export queue's dead letters: a job that failed every delivery ends its export
/// `failed` with the reason instead of leaving it `queued` or `running`.
pub async fn give_up(st: &OpsState, job: &ExportJob) -> Result<(), OpsError> {
    let Some(export) = load(st, &job.lab_id, &job.export_id).await? else {
        return Ok(());
    };
    if !matches!(export.status, ExportStatus::Queued | ExportStatus::Running) {
        return Ok(());
    }
    tracing::error!(export = %export.id, lab = %export.lab_id, attempts = export.attempts, "export job failed every delivery; failing the export");
    let (pk, sk) = (keys::lab(&job.lab_id), keys::export_sk(&job.export_id));
    let sets = [
        ("status", s(ExportStatus::Failed.as_str())),
        ("finished_at", s(tracseq_core::now_rfc3339())),
        (
            "error",
            s(format!(
                "the export could not finish after {} attempts; request a new one",
                export.attempts
            )),
        ),
    ];
    match st.table.update_versioned(&pk, &sk, export.version, &sets).await {
        Ok(_) => Ok(()),
        // A worker finished it meanwhile: its outcome stands.
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(OpsError::aws("failing the export", e)),
    }
}

struct Done {
    key: String,
    items: u64,
    files: u64,
    bytes: u64,
    sha256: String,
}

/// Size of each `items/` entry before compression: the worker holds about one, and one
/// upload part (`EXPORT_PART_MIB`, 8 MiB by default), whatever the lab's size.
const ITEMS_ENTRY_BYTES: usize = 8 * 1024 * 1024;

async fn build(st: &OpsState, export: &LabExport) -> Result<Done, OpsError> {
    let lab = &export.lab_id;
    let key = format!("exports/{lab}/{}.tar.gz", export.id);
    let mut archive = Archive::start(st, &key, &format!("tracseq-{lab}-{}.tar.gz", export.id)).await?;
    match fill(st, export, &mut archive).await {
        Ok((items, files)) => {
            let (bytes, sha256) = archive.finish().await?;
            Ok(Done {
                key,
                items,
                files,
                bytes,
                sha256,
            })
        }
        Err(e) => {
            archive.abort().await;
            Err(e)
        }
    }
}

/// Write the lab's items, its files and the manifest into the archive.
async fn fill(st: &OpsState, export: &LabExport, archive: &mut Archive<'_>) -> Result<(u64, u64), OpsError> {
    let lab = &export.lab_id;
    let mut manifest = ArchiveManifest {
        format: 2,
        lab_id: lab.clone(),
        export_id: export.id.clone(),
        created_at: tracseq_core::now_rfc3339(),
        items: 0,
        entities: BTreeMap::new(),
        item_parts: Vec::new(),
        files: Vec::new(),
        redacted: REDACTED.iter().map(|s| (*s).to_owned()).collect(),
        excluded: BTreeMap::new(),
    };
    let partitions = crate::partitions::of_lab(&st.table, lab).await?;
    let table = &st.table;
    let mut reads = futures::stream::iter(partitions)
        .map(|p| async move {
            table
                .query_all(&p)
                .await
                .map_err(|e| OpsError::aws(&format!("reading {p}"), e))
        })
        .buffered(8);
    let mut lines = String::new();
    let mut part_items = 0u64;
    while let Some(items) = reads.next().await {
        for mut item in items? {
            match carry(&item) {
                Carry::Exported => {}
                Carry::Excluded(why) => {
                    let kind = kind_of(&item);
                    if why == "an unclassified kind" {
                        tracing::error!(%kind, "an item kind the export does not know; left out");
                    }
                    *manifest.excluded.entry(kind).or_insert(0) += 1;
                    continue;
                }
            }
            for attr in REDACTED {
                item.remove(*attr);
            }
            *manifest.entities.entry(kind_of(&item)).or_insert(0) += 1;
            lines.push_str(&item_to_plain(&item).to_string());
            lines.push('\n');
            part_items += 1;
            if lines.len() >= ITEMS_ENTRY_BYTES {
                manifest.item_parts.push(archive.items(&mut lines, part_items).await?);
                part_items = 0;
            }
        }
    }
    if part_items > 0 {
        manifest.item_parts.push(archive.items(&mut lines, part_items).await?);
    }
    manifest.items = manifest.item_parts.iter().map(|p| p.items).sum();
    for prefix in FILE_PREFIXES.iter().map(|p| p.replace("{lab}", lab)) {
        let mut pages = st
            .s3
            .list_objects_v2()
            .bucket(&st.settings.files_bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| OpsError::aws("listing the lab's files", e))?;
            for key in page.contents().iter().filter_map(|o| o.key()) {
                manifest.files.push(archive.file(key).await?);
            }
        }
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| OpsError::Internal(e.to_string()))?;
    archive.entry("manifest.json", &json).await?;
    Ok((manifest.items, manifest.files.len() as u64))
}

/// A `.tar.gz` written to S3 while it grows (a multipart upload of `part_bytes` parts),
/// with its size and SHA-256 counted on the way.
struct Archive<'a> {
    st: &'a OpsState,
    key: String,
    upload_id: String,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
    tar: tar::Builder<GzEncoder<Vec<u8>>>,
    sha: Sha256,
    bytes: u64,
    mtime: u64,
    item_entries: usize,
    part_bytes: usize,
}

fn io_error(what: &str) -> impl Fn(std::io::Error) -> OpsError + '_ {
    move |e| OpsError::Internal(format!("writing the archive ({what}): {e}"))
}

impl<'a> Archive<'a> {
    async fn start(st: &'a OpsState, key: &str, filename: &str) -> Result<Self, OpsError> {
        let created = st
            .s3
            .create_multipart_upload()
            .bucket(&st.settings.files_bucket)
            .key(key)
            .content_type("application/gzip")
            .content_disposition(format!("attachment; filename=\"{filename}\""))
            .send()
            .await
            .map_err(|e| OpsError::aws("starting the archive upload", e))?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| OpsError::Internal("S3 gave no upload id".into()))?;
        Ok(Self {
            st,
            key: key.to_owned(),
            upload_id,
            parts: Vec::new(),
            tar: tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default())),
            sha: Sha256::new(),
            bytes: 0,
            mtime: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            item_entries: 0,
            part_bytes: st.settings.export_part_mib * 1024 * 1024,
        })
    }

    fn header(&self, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(self.mtime);
        header
    }

    /// Upload what the encoder wrote once it makes a part (S3 wants at least 5 MiB per
    /// part but the last).
    async fn flush(&mut self) -> Result<(), OpsError> {
        let buffered = self.tar.get_mut().get_mut();
        if buffered.len() < self.part_bytes {
            return Ok(());
        }
        let body = std::mem::take(buffered);
        self.upload(body).await
    }

    async fn upload(&mut self, body: Vec<u8>) -> Result<(), OpsError> {
        self.sha.update(&body);
        self.bytes += body.len() as u64;
        let number = self.parts.len() as i32 + 1;
        let done = self
            .st
            .s3
            .upload_part()
            .bucket(&self.st.settings.files_bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(body.into())
            .send()
            .await
            .map_err(|e| OpsError::aws("uploading part of the archive", e))?;
        self.parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(done.e_tag)
                .build(),
        );
        Ok(())
    }

    /// A whole entry held in memory (a manifest, a part of the items).
    async fn entry(&mut self, path: &str, body: &[u8]) -> Result<(), OpsError> {
        let mut header = self.header(body.len() as u64);
        self.tar.append_data(&mut header, path, body).map_err(io_error(path))?;
        self.flush().await
    }

    /// The next `items/NNNNN.jsonl` entry, from `lines` (emptied).
    async fn items(&mut self, lines: &mut String, items: u64) -> Result<ItemPart, OpsError> {
        let body = std::mem::take(lines).into_bytes();
        self.item_entries += 1;
        let path = format!("items/{:05}.jsonl", self.item_entries);
        let part = ItemPart {
            path: path.clone(),
            items,
            bytes: body.len() as u64,
            sha256: hex::encode(Sha256::digest(&body)),
        };
        self.entry(&path, &body).await?;
        Ok(part)
    }

    /// One object of the files bucket, streamed into `files/{key}`: its header, then its
    /// body as S3 hands it over, then the padding; never the whole object in memory.
    async fn file(&mut self, key: &str) -> Result<ArchiveFile, OpsError> {
        let obj = self
            .st
            .s3
            .get_object()
            .bucket(&self.st.settings.files_bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| OpsError::aws(&format!("reading {key}"), e))?;
        let size = obj.content_length.unwrap_or(0).max(0) as u64;
        let path = format!("files/{key}");
        let mut header = self.header(size);
        // The header alone (with the size to come); the body follows below.
        self.tar
            .append_data(&mut header, &path, std::io::empty())
            .map_err(io_error(&path))?;
        let (mut body, mut sha, mut read) = (obj.body, Sha256::new(), 0u64);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| OpsError::aws(&format!("reading {key}"), e))?
        {
            read += chunk.len() as u64;
            if read > size {
                break;
            }
            sha.update(&chunk);
            self.tar.get_mut().write_all(&chunk).map_err(io_error(&path))?;
            self.flush().await?;
        }
        if read != size {
            return Err(OpsError::Internal(format!("{key} changed while it was read")));
        }
        let padding = (512 - size % 512) % 512;
        self.tar
            .get_mut()
            .write_all(&vec![0u8; padding as usize])
            .map_err(io_error(&path))?;
        self.flush().await?;
        Ok(ArchiveFile {
            path,
            bytes: size,
            sha256: hex::encode(sha.finalize()),
        })
    }

    /// End the archive and the upload: its size and SHA-256.
    async fn finish(mut self) -> Result<(u64, String), OpsError> {
        self.tar.finish().map_err(io_error("end"))?;
        let rest = self.tar.get_mut().try_finish().map(|_| ());
        rest.map_err(io_error("end"))?;
        let tail = std::mem::take(self.tar.get_mut().get_mut());
        if !tail.is_empty() || self.parts.is_empty() {
            self.upload(tail).await?;
        }
        let parts = std::mem::take(&mut self.parts);
        let completed = self
            .st
            .s3
            .complete_multipart_upload()
            .bucket(&self.st.settings.files_bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        if let Err(e) = completed {
            self.abort().await;
            return Err(OpsError::aws("completing the archive upload", e));
        }
        Ok((self.bytes, hex::encode(self.sha.clone().finalize())))
    }

    /// Drop the parts uploaded so far (S3 would keep them, and bill them, otherwise).
    async fn abort(&self) {
        let aborted = self
            .st
            .s3
            .abort_multipart_upload()
            .bucket(&self.st.settings.files_bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(error = ?e, key = %self.key, "aborting the archive upload failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_classified_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (kind, _) in KINDS {
            assert!(seen.insert(*kind), "{kind} twice");
        }
        let item = |entity: &str| Item::from([("entity".to_owned(), s(entity))]);
        assert_eq!(carry(&item("sample")), Carry::Exported);
        assert!(matches!(carry(&item("session")), Carry::Excluded(_)));
        assert!(matches!(carry(&item("something new")), Carry::Excluded(_)));
        let mut reset = item("delivery");
        reset.insert("secret_ref".into(), s("ACCOUNTMAIL#1"));
        assert!(matches!(carry(&reset), Carry::Excluded(_)));
    }
}
