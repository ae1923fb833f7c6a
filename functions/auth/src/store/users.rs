//! Users in the table: the user under its lab, its email guard (unique across the
//! deployment), and the lab's administrator count, which every change that makes or
//! unmakes an administrator moves in the same transaction (never below one).

use super::{email_unavailable, last_admin};
use crate::audit::AuditRecord;
use crate::model::{EMAIL_SK, User, UserStatus, email_pk, user_pk, user_sk};
use crate::state::AuthState;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{PageQuery, StoreError, n, s};
use tracseq_core::Problem;
use tracseq_core::auth::Role;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::lab_key;
use tracseq_core::pagination::{Page, PageRequest};

/// A page of the lab's users, by role (GSI1) or all by id, optionally in one status.
pub async fn list(
    st: &AuthState,
    lab: &str,
    role: Option<Role>,
    status: Option<UserStatus>,
    page: &PageRequest,
) -> Result<Page<User>, Problem> {
    let by_role = role.map(|r| lab_key(lab, &["USERS", r.as_str()]));
    let root = user_pk(lab);
    let mut q = match &by_role {
        Some(partition) => PageQuery::of(partition).on_index("GSI1"),
        None => PageQuery::of(&root).with_prefix("USER#"),
    };
    if let Some(s) = status {
        q = q.filter_eq("status", s.as_str());
    }
    st.table.query_page_as(&q, page).await
}

/// A new user with its email guard and audit record; a taken email is a 409.
pub async fn insert(st: &AuthState, user: &User, audit: &AuditRecord) -> Result<(), Problem> {
    let mut ops = vec![
        st.table.put_new_op(user.email_guard())?,
        st.table.put_new_op(user.item()?)?,
        st.audit_op(audit)?,
    ];
    if user.counts_as_admin() {
        ops.push(st.admins_op(&user.lab_id, 1)?);
    }
    match st.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(0) => Err(email_unavailable()),
        Err(e) => Err(e.into()),
    }
}

/// Store `user` over `before` (at `before.version`) with the audit record and, when
/// given, the event; the administrator count follows a change in or out of the role.
pub async fn save(
    st: &AuthState,
    before: &User,
    user: &User,
    audit: &AuditRecord,
    event: Option<&CloudEvent>,
) -> Result<(), Problem> {
    let mut ops = vec![
        st.table.put_versioned_op(user.item()?, before.version)?,
        st.audit_op(audit)?,
    ];
    let admins = match (before.counts_as_admin(), user.counts_as_admin()) {
        (true, false) => Some(-1),
        (false, true) => Some(1),
        _ => None,
    };
    if let Some(delta) = admins {
        ops.push(st.admins_op(&user.lab_id, delta)?);
    }
    if let Some(ev) = event {
        ops.push(put_event_op(&st.table, ev)?);
    }
    match st.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(0) => Err(Problem::conflict(
            "version_conflict",
            "the account changed; reload and retry",
        )),
        Err(e) if admins.is_some() && e.failed_action() == Some(2) => Err(last_admin()),
        Err(e) => Err(e.into()),
    }
}

/// Remove a user at its version, with its email guard and the audit record.
pub async fn delete(st: &AuthState, user: &User, audit: &AuditRecord) -> Result<(), Problem> {
    let del = Delete::builder()
        .table_name(&st.table.name)
        .key("PK", s(user_pk(&user.lab_id)))
        .key("SK", s(user_sk(&user.id)))
        .condition_expression("#v = :v")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":v", n(user.version))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut ops = vec![
        TransactWriteItem::builder().delete(del).build(),
        st.audit_op(audit)?,
        st.table.delete_op(&email_pk(&user.email), EMAIL_SK)?,
    ];
    if user.counts_as_admin() {
        ops.push(st.admins_op(&user.lab_id, -1)?);
    }
    match st.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(0) => Err(Problem::conflict(
            "version_conflict",
            "the user changed; reload and retry",
        )),
        Err(e) if e.failed_action() == Some(3) => Err(last_admin()),
        Err(e) => Err(e.into()),
    }
}
