//! Writing the steps: one transaction when they fit, checkpointed chunks when they do
//! not, and the inverse of every committed chunk when a later one loses a race.

use super::plan::{PosChange, Step};
use crate::model::{CustodyAction, keys, now_rfc3339};
use crate::state::{Resolved, StorageState};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use std::collections::{BTreeMap, HashMap};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, StoreError, Table, n, s};
use tracseq_core::auth::Principal;
use tracseq_core::{FieldError, Problem};

/// Room kept in every chunk for the operation record, the event and the test hook's check.
const RESERVED_ACTIONS: usize = 3;

/// Why an action of a transaction failed, for the answer.
#[derive(Debug, Clone)]
enum Meaning {
    Position { item: usize, label: String, path: String },
    Sample { item: usize, barcode: String },
    Counter { location: String },
    Other,
}

pub(super) struct Writer<'a> {
    pub st: &'a StorageState,
    pub lab: &'a str,
    /// Every box the steps touch, with its ancestors.
    pub boxes: &'a HashMap<String, Resolved>,
}

impl Writer<'_> {
    fn table(&self) -> &Table {
        &self.st.table
    }

    fn conditional_put(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table().name)
            .set_item(Some(item))
            .condition_expression(condition);
        for (k, v) in values {
            put = put.expression_attribute_values(*k, v.clone());
        }
        let put = put.build().map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn owned_delete(&self, pk: String, sk: String, owner: &str) -> Result<TransactWriteItem, StoreError> {
        let del = Delete::builder()
            .table_name(&self.table().name)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .condition_expression("sample_id = :id")
            .expression_attribute_values(":id", s(owner))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    fn path_of(&self, box_id: &str) -> String {
        self.boxes.get(box_id).map(|r| r.path.clone()).unwrap_or_default()
    }

    /// The step's writes, each with what its failure would mean.
    fn forward(&self, step: &Step) -> Result<Vec<(TransactWriteItem, Meaning)>, StoreError> {
        let lab = self.lab;
        let mut ops = Vec::new();
        for change in &step.positions {
            match change {
                PosChange::Take(pos) => ops.push((
                    self.table().put_new_op(pos.item(lab)?)?,
                    Meaning::Position {
                        item: step.index,
                        label: pos.position.clone(),
                        path: self.path_of(&pos.location_id),
                    },
                )),
                PosChange::Release(pos) => ops.push((
                    self.owned_delete(
                        keys::location(lab, &pos.location_id),
                        keys::position_sk(&pos.position),
                        &pos.sample_id,
                    )?,
                    Meaning::Sample {
                        item: step.index,
                        barcode: step.before.barcode.clone(),
                    },
                )),
                PosChange::Rewrite { old, new } => ops.push((
                    self.conditional_put(
                        new.item(lab)?,
                        "sample_id = :id AND checked_out = :was",
                        &[
                            (":id", s(&old.sample_id)),
                            (":was", AttributeValue::Bool(old.checked_out)),
                        ],
                    )?,
                    Meaning::Sample {
                        item: step.index,
                        barcode: step.before.barcode.clone(),
                    },
                )),
            }
        }
        ops.push((
            self.table()
                .put_versioned_op(step.after.item(lab)?, step.before.version)?,
            Meaning::Sample {
                item: step.index,
                barcode: step.before.barcode.clone(),
            },
        ));
        ops.push((self.table().put_new_op(step.custody.item(lab)?)?, Meaning::Other));
        if let Some(h) = &step.history {
            ops.push((self.table().put_new_op(h.item(lab)?)?, Meaning::Other));
        }
        Ok(ops)
    }

    /// The writes that undo a committed step.
    fn inverse(&self, step: &Step) -> Result<Vec<TransactWriteItem>, StoreError> {
        let lab = self.lab;
        let mut ops = Vec::new();
        for change in &step.positions {
            match change {
                PosChange::Take(pos) => ops.push(self.owned_delete(
                    keys::location(lab, &pos.location_id),
                    keys::position_sk(&pos.position),
                    &pos.sample_id,
                )?),
                PosChange::Release(pos) => ops.push(self.table().put_new_op(pos.item(lab)?)?),
                PosChange::Rewrite { old, .. } => {
                    ops.push(self.conditional_put(old.item(lab)?, "sample_id = :id", &[(":id", s(&old.sample_id))])?)
                }
            }
        }
        ops.push(
            self.table()
                .put_versioned_op(step.before.item(lab)?, step.after.version)?,
        );
        ops.push(self.table().delete_op(
            &keys::sample(lab, &step.custody.sample_id),
            &keys::custody_sk(&step.custody.at, &step.custody.id),
        )?);
        if let Some(h) = &step.history {
            ops.push(self.table().delete_op(
                &keys::sample(lab, &h.sample_id),
                &tracseq_samples::model::keys::history_sk(&h.at, &h.id),
            )?);
        }
        Ok(ops)
    }

    /// Counter updates for `deltas` (per box), rolled up to every ancestor and merged.
    fn counters(&self, deltas: &[(String, i64)]) -> Result<Vec<(TransactWriteItem, Meaning)>, StoreError> {
        let mut per_location: BTreeMap<String, (i64, Option<u64>)> = BTreeMap::new();
        for (box_id, d) in deltas {
            let Some(r) = self.boxes.get(box_id) else { continue };
            for id in r.location.ancestors.iter() {
                per_location.entry(id.clone()).or_insert((0, None)).0 += d;
            }
            let e = per_location
                .entry(box_id.clone())
                .or_insert((0, Some(r.location.capacity)));
            e.0 += d;
        }
        per_location
            .into_iter()
            .filter(|(_, (d, _))| *d != 0)
            .map(|(id, (d, cap))| {
                Ok((
                    crate::handlers::counter_op(self.table(), self.lab, &id, cap, &[("occupied", d)])?,
                    Meaning::Counter { location: id },
                ))
            })
            .collect()
    }
}

/// Split steps into transactions of at most 100 actions, counters included.
fn chunk(plan: &Writer<'_>, steps: &[Step]) -> Result<Vec<Vec<usize>>, StoreError> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let size = |idx: &[usize]| -> Result<usize, StoreError> {
        let mut n = RESERVED_ACTIONS;
        let mut deltas = Vec::new();
        for &i in idx {
            n += plan.forward(&steps[i])?.len();
            deltas.extend(steps[i].deltas.iter().cloned());
        }
        Ok(n + plan.counters(&deltas)?.len())
    };
    for i in 0..steps.len() {
        current.push(i);
        if size(&current)? > tracseq_aws::store::MAX_TRANSACTION_ITEMS {
            current.pop();
            if current.is_empty() {
                return Err(StoreError::Invalid("one sample's change exceeds a transaction".into()));
            }
            chunks.push(std::mem::take(&mut current));
            current.push(i);
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    Ok(chunks)
}

/// What a lost condition means for the caller.
fn lost(meaning: &Meaning, single: bool) -> Problem {
    let at = |i: usize, f: &str| super::request::item_field(single, i, f);
    let (code, field, message) = match meaning {
        Meaning::Position { item, label, path } => (
            "position_occupied",
            at(*item, "position"),
            format!("{path}/{label} was taken meanwhile"),
        ),
        Meaning::Sample { item, barcode } => (
            "version_conflict",
            at(*item, "sample_id"),
            format!("sample {barcode} changed meanwhile; reload and retry"),
        ),
        Meaning::Counter { location } => (
            "box_full",
            "location_id".to_owned(),
            format!("location {location} filled up meanwhile"),
        ),
        Meaning::Other => (
            "conflict",
            String::new(),
            "the data changed meanwhile; retry".to_owned(),
        ),
    };
    let mut p = Problem::conflict(code, message.clone());
    if !field.is_empty() {
        p.errors = vec![FieldError::field(field, code, message)];
    }
    p
}

fn operation_item(
    lab: &str,
    op_id: &str,
    action: CustodyAction,
    p: &Principal,
    chunks: usize,
    samples: Vec<String>,
) -> Item {
    Item::from([
        ("PK".to_owned(), s(keys::operation(lab, op_id))),
        ("SK".to_owned(), s(keys::OP_SK)),
        ("entity".to_owned(), s("storage_operation")),
        ("id".to_owned(), s(op_id)),
        ("action".to_owned(), s(action.as_str())),
        ("status".to_owned(), s("committing")),
        ("chunks".to_owned(), n(chunks)),
        ("done".to_owned(), n(0)),
        ("by".to_owned(), s(&p.user_id)),
        ("created_at".to_owned(), s(now_rfc3339())),
        (
            "sample_ids".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::L(samples.into_iter().map(s).collect()),
        ),
    ])
}

/// Advance the operation record from chunk `done` to `done + 1` (and its status).
fn operation_progress(
    table: &Table,
    lab: &str,
    op_id: &str,
    done: usize,
    status: &str,
) -> Result<TransactWriteItem, StoreError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&table.name)
        .key("PK", s(keys::operation(lab, op_id)))
        .key("SK", s(keys::OP_SK))
        .update_expression("SET done = :next, #st = :st")
        .condition_expression("done = :done")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":done", n(done))
        .expression_attribute_values(":next", n(done + 1))
        .expression_attribute_values(":st", s(status))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Commit the steps (chunked), undoing committed chunks if a later one fails.
pub(super) async fn commit(
    plan: &Writer<'_>,
    p: &Principal,
    action: CustodyAction,
    steps: &[Step],
    event: &tracseq_core::events::CloudEvent,
    op_id: &str,
    single: bool,
) -> Result<(), Problem> {
    let chunks = chunk(plan, steps)?;
    let multi = chunks.len() > 1;
    for (k, idx) in chunks.iter().enumerate() {
        let mut ops: Vec<(TransactWriteItem, Meaning)> = Vec::new();
        let mut deltas = Vec::new();
        for &i in idx {
            ops.extend(plan.forward(&steps[i])?);
            deltas.extend(steps[i].deltas.iter().cloned());
        }
        ops.extend(plan.counters(&deltas)?);
        let last = k + 1 == chunks.len();
        if multi {
            let status = if last { "completed" } else { "committing" };
            let op = if k == 0 {
                let mut item = operation_item(
                    plan.lab,
                    op_id,
                    action,
                    p,
                    chunks.len(),
                    steps.iter().map(|s| s.before.id.clone()).collect(),
                );
                item.insert("done".into(), n(1));
                item.insert("status".into(), s(status));
                plan.table().put_new_op(item)?
            } else {
                operation_progress(plan.table(), plan.lab, op_id, k, status)?
            };
            ops.push((op, Meaning::Other));
        }
        if last {
            ops.push((put_event_op(plan.table(), event)?, Meaning::Other));
        }
        if plan.st.settings.fail_chunk == Some(k + 1) {
            ops.push((
                plan.table()
                    .check_version_op(&keys::operation(plan.lab, op_id), "NO-SUCH-ITEM", 0)?,
                Meaning::Other,
            ));
        }
        let (writes, meanings): (Vec<_>, Vec<_>) = ops.into_iter().unzip();
        if let Err(e) = plan.table().transact_retrying(writes).await {
            let problem = match e.failed_action().and_then(|i| meanings.get(i)) {
                Some(m) => lost(m, single),
                None => e.into(),
            };
            if k > 0 {
                rollback(plan, steps, &chunks[..k], op_id).await;
            }
            return Err(problem);
        }
    }
    Ok(())
}

/// Undo committed chunks, newest first. A compensation that loses a race (someone changed
/// a sample in between) is logged with the operation id for a person to look at; the
/// operation record says `rollback_incomplete`.
async fn rollback(plan: &Writer<'_>, steps: &[Step], done: &[Vec<usize>], op_id: &str) {
    let mut complete = true;
    for idx in done.iter().rev() {
        let mut ops = Vec::new();
        let mut deltas = Vec::new();
        for &i in idx {
            match plan.inverse(&steps[i]) {
                Ok(inv) => ops.extend(inv),
                Err(_) => complete = false,
            }
            deltas.extend(steps[i].deltas.iter().map(|(b, d)| (b.clone(), -d)));
        }
        match plan.counters(&deltas) {
            Ok(c) => ops.extend(c.into_iter().map(|(op, _)| op)),
            Err(_) => complete = false,
        }
        if let Err(e) = plan.table().transact_retrying(ops).await {
            tracing::error!(operation = op_id, error = %e, "storage operation rollback lost a race");
            complete = false;
        }
    }
    let status = if complete { "rolled_back" } else { "rollback_incomplete" };
    let result = plan
        .table()
        .client
        .update_item()
        .table_name(&plan.table().name)
        .key("PK", s(keys::operation(plan.lab, op_id)))
        .key("SK", s(keys::OP_SK))
        .update_expression("SET #st = :st")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":st", s(status))
        .send()
        .await;
    if let Err(e) = result {
        tracing::error!(operation = op_id, error = ?e, "storage operation record not updated after rollback");
    }
}
