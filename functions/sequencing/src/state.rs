//! What every sequencing function is built with, once per container, and the reads the
//! handlers share. Another lab's record, a malformed id and a missing record are all the
//! same 404.

use crate::model::{Job, Library, Pool, PoolMember, Run, keys};
use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::{Table, from_item};
use tracseq_aws::{Init, InitError};
use tracseq_core::Problem;
use tracseq_core::keyed::is_valid_id;

pub struct SequencingState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
}

impl SequencingState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let table = Table::new(init.clients.dynamodb.clone(), init.env.require("TABLE_NAME")?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
        }))
    }

    pub async fn library(&self, lab: &str, id: &str) -> Result<Library, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("library"));
        }
        self.table
            .get_as(&keys::library(lab, id), keys::LIBRARY_SK)
            .await?
            .ok_or_else(|| Problem::not_found("library"))
    }

    /// A pool and its members (one Query of its partition).
    pub async fn pool(&self, lab: &str, id: &str) -> Result<(Pool, Vec<PoolMember>), Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("pool"));
        }
        let mut pool = None;
        let mut members = Vec::new();
        for item in self.table.query_all(&keys::pool(lab, id)).await? {
            match item.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(keys::POOL_SK) => pool = Some(from_item::<Pool>(item)?),
                Some(sk) if sk.starts_with("MEMBER#") => members.push(from_item::<PoolMember>(item)?),
                _ => {}
            }
        }
        Ok((pool.ok_or_else(|| Problem::not_found("pool"))?, members))
    }

    pub async fn run(&self, lab: &str, id: &str) -> Result<Run, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("run"));
        }
        self.table
            .get_as(&keys::run(lab, id), keys::RUN_SK)
            .await?
            .ok_or_else(|| Problem::not_found("run"))
    }

    pub async fn job(&self, lab: &str, id: &str) -> Result<Job, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("job"));
        }
        self.table
            .get_as(&keys::job(lab, id), keys::JOB_SK)
            .await?
            .ok_or_else(|| Problem::not_found("job"))
    }
}
