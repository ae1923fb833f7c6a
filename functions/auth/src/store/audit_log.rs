//! Reading the audit record: by actor from GSI1 (`LAB#{lab}#ACTOR#{uid}`), otherwise from
//! GSI2 (`LAB#{lab}#AUDIT`), which keeps one lab's audit history in one index partition
//! (a few thousand records a day at most, far below a partition's write limit).

use crate::audit::AuditRecord;
use crate::state::AuthState;
use tracseq_aws::store::PageQuery;
use tracseq_core::Problem;
use tracseq_core::keyed::lab_key;
use tracseq_core::pagination::{Page, PageRequest};

/// A page of the lab's audit records between two sort-key bounds, newest first.
pub async fn page(
    st: &AuthState,
    lab: &str,
    actor: Option<&str>,
    action: Option<&str>,
    (from, to): (&str, &str),
    page: &PageRequest,
) -> Result<Page<AuditRecord>, Problem> {
    let (partition, index) = match actor {
        Some(actor) => (lab_key(lab, &["ACTOR", actor]), "GSI1"),
        None => (lab_key(lab, &["AUDIT"]), "GSI2"),
    };
    let mut q = PageQuery::of(&partition)
        .on_index(index)
        .between(from, to)
        .newest_first();
    if let Some(a) = action {
        q = q.filter_eq("action", a);
    }
    st.table.query_page_as(&q, page).await
}
