//! `GET /api/events`: the lab's events, newest first, by type pattern, subject and time
//! window (read by [`crate::store::history`]).

use crate::query::{type_filter, window};
use crate::state::EventsState;
use crate::store::history::{self, EventPage};
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub async fn list_events(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let mut filters = Vec::new();
    match req.query("type").map(type_filter).transpose() {
        Ok(Some(Some(f))) => filters.push(f),
        Ok(_) => {}
        Err(e) => errors.extend(e),
    }
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
    let page = PageRequest::from_request(&req)?;
    let found: EventPage = history::find(&st, &lab, p.role, subject, &w, filters, &page).await?;
    Ok(Response::ok(&found))
}
