//! What every operations function is built with, once per container.

use crate::backup::Backup;
use crate::restore::Restore;
use crate::store::BackupStore;
use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

pub struct OpsState {
    pub table: Table,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub backups: BackupStore,
    pub settings: Settings,
    pub ssm: aws_sdk_ssm::Client,
    /// The restore marker: backups wait while a restore runs; restores set it.
    pub restore_marker: tracseq_aws::maintenance::Marker,
}

/// From the function's environment (template.yaml).
#[derive(Debug, Clone)]
pub struct Settings {
    pub stage: String,
    /// Tables a backup exports (`BACKUP_TABLES`, default the one table).
    pub tables: Vec<String>,
    pub segments: u32,
    pub part_items: usize,
    pub restore_concurrency: usize,
    /// The files bucket: lab uploads are read from it and export archives written to it.
    pub files_bucket: String,
    pub export_queue_url: String,
    /// Lifetime of an export's download link.
    pub download_ttl_secs: u64,
    /// Test hook, unset in every deployed stage: the export worker dies (returns before
    /// finishing, leaving the export `running`) on its first this-many attempts.
    pub export_crash_attempts: u32,
    /// Size of an export archive's upload parts, in MiB (S3 wants at least 5).
    pub export_part_mib: usize,
    /// `RESTORE_TABLE_PREFIX`: the only tables a restore may write.
    pub restore_table_prefix: Option<String>,
    /// `RESTORE_MARKER_PARAM` (see `tracseq_aws::maintenance`).
    pub restore_marker_param: Option<String>,
    /// The JWT key parameters, replaced by an in-place restore.
    pub signing_keys: Option<tracseq_aws::jwt_keys::KeyParams>,
}

impl OpsState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table_name = env.require("TABLE_NAME")?.to_owned();
        let tables = match env.list("BACKUP_TABLES") {
            t if t.is_empty() => vec![table_name.clone()],
            t => t,
        };
        let settings = Settings {
            stage: env.get("STAGE").unwrap_or("local").to_owned(),
            tables,
            segments: env.parse_or("BACKUP_SEGMENTS", 4u32)?.clamp(1, 64),
            part_items: env.parse_or("BACKUP_PART_ITEMS", 50_000usize)?.max(1),
            restore_concurrency: env.parse_or("RESTORE_CONCURRENCY", 8usize)?.clamp(1, 64),
            files_bucket: env.get("FILES_BUCKET").unwrap_or_default().to_owned(),
            export_queue_url: env.get("EXPORT_QUEUE_URL").unwrap_or_default().to_owned(),
            download_ttl_secs: env.parse_or("EXPORT_DOWNLOAD_TTL_SECS", 900u64)?,
            export_crash_attempts: env.parse_or("EXPORT_FAULT_CRASH_ATTEMPTS", 0u32)?,
            export_part_mib: env.parse_or("EXPORT_PART_MIB", 8usize)?.clamp(5, 512),
            restore_table_prefix: env.get("RESTORE_TABLE_PREFIX").map(str::to_owned),
            restore_marker_param: env.get("RESTORE_MARKER_PARAM").map(str::to_owned),
            signing_keys: match (env.get("JWT_PRIVATE_KEYS_PARAM"), env.get("JWT_PUBLIC_KEYS_PARAM")) {
                (Some(private), Some(public)) => Some(tracseq_aws::jwt_keys::KeyParams {
                    private: private.to_owned(),
                    public: public.to_owned(),
                }),
                _ => None,
            },
        };
        let table = Table::new(init.clients.dynamodb.clone(), table_name);
        Ok(Arc::new(Self {
            idem: IdempotencyStore::new(table.clone()),
            table,
            s3: init.clients.s3.clone(),
            sqs: init.clients.sqs.clone(),
            auth: Auth::from_init(init).await?,
            backups: BackupStore {
                s3: init.clients.s3.clone(),
                bucket: env.require("BACKUP_BUCKET")?.to_owned(),
            },
            settings,
            ssm: aws_sdk_ssm::Client::new(&init.aws),
            restore_marker: tracseq_aws::maintenance::Marker::from_init(init),
        }))
    }

    pub fn backup(&self) -> Backup {
        Backup {
            ddb: self.table.client.clone(),
            s3: self.s3.clone(),
            bucket: self.backups.bucket.clone(),
            segments: self.settings.segments,
            part_items: self.settings.part_items,
            source_version: source_version(),
            stage: self.settings.stage.clone(),
        }
    }

    pub fn restore(&self) -> Restore {
        Restore {
            ddb: self.table.client.clone(),
            store: self.backups.clone(),
            concurrency: self.settings.restore_concurrency,
            segments: self.settings.segments,
            live_table: self.table.name.clone(),
            table_prefix: self.settings.restore_table_prefix.clone(),
            ssm: self.ssm.clone(),
            marker_param: self.settings.restore_marker_param.clone(),
            keys: self.settings.signing_keys.clone(),
        }
    }
}

/// The code that took a backup: `0.1.0+{commit}`.
pub fn source_version() -> String {
    format!(
        "{}+{}",
        env!("CARGO_PKG_VERSION"),
        option_env!("TRACSEQ_GIT_SHA").unwrap_or("unknown")
    )
}
