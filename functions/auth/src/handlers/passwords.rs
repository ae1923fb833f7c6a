//! Forgotten passwords: a single-use reset token (1 hour) delivered by the notification
//! service. The token never enters the event history: it travels in an account-mail item
//! addressed to the account's own email (`tracseq_aws::account_mail`).

use super::Check;
use crate::audit::{AuditRecord, action};
use crate::model::{StatusAction, User, UserStatus, now_rfc3339};
use crate::password::check_policy;
use crate::state::{AuthState, now};
use crate::throttle;
use crate::tokens::{new_refresh_token, token_hash};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::account_mail::{AccountMail, Purpose};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, n, s};
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

fn reset_pk(hash: &str) -> String {
    format!("RESET#{hash}")
}
const RESET_SK: &str = "RESET";

/// Create a reset (or invitation) token for `user` and have it mailed to the account's own
/// address. The token travels only in the account-mail item (see
/// `tracseq_aws::account_mail`), never in the event: subscribers of
/// `auth.password_reset_requested` learn that a link was sent, not the link.
pub async fn send_reset(st: &AuthState, user: &User, purpose: Purpose, ip: Option<&str>) -> Result<(), Problem> {
    let token = new_refresh_token()?;
    let expires = now() + st.limits.reset_ttl_secs;
    let reset = Item::from([
        ("PK".into(), s(reset_pk(&token_hash(&token)))),
        ("SK".into(), s(RESET_SK)),
        ("entity".into(), s("password_reset")),
        ("lab_id".into(), s(&user.lab_id)),
        ("user_id".into(), s(&user.id)),
        ("expires_at".into(), n(expires)),
    ]);
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
    st.table
        .transact(vec![
            st.table.put_new_op(reset)?,
            st.table.put_new_op(mail.item()?)?,
            st.audit_op(&audit)?,
            put_event_op(&st.table, &event)?,
        ])
        .await?;
    Ok(())
}

pub async fn forgot(st: Arc<AuthState>, req: Request) -> Result<Response, Problem> {
    let body: ForgotRequest = req.json_limited(4 * 1024)?;
    Check::default().len("email", &body.email, 1, 254).done()?;
    throttle::hit(
        &st.table,
        "forgot-ip",
        req.source_ip.as_deref().unwrap_or("unknown"),
        st.limits.per_ip_per_minute,
        60,
    )
    .await?;
    let email = body.email.trim().to_lowercase();
    throttle::hit(&st.table, "forgot-email", &token_hash(&email), 3, 60).await?;
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
    let pk = reset_pk(&token_hash(&body.token));
    let item = st.table.get(&pk, RESET_SK).await?.ok_or_else(invalid)?;
    let field = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let before = st
        .user(&field("lab_id"), &field("user_id"))
        .await
        .map_err(|_| invalid())?;
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
    let ops = vec![
        // Single use: the delete must find the token.
        st.table.delete_op(&pk, RESET_SK)?,
        st.table.put_versioned_op(user.item()?, before.version)?,
        st.audit_op(&audit)?,
        put_event_op(&st.table, &event)?,
    ];
    match st.table.transact(ops).await {
        Ok(()) => {}
        Err(e) if e.failed_action() == Some(0) => return Err(invalid()),
        Err(e) if e.failed_action() == Some(1) => {
            return Err(Problem::conflict("version_conflict", "the account changed; retry"));
        }
        Err(e) => return Err(e.into()),
    }
    st.revoke_sessions(&user.lab_id, &user.id, None).await?;
    Ok(Response::new(204))
}
