//! The sequencing service's table access: every read and write of its records goes
//! through here, so handlers hold no item, key or transaction. The reads every handler
//! shares and the two shapes most writes take (a new record with its event; a record
//! replaced at its version with its events) are here; pools, reference data and a run's
//! samples have their modules. Another lab's record, a malformed id and a missing record
//! are all the same 404.

pub mod pools;
pub mod reference;
pub mod reservations;
pub mod run_samples;

use crate::domain::status::{JobStatus, RunStatus};
use crate::model::{Job, Library, Pool, PoolMember, Run, keys};
use crate::state::SequencingState;
use serde::de::DeserializeOwned;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{GSI1, GSI2, PageQuery, ToItem, from_item, stale};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::is_valid_id;
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_lab::sample::Sample;

impl SequencingState {
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

/// Store a new record with its event.
pub async fn insert(st: &SequencingState, lab: &str, record: &impl ToItem, ev: &CloudEvent) -> Result<(), Problem> {
    st.table
        .transact(vec![
            st.table.put_new_op(record.item(lab)?)?,
            put_event_op(&st.table, ev)?,
        ])
        .await?;
    Ok(())
}

/// Store `record` over its version `expected`, with its events; a lost race is a 409
/// naming `what`.
pub async fn replace(
    st: &SequencingState,
    lab: &str,
    record: &impl ToItem,
    expected: u64,
    events: &[CloudEvent],
    what: &'static str,
) -> Result<(), Problem> {
    let mut ops = vec![st.table.put_versioned_op(record.item(lab)?, expected)?];
    for ev in events {
        ops.push(put_event_op(&st.table, ev)?);
    }
    st.table.transact(ops).await.map_err(stale(what))
}

/// A page of the lab's jobs, newest first, in one status or all.
pub async fn jobs(
    st: &SequencingState,
    lab: &str,
    status: Option<JobStatus>,
    page: &PageRequest,
) -> Result<Page<Job>, Problem> {
    match status {
        Some(s) => newest_page(st, &keys::jobs_by_status(lab, s.as_str()), GSI1, page).await,
        None => newest_page(st, &keys::jobs(lab), GSI2, page).await,
    }
}

/// A page of the lab's runs, newest first, in one status or all.
pub async fn runs(
    st: &SequencingState,
    lab: &str,
    status: Option<RunStatus>,
    page: &PageRequest,
) -> Result<Page<Run>, Problem> {
    match status {
        Some(s) => newest_page(st, &keys::runs_by_status(lab, s.as_str()), GSI1, page).await,
        None => newest_page(st, &keys::runs(lab), GSI2, page).await,
    }
}

/// A page of the lab's pools, newest first.
pub async fn pools(st: &SequencingState, lab: &str, page: &PageRequest) -> Result<Page<Pool>, Problem> {
    newest_page(st, &keys::pools(lab), GSI1, page).await
}

/// A page of the lab's libraries, newest first.
pub async fn library_page(st: &SequencingState, lab: &str, page: &PageRequest) -> Result<Page<Library>, Problem> {
    newest_page(st, &keys::libraries(lab), GSI1, page).await
}

/// A page of an index partition, newest first, decoded.
async fn newest_page<T: DeserializeOwned>(
    st: &SequencingState,
    partition: &str,
    index: &str,
    page: &PageRequest,
) -> Result<Page<T>, Problem> {
    st.table
        .query_page_as(&PageQuery::of(partition).on_index(index).newest_first(), page)
        .await
}

/// Samples by id as stored (absent ones are left out).
pub async fn samples(st: &SequencingState, lab: &str, ids: &[String]) -> Result<Vec<Sample>, Problem> {
    let keys_: Vec<(String, String)> = ids
        .iter()
        .filter(|id| is_valid_id(id))
        .map(|id| {
            (
                tracseq_lab::keys::sample(lab, id),
                tracseq_lab::keys::SAMPLE_SK.to_owned(),
            )
        })
        .collect();
    records(st, &keys_).await
}

/// Libraries by id (absent ones are left out).
pub async fn libraries(st: &SequencingState, lab: &str, ids: &[String]) -> Result<Vec<Library>, Problem> {
    let keys_: Vec<(String, String)> = ids
        .iter()
        .filter(|id| is_valid_id(id))
        .map(|id| (keys::library(lab, id), keys::LIBRARY_SK.to_owned()))
        .collect();
    records(st, &keys_).await
}

async fn records<T: DeserializeOwned>(st: &SequencingState, keys_: &[(String, String)]) -> Result<Vec<T>, Problem> {
    if keys_.is_empty() {
        return Ok(Vec::new());
    }
    st.table
        .batch_get(keys_)
        .await?
        .into_iter()
        .map(from_item::<T>)
        .collect::<Result<_, _>>()
        .map_err(Problem::from)
}

/// A sample the way the samples service shows it: not deleted, and (for an import's
/// sample) only once its import has completed.
pub async fn visible_sample(st: &SequencingState, lab: &str, id: &str) -> Result<Option<Sample>, Problem> {
    if !is_valid_id(id) {
        return Ok(None);
    }
    let sample: Option<Sample> = st
        .table
        .get_as(&tracseq_lab::keys::sample(lab, id), tracseq_lab::keys::SAMPLE_SK)
        .await?;
    Ok(match sample {
        Some(s) if s.status == tracseq_lab::status::SampleStatus::Deleted => None,
        Some(s) => match s.import_id.as_deref() {
            Some(import) => {
                let imp: Option<tracseq_lab::sample::ImportState> = st
                    .table
                    .get_as(&tracseq_lab::keys::import(lab, import), tracseq_lab::keys::IMPORT_SK)
                    .await?;
                imp.filter(|i| i.status == tracseq_lab::sample::ImportStatus::Completed)
                    .map(|_| s)
            }
            None => Some(s),
        },
        None => None,
    })
}
