//! Lookups: a sample's chain of custody, and what a scanned barcode is and where.

use super::LocationView;
use crate::model::CustodyRecord;
use crate::state::StorageState;
use serde::Serialize;
use std::sync::Arc;
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_lab::sample::Sample;

/// A page of a sample's custody trail (each record names the sample and its barcode).
pub type CustodyPage = Page<CustodyRecord>;

/// Every movement of a sample, oldest first.
pub async fn sample_custody(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let sample = st.sample(&p.lab_id, req.path_param("id")?).await?;
    let page = PageRequest::from_request(&req)?;
    let trail: CustodyPage = crate::store::custody_trail(&st, &p.lab_id, &sample.id, &page).await?;
    Ok(Response::ok(&trail))
}

/// What a barcode names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scanned {
    /// A sample, and its box when stored.
    Sample {
        sample: Box<Sample>,
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<Box<LocationView>>,
    },
    /// A container: the location itself (with its path and parent).
    Location { location: Box<LocationView> },
}

pub async fn scan(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let code = req.path_param("barcode")?.trim().to_uppercase();
    if tracseq_lab::barcode::check(&code).is_err() {
        return Err(Problem::not_found("barcode"));
    }
    let (kind, owner) = st
        .barcode_owner(&p.lab_id, &code)
        .await?
        .ok_or_else(|| Problem::not_found("barcode"))?;
    let t = &st.settings.thresholds;
    let answer = match kind.as_str() {
        "sample" => {
            let sample = st.sample(&p.lab_id, &owner).await?;
            let location = match &sample.storage {
                Some(place) => Some(Box::new(LocationView::new(
                    st.resolve_one(&p.lab_id, &place.location_id).await?,
                    t,
                ))),
                None => None,
            };
            Scanned::Sample {
                sample: Box::new(sample),
                location,
            }
        }
        "location" => Scanned::Location {
            location: Box::new(LocationView::new(st.resolve_one(&p.lab_id, &owner).await?, t)),
        },
        _ => return Err(Problem::not_found("barcode")),
    };
    Ok(Response::ok(&answer))
}
