//! Custody operations: place, move, retrieve (check-out), return (check-in) and dispose,
//! for one sample or a rack of up to 96, all or nothing.
//!
//! Every request is read and checked whole before anything is written: samples, their
//! status machine, the target boxes, zone rules, unit status and free positions. Then each
//! sample's change — position guard(s), the sample (version-checked), its custody record
//! and history line — and the counters of every location above the boxes go out as one
//! transaction. A rack needs more than DynamoDB's 100 actions, so it commits in chunks,
//! with an operation record as checkpoint; if a later chunk loses a race, the chunks
//! already written are undone in reverse before the answer goes out. The operation's one
//! domain event rides in the last chunk, so it exists exactly when the whole operation does.

use super::capacity::announce_capacity;
use crate::domain::grid::Cell;
use crate::domain::kinds::LocationStatus;
use crate::model::{CustodyAction, CustodyRecord, Place, Position, keys, now_rfc3339};
use crate::state::{Resolved, StorageState};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_aws::keys::LabKeys;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, StoreError, Table, from_item, n, s};
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, optional_version};
use tracseq_core::{FieldError, Problem};
use tracseq_samples::domain::status::SampleStatus;
use tracseq_samples::model::{HistoryEntry, Sample, StoragePlace};

const MAX_REASON: usize = 500;
/// Room kept in every chunk for the operation record, the event and the test hook's check.
const RESERVED_ACTIONS: usize = 3;

/// One sample of a custody request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyItem {
    /// The sample, by id or by barcode.
    pub sample_id: Option<String>,
    pub barcode: Option<String>,
    /// Target box or plate (placements, moves; returns elsewhere than the kept position).
    pub location_id: Option<String>,
    /// Target position, like `A1`; or `auto`.
    pub position: Option<String>,
    /// Take the next free position of the box in its fill order.
    pub auto: Option<bool>,
    /// The sample's version, if the caller wants the change only on that version.
    pub version: Option<u64>,
}

/// `POST /api/storage/{placements|moves|retrievals|returns|disposals}`: one sample given
/// by the top-level fields, or up to 96 in `items` (top-level `location_id` and `auto`
/// then apply to every item that has no target of its own).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyRequest {
    pub sample_id: Option<String>,
    pub barcode: Option<String>,
    pub location_id: Option<String>,
    pub position: Option<String>,
    pub auto: Option<bool>,
    pub version: Option<u64>,
    /// Why: required for moves and disposals, at most 500 characters.
    pub reason: Option<String>,
    pub items: Option<Vec<CustodyItem>>,
}

/// What happened to one sample.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Moved {
    pub sample_id: String,
    pub barcode: String,
    pub status: SampleStatus,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Place>,
    pub freeze_thaw_count: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustodyOutcome {
    pub operation_id: String,
    pub action: CustodyAction,
    pub items: Vec<Moved>,
}

impl CustodyAction {
    fn target(self) -> TargetRule {
        match self {
            Self::Placed | Self::Moved => TargetRule::Required,
            Self::Returned => TargetRule::Optional,
            Self::Retrieved | Self::Disposed => TargetRule::None,
        }
    }

    fn needs_reason(self) -> bool {
        matches!(self, Self::Moved | Self::Disposed)
    }

    fn event_kind(self) -> &'static str {
        match self {
            Self::Placed => "storage.samples_placed",
            Self::Moved => "storage.samples_moved",
            Self::Retrieved => "storage.samples_retrieved",
            Self::Returned => "storage.samples_returned",
            Self::Disposed => "storage.samples_disposed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetRule {
    Required,
    Optional,
    None,
}

/// A refusal of one item: its status, code and the field error that names it.
struct Refusal {
    status: u16,
    code: &'static str,
    error: FieldError,
}

impl Refusal {
    fn invalid(field: String, rule: &str, message: impl Into<String>) -> Self {
        Self {
            status: 422,
            code: "validation_failed",
            error: FieldError::field(field, rule, message),
        }
    }
    fn conflict(code: &'static str, field: String, message: impl Into<String>) -> Self {
        Self {
            status: 409,
            code,
            error: FieldError::field(field, code, message),
        }
    }
    fn missing(field: String, what: &str) -> Self {
        Self {
            status: 404,
            code: "not_found",
            error: FieldError::field(field, "exists", format!("no such {what}")),
        }
    }
}

/// The whole request's refusals as one problem: a single sample keeps its own status
/// (404, 409, 422); a rack answers 422 when every refusal is about the input and 409 when
/// any is about the current state, listing every refusal.
fn refusals_problem(mut refusals: Vec<Refusal>, single: bool) -> Problem {
    if single && refusals.len() == 1 {
        let r = refusals.remove(0);
        let mut p = match r.status {
            404 => Problem::not_found(if r.error.field.as_deref().is_some_and(|f| f.contains("location")) {
                "location"
            } else {
                "sample"
            }),
            409 => Problem::conflict(r.code, r.error.message.clone()),
            _ => Problem::validation(vec![]),
        };
        p.errors = vec![r.error];
        return p;
    }
    let state = refusals.iter().find(|r| r.status == 409);
    let mut p = match state {
        Some(r) => Problem::conflict(
            r.code,
            format!(
                "{} of the samples cannot be handled as asked; nothing was changed",
                refusals.len()
            ),
        ),
        None => Problem::validation(vec![]),
    };
    p.errors = refusals.into_iter().map(|r| r.error).collect();
    p
}

/// A request reduced to its items, each with its target filled in.
#[derive(Debug)]
struct Normalized {
    items: Vec<CustodyItem>,
    reason: Option<String>,
    single: bool,
}

fn normalize(body: CustodyRequest, action: CustodyAction, max: usize) -> Result<Normalized, Problem> {
    let mut errors = Vec::new();
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        errors.push(FieldError::field(
            "reason",
            "max_length",
            "a reason has at most 500 characters",
        ));
    }
    if action.needs_reason() && reason.is_none() {
        errors.push(FieldError::field(
            "reason",
            "required",
            format!("a sample {} needs a reason", action.as_str()),
        ));
    }
    let single = body.items.is_none();
    let items = match body.items {
        Some(items) => {
            for (field, given) in [
                ("sample_id", body.sample_id.is_some()),
                ("barcode", body.barcode.is_some()),
                ("position", body.position.is_some()),
                ("version", body.version.is_some()),
            ] {
                if given {
                    errors.push(FieldError::field(
                        field,
                        "with_items",
                        "give it per item when items are listed",
                    ));
                }
            }
            if items.is_empty() || items.len() > max {
                errors.push(FieldError::field(
                    "items",
                    "length",
                    format!("1 to {max} samples per request"),
                ));
            }
            items
                .into_iter()
                .map(|mut i| {
                    if i.location_id.is_none() && i.position.is_none() {
                        i.location_id = body.location_id.clone();
                        i.auto = i.auto.or(body.auto);
                    }
                    i
                })
                .collect()
        }
        None => vec![CustodyItem {
            sample_id: body.sample_id,
            barcode: body.barcode,
            location_id: body.location_id,
            position: body.position,
            auto: body.auto,
            version: body.version,
        }],
    };
    for (i, item) in items.iter().enumerate() {
        let at = |f: &str| {
            if single {
                f.to_owned()
            } else {
                format!("items[{i}].{f}")
            }
        };
        if item.sample_id.is_none() == item.barcode.is_none() {
            errors.push(FieldError::field(
                at("sample_id"),
                "one_of",
                "give the sample's id or its barcode",
            ));
        }
        let auto = item.auto.unwrap_or(false);
        let has_target = item.location_id.is_some() || item.position.is_some() || auto;
        match action.target() {
            TargetRule::None if has_target => {
                errors.push(FieldError::field(
                    at("location_id"),
                    "not_allowed",
                    "this operation takes no target",
                ));
            }
            TargetRule::Required | TargetRule::Optional if has_target => {
                if item.location_id.is_none() {
                    errors.push(FieldError::field(
                        at("location_id"),
                        "required",
                        "the target box or plate",
                    ));
                }
                if item.position.is_some() == auto {
                    errors.push(FieldError::field(
                        at("position"),
                        "one_of",
                        "give a position or auto: true",
                    ));
                }
            }
            TargetRule::Required => {
                errors.push(FieldError::field(
                    at("location_id"),
                    "required",
                    "the target box or plate",
                ));
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(Normalized { items, reason, single })
}

/// A position item's change within a step.
#[derive(Debug, Clone)]
enum PosChange {
    /// Take a free position.
    Take(Position),
    /// Release the sample's position.
    Release(Position),
    /// Rewrite the sample's position in place (check-out, check-in).
    Rewrite { old: Position, new: Position },
}

/// One sample's complete change.
#[derive(Debug, Clone)]
struct Step {
    index: usize,
    before: Sample,
    after: Sample,
    positions: Vec<PosChange>,
    custody: CustodyRecord,
    history: Option<HistoryEntry>,
    /// Occupancy changes: (box, +1/-1); rolled up to every ancestor when committed.
    deltas: Vec<(String, i64)>,
}

/// Why an action of a transaction failed, for the answer.
#[derive(Debug, Clone)]
enum Meaning {
    Position { item: usize, label: String, path: String },
    Sample { item: usize, barcode: String },
    Counter { location: String },
    Other,
}

struct Plan<'a> {
    st: &'a StorageState,
    lab: &'a str,
    boxes: &'a HashMap<String, Resolved>,
}

impl Plan<'_> {
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
                    super::counter_op(self.table(), self.lab, &id, cap, &[("occupied", d)])?,
                    Meaning::Counter { location: id },
                ))
            })
            .collect()
    }
}

/// Split steps into transactions of at most 100 actions, counters included.
fn chunk(plan: &Plan<'_>, steps: &[Step]) -> Result<Vec<Vec<usize>>, StoreError> {
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

/// Everything read for a request.
struct Reads {
    samples: HashMap<String, Sample>,
    /// Sample id per item (None when it could not be resolved).
    ids: Vec<Option<String>>,
    boxes: HashMap<String, Resolved>,
    /// Taken positions per target box: label → sample id.
    taken: HashMap<String, HashMap<String, String>>,
    /// The position item each stored sample holds now, by sample id.
    held: HashMap<String, Position>,
}

async fn read(
    st: &StorageState,
    lab: &str,
    items: &[CustodyItem],
    single: bool,
) -> Result<(Reads, Vec<Refusal>), Problem> {
    let mut refusals = Vec::new();
    let at = |i: usize, f: &str| {
        if single {
            f.to_owned()
        } else {
            format!("items[{i}].{f}")
        }
    };
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

/// The status a sample moves to, by the machine, or why it cannot.
fn next_status(action: CustodyAction, s: &Sample) -> Result<SampleStatus, (&'static str, String)> {
    let stored = s.storage.as_ref();
    let out = stored.is_some_and(|p| p.checked_out);
    let where_ = || stored.map(|p| format!("{}/{}", p.path, p.position)).unwrap_or_default();
    let machine = |to: SampleStatus| {
        s.status
            .transition(to)
            .map_err(|e| ("invalid_transition", e.to_string()))
    };
    match action {
        CustodyAction::Placed if stored.is_some() => Err((
            "already_stored",
            format!(
                "sample {} already has a position ({}): move it instead",
                s.barcode,
                where_()
            ),
        )),
        CustodyAction::Placed => machine(SampleStatus::InStorage),
        CustodyAction::Moved | CustodyAction::Retrieved if stored.is_none() => {
            Err(("not_stored", format!("sample {} is not in storage", s.barcode)))
        }
        CustodyAction::Moved | CustodyAction::Retrieved if out => Err((
            "checked_out",
            format!("sample {} is checked out: return it first", s.barcode),
        )),
        CustodyAction::Moved => Ok(s.status),
        CustodyAction::Retrieved => machine(SampleStatus::Validated),
        CustodyAction::Returned if !out => Err(("not_checked_out", format!("sample {} is not checked out", s.barcode))),
        CustodyAction::Returned => machine(SampleStatus::InStorage),
        CustodyAction::Disposed => machine(SampleStatus::Deleted),
    }
}

fn place_of(r: &Resolved, label: &str) -> Place {
    Place {
        location_id: r.location.id.clone(),
        position: label.to_owned(),
        path: r.path.clone(),
    }
}

/// Check every item against what was read and build its step.
fn plan_steps(
    st: &StorageState,
    p: &Principal,
    action: CustodyAction,
    n: &Normalized,
    reads: &Reads,
    op_id: &str,
    header_version: Option<u64>,
) -> (Vec<Step>, Vec<Refusal>) {
    let single = n.single;
    let at = |i: usize, f: &str| {
        if single {
            f.to_owned()
        } else {
            format!("items[{i}].{f}")
        }
    };
    let now = now_rfc3339();
    let mut refusals = Vec::new();
    let mut steps = Vec::new();
    let mut claimed: HashSet<(String, String)> = HashSet::new();
    for (i, item) in n.items.iter().enumerate() {
        let Some(sample) = reads.ids[i].as_ref().and_then(|id| reads.samples.get(id)) else {
            continue;
        };
        if let Some(v) = item.version.or(header_version)
            && v != sample.version
        {
            refusals.push(Refusal::conflict(
                "version_conflict",
                at(i, "version"),
                format!(
                    "sample {} is at version {}, not {v}; reload and retry",
                    sample.barcode, sample.version
                ),
            ));
            continue;
        }
        let to_status = match next_status(action, sample) {
            Ok(s) => s,
            Err((code, why)) => {
                refusals.push(Refusal::conflict(code, at(i, "sample_id"), why));
                continue;
            }
        };
        let current = sample.storage.as_ref();
        let current_box = current.and_then(|c| reads.boxes.get(&c.location_id));
        // The target, when the item names one.
        let mut target: Option<(&Resolved, Cell)> = None;
        if let Some(box_id) = &item.location_id {
            let Some(r) = reads.boxes.get(box_id) else {
                refusals.push(Refusal::invalid(at(i, "location_id"), "exists", "no such location"));
                continue;
            };
            let Some(grid) = r.location.grid() else {
                refusals.push(Refusal::invalid(
                    at(i, "location_id"),
                    "grid",
                    format!(
                        "{} is a {}: samples go into boxes and plates",
                        r.path,
                        r.location.kind.as_str()
                    ),
                ));
                continue;
            };
            if let Some(unit) = &r.unit
                && unit.status != Some(LocationStatus::Active)
            {
                refusals.push(Refusal::conflict(
                    "unit_unavailable",
                    at(i, "location_id"),
                    format!(
                        "{} is {}: it takes no samples",
                        unit.name,
                        unit.status.map_or("unknown", |s| s.as_str())
                    ),
                ));
                continue;
            }
            match r.zone() {
                Some(zone) => {
                    if let Err(rule) = st.settings.zone_rules.check(sample.sample_type, zone) {
                        refusals.push(Refusal::invalid(at(i, "location_id"), "zone", rule));
                        continue;
                    }
                }
                None => {
                    refusals.push(Refusal::invalid(
                        at(i, "location_id"),
                        "zone",
                        "the box is in no unit with a zone",
                    ));
                    continue;
                }
            }
            let taken = reads.taken.get(box_id);
            let is_free = |label: &str| {
                taken.and_then(|t| t.get(label)).is_none() && !claimed.contains(&(box_id.clone(), label.to_owned()))
            };
            let cell = match &item.position {
                Some(label) => match grid.parse(label) {
                    Ok(c) => {
                        let l = c.label();
                        if current.is_some_and(|cur| cur.location_id == *box_id && cur.position == l) {
                            refusals.push(Refusal::invalid(
                                at(i, "position"),
                                "same_place",
                                "the sample is already there",
                            ));
                            continue;
                        }
                        if claimed.contains(&(box_id.clone(), l.clone())) {
                            refusals.push(Refusal::invalid(
                                at(i, "position"),
                                "unique",
                                format!("{l} is given twice"),
                            ));
                            continue;
                        }
                        if !is_free(&l) {
                            refusals.push(Refusal::conflict(
                                "position_occupied",
                                at(i, "position"),
                                format!("{}/{l} is occupied", r.path),
                            ));
                            continue;
                        }
                        c
                    }
                    Err(e) => {
                        refusals.push(Refusal::invalid(at(i, "position"), "position", e.to_string()));
                        continue;
                    }
                },
                None => match grid.cells().find(|c| is_free(&c.label())) {
                    Some(c) => c,
                    None => {
                        refusals.push(Refusal::conflict(
                            "box_full",
                            at(i, "location_id"),
                            format!("{} has no free position left", r.path),
                        ));
                        continue;
                    }
                },
            };
            claimed.insert((box_id.clone(), cell.label()));
            target = Some((r, cell));
        }
        let from = current.map(|c| Place {
            location_id: c.location_id.clone(),
            position: c.position.clone(),
            path: current_box.map_or_else(|| c.path.clone(), |b| b.path.clone()),
        });
        let mut after = sample.clone();
        after.status = to_status;
        after.version += 1;
        after.updated_at = now.clone();
        after.updated_by = p.user_id.clone();
        let old_pos = match current {
            Some(_) => match reads.held.get(&sample.id) {
                Some(pos) => Some(pos.clone()),
                None => {
                    refusals.push(Refusal::conflict(
                        "version_conflict",
                        at(i, "sample_id"),
                        format!(
                            "sample {}'s position changed meanwhile; reload and retry",
                            sample.barcode
                        ),
                    ));
                    continue;
                }
            },
            None => None,
        };
        let new_pos = |r: &Resolved, c: Cell, status: SampleStatus| Position {
            location_id: r.location.id.clone(),
            position: c.label(),
            row: c.row,
            column: c.column,
            sample_id: sample.id.clone(),
            barcode: sample.barcode.clone(),
            sample_type: sample.sample_type,
            sample_status: status,
            project: sample.details.project.clone(),
            checked_out: false,
            since: now.clone(),
            by: p.user_id.clone(),
        };
        let mut positions = Vec::new();
        let mut deltas = Vec::new();
        let mut to = None;
        let mut unit_id = current_box.and_then(|b| b.location.unit_id.clone());
        match (action, target, &old_pos) {
            (CustodyAction::Placed, Some((r, c)), _) => {
                positions.push(PosChange::Take(new_pos(r, c, to_status)));
                deltas.push((r.location.id.clone(), 1));
                to = Some(place_of(r, &c.label()));
                unit_id = r.location.unit_id.clone();
            }
            (CustodyAction::Moved | CustodyAction::Returned, Some((r, c)), Some(old)) => {
                positions.push(PosChange::Release(old.clone()));
                positions.push(PosChange::Take(new_pos(r, c, to_status)));
                deltas.push((old.location_id.clone(), -1));
                deltas.push((r.location.id.clone(), 1));
                to = Some(place_of(r, &c.label()));
                unit_id = r.location.unit_id.clone();
            }
            (CustodyAction::Retrieved | CustodyAction::Returned, None, Some(old)) => {
                let mut new = old.clone();
                new.checked_out = action == CustodyAction::Retrieved;
                new.sample_status = to_status;
                new.since = now.clone();
                new.by = p.user_id.clone();
                positions.push(PosChange::Rewrite { old: old.clone(), new });
                if action == CustodyAction::Returned {
                    to = from.clone();
                }
            }
            (CustodyAction::Disposed, None, Some(old)) => {
                positions.push(PosChange::Release(old.clone()));
                deltas.push((old.location_id.clone(), -1));
            }
            (CustodyAction::Disposed, None, None) => {}
            _ => {
                refusals.push(Refusal::invalid(
                    at(i, "location_id"),
                    "target",
                    "this operation needs a target",
                ));
                continue;
            }
        }
        after.storage = match (action, &to) {
            (CustodyAction::Disposed, _) => None,
            (CustodyAction::Retrieved, _) => current.map(|c| StoragePlace {
                checked_out: true,
                ..c.clone()
            }),
            (_, Some(place)) => Some(StoragePlace {
                location_id: place.location_id.clone(),
                position: place.position.clone(),
                path: place.path.clone(),
                checked_out: false,
            }),
            (_, None) => current.cloned(),
        };
        if action == CustodyAction::Retrieved && current_box.and_then(Resolved::zone).is_some_and(|z| z.is_frozen()) {
            after.freeze_thaw_count += 1;
        }
        let custody = CustodyRecord {
            id: ulid::Ulid::new().to_string(),
            sample_id: sample.id.clone(),
            barcode: sample.barcode.clone(),
            action,
            from: if action == CustodyAction::Placed { None } else { from },
            to,
            reason: n.reason.clone(),
            freeze_thaw_count: after.freeze_thaw_count,
            operation_id: op_id.to_owned(),
            at: now.clone(),
            by: p.user_id.clone(),
            unit_id,
        };
        let history = (sample.status != to_status).then(|| HistoryEntry {
            id: ulid::Ulid::new().to_string(),
            sample_id: sample.id.clone(),
            kind: if to_status == SampleStatus::Deleted {
                "deleted"
            } else {
                "status_changed"
            }
            .to_owned(),
            from: Some(sample.status),
            to: Some(to_status),
            reason: Some(
                n.reason
                    .clone()
                    .unwrap_or_else(|| format!("storage: {}", action.as_str())),
            ),
            changed: vec![],
            at: now.clone(),
            by: p.user_id.clone(),
        });
        steps.push(Step {
            index: i,
            before: sample.clone(),
            after,
            positions,
            custody,
            history,
            deltas,
        });
    }
    (steps, refusals)
}

/// What a lost condition means for the caller.
fn lost(meaning: &Meaning, single: bool) -> Problem {
    let at = |i: usize, f: &str| {
        if single {
            f.to_owned()
        } else {
            format!("items[{i}].{f}")
        }
    };
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
async fn commit(
    plan: &Plan<'_>,
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
async fn rollback(plan: &Plan<'_>, steps: &[Step], done: &[Vec<usize>], op_id: &str) {
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

/// Read, check, plan and commit one custody request.
async fn execute(
    st: &StorageState,
    req: &Request,
    p: &Principal,
    action: CustodyAction,
    n: &Normalized,
) -> Result<Response, Problem> {
    let header_version = if n.single { optional_version(req, None)? } else { None };
    let (reads, mut refusals) = read(st, &p.lab_id, &n.items, n.single).await?;
    let op_id = ulid::Ulid::new().to_string();
    let (steps, more) = plan_steps(st, p, action, n, &reads, &op_id, header_version);
    refusals.extend(more);
    if !refusals.is_empty() {
        return Err(refusals_problem(refusals, n.single));
    }
    let moved: Vec<Moved> = steps
        .iter()
        .map(|s| Moved {
            sample_id: s.after.id.clone(),
            barcode: s.after.barcode.clone(),
            status: s.after.status,
            version: s.after.version,
            from: s.custody.from.clone(),
            to: s.custody.to.clone(),
            freeze_thaw_count: s.after.freeze_thaw_count,
        })
        .collect();
    let event = req.event(
        action.event_kind(),
        p,
        &format!("storage/operations/{op_id}"),
        json!({
            "operation_id": op_id,
            "action": action,
            "reason": n.reason,
            "items": steps.iter().map(|s| json!({
                "sample_id": s.after.id,
                "barcode": s.after.barcode,
                "from": s.custody.from,
                "to": s.custody.to,
                "status_from": s.before.status,
                "status_to": s.after.status,
            })).collect::<Vec<_>>(),
        }),
    )?;
    let plan = Plan {
        st,
        lab: &p.lab_id,
        boxes: &reads.boxes,
    };
    commit(&plan, p, action, &steps, &event, &op_id, n.single).await?;
    let touched: Vec<String> = steps
        .iter()
        .flat_map(|s| s.deltas.iter())
        .filter_map(|(b, _)| reads.boxes.get(b))
        .flat_map(|r| r.location.lineage().map(str::to_owned).collect::<Vec<_>>())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    announce_capacity(st, req, p, &touched).await;
    Ok(Response::ok(&CustodyOutcome {
        operation_id: op_id,
        action,
        items: moved,
    }))
}

/// Auto-placed requests that lose a position race are planned again (a few times) with
/// fresh occupancy; explicit positions answer 409 at once.
async fn run(st: Arc<StorageState>, req: Request, p: Principal, action: CustodyAction) -> Result<Response, Problem> {
    let body: CustodyRequest = req.json_limited(256 * 1024)?;
    let n = normalize(body, action, st.settings.max_bulk)?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    let auto = n.items.iter().any(|i| i.auto == Some(true));
    idempotent(&st.idem, &lab, &req, || async {
        let mut attempt = 0;
        loop {
            match execute(&st, &req, &p, action, &n).await {
                Err(e) if auto && attempt < 3 && e.code == "position_occupied" => attempt += 1,
                other => return other,
            }
        }
    })
    .await
}

pub async fn place_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Placed).await
}

pub async fn move_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Moved).await
}

pub async fn retrieve_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Retrieved).await
}

pub async fn return_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Returned).await
}

pub async fn dispose_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Disposed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_normalize_to_items_with_their_targets() {
        let body: CustodyRequest = serde_json::from_value(json!({
            "location_id": "01BOX", "auto": true,
            "items": [{"sample_id": "a"}, {"barcode": "B-1", "location_id": "01OTHER", "position": "A1"}]
        }))
        .unwrap();
        let n = normalize(body, CustodyAction::Placed, 96).unwrap();
        assert!(!n.single);
        assert_eq!(n.items[0].location_id.as_deref(), Some("01BOX"));
        assert_eq!(n.items[0].auto, Some(true));
        assert_eq!(n.items[1].location_id.as_deref(), Some("01OTHER"));
        assert_eq!(n.items[1].auto, None);
    }

    #[test]
    fn shape_errors_are_all_reported() {
        let bad = |v: serde_json::Value, a: CustodyAction| {
            let body: CustodyRequest = serde_json::from_value(v).unwrap();
            normalize(body, a, 96)
                .unwrap_err()
                .errors
                .into_iter()
                .map(|e| (e.field.unwrap_or_default(), e.rule))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bad(json!({"sample_id": "a", "location_id": "b"}), CustodyAction::Placed),
            [("position".to_owned(), "one_of".to_owned())]
        );
        assert_eq!(
            bad(json!({"sample_id": "a"}), CustodyAction::Moved),
            [
                ("reason".to_owned(), "required".to_owned()),
                ("location_id".to_owned(), "required".to_owned())
            ]
        );
        assert_eq!(
            bad(
                json!({"barcode": "x", "location_id": "b", "auto": true}),
                CustodyAction::Retrieved
            ),
            [("location_id".to_owned(), "not_allowed".to_owned())]
        );
        assert_eq!(
            bad(json!({"items": []}), CustodyAction::Retrieved),
            [("items".to_owned(), "length".to_owned())]
        );
        let many: Vec<_> = (0..97).map(|i| json!({"sample_id": i.to_string()})).collect();
        assert_eq!(bad(json!({"items": many}), CustodyAction::Retrieved)[0].1, "length");
        assert_eq!(
            bad(
                json!({"items": [{"location_id": "b", "auto": true}]}),
                CustodyAction::Placed
            ),
            [("items[0].sample_id".to_owned(), "one_of".to_owned())]
        );
        assert_eq!(
            bad(
                json!({"sample_id": "a", "reason": "x".repeat(501)}),
                CustodyAction::Disposed
            )[0]
            .1,
            "max_length"
        );
    }
}
