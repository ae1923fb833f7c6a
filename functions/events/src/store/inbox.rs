//! The in-app inbox in the table: one partition per person (`LAB#{lab}#INBOX#{user}`),
//! a message per delivery (`MSG#{id}`), with its read state.

use crate::model::{InboxMessage, keys};
use crate::state::EventsState;
use tracseq_aws::store::{Filter, PageQuery, StoreError, from_item, s};
use tracseq_core::Problem;
use tracseq_core::now_rfc3339;
use tracseq_core::pagination::{Page, PageRequest};

/// A page of a person's messages, newest first (only the unread ones when asked).
pub async fn page(
    st: &EventsState,
    lab: &str,
    user: &str,
    unread: bool,
    page: &PageRequest,
) -> Result<Page<InboxMessage>, Problem> {
    let pk = keys::inbox(lab, user);
    let filters = [Filter::Eq("state".into(), "unread".into())];
    let mut q = PageQuery::of(&pk).with_prefix(keys::MESSAGE).newest_first();
    if unread {
        q = q.filtered(&filters);
    }
    st.table.query_page_as(&q, page).await
}

/// Mark a message read (reading twice keeps the first time); `None` when there is no such
/// message.
pub async fn mark_read(st: &EventsState, lab: &str, user: &str, id: &str) -> Result<Option<InboxMessage>, Problem> {
    let out = st
        .table
        .client
        .update_item()
        .table_name(&st.table.name)
        .key("PK", s(keys::inbox(lab, user)))
        .key("SK", s(format!("{}{id}", keys::MESSAGE)))
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
        Ok(o) => Ok(Some(from_item(o.attributes.unwrap_or_default())?)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
