//! What every samples function is built with, once per container (the reads live in
//! [`crate::store`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

/// Settings from the function's environment (template.yaml), docs/domain.md defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Prefix of generated barcodes when the lab has none.
    pub barcode_prefix: String,
    /// Largest file sent inline in `POST /api/imports` (bytes, before base64).
    pub inline_limit: usize,
    /// Lifetime of a presigned upload URL.
    pub upload_ttl_secs: u64,
    /// Rows per commit transaction (each row is 3 actions; one more for the checkpoint).
    pub chunk_rows: usize,
    /// Test hook: the import worker stops (as if killed) after committing this many chunks
    /// in one invocation. Unset in every deployed stage.
    pub crash_after_chunks: Option<u32>,
}

pub struct SamplesState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub bucket: String,
    pub import_queue_url: String,
    /// Sample list exports (their bucket and worker queue).
    pub exports: tracseq_aws::export::Exports,
    pub settings: Settings,
    /// Imports known to be completed (terminal, so safe to remember for the container's life).
    pub(crate) completed_imports: Mutex<HashSet<String>>,
    /// Each lab's creation month (immutable), for listing by month.
    pub(crate) lab_months: Mutex<HashMap<String, String>>,
}

impl SamplesState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        let crash: u32 = env.parse_or("IMPORT_FAULT_CRASH_AFTER_CHUNKS", 0)?;
        let settings = Settings {
            barcode_prefix: env.get("BARCODE_PREFIX").unwrap_or("TS").to_owned(),
            inline_limit: env.parse_or("IMPORT_INLINE_LIMIT", 1024 * 1024)?,
            upload_ttl_secs: env.parse_or("UPLOAD_URL_TTL", 900)?,
            chunk_rows: env.parse_or("IMPORT_CHUNK_ROWS", 25usize)?.clamp(1, 33),
            crash_after_chunks: (crash > 0).then_some(crash),
        };
        Ok(Arc::new(Self {
            exports: tracseq_aws::export::Exports::from_init(init, table.clone())?,
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            s3: init.clients.s3.clone(),
            sqs: init.clients.sqs.clone(),
            bucket: env.require("BUCKET_NAME")?.to_owned(),
            import_queue_url: env.require("IMPORT_QUEUE_URL")?.to_owned(),
            settings,
            completed_imports: Mutex::new(HashSet::new()),
            lab_months: Mutex::new(HashMap::new()),
        }))
    }
}
