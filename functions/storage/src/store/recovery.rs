//! Recovery of custody operations whose process died midway (a Lambda timeout or crash):
//! a scheduled function finds operations still open long after any function could still
//! be running them. One that died between chunks is undone from the undo plan its record
//! carries (it has written no event yet; afterwards nothing of it is left but the record,
//! `rolled_back`). One that died after its last chunk happened, so its events are written
//! and it is closed `completed`.

use super::custody::{OPEN_OPERATIONS, UndoPlan, Undone, Writer, publish, rollback};
use crate::state::StorageState;
use serde::Serialize;
use tracseq_aws::store::{GSI1, Item, PageQuery, StoreError};
use tracseq_core::Problem;
use tracseq_core::pagination::PageRequest;

#[derive(Debug, Default, Serialize)]
pub struct Recovered {
    /// Operations found open past the deadline.
    pub found: usize,
    pub rolled_back: usize,
    /// Operations that had committed every chunk: their events were written.
    pub published: usize,
    /// Undo lost a race with a later change: logged for a person.
    pub needs_attention: usize,
    /// The store failed; the next run retries them.
    pub retry: usize,
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<usize> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn undo_plan(item: &Item) -> Result<UndoPlan, StoreError> {
    let z = item
        .get("plan_z")
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| StoreError::Serde("operation record without its undo plan".into()))?;
    let json = tracseq_aws::compress::inflate(z.as_ref()).map_err(|e| StoreError::Serde(e.to_string()))?;
    serde_json::from_str(&json).map_err(|e| StoreError::Serde(e.to_string()))
}

/// Undo every operation open for longer than the settings allow.
pub async fn recover(st: &StorageState) -> Result<Recovered, Problem> {
    let cutoff = time::OffsetDateTime::now_utc() - time::Duration::seconds(st.settings.recover_after_secs);
    let cutoff = cutoff
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| Problem::internal())?;
    let mut out = Recovered::default();
    let mut cursor = None;
    loop {
        let page = PageRequest { limit: 100, cursor };
        let got = st
            .table
            .query_page(
                &PageQuery::of(OPEN_OPERATIONS).on_index(GSI1).between("0", &cutoff),
                &page,
            )
            .await?;
        for item in got.items {
            out.found += 1;
            let (Some(lab), Some(op), Some(done)) = (text(&item, "lab_id"), text(&item, "id"), number(&item, "done"))
            else {
                tracing::error!("open storage operation record is malformed");
                out.needs_attention += 1;
                continue;
            };
            // The index may lag the table: read the record itself.
            let Some(record) = st
                .table
                .get(&crate::model::keys::operation(lab, op), crate::model::keys::OP_SK)
                .await?
            else {
                continue;
            };
            let done = number(&record, "done").unwrap_or(done);
            let plan = match undo_plan(&record) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(operation = op, error = %e, "undo plan unreadable");
                    out.needs_attention += 1;
                    continue;
                }
            };
            let w = Writer {
                st,
                lab,
                lineage: &plan.lineage,
            };
            // Past its last chunk the operation happened: finish it. Before, undo it.
            if text(&record, "status") == Some("publishing") {
                match publish(&w, &plan, op).await {
                    Ok(()) => out.published += 1,
                    Err(e) => {
                        tracing::warn!(operation = op, error = %e, "events still not written; next run retries");
                        out.retry += 1;
                    }
                }
                continue;
            }
            match rollback(&w, &plan, done, op).await {
                Undone::Complete => {
                    tracing::warn!(
                        operation = op,
                        lab,
                        chunks = done,
                        "abandoned storage operation rolled back"
                    );
                    out.rolled_back += 1;
                }
                Undone::Conflict => out.needs_attention += 1,
                Undone::Retry => out.retry += 1,
            }
        }
        cursor = got.next_cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}
