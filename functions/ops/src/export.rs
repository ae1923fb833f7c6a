//! One lab's data as a downloadable archive, for a lab that leaves.
//!
//! `POST /api/lab/exports` records the request and queues it; the `ops_lab_export` worker
//! (SQS) scans the table for the lab's partitions (the lab id leads every one of them,
//! docs/data-model.md, invariant 1), adds the lab's uploaded files, and writes one `.tar.gz` to the
//! files bucket; `GET /api/lab/exports/{id}` then answers with a short-lived download link.
//!
//! The archive holds `manifest.json`, `items.jsonl` (one plain-JSON item per line, sorted
//! by key) and `files/…`. Only the kinds [`KINDS`] marks as exported leave: idempotency
//! records (a stored answer can hold a webhook's secret), reset and invitation mail and
//! anything unclassified stay behind, counted in the manifest's `excluded`; password hashes
//! are removed from users. Global login lookups (email guards, sessions, refresh tokens,
//! throttles) and consumer dedupe records are not the lab's partitions at all.

use crate::dynamo_json::{Item, item_to_plain};
use crate::error::OpsError;
use crate::scan::{self, Filter};
use crate::state::OpsState;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
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
pub const REDACTED: &[&str] = &["password_hash"];

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
    pub fn lab(lab: &str) -> String {
        format!("LAB#{lab}")
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
    pub items_sha256: String,
    pub files: Vec<ArchiveFile>,
    pub redacted: Vec<String>,
    /// Items left out per kind (see [`KINDS`]).
    #[serde(default)]
    pub excluded: BTreeMap<String, u64>,
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

async fn build(st: &OpsState, export: &LabExport) -> Result<Done, OpsError> {
    let lab = &export.lab_id;
    let (items, excluded) = lab_items(st, lab).await?;
    let mut entities = BTreeMap::new();
    let mut lines = String::new();
    for item in &items {
        let entity = item
            .get("entity")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        *entities.entry(entity).or_insert(0u64) += 1;
        lines.push_str(&item_to_plain(item).to_string());
        lines.push('\n');
    }
    let files = lab_files(st, lab).await?;
    let manifest = ArchiveManifest {
        format: 1,
        lab_id: lab.clone(),
        export_id: export.id.clone(),
        created_at: tracseq_core::now_rfc3339(),
        items: items.len() as u64,
        entities,
        items_sha256: hex::encode(Sha256::digest(lines.as_bytes())),
        files: files
            .iter()
            .map(|(path, body)| ArchiveFile {
                path: path.clone(),
                bytes: body.len() as u64,
                sha256: hex::encode(Sha256::digest(body)),
            })
            .collect(),
        redacted: REDACTED.iter().map(|s| (*s).to_owned()).collect(),
        excluded,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|e| OpsError::Internal(e.to_string()))?;
    let mut entries = vec![
        ("manifest.json".to_owned(), manifest_json),
        ("items.jsonl".to_owned(), lines.into_bytes()),
    ];
    entries.extend(files);
    let archive = tar_gz(&entries).map_err(|e| OpsError::Internal(format!("writing the archive: {e}")))?;
    let key = format!("exports/{lab}/{}.tar.gz", export.id);
    let sha256 = hex::encode(Sha256::digest(&archive));
    let bytes = archive.len() as u64;
    st.s3
        .put_object()
        .bucket(&st.settings.files_bucket)
        .key(&key)
        .content_type("application/gzip")
        .content_disposition(format!("attachment; filename=\"tracseq-{lab}-{}.tar.gz\"", export.id))
        .body(archive.into())
        .send()
        .await
        .map_err(|e| OpsError::aws("storing the archive", e))?;
    Ok(Done {
        key,
        items: manifest.items,
        files: manifest.files.len() as u64,
        bytes,
        sha256,
    })
}

/// Every exported item of the lab's partitions, sorted by key, with [`REDACTED`] attributes
/// removed; and the count of items left out per kind.
pub async fn lab_items(st: &OpsState, lab: &str) -> Result<(Vec<Item>, BTreeMap<String, u64>), OpsError> {
    let filter = Filter {
        expression: "PK = :root OR begins_with(PK, :prefix)".into(),
        values: HashMap::from([
            (":root".to_owned(), s(keys::lab(lab))),
            (":prefix".to_owned(), s(format!("{}#", keys::lab(lab)))),
        ]),
    };
    let segments = st.settings.segments;
    let scans: Vec<_> = (0..segments)
        .map(|seg| scan::Pager::new(&st.table.client, &st.table.name, (seg, segments), Some(&filter)).collect())
        .collect();
    let parts = futures::future::try_join_all(scans).await?;
    let mut excluded = BTreeMap::new();
    let mut items: Vec<Item> = Vec::new();
    for item in parts.into_iter().flatten() {
        match carry(&item) {
            Carry::Exported => items.push(item),
            Carry::Excluded(why) => {
                let kind = kind_of(&item);
                if why == "an unclassified kind" {
                    tracing::error!(%kind, "an item kind the export does not know; left out");
                }
                *excluded.entry(kind).or_insert(0u64) += 1;
            }
        }
    }
    for item in &mut items {
        for attr in REDACTED {
            item.remove(*attr);
        }
    }
    let key = |i: &Item| {
        let get = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        (get("PK"), get("SK"))
    };
    items.sort_by_cached_key(key);
    Ok((items, excluded))
}

/// The lab's objects in the files bucket, as `files/{key}` entries.
async fn lab_files(st: &OpsState, lab: &str) -> Result<Vec<(String, Vec<u8>)>, OpsError> {
    let bucket = &st.settings.files_bucket;
    let mut out = Vec::new();
    for prefix in FILE_PREFIXES.iter().map(|p| p.replace("{lab}", lab)) {
        let mut pages = st
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| OpsError::aws("listing the lab's files", e))?;
            for key in page.contents().iter().filter_map(|o| o.key()) {
                let body = st
                    .s3
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| OpsError::aws(&format!("reading {key}"), e))?
                    .body
                    .collect()
                    .await
                    .map_err(|e| OpsError::aws(&format!("reading {key}"), e))?
                    .into_bytes()
                    .to_vec();
                out.push((format!("files/{key}"), body));
            }
        }
    }
    Ok(out)
}

/// A gzip tar of `(path, body)` entries.
pub fn tar_gz(entries: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for (path, body) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append_data(&mut header, path, body.as_slice())?;
    }
    tar.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn archive_holds_every_entry_byte_for_byte() {
        let entries = vec![
            ("manifest.json".to_owned(), b"{}".to_vec()),
            ("files/uploads/lab/a.csv".to_owned(), b"x,y\n1,2\n".to_vec()),
        ];
        let gz = tar_gz(&entries).unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        let mut got = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            got.push((path, body));
        }
        assert_eq!(got, entries);
    }
}
