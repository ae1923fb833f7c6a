//! `GET /api/samples`: search with filters and a stable newest-first cursor. The query is
//! checked here; [`crate::store::search`] reads the partitions. Deleted samples are left
//! out unless asked for by status. The filters are read by [`criteria`], which exports
//! (`handlers::exports`) share.

use crate::domain::kinds::SampleType;
use crate::domain::status::SampleStatus;
use crate::model::Sample;
use crate::state::SamplesState;
use crate::store::search::{self as store, Criteria};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type SamplePage = tracseq_core::pagination::Page<Sample>;

fn bad(field: &str, rule: &str, msg: &str, value: &str) -> Problem {
    Problem::validation(vec![FieldError::field(field, rule, msg).with_value(value)])
}

/// The list's filters, as its query names them.
pub const FILTERS: &[&str] = &[
    "status",
    "sample_type",
    "project",
    "template_id",
    "barcode",
    "q",
    "created_from",
    "created_to",
];

/// Bounds of `created_from`/`created_to` as sort-key strings (`{created}#{id}`).
fn time_bound(f: &BTreeMap<String, String>, name: &str) -> Result<Option<String>, Problem> {
    let Some(raw) = f.get(name) else { return Ok(None) };
    let ok = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).is_ok()
        || time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).is_ok();
    if ok {
        Ok(Some(raw.to_owned()))
    } else {
        Err(bad(name, "date", "RFC 3339 or YYYY-MM-DD", raw))
    }
}

/// The search the filters ask for, each checked (422 naming the filter).
pub fn criteria(f: &BTreeMap<String, String>) -> Result<Criteria, Problem> {
    let get = |name: &str| f.get(name).map(String::as_str);
    let mut c = Criteria {
        status: match get("status") {
            Some(s) => Some(SampleStatus::parse(s).ok_or_else(|| bad("status", "one_of", "a sample status", s))?),
            None => None,
        },
        sample_type: match get("sample_type") {
            Some(t) => Some(SampleType::parse(t).ok_or_else(|| bad("sample_type", "one_of", "a sample type", t))?),
            None => None,
        },
        project: get("project").map(str::to_owned),
        template_id: get("template_id").map(str::to_owned),
        barcode_prefix: get("barcode").map(|b| b.trim().to_uppercase()),
        ..Criteria::default()
    };
    if let Some(q) = get("q").map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(bad("q", "max_length", "at most 100 characters", q));
        }
        c.text = Some(q.to_owned());
    }
    c.from = time_bound(f, "created_from")?;
    c.to = time_bound(f, "created_to")?;
    Ok(c)
}

pub async fn list_samples(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let c = criteria(&tracseq_aws::export::filters(&req, FILTERS))?;
    let found: SamplePage = store::find(&st, &p.lab_id, &c, &page).await?;
    Ok(Response::ok(&found))
}
