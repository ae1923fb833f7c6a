//! The lab's event history in the table, newest first, by type pattern, subject and time
//! window. Without a subject it walks the lab's day partitions of the outbox
//! (docs/data-model.md: `LAB#{lab}#EVENTS#{yyyy-mm-dd}`) from the newest day down; with one
//! it reads the subject index. The cursor names the day and the position inside it.

use crate::query::Window;
use crate::state::EventsState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tracseq_aws::outbox::event_from_item;
use tracseq_aws::store::{Filter, GSI1, Item, PageQuery};
use tracseq_core::Problem;
use tracseq_core::auth::Role;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;

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

/// A page of the lab's events in window `w`, newest first: one subject's (from the
/// subject index) or all (walking the day partitions); `filters` narrow by type, and the
/// types `role` may not see are left out.
pub async fn find(
    st: &EventsState,
    lab: &LabKeys,
    role: Role,
    subject: Option<&str>,
    w: &Window,
    mut filters: Vec<Filter>,
    page: &PageRequest,
) -> Result<EventPage, Problem> {
    // Account events are the administrators' (the subscriptions' rule too).
    filters.extend(
        crate::domain::visibility::hidden_prefixes(role)
            .into_iter()
            .map(|prefix| Filter::NotBeginsWith("type".into(), prefix)),
    );
    let (items, next_cursor) = match subject {
        Some(subject) => {
            let pk = format!("{}#SUBJECT#{subject}", lab.root());
            let q = PageQuery::of(&pk)
                .on_index(GSI1)
                .between(&w.lo, &w.hi)
                .newest_first()
                .filtered(&filters);
            let out = st.table.query_page(&q, page).await?;
            (out.items, out.next_cursor)
        }
        None => walk_days(st, page, lab, w, &filters).await?,
    };
    let items = items.into_iter().map(event_from_item).collect::<Result<Vec<_>, _>>()?;
    Ok(EventPage { items, next_cursor })
}

/// Every event of one day partition with a sort key in `[lo, hi]`, oldest first.
pub async fn day(
    st: &EventsState,
    lab: &LabKeys,
    day: &str,
    (lo, hi): (&str, &str),
) -> Result<Vec<CloudEvent>, Problem> {
    let items = st.table.query_prefix(&lab.events_day(day), "").await?;
    let mut out = Vec::new();
    for item in items {
        let sk = item
            .get("SK")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .unwrap_or_default();
        if sk < lo || sk > hi {
            continue;
        }
        out.push(event_from_item(item)?);
    }
    Ok(out)
}

/// Fill a page from the window's days, newest first.
async fn walk_days(
    st: &EventsState,
    page: &PageRequest,
    lab: &LabKeys,
    w: &Window,
    filters: &[Filter],
) -> Result<(Vec<Item>, Option<String>), Problem> {
    let limit = page.limit;
    let start = match page.cursor.as_deref() {
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
