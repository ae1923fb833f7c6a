//! The in-app inbox: `GET /api/notifications` (mine, newest first; `unread=true` for the
//! unread ones) and `POST /api/notifications/{id}/read`.

use crate::model::{InboxMessage, keys};
use crate::send::inbox_message;
use crate::state::EventsState;
use std::sync::Arc;
use tracseq_aws::store::{PageQuery, StoreError, s};
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem, now_rfc3339};

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
    let pk = keys::inbox(&p.lab_id, &p.user_id);
    let filters = [tracseq_aws::store::Filter::Eq("state".into(), "unread".into())];
    let mut q = PageQuery::of(&pk).with_prefix(keys::MESSAGE).newest_first();
    if unread {
        q = q.filtered(&filters);
    }
    let out = st.table.query_page(&q, &page).await?;
    let items = out
        .items
        .into_iter()
        .map(inbox_message)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Response::ok(&InboxPage {
        items,
        next_cursor: out.next_cursor,
    }))
}

pub async fn mark_read(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    if !tracseq_core::keyed::is_valid_id(id) {
        return Err(Problem::not_found("notification"));
    }
    let out = st
        .table
        .client
        .update_item()
        .table_name(&st.table.name)
        .key("PK", s(keys::inbox(&p.lab_id, &p.user_id)))
        .key("SK", s(format!("{}{id}", keys::MESSAGE)))
        // Reading twice keeps the first time.
        .update_expression("SET read_at = if_not_exists(read_at, :now), #state = :read")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":now", s(now_rfc3339()))
        .expression_attribute_values(":read", s("read"))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await
        .map_err(StoreError::from_sdk);
    match out {
        Ok(o) => Ok(Response::ok(&inbox_message(o.attributes.unwrap_or_default())?)),
        Err(StoreError::ConditionFailed) => Err(Problem::not_found("notification")),
        Err(e) => Err(e.into()),
    }
}
