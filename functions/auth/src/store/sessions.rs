//! Sessions in the table: a session (`SESSION#{id}`) with its refresh tokens
//! (`REFRESH#{sha256}`; rotated ones stay, to detect reuse), the failed-login count and
//! lockout on the user, and the caller's session list (GSI1).

use crate::audit::{AuditRecord, action};
use crate::model::{Session, User, UserStatus, now_rfc3339, sessions_of};
use crate::state::{AuthState, now};
use crate::tokens::token_hash;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracseq_aws::auth::{SESSION_SK, session_pk};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, PageQuery, StoreError, n, s};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::pagination::{Page, PageRequest};

/// A stored refresh token: whose, and whether it was already rotated.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub session_id: String,
    pub user_id: String,
    pub lab_id: String,
    pub rotated: bool,
    pub expires_at: i64,
}

fn refresh_pk(hash: &str) -> String {
    format!("REFRESH#{hash}")
}
const REFRESH_SK: &str = "REFRESH";

fn refresh_item(st: &AuthState, token: &str, session: &Session) -> Result<Item, StoreError> {
    let mut item = tracseq_aws::store::to_item(&RefreshRecord {
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        lab_id: session.lab_id.clone(),
        rotated: false,
        expires_at: now() + st.issuer.refresh_ttl,
    })?;
    item.insert("PK".into(), s(refresh_pk(&token_hash(token))));
    item.insert("SK".into(), s(REFRESH_SK));
    item.insert("entity".into(), s("refresh_token"));
    Ok(item)
}

/// Store a new session with its first refresh token and the login's audit record.
pub async fn start(st: &AuthState, session: &Session, refresh: &str, audit: &AuditRecord) -> Result<(), Problem> {
    st.table
        .transact(vec![
            st.table.put_new_op(session.item()?)?,
            st.table.put_new_op(refresh_item(st, refresh, session)?)?,
            st.audit_op(audit)?,
        ])
        .await?;
    Ok(())
}

/// The record of a refresh token, by the hash of the token.
pub async fn refresh_record(st: &AuthState, hash: &str) -> Result<Option<RefreshRecord>, Problem> {
    Ok(st.table.get_as(&refresh_pk(hash), REFRESH_SK).await?)
}

/// A session by id (any user's: the caller checks whose).
pub async fn session(st: &AuthState, id: &str) -> Result<Option<Session>, Problem> {
    if !tracseq_core::keyed::is_valid_id(id) {
        return Ok(None);
    }
    Ok(st.table.get_as::<Session>(&session_pk(id), SESSION_SK).await?)
}

/// What a rotation found.
pub enum Rotation {
    Rotated,
    /// Someone rotated this token a moment ago: two holders of one token is reuse.
    Reused,
    /// The session was revoked meanwhile.
    Invalid,
}

/// Mark the token `hash` rotated and store `next` for the same session, touching the
/// session's last use, if the token was not rotated and the session not revoked.
pub async fn rotate(st: &AuthState, hash: &str, next: &str, session: &Session) -> Result<Rotation, Problem> {
    let rotate = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(refresh_pk(hash)))
        .key("SK", s(REFRESH_SK))
        .update_expression("SET rotated = :t")
        .condition_expression("rotated = :f")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .build()
        .map_err(|e| Problem::from(StoreError::Invalid(e.to_string())))?;
    let touch = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(session_pk(&session.id)))
        .key("SK", s(SESSION_SK))
        .update_expression("SET last_used_at = :now")
        .condition_expression("revoked = :f")
        .expression_attribute_values(":now", s(now_rfc3339()))
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .build()
        .map_err(|e| Problem::from(StoreError::Invalid(e.to_string())))?;
    let result = st
        .table
        .transact(vec![
            TransactWriteItem::builder().update(rotate).build(),
            st.table.put_new_op(refresh_item(st, next, session)?)?,
            TransactWriteItem::builder().update(touch).build(),
        ])
        .await;
    match result {
        Ok(()) => Ok(Rotation::Rotated),
        Err(e) if e.failed_action() == Some(0) => Ok(Rotation::Reused),
        Err(e) if e.is_condition_failure() => Ok(Rotation::Invalid),
        Err(e) => Err(e.into()),
    }
}

/// A page of a user's sessions, newest first.
pub async fn list(st: &AuthState, lab: &str, user: &str, page: &PageRequest) -> Result<Page<Session>, Problem> {
    let partition = sessions_of(lab, user);
    st.table
        .query_page_as(&PageQuery::of(&partition).on_index("GSI1").newest_first(), page)
        .await
}

/// Count a failed login (or a wrong current password on a password change); the one that
/// reaches the threshold locks the account.
pub(crate) async fn record_failure(st: &AuthState, user: &User, ip: Option<&str>) {
    let counted = st
        .table
        .client
        .update_item()
        .table_name(&st.table.name)
        .key("PK", s(crate::model::user_pk(&user.lab_id)))
        .key("SK", s(crate::model::user_sk(&user.id)))
        .update_expression("ADD failed_logins :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":one", n(1))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await;
    let failures = counted
        .ok()
        .and_then(|o| {
            o.attributes()
                .and_then(|a| a.get("failed_logins"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u32>().ok())
        })
        .unwrap_or(0);
    let failed = AuditRecord::new(&user.lab_id, &user.id, action::LOGIN_FAILED, "failure")
        .from_ip(ip)
        .detail(json!({ "failed_logins": failures }));
    let mut ops = vec![st.audit_op(&failed)];
    if let Ok(ev) = CloudEvent::new(
        "auth.login_failed",
        &user.lab_id,
        &format!("user/{}", user.id),
        &failed.id,
        json!({ "user_id": user.id, "failed_logins": failures }),
    ) {
        ops.push(put_event_op(&st.table, &ev));
    }
    // An expired lockout leaves the status `locked` until a good login clears it; failures
    // then must lock again, or an expired lock would mean unlimited guesses.
    let t = now();
    let lock_expired = user.status == UserStatus::Locked && user.locked_until.is_none_or(|until| until <= t);
    if failures >= st.limits.lockout_after && (user.status == UserStatus::Active || lock_expired) {
        let until = t + st.limits.lockout_secs;
        let lock = Update::builder()
            .table_name(&st.table.name)
            .key("PK", s(crate::model::user_pk(&user.lab_id)))
            .key("SK", s(crate::model::user_sk(&user.id)))
            // The count restarts: each lockout period grants exactly `lockout_after` attempts.
            .update_expression(
                "SET #status = :locked, locked_until = :until, failed_logins = :zero, version = version + :one",
            )
            .condition_expression("#status = :active OR (#status = :locked AND locked_until <= :now)")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(t))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":locked", s("locked"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":one", n(1))
            .build()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .map_err(|e| StoreError::Invalid(e.to_string()));
        ops.push(lock);
        let locked = AuditRecord::new(&user.lab_id, &user.id, action::LOCKOUT, "success")
            .from_ip(ip)
            .detail(json!({ "locked_until": until }));
        ops.push(st.audit_op(&locked));
        if let Ok(ev) = CloudEvent::new(
            "auth.locked",
            &user.lab_id,
            &format!("user/{}", user.id),
            &locked.id,
            json!({ "user_id": user.id, "locked_until": until }),
        ) {
            ops.push(put_event_op(&st.table, &ev));
        }
    }
    match ops.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(ops) => {
            if let Err(e) = st.table.transact(ops).await {
                tracing::error!(error = %e, "recording a failed login failed");
            }
        }
        Err(e) => tracing::error!(error = %e, "recording a failed login failed"),
    }
}

/// After a good password: reset the failure count and lift an expired lockout.
pub async fn clear_failures(st: &AuthState, user: &User) -> Result<User, Problem> {
    let mut u = user.clone();
    u.failed_logins = 0;
    u.locked_until = None;
    if u.status == UserStatus::Locked {
        u.status = UserStatus::Active;
    }
    u.version += 1;
    u.updated_at = now_rfc3339();
    st.table
        .transact(vec![st.table.put_versioned_op(u.item()?, user.version)?])
        .await?;
    Ok(u)
}
