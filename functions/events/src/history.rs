//! `GET /api/events`: the lab's events, newest first, by type pattern, subject and time
//! window. Without a subject it walks the lab's day partitions of the outbox (docs/data-model.md:
//! `LAB#{lab}#EVENTS#{yyyy-mm-dd}`) from the newest day down; with one it reads the
//! subject index. The cursor names the day and the position inside it.

use crate::query::{type_filter, window};
use crate::state::EventsState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_aws::outbox::event_from_item;
use tracseq_aws::store::{Filter, GSI1, Item, PageQuery};
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type EventPage = tracseq_core::pagination::Page<CloudEvent>;

/// Where a day walk stopped: the day and the cursor inside it.
#[derive(Debug, Serialize, Deserialize)]
struct DayCursor {
    d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
}

fn invalid_cursor() -> Problem {
    Problem::bad_request("invalid_cursor", "the cursor is not valid for this list")
}

pub async fn list_events(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let mut filters: Vec<Filter> = Vec::new();
    match req.query("type").map(type_filter).transpose() {
        Ok(Some(Some(f))) => filters.push(f),
        Ok(_) => {}
        Err(e) => errors.extend(e),
    }
    // Account events are the administrators' (the subscriptions' rule too).
    filters.extend(
        crate::domain::visibility::hidden_prefixes(p.role)
            .into_iter()
            .map(|prefix| Filter::NotBeginsWith("type".into(), prefix)),
    );
    let subject = req.query("subject").map(str::trim).filter(|s| !s.is_empty());
    if subject.is_some_and(|s| s.len() > 200 || s.chars().any(|c| c.is_control() || c == '#')) {
        errors.push(FieldError::field("subject", "format", "a subject like samples/{id}"));
    }
    let w = match window(req.query("from"), req.query("to"), time::OffsetDateTime::now_utc()) {
        Ok(w) => Some(w),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let (Some(w), true) = (w, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    let (items, next_cursor) = match subject {
        Some(subject) => {
            let page = PageRequest::from_request(&req)?;
            let pk = format!("{}#SUBJECT#{subject}", lab.root());
            let q = PageQuery::of(&pk)
                .on_index(GSI1)
                .between(&w.lo, &w.hi)
                .newest_first()
                .filtered(&filters);
            let out = st.table.query_page(&q, &page).await?;
            (out.items, out.next_cursor)
        }
        None => walk_days(&st, &req, &lab, &w, &filters).await?,
    };
    let items = items.into_iter().map(event_from_item).collect::<Result<Vec<_>, _>>()?;
    Ok(Response::ok(&EventPage { items, next_cursor }))
}

/// Fill a page from the window's days, newest first.
async fn walk_days(
    st: &EventsState,
    req: &Request,
    lab: &LabKeys,
    w: &crate::query::Window,
    filters: &[Filter],
) -> Result<(Vec<Item>, Option<String>), Problem> {
    let limit = PageRequest::from_query(req.query("limit"), None)?.limit;
    let start = match req.query("cursor") {
        Some(raw) => {
            let c: DayCursor = URL_SAFE_NO_PAD
                .decode(raw)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(invalid_cursor)?;
            let at = w.days.iter().position(|d| *d == c.d).ok_or_else(invalid_cursor)?;
            (at, c.c)
        }
        None => (0, None),
    };
    let mut items = Vec::new();
    let (mut day, mut inner) = start;
    while day < w.days.len() {
        let pk = lab.events_day(&w.days[day]);
        let want = limit - items.len() as u32;
        let page = PageRequest {
            limit: want,
            cursor: inner.take(),
        };
        let q = PageQuery::of(&pk)
            .between(&w.lo, &w.hi)
            .newest_first()
            .filtered(filters);
        let out = st.table.query_page(&q, &page).await?;
        items.extend(out.items);
        match out.next_cursor {
            Some(c) if items.len() as u32 >= limit => {
                let cursor = DayCursor {
                    d: w.days[day].clone(),
                    c: Some(c),
                };
                return Ok((items, Some(encode(&cursor)?)));
            }
            Some(c) => inner = Some(c),
            None => day += 1,
        }
        if items.len() as u32 >= limit {
            let next = w.days.get(day).map(|d| DayCursor { d: d.clone(), c: None });
            return Ok((items, next.map(|c| encode(&c)).transpose()?));
        }
    }
    Ok((items, None))
}

fn encode(c: &DayCursor) -> Result<String, Problem> {
    serde_json::to_vec(c)
        .map(|b| URL_SAFE_NO_PAD.encode(b))
        .map_err(|_| Problem::internal())
}
