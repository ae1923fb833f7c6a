//! Reading what a request touches and checking every item against it: the samples and
//! their status machine, the target boxes, zones, unit status and free positions. The
//! outcome is one [`Step`] per sample, or every refusal at once.

use super::request::{CustodyItem, Normalized, Refusal};
use crate::domain::grid::Cell;
use crate::domain::kinds::LocationStatus;
use crate::model::{CustodyAction, CustodyRecord, Place, Position, keys, now_rfc3339};
use crate::state::{Resolved, StorageState};
use std::collections::{HashMap, HashSet};
use tracseq_aws::store::from_item;
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_lab::sample::{HistoryEntry, Sample, StoragePlace};
use tracseq_lab::status::SampleStatus;

/// A position item's change within a step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) enum PosChange {
    /// Take a free position.
    Take(Position),
    /// Release the sample's position.
    Release(Position),
    /// Rewrite the sample's position in place (check-out, check-in).
    Rewrite { old: Position, new: Position },
}

/// One sample's complete change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Step {
    pub index: usize,
    pub before: Sample,
    pub after: Sample,
    pub positions: Vec<PosChange>,
    pub custody: CustodyRecord,
    pub history: Option<HistoryEntry>,
    /// Occupancy changes: (box, +1/-1); rolled up to every ancestor when committed.
    pub deltas: Vec<(String, i64)>,
    /// The sample's domain event, fixed (id and time) before anything is written, so a
    /// repeated write of it is the same item.
    #[serde(default)]
    pub event: Option<tracseq_core::events::CloudEvent>,
}

impl Step {
    /// How many transaction actions the step's own writes take (see `Writer::forward`).
    pub fn actions(&self) -> usize {
        self.positions.len() + 2 + usize::from(self.history.is_some())
    }
}

/// Everything read for a request.
pub(super) struct Reads {
    pub samples: HashMap<String, Sample>,
    /// Sample id per item (None when it could not be resolved).
    pub ids: Vec<Option<String>>,
    pub boxes: HashMap<String, Resolved>,
    /// Taken positions per target box: label → sample id.
    pub taken: HashMap<String, HashMap<String, String>>,
    /// The position item each stored sample holds now, by sample id.
    pub held: HashMap<String, Position>,
}

/// Read everything the request touches (a few batched reads, whatever its size); refuse
/// the items whose sample cannot be found.
pub(super) async fn read(st: &StorageState, lab: &str, request: &Normalized) -> Result<(Reads, Vec<Refusal>), Problem> {
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

/// Checks items one by one against what was read, remembering the positions earlier
/// items claimed, and builds their steps.
pub(super) struct Planner<'a> {
    pub st: &'a StorageState,
    pub principal: &'a Principal,
    pub action: CustodyAction,
    pub request: &'a Normalized,
    pub reads: &'a Reads,
    pub operation_id: &'a str,
    /// `If-Match` of a single-sample request.
    pub header_version: Option<u64>,
    pub now: String,
    claimed: HashSet<(String, String)>,
}

impl<'a> Planner<'a> {
    pub fn new(
        st: &'a StorageState,
        principal: &'a Principal,
        action: CustodyAction,
        request: &'a Normalized,
        reads: &'a Reads,
        operation_id: &'a str,
        header_version: Option<u64>,
    ) -> Self {
        Self {
            st,
            principal,
            action,
            request,
            reads,
            operation_id,
            header_version,
            now: now_rfc3339(),
            claimed: HashSet::new(),
        }
    }

    /// Every item's step, or every refusal.
    pub fn plan(mut self) -> (Vec<Step>, Vec<Refusal>) {
        let mut steps = Vec::new();
        let mut refusals = Vec::new();
        for (i, item) in self.request.items.iter().enumerate() {
            // Unresolved samples were refused when read.
            let Some(sample) = self.reads.ids[i].as_ref().and_then(|id| self.reads.samples.get(id)) else {
                continue;
            };
            match self.step(i, item, sample) {
                Ok(step) => steps.push(step),
                Err(r) => refusals.push(r),
            }
        }
        (steps, refusals)
    }

    fn field(&self, i: usize, name: &str) -> String {
        self.request.field(i, name)
    }

    /// One sample's step.
    fn step(&mut self, i: usize, item: &CustodyItem, sample: &Sample) -> Result<Step, Refusal> {
        if let Some(v) = item.version.or(self.header_version)
            && v != sample.version
        {
            return Err(Refusal::conflict(
                "version_conflict",
                self.field(i, "version"),
                format!(
                    "sample {} is at version {}, not {v}; reload and retry",
                    sample.barcode, sample.version
                ),
            ));
        }
        let to_status = next_status(self.action, sample)
            .map_err(|(code, why)| Refusal::conflict(code, self.field(i, "sample_id"), why))?;
        let target = match &item.location_id {
            Some(box_id) => Some(self.target(i, item, sample, box_id)?),
            None => None,
        };
        let held = match &sample.storage {
            Some(_) => Some(self.reads.held.get(&sample.id).cloned().ok_or_else(|| {
                Refusal::conflict(
                    "version_conflict",
                    self.field(i, "sample_id"),
                    format!(
                        "sample {}'s position changed meanwhile; reload and retry",
                        sample.barcode
                    ),
                )
            })?),
            None => None,
        };
        self.build(i, sample, to_status, target, held)
    }

    /// The target box of an item, checked, and the cell it will take.
    fn target(
        &mut self,
        i: usize,
        item: &CustodyItem,
        sample: &Sample,
        box_id: &str,
    ) -> Result<(&'a Resolved, Cell), Refusal> {
        let at = |f: &str| self.request.field(i, f);
        let r = self
            .reads
            .boxes
            .get(box_id)
            .ok_or_else(|| Refusal::invalid(at("location_id"), "exists", "no such location"))?;
        let grid = r.location.grid().ok_or_else(|| {
            Refusal::invalid(
                at("location_id"),
                "grid",
                format!(
                    "{} is a {}: samples go into boxes and plates",
                    r.path,
                    r.location.kind.as_str()
                ),
            )
        })?;
        if let Some(unit) = &r.unit
            && unit.status != Some(LocationStatus::Active)
        {
            return Err(Refusal::conflict(
                "unit_unavailable",
                at("location_id"),
                format!(
                    "{} is {}: it takes no samples",
                    unit.name,
                    unit.status.map_or("unknown", |s| s.as_str())
                ),
            ));
        }
        let zone = r
            .zone()
            .ok_or_else(|| Refusal::invalid(at("location_id"), "zone", "the box is in no unit with a zone"))?;
        self.st
            .settings
            .zone_rules
            .check(sample.sample_type, zone)
            .map_err(|rule| Refusal::invalid(at("location_id"), "zone", rule))?;
        let taken = self.reads.taken.get(box_id);
        let claimed = &self.claimed;
        let is_free = |label: &str| {
            taken.and_then(|t| t.get(label)).is_none() && !claimed.contains(&(box_id.to_owned(), label.to_owned()))
        };
        let cell = match &item.position {
            Some(label) => {
                let c = grid
                    .parse(label)
                    .map_err(|e| Refusal::invalid(at("position"), "position", e.to_string()))?;
                let l = c.label();
                if sample
                    .storage
                    .as_ref()
                    .is_some_and(|cur| cur.location_id == box_id && cur.position == l)
                {
                    return Err(Refusal::invalid(
                        at("position"),
                        "same_place",
                        "the sample is already there",
                    ));
                }
                if claimed.contains(&(box_id.to_owned(), l.clone())) {
                    return Err(Refusal::invalid(
                        at("position"),
                        "unique",
                        format!("{l} is given twice"),
                    ));
                }
                if !is_free(&l) {
                    return Err(Refusal::conflict(
                        "position_occupied",
                        at("position"),
                        format!("{}/{l} is occupied", r.path),
                    ));
                }
                c
            }
            None => grid.cells().find(|c| is_free(&c.label())).ok_or_else(|| {
                Refusal::conflict(
                    "box_full",
                    at("location_id"),
                    format!("{} has no free position left", r.path),
                )
            })?,
        };
        self.claimed.insert((box_id.to_owned(), cell.label()));
        Ok((r, cell))
    }

    /// A position item for `sample` at `cell` of `r`.
    fn position(&self, sample: &Sample, r: &Resolved, cell: Cell, status: SampleStatus) -> Position {
        Position {
            location_id: r.location.id.clone(),
            position: cell.label(),
            row: cell.row,
            column: cell.column,
            sample_id: sample.id.clone(),
            barcode: sample.barcode.clone(),
            sample_type: sample.sample_type,
            sample_status: status,
            project: sample.details.project.clone(),
            checked_out: false,
            since: self.now.clone(),
            by: self.principal.user_id.clone(),
        }
    }

    /// The writes of one checked item.
    fn build(
        &self,
        i: usize,
        sample: &Sample,
        to_status: SampleStatus,
        target: Option<(&Resolved, Cell)>,
        held: Option<Position>,
    ) -> Result<Step, Refusal> {
        let action = self.action;
        let current = sample.storage.as_ref();
        let current_box = current.and_then(|c| self.reads.boxes.get(&c.location_id));
        let from = current.map(|c| Place {
            location_id: c.location_id.clone(),
            position: c.position.clone(),
            path: current_box.map_or_else(|| c.path.clone(), |b| b.path.clone()),
        });
        let mut positions = Vec::new();
        let mut deltas = Vec::new();
        let mut to = None;
        let mut unit_id = current_box.and_then(|b| b.location.unit_id.clone());
        match (action, target, held) {
            (CustodyAction::Placed, Some((r, c)), _) => {
                positions.push(PosChange::Take(self.position(sample, r, c, to_status)));
                deltas.push((r.location.id.clone(), 1));
                to = Some(place_of(r, &c.label()));
                unit_id = r.location.unit_id.clone();
            }
            (CustodyAction::Moved | CustodyAction::Returned, Some((r, c)), Some(old)) => {
                deltas.push((old.location_id.clone(), -1));
                positions.push(PosChange::Release(old));
                positions.push(PosChange::Take(self.position(sample, r, c, to_status)));
                deltas.push((r.location.id.clone(), 1));
                to = Some(place_of(r, &c.label()));
                unit_id = r.location.unit_id.clone();
            }
            (CustodyAction::Retrieved | CustodyAction::Returned, None, Some(old)) => {
                let mut new = old.clone();
                new.checked_out = action == CustodyAction::Retrieved;
                new.sample_status = to_status;
                new.since = self.now.clone();
                new.by = self.principal.user_id.clone();
                positions.push(PosChange::Rewrite { old, new });
                if action == CustodyAction::Returned {
                    to = from.clone();
                }
            }
            (CustodyAction::Disposed, None, Some(old)) => {
                deltas.push((old.location_id.clone(), -1));
                positions.push(PosChange::Release(old));
            }
            (CustodyAction::Disposed, None, None) => {}
            _ => {
                return Err(Refusal::invalid(
                    self.field(i, "location_id"),
                    "target",
                    "this operation needs a target",
                ));
            }
        }
        let mut after = sample.clone();
        after.status = to_status;
        after.version += 1;
        after.updated_at = self.now.clone();
        after.updated_by = self.principal.user_id.clone();
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
            reason: self.request.reason.clone(),
            freeze_thaw_count: after.freeze_thaw_count,
            operation_id: self.operation_id.to_owned(),
            at: self.now.clone(),
            by: self.principal.user_id.clone(),
            unit_id,
        };
        Ok(Step {
            index: i,
            history: self.history(sample, to_status),
            before: sample.clone(),
            after,
            positions,
            custody,
            deltas,
            event: None,
        })
    }

    /// The history line of a status change (none when the status stays).
    fn history(&self, sample: &Sample, to: SampleStatus) -> Option<HistoryEntry> {
        (sample.status != to).then(|| HistoryEntry {
            id: ulid::Ulid::new().to_string(),
            sample_id: sample.id.clone(),
            kind: if to == SampleStatus::Deleted {
                "deleted"
            } else {
                "status_changed"
            }
            .to_owned(),
            from: Some(sample.status),
            to: Some(to),
            reason: Some(
                self.request
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("storage: {}", self.action.as_str())),
            ),
            changed: vec![],
            at: self.now.clone(),
            by: self.principal.user_id.clone(),
        })
    }
}
