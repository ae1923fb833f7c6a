//! Import records in the table (the worker's chunked commits are in [`crate::import`]).

use crate::model::{Import, keys};
use crate::state::SamplesState;
use tracseq_aws::store::s;
use tracseq_core::Problem;

/// Store a new import record.
pub async fn insert(st: &SamplesState, lab: &str, import: &Import) -> Result<(), Problem> {
    st.table.put_new(import.item(lab)?).await?;
    Ok(())
}

/// Take back an import nothing refers to yet (it could not be queued), so the client's
/// retry starts clean. Best effort: a leftover record stays `queued` and is harmless.
pub async fn remove_unqueued(st: &SamplesState, lab: &str, id: &str) {
    let _ = st
        .table
        .client
        .delete_item()
        .table_name(&st.table.name)
        .key("PK", s(keys::import(lab, id)))
        .key("SK", s(keys::IMPORT_SK))
        .send()
        .await;
}
