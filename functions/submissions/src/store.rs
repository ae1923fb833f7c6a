//! Submissions in the table: one item per submission under the lab's list partition (its
//! ULID sorts it by time), written with its events in one transaction and version-checked,
//! so the saga's steps and a cancel request never overwrite each other.

use crate::model::{Submission, SubmissionPage};
use crate::state::SubmissionsState;
use tracseq_aws::outbox::put_event_op;
pub use tracseq_aws::record::Change;
use tracseq_aws::record::{self, Versioned};
use tracseq_aws::store::{PageQuery, StoreError, ToItem, from_item};
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::{Keyed, is_valid_id, lab_key};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};
use tracseq_lab::sample::{ImportState, ImportStatus};

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

/// The guards that give each import to one submission (outside the list partition).
fn import_guards(lab: &str) -> String {
    lab_key(lab, &["SUBMISSIONS", "BY_IMPORT"])
}

/// How many samples a completed import of the lab committed: 422 when there is no such
/// import, 409 while it is not completed.
pub async fn import_rows(st: &SubmissionsState, lab: &str, import: &str) -> Result<u32, Problem> {
    let state: Option<ImportState> = st
        .table
        .get_as(&tracseq_lab::keys::import(lab, import), tracseq_lab::keys::IMPORT_SK)
        .await?;
    match state {
        None => Err(Problem::validation(vec![
            FieldError::field("import_id", "exists", "no such import").with_value(import),
        ])),
        Some(i) if i.status != ImportStatus::Completed => Err(Problem::conflict(
            "import_not_completed",
            format!(
                "the import is {}; a submission takes a completed one",
                i.status.as_str()
            ),
        )),
        Some(i) if i.rows_committed == 0 => Err(Problem::validation(vec![
            FieldError::field("import_id", "empty", "the import committed no samples").with_value(import),
        ])),
        Some(i) => Ok(i.rows_committed),
    }
}

/// Store a new submission with its `submission.started` event; a submission of an import
/// also takes the import's guard, so one import feeds one submission.
pub async fn insert(st: &SubmissionsState, lab: &str, s: &Submission, ev: &CloudEvent) -> Result<(), Problem> {
    let mut ops = vec![st.table.put_new_op(s.item(lab)?)?, put_event_op(&st.table, ev)?];
    if let Some(import) = &s.import_id {
        ops.push(st.table.guard_op(&import_guards(lab), import, &s.id)?);
    }
    st.table.transact(ops).await.map_err(|e| match e {
        e if e.failed_action() == Some(2) => Problem::conflict(
            "import_already_submitted",
            "another submission has taken this import's samples",
        ),
        e if e.is_condition_failure() => Problem::conflict("submission_exists", "this submission exists already"),
        e => e.into(),
    })
}

/// Take back a submission whose execution could not be started (nothing ran), and its
/// import's guard.
pub async fn forget(st: &SubmissionsState, lab: &str, s: &Submission) -> Result<(), StoreError> {
    st.table.delete_versioned(&partition(lab), &s.id, 1).await?;
    if let Some(import) = &s.import_id {
        st.table
            .transact(vec![st.table.delete_where_op(
                &import_guards(lab),
                import,
                ("owner", &s.id),
            )?])
            .await?;
    }
    Ok(())
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
