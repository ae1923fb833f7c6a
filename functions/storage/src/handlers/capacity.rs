//! How full the lab's storage is: capacity by unit and zone, threshold events, and
//! suggestions for where the next samples go.

use super::LocationView;
use crate::domain::capacity::{Crossing, Level, crossing, percent};
use crate::domain::kinds::LocationStatus;
use crate::domain::suggest::{Candidate, Rule, suggest};
use crate::domain::zone::Zone;
use crate::model::Location;
use crate::state::StorageState;
use crate::store::capacity as store;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tracseq_aws::store::StoreError;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::named::parse_reported;
use tracseq_core::{FieldError, Problem};
use tracseq_lab::kinds::SampleType;

/// Announce every upward crossing of a capacity threshold among `ids`, once: the level a
/// location last announced is kept on it and changed by a conditional write, so two
/// writers that both see the crossing announce it once. Runs after the change committed;
/// a crash in between is caught up by the next change of the same location.
pub async fn announce_capacity(st: &StorageState, req: &Request, p: &Principal, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let found = match st.locations(&p.lab_id, ids.iter().map(String::as_str)).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(detail = %e.detail, "capacity levels not checked");
            return;
        }
    };
    for loc in found.into_values() {
        let now = st.settings.thresholds.level(loc.occupied, loc.capacity);
        let (level, announce) = match crossing(loc.alert_level, now) {
            Crossing::Same => continue,
            Crossing::Up(l) => (l, true),
            Crossing::Down(l) => (l, false),
        };
        if let Err(e) = remember_level(st, req, p, &loc, level, announce).await
            && !e.is_condition_failure()
        {
            tracing::warn!(location = %loc.id, error = %e, "capacity level not recorded");
        }
    }
}

async fn remember_level(
    st: &StorageState,
    req: &Request,
    p: &Principal,
    loc: &Location,
    level: Level,
    announce: bool,
) -> Result<(), StoreError> {
    let announcement = if announce {
        let kind = match level {
            Level::Critical => "storage.capacity_critical",
            _ => "storage.capacity_warning",
        };
        let t = st.settings.thresholds;
        let ev = req
            .event(
                kind,
                p,
                &format!("storage/locations/{}", loc.id),
                json!({
                    "location_id": loc.id, "name": loc.name, "kind": loc.kind, "zone": loc.zone,
                    "occupied": loc.occupied, "capacity": loc.capacity,
                    "percent_full": (percent(loc.occupied, loc.capacity) * 10.0).round() / 10.0,
                    "level": level, "thresholds": {"warning": t.warning, "critical": t.critical},
                }),
            )
            .map_err(|_| StoreError::Invalid("capacity event".into()))?;
        Some(ev)
    } else {
        None
    };
    store::remember_level(st, &p.lab_id, loc, level, announcement.as_ref()).await
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ZoneCapacity {
    pub zone: Option<Zone>,
    pub units: u32,
    pub capacity: u64,
    pub occupied: u64,
    pub free: u64,
    pub percent_full: f64,
    pub level: Level,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CapacityReport {
    pub units: Vec<LocationView>,
    pub zones: Vec<ZoneCapacity>,
    pub total: ZoneCapacity,
}

pub async fn get_capacity(st: Arc<StorageState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    let found = store::units(&st, &p.lab_id).await?;
    let t = st.settings.thresholds;
    let mut zones: BTreeMap<&str, ZoneCapacity> = BTreeMap::new();
    let mut total = ZoneCapacity::default();
    for u in &found {
        let key = u.zone.map_or("none", Zone::as_str);
        let z = zones.entry(key).or_insert_with(|| ZoneCapacity {
            zone: u.zone,
            ..Default::default()
        });
        for agg in [z, &mut total] {
            agg.units += 1;
            agg.capacity += u.capacity;
            agg.occupied += u.occupied;
        }
    }
    let finish = |mut z: ZoneCapacity| {
        z.free = z.capacity.saturating_sub(z.occupied);
        z.percent_full = (percent(z.occupied, z.capacity) * 10.0).round() / 10.0;
        z.level = t.level(z.occupied, z.capacity);
        z
    };
    let units = st
        .resolve(&p.lab_id, found)
        .await?
        .into_iter()
        .map(|r| LocationView::new(r, &t))
        .collect();
    Ok(Response::ok(&CapacityReport {
        units,
        zones: zones.into_values().map(finish).collect(),
        total: finish(total),
    }))
}

/// One suggested position.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub location_id: String,
    pub path: String,
    pub position: String,
    pub row: u16,
    pub column: u16,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestionList {
    pub sample_type: SampleType,
    pub rule: Rule,
    /// Zones the sample type may go into.
    pub zones: Vec<Zone>,
    pub suggestions: Vec<Suggestion>,
    /// How many of `count` could not be suggested (no room left in the allowed zones).
    pub short_by: usize,
}

struct SuggestQuery {
    sample_type: SampleType,
    count: usize,
    rule: Rule,
    project: Option<String>,
}

fn suggest_query(req: &Request) -> Result<SuggestQuery, Problem> {
    let mut errors = Vec::new();
    let sample_type = match req.query("sample_type") {
        Some(t) => parse_reported(&mut errors, "sample_type", t, SampleType::parse, SampleType::names()),
        None => {
            errors.push(FieldError::field(
                "sample_type",
                "required",
                "the type of the samples to store",
            ));
            None
        }
    };
    let count = match req.query("count").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if (1..=384).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::field("count", "range", "1 to 384"));
            1
        }
    };
    let project = req
        .query("project")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let rule = match req.query("rule") {
        Some(r) => parse_reported(&mut errors, "rule", r, Rule::parse, Rule::names()).unwrap_or(Rule::LeastEmpty),
        None if project.is_some() => Rule::SameProject,
        None => Rule::LeastEmpty,
    };
    if rule == Rule::SameProject && project.is_none() {
        errors.push(FieldError::field(
            "project",
            "required",
            "same_project needs the project",
        ));
    }
    match (sample_type, errors.is_empty()) {
        (Some(sample_type), true) => Ok(SuggestQuery {
            sample_type,
            count,
            rule,
            project,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

pub async fn suggest_positions(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let q = suggest_query(&req)?;
    let lab = p.lab_id.as_str();
    let zones = st.settings.zone_rules.allowed(q.sample_type);
    let usable: Vec<Location> = store::units(&st, lab)
        .await?
        .into_iter()
        .filter(|u| u.status == Some(LocationStatus::Active) && u.zone.is_some_and(|z| zones.contains(&z)))
        .collect();
    let mut grids = Vec::new();
    for u in &usable {
        for g in store::grids(&st, lab, &u.id).await? {
            if g.occupied < g.capacity {
                grids.push(g);
            }
        }
    }
    let project = match (&q.project, q.rule) {
        (Some(pr), Rule::SameProject) => store::project_cells(&st, lab, pr).await?,
        _ => HashMap::new(),
    };
    // Read positions only of the boxes that can matter: project boxes, then the fullest
    // until there is room for `count`.
    grids.sort_by_key(|g| (!project.contains_key(&g.id), g.capacity - g.occupied));
    let mut room = 0u64;
    let mut chosen = Vec::new();
    for g in grids {
        if room >= q.count as u64 && !project.contains_key(&g.id) {
            break;
        }
        room += g.capacity - g.occupied;
        chosen.push(g);
    }
    let resolved = st.resolve(lab, chosen).await?;
    let mut candidates = Vec::with_capacity(resolved.len());
    let mut boxes = Vec::with_capacity(resolved.len());
    for r in &resolved {
        let Some(grid) = r.location.grid() else { continue };
        boxes.push(r);
        let taken = store::taken_cells(&st, lab, &r.location.id).await?;
        let cells = project
            .get(&r.location.id)
            .map(|labels| labels.iter().filter_map(|l| grid.parse(l).ok()).collect())
            .unwrap_or_default();
        candidates.push(Candidate {
            path: r.path.clone(),
            grid,
            taken,
            project: cells,
        });
    }
    let picked = suggest(&candidates, q.count, q.rule);
    let suggestions: Vec<Suggestion> = picked
        .into_iter()
        .map(|(i, c)| Suggestion {
            location_id: boxes[i].location.id.clone(),
            path: boxes[i].path.clone(),
            position: c.label(),
            row: c.row,
            column: c.column,
        })
        .collect();
    Ok(Response::ok(&SuggestionList {
        sample_type: q.sample_type,
        rule: q.rule,
        zones,
        short_by: q.count - suggestions.len(),
        suggestions,
    }))
}
