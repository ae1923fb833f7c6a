//! Restoring a backup into a table, proven by checksum.
//!
//! Order matters, so that a bad backup writes nothing:
//! 1. every file is downloaded and checked against the manifest's SHA-256 and item count,
//!    every line parsed, and the table digest recomputed from the lines;
//! 2. the target is created from the manifest's schema if missing, and must be empty
//!    unless the request says `force`;
//! 3. the items are written (BatchWriteItem, several batches in flight);
//! 4. the target is scanned back: every backed-up item must be there unchanged, and an
//!    empty target must now hold exactly the backup (same count, same digest).

use crate::dynamo_json::{item_hash, parse_line, set_digest};
use crate::error::OpsError;
use crate::manifest::{BackupFile, TableBackup, TableSchema};
use crate::scan;
use crate::store::BackupStore;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};
use tracseq_aws::auth::{CREDENTIAL_PREFIXES, SESSION_PREFIX};
use tracseq_aws::maintenance::{self, RestoreMarker};
use tracseq_aws::store::{StoreError, Table};

/// What to restore, where. The event of the restore function and the runner's command.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// A date (`2026-11-27`, that day's last backup) or a backup id.
    pub backup: String,
    /// Which table of the backup; may be left out when it holds one.
    #[serde(default)]
    pub table: Option<String>,
    /// The table to write; the backed-up table's name when left out.
    #[serde(default)]
    pub target: Option<String>,
    /// Write into a table that already holds items.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RestoreReport {
    pub backup: String,
    pub table: String,
    pub target: String,
    /// The target did not exist and was created from the manifest's schema.
    pub created: bool,
    pub items: u64,
    pub files: usize,
    pub digest: String,
    /// Whether the target was empty, so that it now held exactly the backup once written
    /// (an in-place restore then revokes what it brought back, below).
    pub exact: bool,
    /// The target is the live table: the restore marker paused the schedules and the
    /// publisher's resending while it wrote, and afterwards every session was revoked,
    /// every refresh, reset and account-mail token deleted and a new signing key made.
    pub in_place: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secured: Option<Secured>,
    pub duration_ms: u64,
}

/// What an in-place restore revoked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Secured {
    pub sessions_revoked: u64,
    pub tokens_deleted: u64,
    /// The new signing key (every earlier key is retired).
    pub signing_key: String,
}

#[derive(Debug, Clone)]
pub struct Restore {
    pub ddb: aws_sdk_dynamodb::Client,
    pub store: BackupStore,
    /// BatchWriteItem calls in flight.
    pub concurrency: usize,
    pub segments: u32,
    /// The stack's live table: a restore into it is in place.
    pub live_table: String,
    /// Every table a restore may write is named with the stack's prefix (the restore
    /// function's role allows no other).
    pub table_prefix: Option<String>,
    pub ssm: aws_sdk_ssm::Client,
    /// The restore marker's parameter (`RESTORE_MARKER_PARAM`).
    pub marker_param: Option<String>,
    /// The signing keys an in-place restore replaces.
    pub keys: Option<tracseq_aws::jwt_keys::KeyParams>,
}

/// A downloaded, verified file.
struct Verified {
    body: Vec<u8>,
    hashes: Vec<[u8; 32]>,
}

impl Restore {
    pub async fn run(&self, req: &RestoreRequest) -> Result<RestoreReport, OpsError> {
        let started = Instant::now();
        let manifest = self.store.find(req.backup.trim()).await?;
        let table = pick_table(&manifest.tables, req.table.as_deref())?;
        let target = req.target.clone().unwrap_or_else(|| table.name.clone());
        if target.is_empty() || target.len() > 255 {
            return Err(OpsError::Invalid("target must name a table".into()));
        }
        if let Some(prefix) = &self.table_prefix
            && !target.starts_with(prefix.as_str())
        {
            return Err(OpsError::Invalid(format!(
                "target must be a table of this stack, named {prefix}…"
            )));
        }
        let files = self.verify(table).await?;
        let in_place = target == self.live_table;
        let marker = match in_place {
            true => Some(self.mark(&manifest.id, &target, None).await?),
            false => None,
        };
        let outcome = async {
            let (created, was_empty) = self.prepare(&target, &table.schema, req.force).await?;
            let writer = Table::new(self.ddb.clone(), target.clone());
            for f in &files {
                self.write(&writer, &f.body).await?;
            }
            let mut expected: Vec<[u8; 32]> = files.iter().flat_map(|f| f.hashes.iter().copied()).collect();
            self.check(&target, &mut expected, was_empty).await?;
            let secured = match in_place {
                true => Some(self.secure(&target).await?),
                false => None,
            };
            Ok::<_, OpsError>((created, was_empty, secured))
        }
        .await;
        // Whatever happened, the schedules go on: a failed restore is retried by hand.
        if let Some(m) = marker {
            self.mark(&m.backup, &m.target, Some(m.started_at)).await?;
        }
        let (created, was_empty, secured) = outcome?;
        let report = RestoreReport {
            backup: manifest.id.clone(),
            table: table.name.clone(),
            target,
            created,
            items: table.items,
            files: table.files.len(),
            digest: table.digest.clone(),
            exact: was_empty,
            in_place,
            secured,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(backup = %report.backup, target = %report.target, items = report.items, ms = report.duration_ms, "restore verified");
        Ok(report)
    }

    /// Set the restore marker: `running` from now, or (with the start) finished now.
    async fn mark(&self, backup: &str, target: &str, started: Option<f64>) -> Result<RestoreMarker, OpsError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        let marker = RestoreMarker {
            backup: backup.to_owned(),
            target: target.to_owned(),
            running: started.is_none(),
            started_at: started.unwrap_or(now),
            finished_at: started.map(|_| now),
        };
        if let Some(param) = &self.marker_param {
            maintenance::store(&self.ssm, param, &marker)
                .await
                .map_err(|e| OpsError::Internal(e.to_string()))?;
        }
        Ok(marker)
    }

    /// After an in-place restore: what the backup brought back must not let anyone in.
    /// Every session is revoked (so every token issued before is refused), refresh, reset
    /// and account-mail tokens are deleted, and a new signing key signs from now on.
    async fn secure(&self, target: &str) -> Result<Secured, OpsError> {
        let mut values = HashMap::from([(":s".to_owned(), AttributeValue::S(SESSION_PREFIX.to_owned()))]);
        let mut clauses = vec!["begins_with(PK, :s)".to_owned()];
        for (i, p) in CREDENTIAL_PREFIXES.iter().enumerate() {
            values.insert(format!(":c{i}"), AttributeValue::S((*p).to_owned()));
            clauses.push(format!("begins_with(PK, :c{i})"));
        }
        let filter = scan::Filter {
            expression: clauses.join(" OR "),
            values,
        };
        let items = scan::Pager::new(&self.ddb, target, (0, 1), Some(&filter))
            .collect()
            .await?;
        let (mut sessions_revoked, mut tokens_deleted) = (0, 0);
        for item in items {
            let (Some(pk), Some(sk)) = (item.get("PK").cloned(), item.get("SK").cloned()) else {
                continue;
            };
            let is_session = pk.as_s().is_ok_and(|p| p.starts_with(SESSION_PREFIX));
            if is_session {
                let revoked = self
                    .ddb
                    .update_item()
                    .table_name(target)
                    .key("PK", pk)
                    .key("SK", sk)
                    .update_expression("SET revoked = :t")
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_values(":t", AttributeValue::Bool(true))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk);
                match revoked {
                    Ok(_) => sessions_revoked += 1,
                    // Expired (TTL) meanwhile: nothing to revoke.
                    Err(e) if e.is_condition_failure() => {}
                    Err(e) => return Err(OpsError::aws("revoking a session", e)),
                }
            } else {
                self.ddb
                    .delete_item()
                    .table_name(target)
                    .key("PK", pk)
                    .key("SK", sk)
                    .send()
                    .await
                    .map_err(|e| OpsError::aws("deleting a token", e))?;
                tokens_deleted += 1;
            }
        }
        let signing_key = match &self.keys {
            Some(params) => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                tracseq_aws::jwt_keys::replace(&self.ssm, params, now)
                    .await
                    .map_err(|e| OpsError::Internal(format!("replacing the signing key: {e}")))?
            }
            None => String::new(),
        };
        tracing::info!(sessions_revoked, tokens_deleted, %signing_key, "in-place restore: credentials revoked");
        Ok(Secured {
            sessions_revoked,
            tokens_deleted,
            signing_key,
        })
    }

    /// Step 1: download and check every file before anything is written.
    async fn verify(&self, table: &TableBackup) -> Result<Vec<Verified>, OpsError> {
        let checks: Vec<_> = table.files.iter().map(|f| self.verify_file(f)).collect();
        let files: Vec<Verified> = futures::stream::iter(checks).buffered(4).try_collect().await?;
        let mut hashes: Vec<[u8; 32]> = files.iter().flat_map(|f| f.hashes.iter().copied()).collect();
        let count = hashes.len() as u64;
        let digest = set_digest(&mut hashes);
        if count != table.items || digest != table.digest {
            return Err(OpsError::Corrupted {
                file: "manifest.json".into(),
                detail: format!(
                    "the files hold {count} items with digest {digest}; the manifest says {} with {}",
                    table.items, table.digest
                ),
            });
        }
        Ok(files)
    }

    async fn verify_file(&self, f: &BackupFile) -> Result<Verified, OpsError> {
        let corrupt = |detail: String| OpsError::Corrupted {
            file: f.key.clone(),
            detail,
        };
        let body = self
            .store
            .fetch(&f.key)
            .await?
            .ok_or_else(|| corrupt("missing from the bucket".into()))?;
        let sha = hex::encode(Sha256::digest(&body));
        if sha != f.sha256 {
            return Err(corrupt(format!("SHA-256 is {sha}, the manifest says {}", f.sha256)));
        }
        let mut hashes = Vec::with_capacity(f.items as usize);
        for_each_line(&body, |n, line| {
            parse_line(line).map_err(|e| format!("line {n}: {e}"))?;
            hashes.push(item_hash(line));
            Ok(())
        })
        .map_err(corrupt)?;
        if hashes.len() as u64 != f.items {
            return Err(corrupt(format!(
                "{} items, the manifest says {}",
                hashes.len(),
                f.items
            )));
        }
        Ok(Verified { body, hashes })
    }

    /// Step 2: create the target, or make sure it may be written. Returns (created, empty).
    async fn prepare(&self, target: &str, schema: &TableSchema, force: bool) -> Result<(bool, bool), OpsError> {
        match self.ddb.describe_table().table_name(target).send().await {
            Ok(_) => {
                let probe = self
                    .ddb
                    .scan()
                    .table_name(target)
                    .limit(1)
                    .send()
                    .await
                    .map_err(|e| OpsError::aws(&format!("reading {target}"), e))?;
                let empty = probe.items().is_empty() && probe.last_evaluated_key.is_none();
                if !empty && !force {
                    return Err(OpsError::TargetNotEmpty(target.to_owned()));
                }
                Ok((false, empty))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                self.create(target, schema).await?;
                Ok((true, true))
            }
            Err(e) => Err(OpsError::aws(&format!("describing {target}"), e)),
        }
    }

    async fn create(&self, target: &str, schema: &TableSchema) -> Result<(), OpsError> {
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| OpsError::Invalid(format!("table schema: {e}"));
        let keys = |ks: &[crate::manifest::Attr]| -> Result<Vec<KeySchemaElement>, OpsError> {
            ks.iter()
                .map(|k| {
                    KeySchemaElement::builder()
                        .attribute_name(&k.name)
                        .key_type(KeyType::from(k.kind.as_str()))
                        .build()
                        .map_err(invalid)
                })
                .collect()
        };
        let mut req = self
            .ddb
            .create_table()
            .table_name(target)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys(&schema.keys)?));
        for a in &schema.attributes {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.name)
                    .attribute_type(ScalarAttributeType::from(a.kind.as_str()))
                    .build()
                    .map_err(invalid)?,
            );
        }
        for g in &schema.indexes {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(g.projection.as_str()))
                .set_non_key_attributes((!g.non_key_attributes.is_empty()).then(|| g.non_key_attributes.clone()))
                .build();
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.name)
                    .set_key_schema(Some(keys(&g.keys)?))
                    .projection(projection)
                    .build()
                    .map_err(invalid)?,
            );
        }
        req.send()
            .await
            .map_err(|e| OpsError::aws(&format!("creating {target}"), e))?;
        let deadline = Instant::now() + Duration::from_secs(600);
        while Instant::now() < deadline {
            let t = self
                .ddb
                .describe_table()
                .table_name(target)
                .send()
                .await
                .map_err(|e| OpsError::aws(&format!("describing {target}"), e))?;
            if t.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(OpsError::Internal(format!(
            "{target} did not become active in 10 minutes"
        )))
    }

    /// Step 3: one file's items, 25 to a batch, `concurrency` batches in flight.
    async fn write(&self, table: &Table, body: &[u8]) -> Result<(), OpsError> {
        let mut items = Vec::new();
        for_each_line(body, |n, line| {
            items.push(parse_line(line).map_err(|e| format!("line {n}: {e}"))?);
            Ok(())
        })
        .map_err(OpsError::Internal)?;
        let mut batches = Vec::with_capacity(items.len() / 25 + 1);
        let mut rest = items.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(25).collect::<Vec<_>>());
        }
        let writes: Vec<_> = batches.into_iter().map(|b| table.batch_put(b)).collect();
        futures::stream::iter(writes)
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await
            .map_err(|e| OpsError::aws(&format!("writing {}", table.name), e))?;
        Ok(())
    }

    /// Step 4: read the target back.
    async fn check(&self, target: &str, expected: &mut [[u8; 32]], exact: bool) -> Result<(), OpsError> {
        let scans: Vec<_> = (0..self.segments)
            .map(|s| scan::Pager::new(&self.ddb, target, (s, self.segments), None).collect())
            .collect();
        let segments = futures::future::try_join_all(scans).await?;
        let mut found: Vec<[u8; 32]> = segments
            .iter()
            .flatten()
            .map(|i| item_hash(&crate::dynamo_json::item_line(i)))
            .collect();
        let present: HashSet<&[u8; 32]> = found.iter().collect();
        let missing = expected.iter().filter(|h| !present.contains(h)).count();
        if missing > 0 {
            return Err(OpsError::Verification(format!(
                "{missing} of {} backed-up items are missing or differ in {target}",
                expected.len()
            )));
        }
        if exact {
            let (n, want) = (found.len(), expected.len());
            if set_digest(&mut found) != set_digest(expected) {
                return Err(OpsError::Verification(format!(
                    "{target} holds {n} items, the backup {want}"
                )));
            }
        }
        Ok(())
    }
}

fn pick_table<'a>(tables: &'a [TableBackup], wanted: Option<&str>) -> Result<&'a TableBackup, OpsError> {
    match wanted {
        Some(name) => tables
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| OpsError::Invalid(format!("the backup has no table {name:?}"))),
        None if tables.len() == 1 => Ok(&tables[0]),
        None => Err(OpsError::Invalid(format!(
            "the backup holds {} tables; name one with `table`",
            tables.len()
        ))),
    }
}

/// Decompress a part and hand each non-empty line (numbered from 1) to `f`.
fn for_each_line(gz: &[u8], mut f: impl FnMut(usize, &str) -> Result<(), String>) -> Result<(), String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|e| format!("not gzip JSON lines: {e}"))?;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        f(n + 1, line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn lines_are_numbered_and_damage_is_reported() {
        let mut seen = Vec::new();
        for_each_line(&gz("a\n\nb\n"), |n, l| {
            seen.push((n, l.to_owned()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, "a".to_owned()), (3, "b".to_owned())]);
        let mut broken = gz("a\nb\n");
        let mid = broken.len() / 2;
        broken[mid] ^= 0xff;
        assert!(for_each_line(&broken, |_, _| Ok(())).is_err());
        assert!(for_each_line(b"plain text", |_, _| Ok(())).is_err());
    }

    #[test]
    fn a_table_is_picked_by_name_or_alone() {
        let t = |name: &str| TableBackup {
            name: name.into(),
            items: 0,
            digest: String::new(),
            schema: TableSchema {
                attributes: vec![],
                keys: vec![],
                indexes: vec![],
            },
            files: vec![],
        };
        assert_eq!(pick_table(&[t("a")], None).unwrap().name, "a");
        assert!(pick_table(&[t("a"), t("b")], None).is_err());
        assert_eq!(pick_table(&[t("a"), t("b")], Some("b")).unwrap().name, "b");
        assert!(pick_table(&[t("a")], Some("c")).is_err());
    }
}
