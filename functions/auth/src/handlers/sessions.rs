//! Login, refresh rotation, logout, and the caller's sessions.

use super::{Check, invalid_credentials};
use crate::audit::{AuditRecord, action};
use crate::model::{Session, User, UserStatus, UserView, now_rfc3339, sessions_of};
use crate::state::{AuthState, now};
use crate::throttle;
use crate::tokens::{new_refresh_token, token_hash};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::auth::session_pk;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, PageQuery, StoreError, from_item, n, s};
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::{Page, PageRequest};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub email: String,
    #[schema(min_length = 1, max_length = 1024, pattern = r"\S")]
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: UserView,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 512, pattern = r"\S")]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub revoked: bool,
    /// The session of the token making this request.
    pub current: bool,
}

pub type SessionPage = tracseq_core::pagination::Page<SessionView>;

/// A stored refresh token (`REFRESH#{sha256}`): rotated tokens stay, to detect reuse.
#[derive(Debug, Serialize, Deserialize)]
struct RefreshRecord {
    session_id: String,
    user_id: String,
    lab_id: String,
    rotated: bool,
    expires_at: i64,
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

async fn tokens(st: &AuthState, user: &User, sid: &str, refresh: String) -> Result<Response, Problem> {
    let access = st.issuer.access_token(user, sid, now()).await?;
    Ok(Response::ok(&TokenResponse {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: st.issuer.access_ttl,
        user: user.view(),
    })
    .with_header(tracseq_core::http::header::CACHE_CONTROL, "no-store"))
}

pub async fn login(st: Arc<AuthState>, req: Request) -> Result<Response, Problem> {
    let body: LoginRequest = req.json_limited(8 * 1024)?;
    Check::default()
        .len("email", &body.email, 1, 254)
        .len("password", &body.password, 1, 1024)
        .done()?;
    let email = body.email.trim().to_lowercase();
    let ip = req.source_ip.clone();
    throttle::hit(
        &st.table,
        "login-ip",
        ip.as_deref().unwrap_or("unknown"),
        st.limits.per_ip_per_minute,
        60,
    )
    .await?;
    throttle::hit(
        &st.table,
        "login-email",
        &token_hash(&email),
        st.limits.per_email_per_minute,
        60,
    )
    .await?;
    let user = st.user_by_email(&email).await?;
    // Always one argon2 verification, so timing does not reveal whether the email exists.
    let password_ok = st
        .hasher
        .verify(&body.password, user.as_ref().and_then(|u| u.password_hash.as_deref()))
        .await?;
    let Some(mut user) = user else {
        tracing::info!("login failed: unknown email");
        return Err(invalid_credentials());
    };
    let t = now();
    let lock_active = user.status == UserStatus::Locked && user.locked_until.is_some_and(|until| until > t);
    if !password_ok {
        record_failure(&st, &user, ip.as_deref()).await;
        return Err(invalid_credentials());
    }
    if lock_active || matches!(user.status, UserStatus::Disabled | UserStatus::PendingVerification) {
        let reason = if lock_active { "locked" } else { user.status.as_str() };
        st.audit(
            AuditRecord::new(&user.lab_id, &user.id, action::LOGIN_FAILED, "failure")
                .from_ip(ip.as_deref())
                .detail(json!({ "reason": reason })),
        )
        .await;
        return Err(invalid_credentials());
    }
    if user.failed_logins > 0 || user.status == UserStatus::Locked {
        user = clear_failures(&st, &user).await?;
    }
    let session = Session {
        id: ulid::Ulid::new().to_string(),
        lab_id: user.lab_id.clone(),
        user_id: user.id.clone(),
        created_at: now_rfc3339(),
        last_used_at: now_rfc3339(),
        expires_at: t + st.issuer.refresh_ttl,
        user_agent: req.header("user-agent").map(|ua| ua.chars().take(200).collect()),
        ip: ip.clone(),
        revoked: false,
    };
    let refresh = new_refresh_token()?;
    let audit = AuditRecord::new(&user.lab_id, &user.id, action::LOGIN, "success")
        .target(&session.id)
        .from_ip(ip.as_deref());
    st.table
        .transact(vec![
            st.table.put_new_op(session.item()?)?,
            st.table.put_new_op(refresh_item(&st, &refresh, &session)?)?,
            st.audit_op(&audit)?,
        ])
        .await?;
    tokens(&st, &user, &session.id, refresh).await
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
async fn clear_failures(st: &AuthState, user: &User) -> Result<User, Problem> {
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

pub async fn refresh(st: Arc<AuthState>, req: Request) -> Result<Response, Problem> {
    let body: RefreshRequest = req.json_limited(4 * 1024)?;
    Check::default()
        .len("refresh_token", &body.refresh_token, 1, 512)
        .done()?;
    let invalid = || Problem::new(401, "invalid_refresh_token", "refresh token is invalid or expired");
    let hash = token_hash(&body.refresh_token);
    let Some(item) = st.table.get(&refresh_pk(&hash), REFRESH_SK).await? else {
        return Err(invalid());
    };
    let record: RefreshRecord = from_item(item)?;
    if record.rotated {
        return Err(reuse_detected(&st, &record, req.source_ip.as_deref()).await);
    }
    let session = st
        .table
        .get_as::<Session>(&session_pk(&record.session_id), tracseq_aws::auth::SESSION_SK)
        .await?;
    let Some(session) = session.filter(|s| !s.revoked) else {
        return Err(invalid());
    };
    let user = st.user(&record.lab_id, &record.user_id).await.map_err(|_| invalid())?;
    if user.status != UserStatus::Active {
        return Err(invalid());
    }
    let next = new_refresh_token()?;
    let rotate = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(refresh_pk(&hash)))
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
        .key("SK", s(tracseq_aws::auth::SESSION_SK))
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
            st.table.put_new_op(refresh_item(&st, &next, &session)?)?,
            TransactWriteItem::builder().update(touch).build(),
        ])
        .await;
    match result {
        Ok(()) => tokens(&st, &user, &session.id, next).await,
        // Someone rotated this token a moment ago: two holders of one token is reuse.
        Err(e) if e.failed_action() == Some(0) => Err(reuse_detected(&st, &record, req.source_ip.as_deref()).await),
        Err(e) if e.is_condition_failure() => Err(invalid()),
        Err(e) => Err(e.into()),
    }
}

/// A rotated refresh token came back: whoever holds the family is not to be trusted.
async fn reuse_detected(st: &AuthState, record: &RefreshRecord, ip: Option<&str>) -> Problem {
    if let Err(e) = st.revoke_session(&record.session_id).await {
        tracing::error!(error = %e, "revoking a session after refresh token reuse failed");
    }
    st.audit(
        AuditRecord::new(&record.lab_id, &record.user_id, action::TOKEN_MISUSE, "failure")
            .target(&record.session_id)
            .from_ip(ip)
            .detail(json!({ "reason": "refresh token reuse; session revoked" })),
    )
    .await;
    Problem::new(
        401,
        "refresh_token_reused",
        "this refresh token was already used; the session has been revoked",
    )
}

pub async fn logout(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    st.revoke_session(&p.session_id).await?;
    st.audit(
        AuditRecord::new(&p.lab_id, &p.user_id, action::LOGOUT, "success")
            .target(&p.session_id)
            .from_ip(req.source_ip.as_deref()),
    )
    .await;
    Ok(Response::new(204))
}

pub async fn list_sessions(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let partition = sessions_of(&p.lab_id, &p.user_id);
    let out = st
        .table
        .query_page(&PageQuery::of(&partition).on_index("GSI1").newest_first(), &page)
        .await?;
    let items = out
        .items
        .into_iter()
        .map(|i| {
            from_item::<Session>(i).map(|s| SessionView {
                current: s.id == p.session_id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                ip: s.ip,
                revoked: s.revoked,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Response::ok(&Page {
        items,
        next_cursor: out.next_cursor,
    }))
}

pub async fn delete_session(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    let session = if tracseq_core::keyed::is_valid_id(id) {
        st.table
            .get_as::<Session>(&session_pk(id), tracseq_aws::auth::SESSION_SK)
            .await?
    } else {
        None
    };
    // Someone else's session is as absent as a missing one.
    let Some(session) = session.filter(|s| s.user_id == p.user_id && s.lab_id == p.lab_id) else {
        return Err(Problem::not_found("session"));
    };
    st.revoke_session(&session.id).await?;
    st.audit(
        AuditRecord::new(&p.lab_id, &p.user_id, action::SESSION_REVOKED, "success")
            .target(&session.id)
            .from_ip(req.source_ip.as_deref()),
    )
    .await;
    Ok(Response::new(204))
}
