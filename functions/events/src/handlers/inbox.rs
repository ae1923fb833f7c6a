//! The in-app inbox: `GET /api/notifications` (mine, newest first; `unread=true` for the
//! unread ones) and `POST /api/notifications/{id}/read`.

use crate::model::InboxMessage;
use crate::state::EventsState;
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type InboxPage = tracseq_core::pagination::Page<InboxMessage>;

pub async fn list_inbox(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let unread = match req.query("unread") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Problem::validation(vec![
                FieldError::field("unread", "boolean", "true or false").with_value(other),
            ]));
        }
    };
    let page = PageRequest::from_request(&req)?;
    let found: InboxPage = crate::store::inbox::page(&st, &p.lab_id, &p.user_id, unread, &page).await?;
    Ok(Response::ok(&found))
}

pub async fn mark_read(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    if !tracseq_core::keyed::is_valid_id(id) {
        return Err(Problem::not_found("notification"));
    }
    crate::store::inbox::mark_read(&st, &p.lab_id, &p.user_id, id)
        .await?
        .map(|m| Response::ok(&m))
        .ok_or_else(|| Problem::not_found("notification"))
}
