//! Locations: the hierarchy from site to box, with counters kept by the transactions that
//! change them, and the box map.

use super::{LocationPage, LocationView};
use crate::domain::grid::Grid;
use crate::domain::kinds::{FillOrder, LocationKind, LocationStatus};
use crate::domain::zone::Zone;
use crate::model::{Location, Position, now_rfc3339};
use crate::state::{Resolved, StorageState};
use crate::store::locations::{self as store, Change};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::keyed::LabKeys;
use tracseq_core::named::parse_reported;
use tracseq_core::pagination::PageRequest;
use tracseq_core::sheet::{Cell, Format, Sheet};
use tracseq_core::{FieldError, Problem};
use tracseq_lab::barcode;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 1000;

/// `POST /api/storage/locations`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Freezer 3", "kind": "freezer", "zone": "ultra_low", "description": "-80 °C, room 2.14"}))]
pub struct NewLocation {
    /// Unique among its siblings' labels on the shelf is not enforced; `/` is not allowed.
    pub name: String,
    /// site, building, room, freezer, fridge, incubator, ln2_dewar, cabinet, shelf, rack,
    /// drawer, box or plate.
    #[schema(value_type = LocationKind)]
    pub kind: String,
    pub parent_id: Option<String>,
    /// `[A-Z0-9-]`, at most 32; generated (`LOC-NNNNNN`) when absent.
    pub barcode: Option<String>,
    /// Units only (required there): ultra_low, freezer, refrigerated, room_temperature,
    /// incubator, ln2_vapor.
    #[schema(value_type = Option<Zone>)]
    pub zone: Option<String>,
    /// Units only: active (default), maintenance or offline.
    #[schema(value_type = Option<LocationStatus>)]
    pub status: Option<String>,
    /// Boxes and plates only (required there).
    pub rows: Option<u16>,
    pub columns: Option<u16>,
    /// `row` (default) or `column`.
    #[schema(value_type = Option<FillOrder>)]
    pub fill_order: Option<String>,
    pub description: Option<String>,
}

/// A location's name: 1 to 100 characters, something besides spaces, no `/` or control
/// characters (as `check_name` reads it).
const NAME_PATTERN: &str =
    r"^[^/\u0000-\u001f\u007f-\u009f]*[^/\s\u0000-\u001f\u007f-\u009f][^/\u0000-\u001f\u007f-\u009f]*$";

tracseq_core::ruled_body!(
    /// [`NewLocation`] as the document states it: what each tier of kind takes (a unit its
    /// zone, a holder or a grid its parent, a grid its rows and columns) and leaves out.
    NewLocationWire for NewLocation,
    new_location_rules()
);

fn new_location_rules() -> serde_json::Value {
    use crate::domain::grid::{MAX_COLUMNS, MAX_ROWS};
    use crate::domain::kinds::Tier;
    let kinds = |tiers: &[Tier]| -> Vec<&str> {
        LocationKind::ALL
            .iter()
            .filter(|k| tiers.contains(&k.tier()))
            .map(|k| k.as_str())
            .collect()
    };
    let none = serde_json::json!({ "type": "null" });
    let id = serde_json::json!({ "type": "string", "pattern": tracseq_core::openapi::ULID_PATTERN });
    serde_json::json!({
        "properties": {
            "name": { "type": "string", "maxLength": MAX_NAME, "pattern": NAME_PATTERN,
                "description": "1 to 100 characters; `/` and control characters are not allowed." },
            "barcode": { "type": ["string", "null"], "pattern": format!("^\\s*[A-Z0-9-]{{1,{}}}\\s*$", tracseq_lab::barcode::MAX_LEN),
                "description": "`[A-Z0-9-]`, at most 32; generated (`LOC-NNNNNN`) when absent." },
            "parent_id": { "type": ["string", "null"], "pattern": tracseq_core::openapi::ULID_PATTERN },
            "rows": { "type": ["integer", "null"], "minimum": 1, "maximum": MAX_ROWS,
                "description": "Boxes and plates only (required there)." },
            "columns": { "type": ["integer", "null"], "minimum": 1, "maximum": MAX_COLUMNS },
            "description": { "type": ["string", "null"], "maxLength": MAX_DESCRIPTION },
        },
        "oneOf": [
            { "properties": { "kind": { "enum": kinds(&[Tier::Site, Tier::Building, Tier::Room]) },
                "zone": none, "status": none, "rows": none, "columns": none, "fill_order": none } },
            { "required": ["zone"], "properties": { "kind": { "enum": kinds(&[Tier::Unit]) },
                "zone": { "type": "string" }, "rows": none, "columns": none, "fill_order": none } },
            { "required": ["parent_id"], "properties": { "kind": { "enum": kinds(&[Tier::Holder]) },
                "parent_id": id, "zone": none, "status": none, "rows": none, "columns": none, "fill_order": none } },
            { "required": ["parent_id", "rows", "columns"], "properties": { "kind": { "enum": kinds(&[Tier::Grid]) },
                "parent_id": id, "rows": { "type": "integer" }, "columns": { "type": "integer" },
                "zone": none, "status": none } },
        ],
    })
}

/// `PATCH /api/storage/locations/{id}`: absent keys stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationPatch {
    #[schema(
        max_length = 100,
        pattern = r"^[^/\u0000-\u001f\u007f-\u009f]*[^/\s\u0000-\u001f\u007f-\u009f][^/\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Units only.
    #[schema(value_type = Option<LocationStatus>)]
    pub status: Option<String>,
    /// Units only, and only while empty (stored samples were placed by the old zone's rules).
    #[schema(value_type = Option<Zone>)]
    pub zone: Option<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME || n.contains('/') || n.chars().any(char::is_control) {
        errors.push(
            FieldError::field("name", "format", "1 to 100 characters, without / or control characters")
                .with_value(name),
        );
        return None;
    }
    Some(n.to_owned())
}

fn check_description(d: &Option<String>, errors: &mut Vec<FieldError>) {
    if d.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        errors.push(FieldError::field(
            "description",
            "max_length",
            "at most 1000 characters",
        ));
    }
}

/// Checked input of a new location (before its barcode and id exist).
struct Checked {
    name: String,
    kind: LocationKind,
    parent: Option<Resolved>,
    barcode: Option<String>,
    zone: Option<Zone>,
    status: Option<LocationStatus>,
    grid: Option<Grid>,
}

async fn check_new(st: &StorageState, lab: &str, body: NewLocation) -> Result<Checked, Problem> {
    let mut errors = Vec::new();
    let name = check_name(&body.name, &mut errors);
    check_description(&body.description, &mut errors);
    let kind = parse_reported(
        &mut errors,
        "kind",
        &body.kind,
        LocationKind::parse,
        LocationKind::names(),
    );
    let parent = match &body.parent_id {
        Some(id) => match st.resolve_one(lab, id).await {
            Ok(p) => Some(p),
            Err(p) if p.status == 404 => {
                errors.push(FieldError::field("parent_id", "exists", "no such location").with_value(id));
                None
            }
            Err(p) => return Err(p),
        },
        None => None,
    };
    if let (Some(kind), true) = (kind, errors.is_empty()) {
        if let Err(why) = kind.may_sit_under(parent.as_ref().map(|p| p.location.kind)) {
            errors.push(FieldError::field("parent_id", "hierarchy", why));
        }
        let depth = parent.as_ref().map_or(1, |p| p.location.ancestors.len() + 2);
        if depth > st.settings.max_depth {
            errors.push(FieldError::field(
                "parent_id",
                "max_depth",
                format!("the hierarchy is at most {} levels deep", st.settings.max_depth),
            ));
        }
    }
    let barcode = body.barcode.as_deref().map(|b| b.trim().to_uppercase());
    if let Some(code) = &barcode
        && let Err(e) = barcode::check(code)
    {
        errors.push(FieldError::field("barcode", "format", e.to_string()).with_value(code));
    }
    let is_unit = kind.is_some_and(LocationKind::is_unit);
    let is_grid = kind.is_some_and(LocationKind::is_grid);
    let zone = match (&body.zone, is_unit) {
        (Some(z), true) => parse_reported(&mut errors, "zone", z, Zone::parse, Zone::names()),
        (None, true) => {
            errors.push(FieldError::field(
                "zone",
                "required",
                "a storage unit has a temperature zone",
            ));
            None
        }
        (Some(_), false) => {
            errors.push(FieldError::field(
                "zone",
                "units_only",
                "only storage units have a zone; the rest inherit it",
            ));
            None
        }
        (None, false) => None,
    };
    let status = match (&body.status, is_unit) {
        (Some(x), true) => parse_reported(&mut errors, "status", x, LocationStatus::parse, LocationStatus::names()),
        (None, true) => Some(LocationStatus::Active),
        (Some(_), false) => {
            errors.push(FieldError::field(
                "status",
                "units_only",
                "only storage units have a status",
            ));
            None
        }
        (None, false) => None,
    };
    let fill = match &body.fill_order {
        Some(f) => parse_reported(&mut errors, "fill_order", f, FillOrder::parse, FillOrder::names()),
        None => Some(FillOrder::RowMajor),
    };
    let grid = match (body.rows, body.columns, is_grid) {
        (Some(r), Some(c), true) => match Grid::new(r, c, fill.unwrap_or(FillOrder::RowMajor)) {
            Ok(g) => Some(g),
            Err(e) => {
                errors.push(FieldError::field("rows", "range", e.to_string()));
                None
            }
        },
        (_, _, true) => {
            errors.push(FieldError::field(
                "rows",
                "required",
                "a box or plate needs rows and columns",
            ));
            None
        }
        (None, None, false) if body.fill_order.is_none() => None,
        _ => {
            errors.push(FieldError::field(
                "rows",
                "grids_only",
                "only boxes and plates have rows, columns and a fill order",
            ));
            None
        }
    };
    match (name, kind, errors.is_empty()) {
        (Some(name), Some(kind), true) => Ok(Checked {
            name,
            kind,
            parent,
            barcode,
            zone,
            status,
            grid,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

pub async fn create_location(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewLocation = req.json()?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let c = check_new(&st, &p.lab_id, body.clone()).await?;
        let code = match c.barcode.clone() {
            Some(code) => code,
            None => store::next_barcode(&st, &p.lab_id).await?,
        };
        let now = now_rfc3339();
        let id = ulid::Ulid::new().to_string();
        let parent = c.parent.as_ref().map(|r| &r.location);
        let ancestors: Vec<String> = parent.map(|p| p.lineage().map(str::to_owned).collect()).unwrap_or_default();
        let unit_id = if c.kind.is_unit() {
            Some(id.clone())
        } else {
            parent.and_then(|p| p.unit_id.clone())
        };
        let loc = Location {
            id: id.clone(),
            name: c.name,
            kind: c.kind,
            parent_id: parent.map(|p| p.id.clone()),
            ancestors,
            barcode: code.clone(),
            unit_id,
            zone: c.zone,
            status: c.status,
            rows: c.grid.map(|g| g.rows),
            columns: c.grid.map(|g| g.columns),
            fill_order: c.grid.map(|g| g.fill),
            description: body.description.clone().filter(|d| !d.trim().is_empty()),
            capacity: c.grid.map_or(0, |g| g.capacity()),
            occupied: 0,
            children: 0,
            alert_level: Default::default(),
            version: 1,
            created_at: now.clone(),
            created_by: p.user_id.clone(),
            updated_at: now.clone(),
            updated_by: p.user_id.clone(),
        };
        let path = match &c.parent {
            Some(parent) => format!("{}/{}", parent.path, loc.name),
            None => loc.name.clone(),
        };
        let ev = req.event(
            "storage.location_created",
            &p,
            &format!("storage/locations/{id}"),
            json!({"location_id": id, "name": loc.name, "kind": loc.kind, "path": path, "barcode": code, "parent_id": loc.parent_id}),
        )?;
        store::insert(&st, &p.lab_id, &loc, &ev).await?;
        let resolved = Resolved {
            unit: if loc.kind.is_unit() {
                Some(loc.clone())
            } else {
                c.parent.and_then(|p| p.unit)
            },
            location: loc,
            path,
        };
        Ok(Response::created(
            &format!("/api/storage/locations/{id}"),
            &LocationView::new(resolved, &st.settings.thresholds),
        ))
    })
    .await
}

pub async fn get_location(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let r = st.resolve_one(&p.lab_id, req.path_param("id")?).await?;
    Ok(Response::ok(&LocationView::new(r, &st.settings.thresholds)))
}

/// A page of `parent`'s children (roots when `None`), by name.
async fn children_page(
    st: &StorageState,
    req: &Request,
    lab: &str,
    parent: Option<&Resolved>,
) -> Result<LocationPage, Problem> {
    let page = PageRequest::from_request(req)?;
    let out = store::children(st, lab, parent.map(|r| r.location.id.as_str()), &page).await?;
    let found = out.items;
    let items = found
        .into_iter()
        .map(|location| {
            let path = match parent {
                Some(p) => format!("{}/{}", p.path, location.name),
                None => location.name.clone(),
            };
            let unit = if location.kind.is_unit() {
                Some(location.clone())
            } else {
                parent.and_then(|p| p.unit.clone())
            };
            LocationView::new(Resolved { location, path, unit }, &st.settings.thresholds)
        })
        .collect();
    Ok(LocationPage {
        items,
        next_cursor: out.next_cursor,
    })
}

pub async fn list_locations(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&children_page(&st, &req, &p.lab_id, None).await?))
}

pub async fn list_children(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let parent = st.resolve_one(&p.lab_id, req.path_param("id")?).await?;
    Ok(Response::ok(&children_page(&st, &req, &p.lab_id, Some(&parent)).await?))
}

pub async fn update_location(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let patch: LocationPatch = req.json()?;
    let expected = expected_version(&req, patch.version)?;
    let current = st.resolve_one(&p.lab_id, req.path_param("id")?).await?;
    let loc = &current.location;
    check_version("location", loc.version, expected)?;
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    let mut next = loc.clone();
    if let Some(name) = &patch.name
        && let Some(name) = check_name(name, &mut errors)
        && name != loc.name
    {
        changes.push(Change::Name(name.clone()));
        next.name = name;
    }
    check_description(&patch.description, &mut errors);
    if let Some(d) = &patch.description {
        let d = d.trim();
        next.description = (!d.is_empty()).then(|| d.to_owned());
        changes.push(Change::Description(d.to_owned()));
    }
    if let Some(raw) = &patch.status {
        if !loc.kind.is_unit() {
            errors.push(FieldError::field(
                "status",
                "units_only",
                "only storage units have a status",
            ));
        } else if let Some(v) = parse_reported(
            &mut errors,
            "status",
            raw,
            LocationStatus::parse,
            LocationStatus::names(),
        ) && Some(v) != loc.status
        {
            changes.push(Change::Status(v));
            next.status = Some(v);
        }
    }
    if let Some(raw) = &patch.zone {
        if !loc.kind.is_unit() {
            errors.push(FieldError::field(
                "zone",
                "units_only",
                "only storage units have a zone",
            ));
        } else if let Some(z) = parse_reported(&mut errors, "zone", raw, Zone::parse, Zone::names())
            && Some(z) != loc.zone
        {
            if loc.occupied > 0 {
                errors.push(FieldError::field(
                    "zone",
                    "empty_only",
                    "the zone of a unit holding samples cannot change: move them out first",
                ));
            }
            changes.push(Change::Zone(z));
            next.zone = Some(z);
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    if changes.is_empty() {
        return Ok(Response::ok(&LocationView::new(current, &st.settings.thresholds)));
    }
    let changed: Vec<&str> = changes.iter().map(Change::field).collect();
    let now = now_rfc3339();
    let ev = req.event(
        "storage.location_updated",
        &p,
        &format!("storage/locations/{}", loc.id),
        json!({"location_id": loc.id, "changed": changed, "status": next.status, "zone": next.zone}),
    )?;
    store::update(&st, &p.lab_id, loc, expected, &changes, (&now, &p.user_id), &ev).await?;
    next.version += 1;
    next.updated_at = now;
    next.updated_by = p.user_id.clone();
    let path = match current.path.rsplit_once('/') {
        Some((head, _)) => format!("{head}/{}", next.name),
        None => next.name.clone(),
    };
    let unit = if next.kind.is_unit() {
        Some(next.clone())
    } else {
        current.unit
    };
    Ok(Response::ok(&LocationView::new(
        Resolved {
            location: next,
            path,
            unit,
        },
        &st.settings.thresholds,
    )))
}

/// Only an empty location goes: no children, no taken (or reserved) positions.
pub async fn delete_location(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let current = st.resolve_one(&p.lab_id, req.path_param("id")?).await?;
    let loc = &current.location;
    if let Some(expected) = optional_version(&req, None)? {
        check_version("location", loc.version, expected)?;
    }
    if loc.children > 0 || loc.occupied > 0 {
        return Err(store::not_empty(loc));
    }
    let ev = req.event(
        "storage.location_deleted",
        &p,
        &format!("storage/locations/{}", loc.id),
        json!({"location_id": loc.id, "name": loc.name, "path": current.path, "barcode": loc.barcode}),
    )?;
    store::delete(&st, &p.lab_id, loc, &ev).await?;
    Ok(Response::new(204))
}

/// One cell of a box map.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MapCell {
    pub position: String,
    pub row: u16,
    pub column: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupant: Option<Occupant>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Occupant {
    pub sample_id: String,
    pub barcode: String,
    pub sample_type: tracseq_lab::kinds::SampleType,
    pub status: tracseq_lab::status::SampleStatus,
    pub checked_out: bool,
    pub since: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoxMap {
    pub location: LocationView,
    pub rows: u16,
    pub columns: u16,
    pub fill_order: FillOrder,
    /// Every cell, row by row (A1, A2, …).
    pub cells: Vec<MapCell>,
}

/// A box's contents as a table: one row per occupied position, row by row.
pub fn contents_sheet(name: &str, cells: &[MapCell]) -> Sheet {
    let mut sheet = Sheet::new(
        name,
        &[
            "position",
            "sample_id",
            "barcode",
            "sample_type",
            "status",
            "checked_out",
            "since",
        ],
    );
    let word = |x: serde_json::Value| Cell::from(x.as_str().map(str::to_owned));
    for c in cells {
        if let Some(o) = &c.occupant {
            sheet.push(vec![
                Cell::from(c.position.as_str()),
                Cell::from(o.sample_id.as_str()),
                Cell::from(o.barcode.as_str()),
                word(serde_json::to_value(o.sample_type).unwrap_or_default()),
                word(serde_json::to_value(o.status).unwrap_or_default()),
                Cell::from(if o.checked_out { "yes" } else { "no" }),
                Cell::from(o.since.as_str()),
            ]);
        }
    }
    sheet
}

/// Every cell of `grid`, row by row, with its occupant.
pub fn map_cells(grid: Grid, taken: Vec<Position>) -> Vec<MapCell> {
    let mut by_label: HashMap<String, Position> = taken.into_iter().map(|p| (p.position.clone(), p)).collect();
    let row_major = Grid {
        fill: FillOrder::RowMajor,
        ..grid
    };
    row_major
        .cells()
        .map(|c| {
            let label = c.label();
            let occupant = by_label.remove(&label).map(|x| Occupant {
                sample_id: x.sample_id,
                barcode: x.barcode,
                sample_type: x.sample_type,
                status: x.sample_status,
                checked_out: x.checked_out,
                since: x.since,
            });
            MapCell {
                position: label,
                row: c.row,
                column: c.column,
                occupant,
            }
        })
        .collect()
}

/// The grid and every occupant: one Query of the box's partition (the node and its
/// positions), plus one read of its ancestors for the path.
pub async fn box_map(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    if !tracseq_core::keyed::is_valid_id(id) {
        return Err(Problem::not_found("location"));
    }
    let (node, taken) = store::with_positions(&st, &p.lab_id, id).await?;
    let node = node.ok_or_else(|| Problem::not_found("location"))?;
    let grid = node.grid().ok_or_else(|| {
        Problem::conflict(
            "not_a_grid",
            format!("{} is a {}, not a box or plate", node.name, node.kind.as_str()),
        )
    })?;
    let cells = map_cells(grid, taken);
    if let Some(format) = req.header("accept").and_then(Format::from_accept) {
        return contents_sheet(&node.name, &cells).download(format, &format!("box-{id}"));
    }
    let resolved = st
        .resolve(&p.lab_id, vec![node])
        .await?
        .pop()
        .ok_or_else(Problem::internal)?;
    Ok(Response::ok(&BoxMap {
        location: LocationView::new(resolved, &st.settings.thresholds),
        rows: grid.rows,
        columns: grid.columns,
        fill_order: grid.fill,
        cells,
    }))
}
