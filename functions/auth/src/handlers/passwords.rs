//! Forgotten passwords: a single-use reset token (1 hour) delivered by the notification
//! service. The token never enters the event history: it travels in an account-mail item
//! addressed to the account's own email (`tracseq_aws::account_mail`).

use super::Check;
use crate::audit::{AuditRecord, action};
use crate::model::{StatusAction, User, UserStatus, now_rfc3339};
use crate::password::check_policy;
use crate::state::{AuthState, now};
use crate::store::passwords::{self as store, ResetRefused};
use crate::store::throttle;
use crate::tokens::{new_refresh_token, token_hash};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::account_mail::{AccountMail, Purpose};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(min_length = 1, max_length = 512, pattern = r"\S")]
    pub token: String,
    #[schema(min_length = 1, max_length = 1024, pattern = r"\S")]
    pub new_password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub status: &'static str,
}

/// Create a reset (or invitation) token for `user` and have it mailed to the account's own
/// address. The token travels only in the account-mail item (see
/// `tracseq_aws::account_mail`), never in the event: subscribers of
/// `auth.password_reset_requested` learn that a link was sent, not the link.
pub async fn send_reset(st: &AuthState, user: &User, purpose: Purpose, ip: Option<&str>) -> Result<(), Problem> {
    let token = new_refresh_token()?;
    let expires = now() + st.limits.reset_ttl_secs;
    let mail = AccountMail {
        id: ulid::Ulid::new().to_string(),
        lab_id: user.lab_id.clone(),
        user_id: user.id.clone(),
        to: user.email.clone(),
        purpose,
        token,
        created_at: tracseq_core::events::event_time(time::OffsetDateTime::now_utc()),
        expires_at: expires,
    };
    let purpose_name = match purpose {
        Purpose::PasswordReset => "reset",
        Purpose::Invitation => "invitation",
    };
    let audit = AuditRecord::new(&user.lab_id, &user.id, action::PASSWORD_RESET_REQUESTED, "success")
        .target(&user.id)
        .from_ip(ip)
        .detail(json!({ "purpose": purpose_name }));
    let event = CloudEvent::new(
        "auth.password_reset_requested",
        &user.lab_id,
        &format!("user/{}", user.id),
        &audit.id,
        json!({ "user_id": user.id, "purpose": purpose_name, "expires_at": expires }),
    )
    .map_err(|_| Problem::internal())?;
    store::insert(st, &token_hash(&mail.token), &mail, &audit, &event).await
}

pub async fn forgot(st: Arc<AuthState>, req: Request) -> Result<Response, Problem> {
    let body: ForgotRequest = req.json_limited(4 * 1024)?;
    Check::default().len("email", &body.email, 1, 254).done()?;
    throttle::hit(
        &st,
        "forgot-ip",
        req.source_ip.as_deref().unwrap_or("unknown"),
        st.limits.per_ip_per_minute,
        60,
    )
    .await?;
    let email = body.email.trim().to_lowercase();
    throttle::hit(&st, "forgot-email", &token_hash(&email), 3, 60).await?;
    if let Some(user) = st
        .user_by_email(&email)
        .await?
        .filter(|u| u.status != UserStatus::Disabled)
    {
        send_reset(&st, &user, Purpose::PasswordReset, req.source_ip.as_deref()).await?;
    }
    // The same answer whether or not the email has an account.
    Ok(Response::json(202, &Accepted { status: "accepted" }))
}

pub async fn reset(st: Arc<AuthState>, req: Request) -> Result<Response, Problem> {
    let body: ResetRequest = req.json_limited(8 * 1024)?;
    Check::default()
        .len("token", &body.token, 1, 512)
        .len("new_password", &body.new_password, 1, 1024)
        .done()?;
    let invalid = || {
        Problem::bad_request(
            "invalid_reset_token",
            "the reset link is invalid, expired or already used",
        )
    };
    let hash = token_hash(&body.token);
    let (lab, user_id) = store::owner(&st, &hash).await?.ok_or_else(invalid)?;
    let before = st.user(&lab, &user_id).await.map_err(|_| invalid())?;
    check_policy("new_password", &body.new_password, &before.email)?;
    let mut user = before.clone();
    user.status = before
        .status
        .apply(StatusAction::PasswordReset)
        .map_err(|_| invalid())?;
    user.password_hash = Some(st.hasher.hash(&body.new_password).await?);
    user.failed_logins = 0;
    user.locked_until = None;
    user.version += 1;
    user.updated_at = now_rfc3339();
    let audit = AuditRecord::new(&user.lab_id, &user.id, action::PASSWORD_RESET, "success")
        .target(&user.id)
        .from_ip(req.source_ip.as_deref());
    let event = CloudEvent::new(
        "auth.password_changed",
        &user.lab_id,
        &format!("user/{}", user.id),
        &req.correlation_id,
        json!({ "user_id": user.id, "via": "reset" }),
    )
    .map_err(|_| Problem::internal())?;
    match store::complete(&st, &hash, &before, &user, &audit, &event).await? {
        Ok(()) => {}
        Err(ResetRefused::Used) => return Err(invalid()),
        Err(ResetRefused::Changed) => {
            return Err(Problem::conflict("version_conflict", "the account changed; retry"));
        }
    }
    st.revoke_sessions(&user.lab_id, &user.id, None).await?;
    Ok(Response::new(204))
}
