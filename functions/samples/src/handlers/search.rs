//! `GET /api/samples`: search with filters and a stable newest-first cursor. The query is
//! checked here; [`crate::store::search`] reads the partitions. Deleted samples are left
//! out unless asked for by status.

use crate::domain::kinds::SampleType;
use crate::domain::status::SampleStatus;
use crate::model::Sample;
use crate::state::SamplesState;
use crate::store::search::{self as store, Criteria};
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type SamplePage = tracseq_core::pagination::Page<Sample>;

fn bad(field: &str, rule: &str, msg: &str, value: &str) -> Problem {
    Problem::validation(vec![FieldError::field(field, rule, msg).with_value(value)])
}

/// Bounds of `created_from`/`created_to` as sort-key strings (`{created}#{id}`).
fn time_bound(req: &Request, name: &str) -> Result<Option<String>, Problem> {
    let Some(raw) = req.query(name) else { return Ok(None) };
    let ok = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).is_ok()
        || time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).is_ok();
    if ok {
        Ok(Some(raw.to_owned()))
    } else {
        Err(bad(name, "date", "RFC 3339 or YYYY-MM-DD", raw))
    }
}

pub async fn list_samples(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let mut c = Criteria {
        status: match req.query("status") {
            Some(s) => Some(SampleStatus::parse(s).ok_or_else(|| bad("status", "one_of", "a sample status", s))?),
            None => None,
        },
        sample_type: match req.query("sample_type") {
            Some(t) => Some(SampleType::parse(t).ok_or_else(|| bad("sample_type", "one_of", "a sample type", t))?),
            None => None,
        },
        project: req.query("project").map(str::to_owned),
        template_id: req.query("template_id").map(str::to_owned),
        barcode_prefix: req.query("barcode").map(|b| b.trim().to_uppercase()),
        ..Criteria::default()
    };
    if let Some(q) = req.query("q").map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(bad("q", "max_length", "at most 100 characters", q));
        }
        c.text = Some(q.to_owned());
    }
    c.from = time_bound(&req, "created_from")?;
    c.to = time_bound(&req, "created_to")?;
    let found: SamplePage = store::find(&st, &p.lab_id, &c, &page).await?;
    Ok(Response::ok(&found))
}
