//! Submissions in the table: one item per submission under the lab's list partition (its
//! ULID sorts it by time), written with its events in one transaction and version-checked,
//! so the saga's steps and a cancel request never overwrite each other.

use crate::model::{Submission, SubmissionPage};
use crate::state::SubmissionsState;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, PageQuery, StoreError, from_item, keyed_item};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::{is_valid_id, lab_key};
use tracseq_core::pagination::PageRequest;

const ENTITY: &str = "submission";

/// Attempts of a change that loses the version race to another writer of the same
/// submission (its saga steps and a cancel request).
const ATTEMPTS: u32 = 8;

fn partition(lab: &str) -> String {
    lab_key(lab, &["SUBMISSIONS"])
}

fn item(lab: &str, s: &Submission) -> Result<Item, StoreError> {
    keyed_item(s, &[("PK", partition(lab)), ("SK", s.id.clone())], ENTITY)
}

/// Store a new submission with its `submission.started` event.
pub async fn insert(st: &SubmissionsState, lab: &str, s: &Submission, ev: &CloudEvent) -> Result<(), Problem> {
    let ops = vec![st.table.put_new_op(item(lab, s)?)?, put_event_op(&st.table, ev)?];
    st.table.transact(ops).await.map_err(|e| match e {
        e if e.is_condition_failure() => Problem::conflict("submission_exists", "this submission exists already"),
        e => e.into(),
    })
}

/// Take back a submission whose execution could not be started (nothing ran).
pub async fn forget(st: &SubmissionsState, lab: &str, id: &str) -> Result<(), StoreError> {
    st.table.delete_versioned(&partition(lab), id, 1).await
}

pub async fn find(st: &SubmissionsState, lab: &str, id: &str) -> Result<Option<Submission>, StoreError> {
    if !is_valid_id(id) {
        return Ok(None);
    }
    match st.table.get(&partition(lab), id).await? {
        Some(i) => Ok(Some(from_item(i)?)),
        None => Ok(None),
    }
}

pub async fn get(st: &SubmissionsState, lab: &str, id: &str) -> Result<Submission, Problem> {
    find(st, lab, id).await?.ok_or_else(|| Problem::not_found("submission"))
}

/// A page of the lab's submissions, newest first.
pub async fn page(st: &SubmissionsState, lab: &str, page: &PageRequest) -> Result<SubmissionPage, Problem> {
    let pk = partition(lab);
    st.table.query_page_as(&PageQuery::of(&pk).newest_first(), page).await
}

/// What a change of a submission decided.
pub enum Change {
    /// Write the changed submission and these events.
    Write(Vec<CloudEvent>),
    /// Nothing to write (the change was made already).
    Keep,
}

/// Read, change and write back a submission, again when another writer got there first.
/// `change` sees the current record each time; its refusal is returned as is.
pub async fn update<F>(st: &SubmissionsState, lab: &str, id: &str, mut change: F) -> Result<Submission, Problem>
where
    F: FnMut(&mut Submission) -> Result<Change, Problem>,
{
    let mut attempt = 0;
    loop {
        let current = get(st, lab, id).await?;
        let mut next = current.clone();
        let events = match change(&mut next)? {
            Change::Keep => return Ok(current),
            Change::Write(events) => events,
        };
        next.version = current.version + 1;
        let mut ops = vec![st.table.put_versioned_op(item(lab, &next)?, current.version)?];
        for ev in &events {
            ops.push(put_event_op(&st.table, ev)?);
        }
        match st.table.transact(ops).await {
            Ok(()) => return Ok(next),
            Err(e)
                if (e.is_condition_failure() || matches!(e, StoreError::TransactionConflict)) && attempt < ATTEMPTS =>
            {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
