//! Custody in the table: reading what a request touches, and writing its steps.
//!
//! Reading takes a few batched reads whatever the request's size: the samples (by id or
//! through their barcode guards), the target boxes with their paths and units, the
//! positions taken in them and the positions the samples hold now.
//!
//! Writing is one transaction with the events when the steps fit; otherwise checkpointed
//! chunks (the inverse of every committed chunk when a later one loses a race), then the
//! events. A multi-chunk operation's record carries its undo plan (the steps with their
//! events, their chunks and the lineage of every box, deflated) and sits in an index of
//! open operations until it completes or is rolled back, so an operation whose process
//! died midway is found by the recovery function ([`super::recovery`]) and undone, or,
//! past its last chunk, finished.

use super::{CounterGuard, counter_op};
use crate::domain::custody::plan::{PosChange, Reads, Step};
use crate::domain::custody::request::{Normalized, Refusal};
use crate::domain::zone::Zone;
use crate::model::{CustodyAction, Position, keys, now_rfc3339};
use crate::state::{Resolved, StorageState};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::ToItem;
use tracseq_aws::store::{Item, MAX_TRANSACTION_ITEMS, StoreError, Table, from_item, n, s};
use tracseq_core::auth::Principal;
use tracseq_core::{FieldError, Problem};

/// The index partition of operations that are neither completed nor rolled back.
pub(super) const OPEN_OPERATIONS: &str = "STORAGEOPS#open";

/// Room kept in every transaction for the operation record and the test hook's check.
const RESERVED_ACTIONS: usize = 3;

/// Why an action of a transaction failed, for the answer.
#[derive(Debug, Clone)]
enum Meaning {
    Position { item: usize, label: String, path: String },
    Sample { item: usize, barcode: String },
    Counter { location: String },
    Unit { location: String },
    Other,
}

/// What counters a box rolls up to, and its path for messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Lineage {
    pub ancestors: Vec<String>,
    pub capacity: u64,
    pub path: String,
    /// The unit above the box and its zone as checked.
    #[serde(default)]
    pub unit: Option<(String, Zone)>,
}

impl From<&Resolved> for Lineage {
    fn from(r: &Resolved) -> Self {
        Self {
            ancestors: r.location.ancestors.clone(),
            capacity: r.location.capacity,
            path: r.path.clone(),
            unit: r.unit.as_ref().and_then(|u| Some((u.id.clone(), u.zone?))),
        }
    }
}

/// Everything needed to undo an operation's committed chunks without reading anything.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct UndoPlan {
    pub chunks: Vec<Vec<usize>>,
    pub steps: Vec<Step>,
    pub lineage: HashMap<String, Lineage>,
}

pub(super) struct Writer<'a> {
    pub st: &'a StorageState,
    pub lab: &'a str,
    /// Every box the steps touch.
    pub lineage: &'a HashMap<String, Lineage>,
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
        self.lineage.get(box_id).map(|l| l.path.clone()).unwrap_or_default()
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
                &tracseq_lab::keys::history_sk(&h.at, &h.id),
            )?);
        }
        Ok(ops)
    }

    /// Counter updates for `deltas` (per box), rolled up to every ancestor and merged.
    /// How many counter updates [`Writer::counters`] makes for `deltas`.
    fn counter_count(&self, deltas: &[(String, i64)]) -> usize {
        let mut net: HashMap<&str, i64> = HashMap::new();
        for (box_id, d) in deltas {
            let Some(l) = self.lineage.get(box_id) else { continue };
            for id in l.ancestors.iter().chain([box_id]) {
                *net.entry(id.as_str()).or_default() += d;
            }
        }
        net.values().filter(|d| **d != 0).count()
    }

    fn counters(&self, deltas: &[(String, i64)]) -> Result<Vec<(TransactWriteItem, Meaning)>, StoreError> {
        let mut per_location: BTreeMap<String, (i64, CounterGuard)> = BTreeMap::new();
        for (box_id, d) in deltas {
            let Some(l) = self.lineage.get(box_id) else { continue };
            for id in &l.ancestors {
                let e = per_location.entry(id.clone()).or_default();
                e.0 += d;
                if let Some((unit, zone)) = &l.unit
                    && unit == id
                {
                    e.1.unit_zone = Some(*zone);
                }
            }
            let e = per_location.entry(box_id.clone()).or_default();
            e.0 += d;
            e.1.grid_capacity = Some(l.capacity);
        }
        per_location
            .into_iter()
            .filter(|(_, (d, _))| *d != 0)
            .map(|(id, (d, guard))| {
                let meaning = if guard.unit_zone.is_some() && d > 0 {
                    Meaning::Unit { location: id.clone() }
                } else {
                    Meaning::Counter { location: id.clone() }
                };
                Ok((
                    counter_op(self.table(), self.lab, &id, guard, &[("occupied", d)])?,
                    meaning,
                ))
            })
            .collect()
    }
}

/// A chunk's writes: each step's actions, then the merged counters.
fn chunk_ops(w: &Writer<'_>, steps: &[Step], idx: &[usize]) -> Result<Vec<(TransactWriteItem, Meaning)>, StoreError> {
    let mut ops = Vec::new();
    let mut deltas = Vec::new();
    for &i in idx {
        ops.extend(w.forward(&steps[i])?);
        deltas.extend(steps[i].deltas.iter().cloned());
    }
    ops.extend(w.counters(&deltas)?);
    Ok(ops)
}

/// Split steps into transactions of at most 100 actions, counters included.
fn chunk(w: &Writer<'_>, steps: &[Step]) -> Result<Vec<Vec<usize>>, StoreError> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    // Counted, not built: sizing a rack would otherwise encode every item many times.
    let size = |idx: &[usize]| -> usize {
        let own: usize = idx.iter().map(|&i| steps[i].actions()).sum();
        let deltas: Vec<(String, i64)> = idx.iter().flat_map(|&i| steps[i].deltas.iter().cloned()).collect();
        own + w.counter_count(&deltas)
    };
    for i in 0..steps.len() {
        current.push(i);
        if size(&current) + RESERVED_ACTIONS > MAX_TRANSACTION_ITEMS {
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
    let at = |i: usize, f: &str| crate::domain::custody::request::item_field(single, i, f);
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
        Meaning::Unit { location } => (
            "unit_unavailable",
            "location_id".to_owned(),
            format!("unit {location} changed its status or zone meanwhile"),
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

/// The record of a multi-chunk operation, open (indexed) until it ends.
fn operation_item(
    w: &Writer<'_>,
    op_id: &str,
    action: CustodyAction,
    p: &Principal,
    plan: &UndoPlan,
    status: &str,
) -> Result<Item, StoreError> {
    let json = serde_json::to_vec(plan).map_err(|e| StoreError::Serde(e.to_string()))?;
    let created = now_rfc3339();
    let mut item = Item::from([
        ("PK".to_owned(), s(keys::operation(w.lab, op_id))),
        ("SK".to_owned(), s(keys::OP_SK)),
        ("entity".to_owned(), s("storage_operation")),
        ("id".to_owned(), s(op_id)),
        ("lab_id".to_owned(), s(w.lab)),
        ("action".to_owned(), s(action.as_str())),
        ("status".to_owned(), s(status)),
        ("chunks".to_owned(), n(plan.chunks.len())),
        ("done".to_owned(), n(1)),
        ("by".to_owned(), s(&p.user_id)),
        (
            "plan_z".to_owned(),
            AttributeValue::B(Blob::new(tracseq_aws::compress::deflate(&json)?)),
        ),
        ("created_at".to_owned(), s(&created)),
        // The lab's operations, listed for good (a lab export finds them here).
        ("GSI2PK".to_owned(), s(keys::operations(w.lab))),
        ("GSI2SK".to_owned(), s(format!("{created}#{op_id}"))),
    ]);
    if status != "completed" {
        item.insert("GSI1PK".into(), s(OPEN_OPERATIONS));
        item.insert("GSI1SK".into(), s(format!("{created}#{}#{op_id}", w.lab)));
    }
    Ok(item)
}

/// Move the operation record's checkpoint from `from` to `to` chunks done, setting its
/// status; a final status takes it out of the open index.
pub(super) fn operation_progress(
    w: &Writer<'_>,
    op_id: &str,
    from: usize,
    to: usize,
    status: &str,
) -> Result<TransactWriteItem, StoreError> {
    let mut expr = "SET done = :to, #st = :st".to_owned();
    if matches!(status, "completed" | "rolled_back") {
        expr.push_str(" REMOVE GSI1PK, GSI1SK");
    }
    let update = Update::builder()
        .table_name(&w.table().name)
        .key("PK", s(keys::operation(w.lab, op_id)))
        .key("SK", s(keys::OP_SK))
        .update_expression(expr)
        .condition_expression("done = :from")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":from", n(from))
        .expression_attribute_values(":to", n(to))
        .expression_attribute_values(":st", s(status))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Commit the planned steps of one request; answers the ids of every location whose
/// counters changed (for the capacity announcements that follow).
pub async fn write(
    st: &StorageState,
    p: &Principal,
    action: CustodyAction,
    reads: &Reads,
    steps: Vec<Step>,
    op_id: &str,
    single: bool,
) -> Result<Vec<String>, Problem> {
    let lineage: HashMap<String, Lineage> = reads
        .boxes
        .iter()
        .map(|(id, r)| (id.clone(), Lineage::from(r)))
        .collect();
    let touched: Vec<String> = steps
        .iter()
        .flat_map(|s| s.deltas.iter())
        .filter_map(|(b, _)| reads.boxes.get(b))
        .flat_map(|r| r.location.lineage().map(str::to_owned).collect::<Vec<_>>())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let writer = Writer {
        st,
        lab: &p.lab_id,
        lineage: &lineage,
    };
    commit(&writer, p, action, steps, op_id, single).await?;
    Ok(touched)
}

/// Commit the steps. When they and their events fit one transaction, that is all.
/// Otherwise the state goes in checkpointed chunks (undone if a later one fails), the
/// record turns `publishing`, and the events follow, written under their fixed keys; a
/// process that dies before that ends leaves the record open for recovery to finish.
async fn commit(
    w: &Writer<'_>,
    p: &Principal,
    action: CustodyAction,
    steps: Vec<Step>,
    op_id: &str,
    single: bool,
) -> Result<(), Problem> {
    let chunks = chunk(w, &steps)?;
    let Some(first) = chunks.first() else {
        return Ok(());
    };
    let events = steps.iter().filter(|s| s.event.is_some()).count();
    let phased =
        chunks.len() > 1 || chunk_ops(w, &steps, first)?.len() + events + RESERVED_ACTIONS > MAX_TRANSACTION_ITEMS;
    let plan = UndoPlan {
        chunks,
        steps,
        lineage: w.lineage.clone(),
    };
    let (chunks, steps) = (&plan.chunks, &plan.steps);
    for (k, idx) in chunks.iter().enumerate() {
        let mut ops = chunk_ops(w, steps, idx)?;
        debug_assert!(
            ops.len() + RESERVED_ACTIONS <= MAX_TRANSACTION_ITEMS,
            "chunk sized wrongly"
        );
        let last = k + 1 == chunks.len();
        if phased {
            let status = if last { "publishing" } else { "committing" };
            let op = if k == 0 {
                w.table()
                    .put_new_op(operation_item(w, op_id, action, p, &plan, status)?)?
            } else {
                operation_progress(w, op_id, k, k + 1, status)?
            };
            ops.push((op, Meaning::Other));
        } else {
            for ev in steps.iter().filter_map(|s| s.event.as_ref()) {
                ops.push((put_event_op(w.table(), ev)?, Meaning::Other));
            }
        }
        if w.st.settings.faults.fail_chunk == Some(k + 1) {
            ops.push((
                w.table()
                    .check_version_op(&keys::operation(w.lab, op_id), "NO-SUCH-ITEM", 0)?,
                Meaning::Other,
            ));
        }
        let (writes, meanings): (Vec<_>, Vec<_>) = ops.into_iter().unzip();
        if let Err(e) = w.table().transact_retrying(writes).await {
            let problem = match e.failed_action().and_then(|i| meanings.get(i)) {
                Some(m) => lost(m, single),
                None => e.into(),
            };
            if k > 0 {
                rollback(w, &plan, k, op_id).await;
            }
            return Err(problem);
        }
        if phased && w.st.settings.faults.crash_after_chunk == Some(k + 1) {
            tracing::warn!(
                operation = op_id,
                chunk = k + 1,
                "test hook: stopping as if the process died"
            );
            return Err(Problem::internal());
        }
    }
    if phased && let Err(e) = publish(w, &plan, op_id).await {
        // The operation happened; its events are owed, and recovery pays them.
        tracing::warn!(operation = op_id, error = %e, "events not yet written; recovery will write them");
    }
    Ok(())
}

/// Write every step's event (repeatable: fixed keys) and close the record `completed`.
pub(super) async fn publish(w: &Writer<'_>, plan: &UndoPlan, op_id: &str) -> Result<(), StoreError> {
    let items = plan
        .steps
        .iter()
        .filter_map(|s| s.event.as_ref())
        .map(tracseq_aws::outbox::event_item)
        .collect::<Result<Vec<_>, _>>()?;
    w.table().batch_put(items).await?;
    w.table()
        .transact(vec![operation_progress(
            w,
            op_id,
            plan.chunks.len(),
            plan.chunks.len(),
            "completed",
        )?])
        .await
}

/// How an undo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Undone {
    /// Every committed chunk is undone; the record says `rolled_back`.
    Complete,
    /// A chunk's undo lost a race with a later change of the same samples: a person must
    /// look (logged with the operation id); the record says `rollback_incomplete`.
    Conflict,
    /// The store failed; the record stays open for the recovery function to retry.
    Retry,
}

/// Undo the first `done` chunks of `plan`, newest first. Each chunk's undo moves the
/// record's checkpoint back by one in the same transaction, so an undo that stops halfway
/// resumes where it stopped.
pub(super) async fn rollback(w: &Writer<'_>, plan: &UndoPlan, done: usize, op_id: &str) -> Undone {
    for k in (0..done).rev() {
        match undo_chunk(w, plan, k, op_id).await {
            Ok(()) => {}
            Err(e) if e.is_condition_failure() || matches!(e, StoreError::Serde(_) | StoreError::Invalid(_)) => {
                tracing::error!(operation = op_id, chunk = k + 1, error = %e, "storage operation undo lost a race; needs a person");
                finish(w, op_id, k + 1, "rollback_incomplete").await;
                return Undone::Conflict;
            }
            Err(e) => {
                tracing::warn!(operation = op_id, chunk = k + 1, error = %e, "storage operation undo failed; recovery retries it");
                return Undone::Retry;
            }
        }
    }
    finish(w, op_id, 0, "rolled_back").await;
    Undone::Complete
}

async fn undo_chunk(w: &Writer<'_>, plan: &UndoPlan, k: usize, op_id: &str) -> Result<(), StoreError> {
    let mut ops = Vec::new();
    let mut deltas = Vec::new();
    let malformed = || StoreError::Serde("undo plan names a chunk or step it does not hold".into());
    for &i in plan.chunks.get(k).ok_or_else(malformed)? {
        let step = plan.steps.get(i).ok_or_else(malformed)?;
        ops.extend(w.inverse(step)?);
        deltas.extend(step.deltas.iter().map(|(b, d)| (b.clone(), -d)));
    }
    ops.extend(w.counters(&deltas)?.into_iter().map(|(op, _)| op));
    ops.push(operation_progress(w, op_id, k + 1, k, "rolling_back")?);
    w.table().transact_retrying(ops).await
}

/// Close the record with a final status (out of the open index).
async fn finish(w: &Writer<'_>, op_id: &str, done: usize, status: &str) {
    let result = w
        .table()
        .client
        .update_item()
        .table_name(&w.table().name)
        .key("PK", s(keys::operation(w.lab, op_id)))
        .key("SK", s(keys::OP_SK))
        .update_expression("SET #st = :st, done = :done REMOVE GSI1PK, GSI1SK")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":st", s(status))
        .expression_attribute_values(":done", n(done))
        .send()
        .await;
    if let Err(e) = result {
        tracing::error!(operation = op_id, error = ?e, "storage operation record not closed");
    }
}

/// Read everything the request touches (a few batched reads, whatever its size); refuse
/// the items whose sample cannot be found.
pub async fn read(st: &StorageState, lab: &str, request: &Normalized) -> Result<(Reads, Vec<Refusal>), Problem> {
    let items = &request.items;
    let mut refusals = Vec::new();
    let at = |i: usize, f: &str| request.field(i, f);
    // Samples by barcode go through the lab's barcode guards.
    let codes: Vec<(String, String)> = items
        .iter()
        .filter_map(|i| i.barcode.as_ref())
        .map(|c| {
            (
                keys::barcode(lab, &c.trim().to_uppercase()),
                keys::BARCODE_SK.to_owned(),
            )
        })
        .collect();
    let guards: HashMap<String, String> = if codes.is_empty() {
        HashMap::new()
    } else {
        st.table
            .batch_get(&codes)
            .await?
            .into_iter()
            .filter(|g| g.get("kind").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("sample"))
            .filter_map(|g| {
                let pk = g.get("PK")?.as_s().ok()?.clone();
                let owner = g.get("owner")?.as_s().ok()?.clone();
                Some((pk, owner))
            })
            .collect()
    };
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|i| match (&i.sample_id, &i.barcode) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(code)) => guards.get(&keys::barcode(lab, &code.trim().to_uppercase())).cloned(),
            _ => None,
        })
        .collect();
    let wanted: Vec<String> = ids.iter().flatten().cloned().collect();
    let samples = st.samples(lab, &wanted).await?;
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        match id {
            Some(id) if samples.contains_key(id) => {
                if !seen.insert(id.clone()) {
                    refusals.push(Refusal::invalid(
                        at(i, "sample_id"),
                        "unique",
                        "the sample is listed twice",
                    ));
                }
            }
            _ => refusals.push(Refusal::missing(
                at(
                    i,
                    if items[i].sample_id.is_some() {
                        "sample_id"
                    } else {
                        "barcode"
                    },
                ),
                "sample",
            )),
        }
    }
    let held_keys: Vec<(String, String)> = samples
        .values()
        .filter_map(|s| s.storage.as_ref())
        .map(|p| (keys::location(lab, &p.location_id), keys::position_sk(&p.position)))
        .collect();
    let held: HashMap<String, Position> = if held_keys.is_empty() {
        HashMap::new()
    } else {
        st.table
            .batch_get(&held_keys)
            .await?
            .into_iter()
            .map(|i| from_item::<Position>(i).map(|p| (p.sample_id.clone(), p)))
            .collect::<Result<_, _>>()?
    };
    // Target boxes and the boxes the samples are in now, with their ancestors.
    let mut box_ids: HashSet<String> = items.iter().filter_map(|i| i.location_id.clone()).collect();
    box_ids.extend(
        samples
            .values()
            .filter_map(|s| s.storage.as_ref())
            .map(|p| p.location_id.clone()),
    );
    let found = st.locations(lab, box_ids.iter().map(String::as_str)).await?;
    let boxes: HashMap<String, Resolved> = st
        .resolve(lab, found.into_values().collect())
        .await?
        .into_iter()
        .map(|r| (r.location.id.clone(), r))
        .collect();
    let targets: HashSet<&String> = items
        .iter()
        .filter_map(|i| i.location_id.as_ref())
        .filter(|id| boxes.get(*id).is_some_and(|r| r.location.kind.is_grid()))
        .collect();
    let mut taken = HashMap::new();
    for id in targets {
        let items = st.table.query_all(&keys::location(lab, id)).await?;
        let labels = items
            .into_iter()
            .filter(|i| {
                i.get("SK")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|sk| sk.starts_with("POS#"))
            })
            .map(from_item::<Position>)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|p| (p.position, p.sample_id))
            .collect();
        taken.insert(id.clone(), labels);
    }
    Ok((
        Reads {
            samples,
            ids,
            boxes,
            taken,
            held,
        },
        refusals,
    ))
}
