//! Submissions in the table: one item per submission under the lab's list partition (its
//! ULID sorts it by time), written with its events in one transaction and version-checked,
//! so the saga's steps and a cancel request never overwrite each other.

use crate::model::{Submission, SubmissionPage};
use crate::state::SubmissionsState;
use tracseq_aws::outbox::put_event_op;
pub use tracseq_aws::record::Change;
use tracseq_aws::record::{self, Versioned};
use tracseq_aws::store::{PageQuery, StoreError, ToItem, from_item};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::{Keyed, is_valid_id, lab_key};
use tracseq_core::pagination::PageRequest;

fn partition(lab: &str) -> String {
    lab_key(lab, &["SUBMISSIONS"])
}

impl Keyed for Submission {
    const ENTITY: &'static str = "submission";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![("PK", partition(lab)), ("SK", self.id.clone())]
    }
}

impl Versioned for Submission {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

/// Store a new submission with its `submission.started` event.
pub async fn insert(st: &SubmissionsState, lab: &str, s: &Submission, ev: &CloudEvent) -> Result<(), Problem> {
    let ops = vec![st.table.put_new_op(s.item(lab)?)?, put_event_op(&st.table, ev)?];
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

/// Read, change and write back a submission, again when another writer got there first
/// (its saga steps and a cancel request).
pub async fn update<F>(st: &SubmissionsState, lab: &str, id: &str, change: F) -> Result<Submission, Problem>
where
    F: FnMut(&mut Submission) -> Result<Change, Problem>,
{
    if !is_valid_id(id) {
        return Err(Problem::not_found("submission"));
    }
    record::update(&st.table, lab, (&partition(lab), id), "submission", change).await
}
