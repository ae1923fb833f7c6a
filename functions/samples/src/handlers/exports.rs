//! `POST /api/samples/exports?{filters}&format=`: the sample list, with the filters its
//! list route takes, as CSV or XLSX (the platform's [`tracseq_aws::export`] writes it to S3
//! and counts rows); `GET /api/samples/exports/{id}` shows its progress and link.

use super::search::{FILTERS, criteria};
use crate::model::Sample;
use crate::state::SamplesState;
use crate::store::search as store;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tracseq_aws::export::{self, ExportSpec};
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::function::FunctionError;
use tracseq_core::http::{Request, Response};
use tracseq_core::sheet::Cell;

/// The list's name in export records.
pub const LIST: &str = "samples";

/// One column per field a lab reads off a sample.
pub const HEADER: &[&str] = &[
    "id",
    "barcode",
    "name",
    "sample_type",
    "status",
    "priority",
    "project",
    "submitter",
    "collection_date",
    "collection_location",
    "organism",
    "tissue",
    "volume",
    "volume_unit",
    "concentration",
    "concentration_unit",
    "a260_280",
    "a260_230",
    "rin",
    "storage_path",
    "position",
    "freeze_thaw_count",
    "template_id",
    "parent_id",
    "notes",
    "created_at",
    "created_by",
    "updated_at",
];

/// An enum's wire word (`DNA`, `in_storage`).
fn word(x: impl Serialize) -> Cell {
    match serde_json::to_value(x) {
        Ok(Value::String(s)) => Cell::Text(s),
        _ => Cell::Empty,
    }
}

/// A sample as one row of [`HEADER`].
pub fn row(s: Sample) -> Vec<Cell> {
    let d = s.details;
    let (path, position) = match s.storage {
        Some(place) => (Some(place.path), Some(place.position)),
        None => (None, None),
    };
    vec![
        Cell::from(s.id),
        Cell::from(s.barcode),
        Cell::from(s.name),
        word(s.sample_type),
        word(s.status),
        word(s.priority),
        d.project.into(),
        d.submitter.into(),
        d.collection_date.into(),
        d.collection_location.into(),
        d.organism.into(),
        d.tissue.into(),
        d.volume.into(),
        d.volume_unit.into(),
        d.concentration.into(),
        d.concentration_unit.into(),
        d.a260_280.into(),
        d.a260_230.into(),
        d.rin.into(),
        path.into(),
        position.into(),
        Cell::from(u64::from(s.freeze_thaw_count)),
        s.template_id.into(),
        s.parent_id.into(),
        d.notes.into(),
        Cell::from(s.created_at),
        Cell::from(s.created_by),
        Cell::from(s.updated_at),
    ]
}

pub async fn start_export(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let format = export::format(&req)?;
    let filters = export::filters(&req, FILTERS);
    let c = criteria(&filters)?;
    let spec = ExportSpec {
        list: LIST,
        status_path: "/api/samples/exports/",
        header: HEADER,
        format,
        filters,
    };
    let lab = p.lab_id.clone();
    let st2 = st.clone();
    export::start(&st.exports, &p, spec, |page| {
        let (st, lab, c) = (st2.clone(), lab.clone(), &c);
        async move { Ok(store::find(&st, &lab, c, &page).await?.map(row)) }
    })
    .await
}

pub async fn get_export(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    export::status(&st.exports, &p, LIST, req.path_param("id")?).await
}

/// The export worker (the platform's, over this list).
pub async fn work(st: Arc<SamplesState>, event: Value) -> Result<Value, FunctionError> {
    export::work(
        "samples_export_worker",
        &st.exports,
        event,
        HEADER,
        criteria,
        |c, lab, page| {
            let st = st.clone();
            async move { Ok(store::find(&st, &lab, &c, &page).await?.map(row)) }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_has_a_cell_per_column_with_wire_words_and_numbers() {
        let sample: Sample = serde_json::from_value(serde_json::json!({
            "id": "01JS", "barcode": "TS-1", "name": "=cmd", "sample_type": "DNA",
            "status": "in_storage", "priority": "high", "volume": 50.0, "volume_unit": "µL",
            "storage": {"location_id": "B1", "position": "A1", "path": "FRZ / R1 / B1"},
            "version": 1, "created_at": "2026-12-01T00:00:00Z", "created_by": "u",
            "updated_at": "2026-12-01T00:00:00Z", "updated_by": "u"
        }))
        .unwrap();
        let cells = row(sample);
        assert_eq!(cells.len(), HEADER.len());
        let at = |name: &str| cells[HEADER.iter().position(|h| *h == name).unwrap()].clone();
        assert_eq!(at("sample_type"), Cell::from("DNA"));
        assert_eq!(at("status"), Cell::from("in_storage"));
        assert_eq!(at("volume"), Cell::Number(50.0));
        assert_eq!(at("storage_path"), Cell::from("FRZ / R1 / B1"));
        assert_eq!(at("position"), Cell::from("A1"));
        assert_eq!(at("concentration"), Cell::Empty);
    }
}
