//! Sample search in the table: one partition of GSI1 with a status
//! (`LAB#{lab}#SAMPLES#{status}`); without, GSI2's month partitions
//! (`LAB#{lab}#SAMPLES#{yyyy-mm}`) walked from the newest month down to the lab's first (or
//! `created_from`'s), so no partition grows hot; the cursor names the month and the
//! position inside it.

use crate::domain::kinds::SampleType;
use crate::domain::status::SampleStatus;
use crate::model::{Sample, keys};
use crate::state::SamplesState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tracseq_aws::store::{Filter, Item, PageQuery, from_item};
use tracseq_core::Problem;
use tracseq_core::pagination::{Page, PageRequest};

/// What a search asks for (each part already checked).
#[derive(Debug, Default, Clone)]
pub struct Criteria {
    pub status: Option<SampleStatus>,
    pub sample_type: Option<SampleType>,
    pub project: Option<String>,
    pub template_id: Option<String>,
    /// Upper-cased.
    pub barcode_prefix: Option<String>,
    /// Free text in the name or barcode.
    pub text: Option<String>,
    /// `created_from` / `created_to`: RFC 3339 or a date.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Where a month walk resumes.
#[derive(Debug, Serialize, Deserialize)]
struct MonthCursor {
    m: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<String>,
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

/// A page of the lab's visible samples matching `c`, newest first.
pub async fn find(st: &SamplesState, lab: &str, c: &Criteria, page: &PageRequest) -> Result<Page<Sample>, Problem> {
    let mut filters = Vec::new();
    if let Some(t) = c.sample_type {
        filters.push(Filter::Eq("sample_type".into(), t.as_str().into()));
    }
    if let Some(project) = &c.project {
        filters.push(Filter::Eq("project".into(), project.clone()));
    }
    if let Some(template) = &c.template_id {
        filters.push(Filter::Eq("template_id".into(), template.clone()));
    }
    if let Some(prefix) = &c.barcode_prefix {
        filters.push(Filter::BeginsWith("barcode".into(), prefix.clone()));
    }
    if let Some(q) = &c.text {
        filters.push(Filter::Any(vec![
            Filter::Contains("name_lc".into(), q.to_lowercase()),
            Filter::Contains("barcode".into(), q.to_uppercase()),
        ]));
    }
    if c.status.is_none() {
        filters.push(Filter::Ne("status".into(), SampleStatus::Deleted.as_str().into()));
    }
    // Sort keys are `{created_at}#{id}`: "0" sorts before and "~" after every timestamp.
    let lo = c.from.clone().unwrap_or_else(|| "0".to_owned());
    let hi = c.to.as_ref().map_or_else(|| "~".to_owned(), |t| format!("{t}~"));
    let (items, next_cursor) = match c.status {
        Some(status) => {
            let pk = keys::by_status(lab, status.as_str());
            let q = PageQuery::of(&pk)
                .on_index("GSI1")
                .between(&lo, &hi)
                .newest_first()
                .filtered(&filters);
            let out = st.table.query_page(&q, page).await?;
            (out.items, out.next_cursor)
        }
        None => {
            // No sample predates its lab: the walk stops at the later of the two.
            let since = st.lab_since(lab).await?;
            let floor = match &c.from {
                Some(f) if f[..7] > *since => f[..7].to_owned(),
                _ => since,
            };
            let start = match page.cursor.as_deref() {
                Some(raw) => URL_SAFE_NO_PAD
                    .decode(raw)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .filter(|c: &MonthCursor| valid_month(&c.m))
                    .ok_or_else(|| Problem::bad_request("invalid_cursor", "the cursor is not valid for this list"))?,
                None => MonthCursor {
                    m: c.to
                        .as_ref()
                        .map_or_else(|| crate::model::now_rfc3339()[..7].to_owned(), |t| t[..7].to_owned()),
                    c: None,
                },
            };
            walk_months(st, lab, page.limit, start, &floor, (&lo, &hi), &filters).await?
        }
    };
    let samples = items.into_iter().map(from_item).collect::<Result<Vec<Sample>, _>>()?;
    let items = st.visible(lab, samples).await?;
    Ok(Page { items, next_cursor })
}

async fn walk_months(
    st: &SamplesState,
    lab: &str,
    limit: u32,
    start: MonthCursor,
    floor: &str,
    (lo, hi): (&str, &str),
    filters: &[Filter],
) -> Result<(Vec<Item>, Option<String>), Problem> {
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
            limit: limit - items.len() as u32,
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
                if items.len() as u32 >= limit {
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
