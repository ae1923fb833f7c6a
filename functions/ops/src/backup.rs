//! Taking a backup: every table, scanned in parallel segments, written to the backup bucket
//! as gzip JSON-lines parts, then the manifest.
//!
//! A scan is not a snapshot: an item written during the backup may or may not be in it.
//! In AWS, point-in-time recovery (on for the table) covers the exact-moment case; these
//! backups are the portable, verifiable copy kept for 30 days.

use crate::dynamo_json::{item_hash, item_line, set_digest};
use crate::error::OpsError;
use crate::manifest::{self, Attr, BackupFile, IndexSchema, Manifest, TableBackup, TableSchema};
use crate::scan;
use aws_sdk_dynamodb::types::TableDescription;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::Write;

/// Where and how to back up.
#[derive(Debug, Clone)]
pub struct Backup {
    pub ddb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// Parallel scan segments per table.
    pub segments: u32,
    /// Items per part file, so no one object (or restore step) grows without bound.
    pub part_items: usize,
    pub source_version: String,
    pub stage: String,
}

/// What one segment wrote.
struct Segment {
    files: Vec<BackupFile>,
    hashes: Vec<[u8; 32]>,
}

impl Backup {
    /// Back up `tables` now; returns the manifest, already stored.
    pub async fn run(&self, tables: &[String]) -> Result<Manifest, OpsError> {
        let started = time::OffsetDateTime::now_utc();
        let id = manifest::backup_id(started);
        let mut out = Vec::with_capacity(tables.len());
        for table in tables {
            out.push(self.table(&id, table).await?);
        }
        let manifest = Manifest {
            format: manifest::FORMAT,
            id: id.clone(),
            started_at: rfc3339(started),
            finished_at: tracseq_core::now_rfc3339(),
            source_version: self.source_version.clone(),
            stage: self.stage.clone(),
            tables: out,
        };
        let body = serde_json::to_vec_pretty(&manifest).map_err(|e| OpsError::Internal(e.to_string()))?;
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(manifest::manifest_key(&id))
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(|e| OpsError::aws("writing the manifest", e))?;
        Ok(manifest)
    }

    async fn table(&self, id: &str, table: &str) -> Result<TableBackup, OpsError> {
        let description = self
            .ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| OpsError::aws(&format!("describing {table}"), e))?
            .table
            .ok_or_else(|| OpsError::Internal(format!("no description of {table}")))?;
        let segments = futures::future::try_join_all((0..self.segments).map(|s| self.segment(id, table, s))).await?;
        let mut files = Vec::new();
        let mut hashes = Vec::new();
        for s in segments {
            files.extend(s.files);
            hashes.extend(s.hashes);
        }
        Ok(TableBackup {
            name: table.to_owned(),
            items: hashes.len() as u64,
            digest: set_digest(&mut hashes),
            schema: schema_of(&description),
            files,
        })
    }

    /// Scan one segment, cutting a part every `part_items` items.
    async fn segment(&self, id: &str, table: &str, segment: u32) -> Result<Segment, OpsError> {
        let mut out = Segment {
            files: Vec::new(),
            hashes: Vec::new(),
        };
        let mut part = Part::default();
        let mut pages = scan::Pager::new(&self.ddb, table, (segment, self.segments), None);
        while let Some(items) = pages.next().await? {
            for item in &items {
                let line = item_line(item);
                out.hashes.push(item_hash(&line));
                part.push(&line)?;
                if part.items >= self.part_items {
                    let key = part_key(id, table, segment, out.files.len());
                    out.files.push(self.upload(key, std::mem::take(&mut part)).await?);
                }
            }
        }
        if part.items > 0 {
            let key = part_key(id, table, segment, out.files.len());
            out.files.push(self.upload(key, part).await?);
        }
        Ok(out)
    }

    async fn upload(&self, key: String, part: Part) -> Result<BackupFile, OpsError> {
        let items = part.items as u64;
        let body = part.finish()?;
        let file = BackupFile {
            sha256: hex::encode(Sha256::digest(&body)),
            bytes: body.len() as u64,
            items,
            key,
        };
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&file.key)
            .content_type("application/x-ndjson")
            .checksum_sha256(base64_sha(&file.sha256))
            .body(body.into())
            .send()
            .await
            .map_err(|e| OpsError::aws(&format!("writing {}", file.key), e))?;
        Ok(file)
    }
}

/// S3 checks the upload against our SHA-256 too, so a part cannot be stored damaged.
fn base64_sha(hex_sha: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_sha).unwrap_or_default())
}

fn part_key(id: &str, table: &str, segment: u32, n: usize) -> String {
    format!("{}{id}/{table}/part-{segment:03}-{n:04}.jsonl.gz", manifest::ROOT)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One gzip JSON-lines part being written.
struct Part {
    gz: GzEncoder<Vec<u8>>,
    items: usize,
}

impl Default for Part {
    fn default() -> Self {
        Self {
            gz: GzEncoder::new(Vec::new(), Compression::new(6)),
            items: 0,
        }
    }
}

impl Part {
    fn push(&mut self, line: &str) -> Result<(), OpsError> {
        self.gz
            .write_all(line.as_bytes())
            .and_then(|()| self.gz.write_all(b"\n"))
            .map_err(|e| OpsError::Internal(format!("compressing: {e}")))?;
        self.items += 1;
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, OpsError> {
        self.gz
            .finish()
            .map_err(|e| OpsError::Internal(format!("compressing: {e}")))
    }
}

/// The parts of a table's definition a restore needs to recreate it.
pub fn schema_of(t: &TableDescription) -> TableSchema {
    let keys = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        ks.iter()
            .map(|k| Attr {
                name: k.attribute_name().to_owned(),
                kind: k.key_type().as_str().to_owned(),
            })
            .collect()
    };
    TableSchema {
        attributes: t
            .attribute_definitions()
            .iter()
            .map(|a| Attr {
                name: a.attribute_name().to_owned(),
                kind: a.attribute_type().as_str().to_owned(),
            })
            .collect(),
        keys: keys(t.key_schema()),
        indexes: t
            .global_secondary_indexes()
            .iter()
            .map(|g| IndexSchema {
                name: g.index_name().unwrap_or_default().to_owned(),
                keys: keys(g.key_schema()),
                projection: g
                    .projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "ALL".into()),
                non_key_attributes: g
                    .projection()
                    .map(|p| p.non_key_attributes().to_vec())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}
