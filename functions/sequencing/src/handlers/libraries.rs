//! Libraries: made from a sample with an index kit's i7 (and i5), a concentration and a
//! fragment size, judged against the QC thresholds when registered.

use super::reference::kit;
use crate::domain::index::{IndexSeq, MAX_INDEX_LENGTH};
use crate::domain::qc::{Metric, evaluate};
use crate::model::{Library, now_rfc3339};
use crate::state::SequencingState;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::LabKeys;
use tracseq_core::{FieldError, Problem};

/// `POST /api/libraries`. Indexes come from the kit by name (`i7`, `i5`) or, for a
/// custom design, as sequences (`i7_sequence`, `i5_sequence`, i5 forward).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLibrary {
    pub sample_id: String,
    pub name: Option<String>,
    /// A kit id (`nextera-xt-v2`, or one of the lab's).
    pub kit: String,
    pub i7: Option<String>,
    pub i5: Option<String>,
    pub i7_sequence: Option<String>,
    pub i5_sequence: Option<String>,
    pub concentration_ng_ul: Option<f64>,
    pub fragment_size_bp: Option<f64>,
}

tracseq_core::ruled_body!(
    /// [`NewLibrary`] as the document states it: i7 by name or as a sequence (one of the
    /// two), i5 the same or neither, sequences of A, C, G, T and N, positive measures.
    NewLibraryWire for NewLibrary,
    {
        let sequence = serde_json::json!({ "type": ["string", "null"],
            "pattern": format!("^\\s*[ACGTNacgtn]{{1,{MAX_INDEX_LENGTH}}}\\s*$") });
        let measure = serde_json::json!({ "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1_000_000 });
        serde_json::json!({
            "properties": {
                "sample_id": { "type": "string", "pattern": tracseq_core::openapi::ULID_PATTERN },
                "name": { "type": ["string", "null"], "maxLength": 100 },
                "kit": { "type": "string", "minLength": 1, "maxLength": 100,
                    "description": "A kit id (`nextera-xt-v2`, or one of the lab's)." },
                "i7_sequence": sequence, "i5_sequence": sequence,
                "concentration_ng_ul": measure, "fragment_size_bp": measure,
            },
            "oneOf": [
                { "required": ["i7"], "properties": { "i7": { "type": "string", "minLength": 1 }, "i7_sequence": { "type": "null" } } },
                { "required": ["i7_sequence"], "properties": { "i7_sequence": { "type": "string" }, "i7": { "type": "null" } } },
            ],
            "not": { "required": ["i5", "i5_sequence"],
                "properties": { "i5": { "type": "string" }, "i5_sequence": { "type": "string" } } },
        })
    }
);

/// One index from the kit by name or as a sequence.
fn pick(
    errors: &mut Vec<FieldError>,
    field: &str,
    by_name: Option<&str>,
    sequence: Option<&str>,
    lookup: impl Fn(&str) -> Option<IndexSeq>,
    required: bool,
) -> Option<(Option<String>, IndexSeq)> {
    match (by_name, sequence) {
        (Some(n), None) => match lookup(n) {
            Some(s) => Some((Some(n.trim().to_uppercase()), s)),
            None => {
                errors.push(FieldError::field(field, "in_kit", "the kit has no index of this name").with_value(n));
                None
            }
        },
        (None, Some(s)) => match IndexSeq::parse(s) {
            Ok(s) => Some((None, s)),
            Err(e) => {
                errors.push(FieldError::field(format!("{field}_sequence"), "sequence", e.to_string()).with_value(s));
                None
            }
        },
        (Some(_), Some(_)) => {
            errors.push(FieldError::field(
                field,
                "one_of",
                "a name from the kit or a sequence, not both",
            ));
            None
        }
        (None, None) => {
            if required {
                errors.push(FieldError::field(
                    field,
                    "required",
                    "the kit index name or its sequence",
                ));
            }
            None
        }
    }
}

fn check_positive(errors: &mut Vec<FieldError>, field: &str, v: Option<f64>) {
    if v.is_some_and(|x| !x.is_finite() || x <= 0.0 || x > 1e6) {
        errors.push(FieldError::field(field, "range", "a positive number"));
    }
}

pub async fn create_library(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewLibrary = req.json()?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut errors = Vec::new();
        let sample = crate::store::visible_sample(&st, &p.lab_id, &body.sample_id).await?;
        if sample.is_none() {
            errors.push(FieldError::field("sample_id", "exists", "no such sample").with_value(&body.sample_id));
        }
        let the_kit = kit(&st, &p.lab_id, &body.kit).await?;
        if the_kit.is_none() {
            errors.push(FieldError::field("kit", "exists", "no such index kit").with_value(&body.kit));
        }
        let (i7, i5) = match &the_kit {
            Some(k) => (
                pick(&mut errors, "i7", body.i7.as_deref(), body.i7_sequence.as_deref(), |n| k.i7(n).cloned(), true),
                pick(&mut errors, "i5", body.i5.as_deref(), body.i5_sequence.as_deref(), |n| k.i5(n).cloned(), false),
            ),
            None => (None, None),
        };
        check_positive(&mut errors, "concentration_ng_ul", body.concentration_ng_ul);
        check_positive(&mut errors, "fragment_size_bp", body.fragment_size_bp);
        let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > 100) {
            errors.push(FieldError::field("name", "length", "1 to 100 characters"));
        }
        let (Some(sample), Some(the_kit), Some((i7_name, i7)), true) = (sample, the_kit, i7, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        let values: BTreeMap<Metric, f64> = [
            (Metric::LibraryConcentration, body.concentration_ng_ul),
            (Metric::FragmentSize, body.fragment_size_bp),
        ]
        .into_iter()
        .filter_map(|(m, v)| v.map(|v| (m, v)))
        .collect();
        let thresholds = super::qc_settings::lab_thresholds(&st, &p.lab_id).await?.thresholds;
        let (qc, findings) = evaluate(&values, &thresholds);
        let now = now_rfc3339();
        let library = Library {
            id: ulid::Ulid::new().to_string(),
            name: name.map_or_else(|| format!("{}-L", sample.barcode), str::to_owned),
            sample_id: sample.id.clone(),
            sample_barcode: sample.barcode.clone(),
            kit: the_kit.name,
            i7_name,
            i7,
            i5_name: i5.as_ref().and_then(|x| x.0.clone()),
            i5: i5.map(|x| x.1),
            concentration_ng_ul: body.concentration_ng_ul,
            fragment_size_bp: body.fragment_size_bp,
            project: sample.details.project.clone(),
            qc,
            version: 1,
            created_at: now.clone(),
            created_by: p.user_id.clone(),
        };
        let ev = req.event(
            "sequencing.library_created",
            &p,
            &format!("sequencing/libraries/{}", library.id),
            json!({"library_id": library.id, "sample_id": library.sample_id, "i7": library.i7, "i5": library.i5, "qc": qc, "findings": findings}),
        )?;
        crate::store::insert(&st, &p.lab_id, &library, &ev).await?;
        Ok(Response::created(&format!("/api/libraries/{}", library.id), &library))
    })
    .await
}

pub async fn get_library(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.library(&p.lab_id, req.path_param("id")?).await?))
}

pub type LibraryPage = tracseq_core::pagination::Page<Library>;

/// Newest first.
pub async fn list_libraries(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page: LibraryPage = crate::store::library_page(
        &st,
        &p.lab_id,
        &tracseq_core::pagination::PageRequest::from_request(&req)?,
    )
    .await?;
    Ok(Response::ok(&page))
}
