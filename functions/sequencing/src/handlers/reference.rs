//! Reference data: instruments with their flow cells and i5 conventions, and index kits
//! (the shipped Nextera XT v2 and the lab's own, which administrators add).

use crate::domain::index::IndexSeq;
use crate::domain::kits::{IndexKit, KitIndex, nextera_xt_v2};
use crate::domain::platform::{FlowCell, Instrument, Orientation, SheetFormat, flow_cells};
use crate::model::{LabKit, now_rfc3339};
use crate::state::SequencingState;
use crate::store::reference as store;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

/// The id of the kit that ships with TracSeq.
pub const BUILT_IN_KIT: &str = "nextera-xt-v2";
const MAX_KIT_INDEXES: usize = 384;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstrumentInfo {
    pub name: Instrument,
    pub has_illumina_sheets: bool,
    /// How i5 is written in a v2 and a v1 sheet for this instrument.
    pub i5_in_v2: Orientation,
    pub i5_in_v1: Orientation,
    pub flow_cells: Vec<FlowCell>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstrumentList {
    pub items: Vec<InstrumentInfo>,
}

/// The flow cell types the lab can plan runs on: docs/domain.md's, then the lab's own.
pub async fn lab_flow_cells(st: &SequencingState, lab: &str) -> Result<Vec<FlowCell>, Problem> {
    let mut cells = flow_cells();
    cells.extend(store::flow_cells(st, lab).await?);
    Ok(cells)
}

/// `POST /api/sequencing/flow-cells`: a flow cell type of the lab's own.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Custom 25B", "instrument": "NovaSeq X", "lanes": 8, "reads_per_lane": 3200000000u64}))]
pub struct NewFlowCell {
    #[schema(min_length = 1, max_length = 40, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = Instrument)]
    pub instrument: String,
    #[schema(minimum = 1, maximum = 16)]
    pub lanes: u8,
    pub reads_per_lane: u64,
}

pub async fn create_flow_cell(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewFlowCell = req.json()?;
    let mut errors = Vec::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 40 {
        errors.push(FieldError::field("name", "length", "1 to 40 characters"));
    }
    let instrument = tracseq_core::named::parse_reported(
        &mut errors,
        "instrument",
        &body.instrument,
        Instrument::parse,
        Instrument::names(),
    );
    if !(1..=16).contains(&body.lanes) {
        errors.push(FieldError::field("lanes", "range", "1 to 16"));
    }
    if body.reads_per_lane == 0 {
        errors.push(FieldError::field("reads_per_lane", "range", "a positive number"));
    }
    let (Some(instrument), true) = (instrument, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let taken = |c: &FlowCell| c.instrument == instrument && c.name.eq_ignore_ascii_case(&name);
    if flow_cells().iter().any(taken) {
        return Err(Problem::conflict(
            "flow_cell_exists",
            format!("{} already has a {name} flow cell", instrument.as_str()),
        ));
    }
    let cell = FlowCell {
        name,
        instrument,
        lanes: body.lanes,
        reads_per_lane: body.reads_per_lane,
    };
    let ev = req.event(
        "sequencing.flow_cell_created",
        &p,
        "sequencing/flow-cells",
        json!({"name": cell.name, "instrument": cell.instrument, "lanes": cell.lanes}),
    )?;
    if store::insert_flow_cell(&st, &p.lab_id, &cell, &ev).await? {
        Ok(Response::created("/api/sequencing/instruments", &cell))
    } else {
        Err(Problem::conflict(
            "flow_cell_exists",
            format!("{} already has a {} flow cell", instrument.as_str(), cell.name),
        ))
    }
}

pub async fn list_instruments(st: Arc<SequencingState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    let cells = lab_flow_cells(&st, &p.lab_id).await?;
    let items = Instrument::ALL
        .iter()
        .map(|&i| InstrumentInfo {
            name: i,
            has_illumina_sheets: i.has_illumina_sheets(),
            i5_in_v2: i.i5_orientation(SheetFormat::V2),
            i5_in_v1: i.i5_orientation(SheetFormat::V1),
            flow_cells: cells.iter().filter(|c| c.instrument == i).cloned().collect(),
        })
        .collect();
    Ok(Response::ok(&InstrumentList { items }))
}

/// A kit as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KitView {
    pub id: String,
    pub built_in: bool,
    #[serde(flatten)]
    pub kit: IndexKit,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KitList {
    pub items: Vec<KitView>,
    pub next_cursor: Option<String>,
}

/// Every kit the lab can use: the built-in one, then the lab's own (a page of them).
pub async fn list_kits(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let out = store::kits(&st, &p.lab_id, &page).await?;
    let mut items = Vec::new();
    if page.cursor.is_none() {
        items.push(KitView {
            id: BUILT_IN_KIT.to_owned(),
            built_in: true,
            kit: nextera_xt_v2(),
        });
    }
    for k in out.items {
        items.push(KitView {
            id: k.id,
            built_in: false,
            kit: IndexKit {
                name: k.name,
                i7: k.i7,
                i5: k.i5,
            },
        });
    }
    Ok(Response::ok(&KitList {
        items,
        next_cursor: out.next_cursor,
    }))
}

/// The kit named by `id` in the lab (the built-in one or the lab's own).
pub async fn kit(st: &SequencingState, lab: &str, id: &str) -> Result<Option<IndexKit>, Problem> {
    if id == BUILT_IN_KIT {
        return Ok(Some(nextera_xt_v2()));
    }
    if !tracseq_core::keyed::is_valid_id(id) {
        return Ok(None);
    }
    let got = store::kit(st, lab, id).await?;
    Ok(got.map(|k| IndexKit {
        name: k.name,
        i7: k.i7,
        i5: k.i5,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKitIndex {
    /// Unique in the kit (ignoring case).
    #[schema(min_length = 1, max_length = 40, pattern = r"\S")]
    pub name: String,
    #[schema(pattern = "^[ACGTNacgtn]{1,24}$")]
    pub sequence: String,
}

/// `POST /api/sequencing/index-kits`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Lab UDI set A", "i7": [{"name": "UDI0001", "sequence": "CCGCGGTT"}, {"name": "UDI0002", "sequence": "TTATAACC"}], "i5": [{"name": "UDI0001", "sequence": "AGCGCTAG"}, {"name": "UDI0002", "sequence": "GATATCGA"}]}))]
pub struct NewKit {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[schema(min_items = 1, max_items = 384)]
    pub i7: Vec<NewKitIndex>,
    /// Forward orientation (as on the kit's sheet for MiSeq).
    #[serde(default)]
    #[schema(max_items = 384)]
    pub i5: Vec<NewKitIndex>,
}

fn check_indexes(field: &str, list: &[NewKitIndex], required: bool, errors: &mut Vec<FieldError>) -> Vec<KitIndex> {
    if (required && list.is_empty()) || list.len() > MAX_KIT_INDEXES {
        errors.push(FieldError::field(
            field,
            "length",
            format!("1 to {MAX_KIT_INDEXES} indexes"),
        ));
    }
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, x) in list.iter().enumerate() {
        let name = x.name.trim();
        if name.is_empty() || name.len() > 40 || !names.insert(name.to_ascii_uppercase()) {
            errors.push(
                FieldError::field(
                    format!("{field}[{i}].name"),
                    "unique",
                    "1 to 40 characters, unique in the kit",
                )
                .with_value(&x.name),
            );
        }
        match IndexSeq::parse(&x.sequence) {
            Ok(sequence) => out.push(KitIndex {
                name: name.to_owned(),
                sequence,
            }),
            Err(e) => errors.push(
                FieldError::field(format!("{field}[{i}].sequence"), "sequence", e.to_string()).with_value(&x.sequence),
            ),
        }
    }
    out
}

pub async fn create_kit(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewKit = req.json_limited(512 * 1024)?;
    let mut errors = Vec::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::field("name", "length", "1 to 100 characters"));
    }
    let i7 = check_indexes("i7", &body.i7, true, &mut errors);
    let i5 = check_indexes("i5", &body.i5, false, &mut errors);
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let kit = LabKit {
            id: ulid::Ulid::new().to_string(),
            name: name.clone(),
            i7: i7.clone(),
            i5: i5.clone(),
            created_at: now_rfc3339(),
            created_by: p.user_id.clone(),
        };
        let ev = req.event(
            "sequencing.index_kit_created",
            &p,
            &format!("sequencing/index-kits/{}", kit.id),
            json!({"kit_id": kit.id, "name": kit.name, "i7": kit.i7.len(), "i5": kit.i5.len()}),
        )?;
        crate::store::insert(&st, &p.lab_id, &kit, &ev).await?;
        Ok(Response::created(
            "/api/sequencing/index-kits",
            &KitView {
                id: kit.id,
                built_in: false,
                kit: IndexKit {
                    name: kit.name,
                    i7: kit.i7,
                    i5: kit.i5,
                },
            },
        ))
    })
    .await
}
