//! Login, refresh rotation, logout, and the caller's sessions.

use super::{Check, invalid_credentials};
use crate::audit::{AuditRecord, action};
use crate::cookies;
use crate::model::{Session, User, UserStatus, UserView, now_rfc3339};
use crate::state::{AuthState, now};
use crate::store::sessions::{self as store, RefreshRecord, Rotation};
use crate::store::throttle;
use crate::tokens::{new_refresh_token, token_hash};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::PageRequest;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub email: String,
    #[schema(min_length = 1, max_length = 1024, pattern = r"\S")]
    pub password: String,
    /// Browser mode: the refresh token goes into an `HttpOnly` cookie scoped to
    /// `/api/auth/refresh` instead of the body, with a readable `tracseq_csrf` cookie
    /// whose value a cookie refresh sends back in `X-CSRF-Token`.
    #[serde(default)]
    pub refresh_cookie: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Absent in browser (cookie) mode, where only the `HttpOnly` cookie carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: UserView,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Absent in browser mode: the `tracseq_refresh` cookie and the `X-CSRF-Token`
    /// header carry the session instead.
    #[schema(min_length = 1, max_length = 512, pattern = r"\S")]
    #[serde(default)]
    pub refresh_token: Option<String>,
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

/// Where the refresh token goes: the body (API clients) or a cookie (the web app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Body,
    Cookie,
}

async fn tokens(st: &AuthState, user: &User, sid: &str, refresh: String, mode: Mode) -> Result<Response, Problem> {
    let access = st.issuer.access_token(user, sid, now()).await?;
    let cookies = (mode == Mode::Cookie).then(|| cookies::session_cookies(&refresh, st.issuer.refresh_ttl));
    let resp = Response::ok(&TokenResponse {
        access_token: access,
        refresh_token: (mode == Mode::Body).then_some(refresh),
        token_type: "Bearer",
        expires_in: st.issuer.access_ttl,
        user: user.view(),
    })
    .with_header(tracseq_core::http::header::CACHE_CONTROL, "no-store");
    Ok(cookies.into_iter().flatten().fold(resp, |r, c| r.with_cookie(&c)))
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
        &st,
        "login-ip",
        ip.as_deref().unwrap_or("unknown"),
        st.limits.per_ip_per_minute,
        60,
    )
    .await?;
    throttle::hit(
        &st,
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
        store::record_failure(&st, &user, ip.as_deref()).await;
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
        user = store::clear_failures(&st, &user).await?;
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
    store::start(&st, &session, &refresh, &audit).await?;
    let mode = if body.refresh_cookie { Mode::Cookie } else { Mode::Body };
    tokens(&st, &user, &session.id, refresh, mode).await
}

pub async fn refresh(st: Arc<AuthState>, req: Request) -> Result<Response, Problem> {
    let body: RefreshRequest = req.json_limited(4 * 1024)?;
    let invalid = || Problem::new(401, "invalid_refresh_token", "refresh token is invalid or expired");
    let (token, mode) = match body.refresh_token {
        Some(token) => {
            Check::default().len("refresh_token", &token, 1, 512).done()?;
            (token, Mode::Body)
        }
        None => {
            let from_cookie = req
                .header("cookie")
                .and_then(|h| cookies::read(h, cookies::REFRESH_COOKIE));
            let Some(token) = from_cookie.filter(|t| t.len() <= 512) else {
                return Err(invalid());
            };
            if !cookies::csrf_matches(token, req.header(cookies::CSRF_HEADER)) {
                return Err(Problem::new(
                    403,
                    "csrf_token_mismatch",
                    "a cookie refresh needs the X-CSRF-Token header of this session",
                ));
            }
            (token.to_owned(), Mode::Cookie)
        }
    };
    let hash = token_hash(&token);
    let Some(record) = store::refresh_record(&st, &hash).await? else {
        return Err(invalid());
    };
    if record.rotated {
        return Err(reuse_detected(&st, &record, req.source_ip.as_deref()).await);
    }
    let session = store::session(&st, &record.session_id).await?;
    let Some(session) = session.filter(|s| !s.revoked) else {
        return Err(invalid());
    };
    let user = st.user(&record.lab_id, &record.user_id).await.map_err(|_| invalid())?;
    if user.status != UserStatus::Active {
        return Err(invalid());
    }
    let next = new_refresh_token()?;
    match store::rotate(&st, &hash, &next, &session).await? {
        Rotation::Rotated => tokens(&st, &user, &session.id, next, mode).await,
        Rotation::Reused => Err(reuse_detected(&st, &record, req.source_ip.as_deref()).await),
        Rotation::Invalid => Err(invalid()),
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
    // A browser session also loses its cookies; for an API client these are no-ops.
    Ok(cookies::cleared()
        .iter()
        .fold(Response::new(204), |r, c| r.with_cookie(c)))
}

pub async fn list_sessions(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let sessions = store::list(&st, &p.lab_id, &p.user_id, &page).await?;
    let page: SessionPage = sessions.map(|s| SessionView {
        current: s.id == p.session_id,
        id: s.id,
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        expires_at: s.expires_at,
        user_agent: s.user_agent,
        ip: s.ip,
        revoked: s.revoked,
    });
    Ok(Response::ok(&page))
}

pub async fn delete_session(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?;
    let session = store::session(&st, id).await?;
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
