//! Checking every item of a custody request against what was read for it: the samples
//! and their status machine, the target boxes, zones, unit status and free positions
//! (including those earlier items of the same request claim). The outcome is one [`Step`]
//! per sample, or every refusal at once. No I/O: the handler reads ([`Reads`]) and writes.

use super::request::{CustodyItem, Normalized, Refusal};
use crate::domain::grid::Cell;
use crate::domain::kinds::LocationStatus;
use crate::domain::zone::ZoneRules;
use crate::model::Resolved;
use crate::model::{CustodyAction, CustodyRecord, Place, Position, now_rfc3339};
use std::collections::{HashMap, HashSet};
use tracseq_core::auth::Principal;
use tracseq_lab::sample::{HistoryEntry, Sample, StoragePlace};
use tracseq_lab::status::SampleStatus;

/// A position item's change within a step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum PosChange {
    /// Take a free position.
    Take(Position),
    /// Release the sample's position.
    Release(Position),
    /// Rewrite the sample's position in place (check-out, check-in).
    Rewrite { old: Position, new: Position },
}

/// One sample's complete change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Step {
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
pub struct Reads {
    pub samples: HashMap<String, Sample>,
    /// Sample id per item (None when it could not be resolved).
    pub ids: Vec<Option<String>>,
    pub boxes: HashMap<String, Resolved>,
    /// Taken positions per target box: label → sample id.
    pub taken: HashMap<String, HashMap<String, String>>,
    /// The position item each stored sample holds now, by sample id.
    pub held: HashMap<String, Position>,
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
        CustodyAction::Moved | CustodyAction::Retrieved | CustodyAction::Released if stored.is_none() => {
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
        CustodyAction::Released if s.status == SampleStatus::InStorage => machine(SampleStatus::Validated),
        CustodyAction::Released => Ok(s.status),
    }
}

fn place_of(r: &Resolved, label: &str) -> Place {
    Place {
        location_id: r.location.id.clone(),
        position: label.to_owned(),
        path: r.path.clone(),
        unit_id: r.location.unit_id.clone(),
    }
}

/// Checks items one by one against what was read, remembering the positions earlier
/// items claimed, and builds their steps.
pub struct Planner<'a> {
    pub zones: &'a ZoneRules,
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
        zones: &'a ZoneRules,
        principal: &'a Principal,
        action: CustodyAction,
        request: &'a Normalized,
        reads: &'a Reads,
        operation_id: &'a str,
        header_version: Option<u64>,
    ) -> Self {
        Self {
            zones,
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
        self.zones
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
            unit_id: current_box.and_then(|b| b.location.unit_id.clone()),
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
            (CustodyAction::Disposed | CustodyAction::Released, None, Some(old)) => {
                deltas.push((old.location_id.clone(), -1));
                positions.push(PosChange::Release(old));
            }
            (CustodyAction::Disposed | CustodyAction::Released, None, None) => {}
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
            (CustodyAction::Disposed | CustodyAction::Released, _) => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::custody::request::{CustodyRequest, normalize, refusals_problem};
    use crate::model::Location;
    use serde_json::json;
    use tracseq_core::auth::Role;

    fn sample(id: &str, ty: &str, status: &str) -> Sample {
        serde_json::from_value(json!({
            "id": id, "barcode": format!("TS-{id}"), "name": id, "sample_type": ty, "status": status,
            "priority": "normal", "version": 3, "created_at": "2026-12-01T00:00:00Z", "created_by": "u",
            "updated_at": "2026-12-01T00:00:00Z", "updated_by": "u"
        }))
        .unwrap()
    }

    fn location(v: serde_json::Value) -> Location {
        let mut base = json!({"barcode": "LOC", "version": 1, "created_at": "2026-12-01T00:00:00Z",
            "created_by": "u", "updated_at": "2026-12-01T00:00:00Z", "updated_by": "u"});
        base.as_object_mut().unwrap().extend(v.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    /// A 2×2 box in a freezer unit of `zone` and `status`.
    fn boxed(id: &str, zone: &str, status: &str) -> Resolved {
        Resolved {
            location: location(json!({"id": id, "name": id, "kind": "box", "rows": 2, "columns": 2, "unit_id": "F"})),
            path: format!("Freezer/{id}"),
            unit: Some(location(
                json!({"id": "F", "name": "Freezer", "kind": "freezer", "zone": zone, "status": status}),
            )),
        }
    }

    fn principal() -> Principal {
        Principal {
            user_id: "u".into(),
            lab_id: "L".into(),
            role: Role::LabTechnician,
            session_id: "s".into(),
            token_id: "t".into(),
            operator: false,
            expires_at: 0,
        }
    }

    /// Plan `items` (a rack request) against `samples` and `boxes`, with `taken` positions.
    fn plan(
        action: CustodyAction,
        items: serde_json::Value,
        samples: Vec<Sample>,
        boxes: Vec<Resolved>,
        taken: &[(&str, &str, &str)],
    ) -> (Vec<Step>, Vec<FieldErrorView>) {
        plan_holding(action, items, samples, boxes, taken, HashMap::new())
    }

    /// [`plan`], with the positions stored samples hold now.
    fn plan_holding(
        action: CustodyAction,
        items: serde_json::Value,
        samples: Vec<Sample>,
        boxes: Vec<Resolved>,
        taken: &[(&str, &str, &str)],
        held: HashMap<String, Position>,
    ) -> (Vec<Step>, Vec<FieldErrorView>) {
        let body: CustodyRequest = serde_json::from_value(json!({"items": items, "reason": "test"})).unwrap();
        let request = normalize(body, action, 96).unwrap();
        let ids = request.items.iter().map(|i| i.sample_id.clone()).collect();
        let mut taken_map: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (b, label, s) in taken {
            taken_map
                .entry((*b).into())
                .or_default()
                .insert((*label).into(), (*s).into());
        }
        let reads = Reads {
            samples: samples.into_iter().map(|s| (s.id.clone(), s)).collect(),
            ids,
            boxes: boxes.into_iter().map(|b| (b.location.id.clone(), b)).collect(),
            taken: taken_map,
            held,
        };
        let (zones, p) = (ZoneRules::default(), principal());
        let (steps, refusals) = Planner::new(&zones, &p, action, &request, &reads, "op", None).plan();
        let errors = if refusals.is_empty() {
            Vec::new()
        } else {
            refusals_problem(refusals, false)
                .errors
                .into_iter()
                .map(|e| (e.field.unwrap_or_default(), e.rule))
                .collect()
        };
        (steps, errors)
    }

    type FieldErrorView = (String, String);

    fn err(field: &str, rule: &str) -> FieldErrorView {
        (field.into(), rule.into())
    }

    #[test]
    fn positions_claimed_earlier_in_the_request_or_taken_are_refused() {
        let samples = vec![
            sample("S1", "DNA", "validated"),
            sample("S2", "DNA", "validated"),
            sample("S3", "DNA", "validated"),
        ];
        let items = json!([
            {"sample_id": "S1", "location_id": "B1", "position": "A1"},
            {"sample_id": "S2", "location_id": "B1", "position": "A1"},
            {"sample_id": "S3", "location_id": "B1", "position": "A2"},
        ]);
        let (steps, errors) = plan(
            CustodyAction::Placed,
            items,
            samples,
            vec![boxed("B1", "freezer", "active")],
            &[("B1", "A2", "S9")],
        );
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].after.storage.as_ref().unwrap().position, "A1");
        assert_eq!(steps[0].after.status, SampleStatus::InStorage);
        assert_eq!(
            errors,
            [
                err("items[1].position", "unique"),
                err("items[2].position", "position_occupied")
            ]
        );
    }

    #[test]
    fn automatic_positions_skip_taken_and_claimed_ones_until_the_box_is_full() {
        let samples: Vec<Sample> = (1..=4).map(|i| sample(&format!("S{i}"), "DNA", "validated")).collect();
        let items = json!([
            {"sample_id": "S1", "location_id": "B1", "auto": true},
            {"sample_id": "S2", "location_id": "B1", "auto": true},
            {"sample_id": "S3", "location_id": "B1", "auto": true},
            {"sample_id": "S4", "location_id": "B1", "auto": true},
        ]);
        let (steps, errors) = plan(
            CustodyAction::Placed,
            items,
            samples,
            vec![boxed("B1", "freezer", "active")],
            &[("B1", "A1", "S9")],
        );
        let labels: Vec<&str> = steps
            .iter()
            .map(|s| s.after.storage.as_ref().unwrap().position.as_str())
            .collect();
        assert_eq!(labels, ["A2", "B1", "B2"]);
        assert_eq!(errors, [err("items[3].location_id", "box_full")]);
    }

    #[test]
    fn zone_rules_unit_status_and_the_status_machine_refuse_per_item() {
        let samples = vec![
            sample("S1", "RNA", "validated"),
            sample("S2", "DNA", "validated"),
            sample("S3", "DNA", "pending"),
        ];
        let items = json!([
            {"sample_id": "S1", "location_id": "COLD", "position": "A1"},
            {"sample_id": "S2", "location_id": "DOWN", "position": "A1"},
            {"sample_id": "S3", "location_id": "COLD", "position": "B1"},
        ]);
        let boxes = vec![
            boxed("COLD", "refrigerated", "active"),
            boxed("DOWN", "freezer", "maintenance"),
        ];
        let (steps, errors) = plan(CustodyAction::Placed, items, samples, boxes, &[]);
        assert!(steps.is_empty());
        assert_eq!(
            errors,
            [
                err("items[0].location_id", "zone"),
                err("items[1].location_id", "unit_unavailable"),
                err("items[2].sample_id", "invalid_transition"),
            ]
        );
    }

    #[test]
    fn a_stale_version_or_a_sample_not_in_storage_is_refused() {
        let samples = vec![sample("S1", "DNA", "validated"), sample("S2", "DNA", "validated")];
        let items = json!([
            {"sample_id": "S1", "location_id": "B1", "position": "A1", "version": 2},
            {"sample_id": "S2", "location_id": "B1", "position": "A2"},
        ]);
        let (_, errors) = plan(
            CustodyAction::Placed,
            items.clone(),
            samples.clone(),
            vec![boxed("B1", "freezer", "active")],
            &[],
        );
        assert_eq!(errors, [err("items[0].version", "version_conflict")]);
        let (_, errors) = plan(
            CustodyAction::Moved,
            items,
            samples,
            vec![boxed("B1", "freezer", "active")],
            &[],
        );
        assert_eq!(errors[1], err("items[1].sample_id", "not_stored"));
    }

    #[test]
    fn a_release_frees_the_position_and_undoes_the_storage_status() {
        let (placed, errors) = plan(
            CustodyAction::Placed,
            json!([{"sample_id": "S1", "location_id": "B1", "auto": true}]),
            vec![sample("S1", "DNA", "validated")],
            vec![boxed("B1", "freezer", "active")],
            &[],
        );
        assert!(errors.is_empty(), "{errors:?}");
        let stored = placed[0].after.clone();
        let Some(PosChange::Take(position)) = placed[0].positions.first().cloned() else {
            panic!("a placement takes a position");
        };
        let (steps, errors) = plan_holding(
            CustodyAction::Released,
            json!([{"sample_id": "S1"}]),
            vec![stored],
            vec![boxed("B1", "freezer", "active")],
            &[("B1", "A1", "S1")],
            HashMap::from([("S1".to_owned(), position)]),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let s = &steps[0];
        assert_eq!(s.after.status, SampleStatus::Validated);
        assert!(s.after.storage.is_none());
        assert!(matches!(s.positions.as_slice(), [PosChange::Release(_)]));
        assert_eq!(s.deltas, [("B1".to_owned(), -1)]);
        assert_eq!(s.custody.action, CustodyAction::Released);
        assert_eq!(s.custody.from.as_ref().map(|f| f.position.as_str()), Some("A1"));
        assert!(s.custody.to.is_none());

        let (_, errors) = plan(
            CustodyAction::Released,
            json!([{"sample_id": "S2"}]),
            vec![sample("S2", "DNA", "validated")],
            vec![],
            &[],
        );
        assert_eq!(errors, [err("items[0].sample_id", "not_stored")]);
    }
}
