//! Samples in the table: a sample with its barcode guard, first history line and event
//! goes in one transaction; a change writes the version-checked sample, its history line,
//! the position's copy of it and the events together.

use crate::model::{HistoryEntry, Sample, keys};
use crate::state::SamplesState;
use aws_sdk_dynamodb::types::TransactWriteItem;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, PageQuery, StoreError, Table, ToItem, s, stale};
use tracseq_core::events::CloudEvent;
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_core::{FieldError, Problem};

/// The transaction actions that create `sample`: the record, its barcode guard, its first
/// history line; the caller adds the event (or, for imports, the checkpoint).
pub fn create_ops(st: &SamplesState, lab: &str, sample: &Sample) -> Result<Vec<TransactWriteItem>, StoreError> {
    let history = HistoryEntry {
        id: sample.id.clone(),
        sample_id: sample.id.clone(),
        kind: "created".into(),
        from: None,
        to: Some(sample.status),
        reason: None,
        changed: vec![],
        at: sample.created_at.clone(),
        by: sample.created_by.clone(),
    };
    Ok(vec![
        st.table.put_new_op(sample.item(lab)?)?,
        st.table.put_new_op(barcode_guard(lab, &sample.barcode, &sample.id))?,
        st.table.put_new_op(history.item(lab)?)?,
    ])
}

/// `LAB#{lab}#BARCODE#{code}`: uniqueness and lookup by barcode (a sample or a container:
/// `kind` says which).
fn barcode_guard(lab: &str, code: &str, owner: &str) -> Item {
    Item::from([
        ("PK".to_owned(), s(keys::barcode(lab, code))),
        ("SK".to_owned(), s(keys::BARCODE_SK)),
        ("entity".to_owned(), s("guard")),
        ("kind".to_owned(), s("sample")),
        ("owner".to_owned(), s(owner)),
    ])
}

pub fn barcode_taken(code: &str) -> Problem {
    let mut p = Problem::conflict("barcode_taken", format!("barcode {code} is already in use in this lab"));
    p.errors = vec![FieldError::field("barcode", "unique", "already in use").with_value(code)];
    p
}

/// Store one new sample with its event; a taken barcode is a 409.
pub async fn insert(st: &SamplesState, lab: &str, sample: &Sample, ev: &CloudEvent) -> Result<(), Problem> {
    let mut ops = create_ops(st, lab, sample)?;
    ops.push(put_event_op(&st.table, ev)?);
    match st.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(1) => Err(barcode_taken(&sample.barcode)),
        Err(e) => Err(e.into()),
    }
}

/// Store new samples, each with its event, in one transaction: all or none (4 actions a
/// sample; at most 25 samples).
pub async fn insert_all(st: &SamplesState, lab: &str, samples: &[(Sample, CloudEvent)]) -> Result<(), StoreError> {
    let mut ops = Vec::with_capacity(samples.len() * 4);
    for (sample, ev) in samples {
        ops.extend(create_ops(st, lab, sample)?);
        ops.push(put_event_op(&st.table, ev)?);
    }
    st.table.transact(ops).await
}

/// The sample a barcode names in `lab`, if any.
pub async fn by_barcode(st: &SamplesState, lab: &str, code: &str) -> Result<Option<String>, Problem> {
    let guard = st.table.get(&keys::barcode(lab, code), keys::BARCODE_SK).await?;
    Ok(guard
        .filter(|g| g.get("kind").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("sample"))
        .and_then(|g| g.get("owner").and_then(|v| v.as_s().ok()).cloned()))
}

/// Store `next` (version already advanced) over `current`, with its history line and
/// events; a lost race is a 409.
pub async fn save(
    st: &SamplesState,
    lab: &str,
    current: &Sample,
    next: &Sample,
    history: &HistoryEntry,
    events: &[CloudEvent],
) -> Result<(), Problem> {
    let mut ops = vec![
        st.table.put_versioned_op(next.item(lab)?, current.version)?,
        st.table.put_new_op(history.item(lab)?)?,
    ];
    if let Some(op) = position_sync_op(&st.table, lab, current, next)? {
        ops.push(op);
    }
    for ev in events {
        ops.push(put_event_op(&st.table, ev)?);
    }
    st.table.transact(ops).await.map_err(stale("sample"))
}

/// Store several changes of samples without a position (no position copy to keep in
/// step) in one transaction: all or none; at most 100 actions.
pub async fn save_all(
    st: &SamplesState,
    lab: &str,
    changes: &[(&Sample, &Sample, &HistoryEntry, &[CloudEvent])],
) -> Result<(), StoreError> {
    let mut ops = Vec::new();
    for (current, next, history, events) in changes {
        if current.storage.is_some() {
            return Err(StoreError::Invalid("a stored sample changes on its own".into()));
        }
        ops.push(st.table.put_versioned_op(next.item(lab)?, current.version)?);
        ops.push(st.table.put_new_op(history.item(lab)?)?);
        for ev in *events {
            ops.push(put_event_op(&st.table, ev)?);
        }
    }
    st.table.transact(ops).await
}

/// The position item's copy of the sample, kept in step when its status or type changes
/// (the write fails if the position no longer holds it).
fn position_sync_op(
    table: &Table,
    lab: &str,
    current: &Sample,
    next: &Sample,
) -> Result<Option<TransactWriteItem>, StoreError> {
    crate::model::position_to_sync(lab, current, next)
        .map(|p| table.set_where_op(&p.pk, &p.sk, &p.sets, ("sample_id", &p.sample_id)))
        .transpose()
}

/// A page of a sample's history, oldest first.
pub async fn history(
    st: &SamplesState,
    lab: &str,
    sample_id: &str,
    page: &PageRequest,
) -> Result<Page<HistoryEntry>, Problem> {
    let pk = keys::sample(lab, sample_id);
    st.table
        .query_page_as(&PageQuery::of(&pk).with_prefix("HIST#"), page)
        .await
}
