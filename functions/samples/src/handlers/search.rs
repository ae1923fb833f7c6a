//! `GET /api/samples`: search with filters and a stable newest-first cursor.
//!
//! With `status`, one partition of GSI1 (`LAB#{lab}#SAMPLES#{status}`) is read. Without,
//! GSI2's month partitions (`LAB#{lab}#SAMPLES#{yyyy-mm}`) are walked from the newest
//! month down to the lab's first (or `created_from`'s), so no partition grows hot; the
//! cursor names the month and the position inside it. Deleted samples are left out unless
//! asked for by status.

use crate::domain::kinds::SampleType;
use crate::domain::status::SampleStatus;
use crate::model::{Sample, keys};
use crate::state::SamplesState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_aws::store::{Filter, PageQuery, from_item};
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_core::{FieldError, Problem};

pub type SamplePage = tracseq_core::pagination::Page<Sample>;

/// Where a month walk resumes.
#[derive(Debug, Serialize, Deserialize)]
struct MonthCursor {
    m: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<String>,
}

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

fn prev_month(m: &str) -> Option<String> {
    let (y, mo) = m.split_once('-')?;
    let (y, mo): (i32, u32) = (y.parse().ok()?, mo.parse().ok()?);
    Some(if mo == 1 {
        format!("{:04}-12", y - 1)
    } else {
        format!("{y:04}-{:02}", mo - 1)
    })
}

fn valid_month(m: &str) -> bool {
    m.len() == 7 && prev_month(m).is_some() && m.as_bytes()[4] == b'-'
}

pub async fn list_samples(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_query(req.query("limit"), None)?;
    let status = match req.query("status") {
        Some(s) => Some(SampleStatus::parse(s).ok_or_else(|| bad("status", "one_of", "a sample status", s))?),
        None => None,
    };
    let mut filters = Vec::new();
    if let Some(t) = req.query("sample_type") {
        let t = SampleType::parse(t).ok_or_else(|| bad("sample_type", "one_of", "a sample type", t))?;
        filters.push(Filter::Eq("sample_type".into(), t.as_str().into()));
    }
    if let Some(project) = req.query("project") {
        filters.push(Filter::Eq("project".into(), project.to_owned()));
    }
    if let Some(template) = req.query("template_id") {
        filters.push(Filter::Eq("template_id".into(), template.to_owned()));
    }
    if let Some(prefix) = req.query("barcode") {
        filters.push(Filter::BeginsWith("barcode".into(), prefix.trim().to_uppercase()));
    }
    if let Some(q) = req.query("q").map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(bad("q", "max_length", "at most 100 characters", q));
        }
        filters.push(Filter::Any(vec![
            Filter::Contains("name_lc".into(), q.to_lowercase()),
            Filter::Contains("barcode".into(), q.to_uppercase()),
        ]));
    }
    if status.is_none() {
        filters.push(Filter::Ne("status".into(), SampleStatus::Deleted.as_str().into()));
    }
    let from = time_bound(&req, "created_from")?;
    let to = time_bound(&req, "created_to")?;
    // Sort keys are `{created_at}#{id}`: "0" sorts before and "~" after every timestamp.
    let lo = from.clone().unwrap_or_else(|| "0".to_owned());
    let hi = to.as_ref().map_or_else(|| "~".to_owned(), |t| format!("{t}~"));
    let lab = &p.lab_id;
    let (items, next_cursor) = match status {
        Some(status) => {
            let pk = keys::by_status(lab, status.as_str());
            let page = PageRequest::from_query(req.query("limit"), req.query("cursor"))?;
            let q = PageQuery::of(&pk)
                .on_index("GSI1")
                .between(&lo, &hi)
                .newest_first()
                .filtered(&filters);
            let out = st.table.query_page(&q, &page).await?;
            (out.items, out.next_cursor)
        }
        None => {
            // No sample predates its lab: the walk stops at the later of the two.
            let since = st.lab_since(lab).await?;
            let floor = match &from {
                Some(f) if f[..7] > *since => f[..7].to_owned(),
                _ => since,
            };
            let start = match req.query("cursor") {
                Some(raw) => {
                    let c: MonthCursor = URL_SAFE_NO_PAD
                        .decode(raw)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .filter(|c: &MonthCursor| valid_month(&c.m))
                        .ok_or_else(|| {
                            Problem::bad_request("invalid_cursor", "the cursor is not valid for this list")
                        })?;
                    c
                }
                None => MonthCursor {
                    m: to
                        .as_ref()
                        .map_or_else(|| crate::model::now_rfc3339()[..7].to_owned(), |t| t[..7].to_owned()),
                    c: None,
                },
            };
            walk_months(&st, lab, &page, start, &floor, (&lo, &hi), &filters).await?
        }
    };
    let samples = items.into_iter().map(from_item).collect::<Result<Vec<Sample>, _>>()?;
    let items = st.visible(lab, samples).await?;
    Ok(Response::ok(&Page { items, next_cursor }))
}

async fn walk_months(
    st: &SamplesState,
    lab: &str,
    page: &PageRequest,
    start: MonthCursor,
    floor: &str,
    (lo, hi): (&str, &str),
    filters: &[Filter],
) -> Result<(Vec<tracseq_aws::store::Item>, Option<String>), Problem> {
    let mut items = Vec::new();
    let mut month = start.m;
    let mut inner = start.c;
    // A month walk is bounded: at most two years of empty months per request (the page
    // may then come back short, with a cursor to go on).
    for _ in 0..24 {
        if month.as_str() < floor {
            return Ok((items, None));
        }
        let pk = keys::by_month(lab, &month);
        let want = PageRequest {
            limit: page.limit - items.len() as u32,
            cursor: inner.take(),
        };
        let q = PageQuery::of(&pk)
            .on_index("GSI2")
            .between(lo, hi)
            .newest_first()
            .filtered(filters);
        let out = st.table.query_page(&q, &want).await?;
        items.extend(out.items);
        match out.next_cursor {
            Some(c) => {
                return Ok((items, Some(encode(&MonthCursor { m: month, c: Some(c) }))));
            }
            None => {
                let Some(prev) = prev_month(&month) else {
                    return Ok((items, None));
                };
                month = prev;
                if items.len() as u32 >= page.limit {
                    let more = month.as_str() >= floor;
                    return Ok((items, more.then(|| encode(&MonthCursor { m: month, c: None }))));
                }
            }
        }
    }
    Ok((items, Some(encode(&MonthCursor { m: month, c: None }))))
}

fn encode(c: &MonthCursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_step_back_across_years() {
        assert_eq!(prev_month("2026-01").as_deref(), Some("2025-12"));
        assert_eq!(prev_month("2026-11").as_deref(), Some("2026-10"));
        assert!(valid_month("2026-11") && !valid_month("2026-1") && !valid_month("x"));
    }
}
