//! The caller's own account: profile, password.

use super::Check;
use crate::audit::{AuditRecord, action};
use crate::model::{User, UserStatus, now_rfc3339};
use crate::password::check_policy;
use crate::state::{AuthState, check_version, expected_version, now};
use crate::store::throttle;
use crate::store::users as store;
use crate::tokens::token_hash;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response};
use tracseq_core::{FieldError, Problem};

/// What a user may change about themselves: not role, status or lab (unknown fields are
/// refused with 422).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 32, pattern = "^[0-9 +().-]*$")]
    pub phone: Option<String>,
    #[schema(max_length = 200)]
    pub department: Option<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

pub async fn get_me(st: Arc<AuthState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.user(&p.lab_id, &p.user_id).await?.view()))
}

pub fn check_phone(check: &mut Check, phone: Option<&str>) {
    if let Some(ph) = phone {
        let ok = ph.len() <= 32 && ph.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        check.rule(
            ok,
            "phone",
            "pattern",
            "phone may hold digits, spaces and + - ( ) . (at most 32)",
        );
    }
}

/// Check the profile fields a user and an admin may both change.
pub fn check_profile(check: &mut Check, name: Option<&str>, phone: Option<&str>, department: Option<&str>) {
    if let Some(n) = name {
        check.len("name", n, 1, 200);
    }
    check.opt_len("department", department, 200);
    check_phone(check, phone);
}

/// Apply them; an empty phone or department clears it.
pub fn apply_profile(user: &mut User, name: Option<String>, phone: Option<String>, department: Option<String>) {
    if let Some(n) = name {
        user.name = n.trim().to_owned();
    }
    if phone.is_some() {
        user.phone = phone.filter(|s| !s.trim().is_empty());
    }
    if department.is_some() {
        user.department = department.filter(|s| !s.trim().is_empty());
    }
}

pub async fn update_me(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: MePatch = req.json()?;
    let mut check = Check::default();
    check_profile(
        &mut check,
        body.name.as_deref(),
        body.phone.as_deref(),
        body.department.as_deref(),
    );
    check.done()?;
    let expected = expected_version(&req, body.version)?;
    let before = st.user(&p.lab_id, &p.user_id).await?;
    check_version("account", before.version, expected)?;
    let mut user = before.clone();
    apply_profile(&mut user, body.name, body.phone, body.department);
    user.version = expected + 1;
    user.updated_at = now_rfc3339();
    let audit = AuditRecord::new(&p.lab_id, &p.user_id, action::USER_CHANGED, "success")
        .target(&p.user_id)
        .from_ip(req.source_ip.as_deref());
    store::save(&st, &before, &user, &audit, None).await?;
    Ok(Response::ok(&user.view()))
}

pub async fn change_password(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: PasswordChange = req.json_limited(8 * 1024)?;
    Check::default()
        .len("current_password", &body.current_password, 1, 1024)
        .len("new_password", &body.new_password, 1, 1024)
        .done()?;
    let mut user = st.user(&p.lab_id, &p.user_id).await?;
    check_policy("new_password", &body.new_password, &user.email)?;
    // A stolen access token must not buy unlimited guesses at the password: a wrong current
    // password is a failed login, under the same per-account throttle and lockout.
    throttle::hit(
        &st,
        "login-email",
        &token_hash(&user.email.trim().to_lowercase()),
        st.limits.per_email_per_minute,
        60,
    )
    .await?;
    let lock_active = user.status == UserStatus::Locked && user.locked_until.is_some_and(|until| until > now());
    if !st
        .hasher
        .verify(&body.current_password, user.password_hash.as_deref())
        .await?
    {
        let ip = req.source_ip.as_deref();
        crate::store::sessions::record_failure(&st, &user, ip).await;
        st.audit(
            AuditRecord::new(&p.lab_id, &p.user_id, action::PASSWORD_CHANGED, "failure")
                .from_ip(ip)
                .detail(json!({ "reason": "wrong current password" })),
        )
        .await;
        return Err(Problem::validation(vec![FieldError::field(
            "current_password",
            "mismatch",
            "current password is incorrect",
        )]));
    }
    if lock_active {
        return Err(Problem::new(
            403,
            "account_locked",
            "the account is locked after failed attempts; try again later or ask an administrator",
        ));
    }
    let before = user.clone();
    user.password_hash = Some(st.hasher.hash(&body.new_password).await?);
    user.version += 1;
    user.updated_at = now_rfc3339();
    let audit = AuditRecord::new(&p.lab_id, &p.user_id, action::PASSWORD_CHANGED, "success")
        .target(&p.user_id)
        .from_ip(req.source_ip.as_deref());
    let event = CloudEvent::new(
        "auth.password_changed",
        &p.lab_id,
        &format!("user/{}", p.user_id),
        &req.correlation_id,
        json!({ "user_id": p.user_id }),
    )
    .map_err(|_| Problem::internal())?;
    store::save(&st, &before, &user, &audit, Some(&event)).await?;
    st.revoke_sessions(&p.lab_id, &p.user_id, Some(&p.session_id)).await?;
    Ok(Response::new(204))
}
