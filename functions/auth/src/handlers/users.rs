//! Managing a lab's users (administrators; principal investigators may read). Nobody
//! changes their own role or status, and a lab always keeps one administrator: every
//! transaction that takes an administrator away also decrements the lab's `admins`
//! counter on the condition that it stays at least one.

use super::Check;
use super::me::{apply_profile, check_phone, check_profile};
use crate::audit::{AuditRecord, action};
use crate::model::{StatusAction, User, UserStatus, UserView, now_rfc3339};
use crate::password::check_policy;
use crate::state::{AuthState, check_version, expected_version};
use crate::store::users as store;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::Problem;
use tracseq_core::auth::{Principal, Role};
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::Page;
use tracseq_core::pagination::PageRequest;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(max_length = 254, pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    pub email: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    pub role: Role,
    #[schema(max_length = 200)]
    pub department: Option<String>,
    #[schema(max_length = 32, pattern = "^[0-9 +().-]*$")]
    pub phone: Option<String>,
    /// An initial password; without one the account waits for the user to set one
    /// through the emailed link (`pending_verification`).
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    pub role: Option<Role>,
    #[schema(max_length = 200)]
    pub department: Option<String>,
    #[schema(max_length = 32, pattern = "^[0-9 +().-]*$")]
    pub phone: Option<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

pub type UserPage = tracseq_core::pagination::Page<UserView>;

fn not_yourself(what: &str) -> Problem {
    Problem::forbidden(format!("you cannot {what} your own account"))
}

pub async fn list_users(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let role = match req.query("role") {
        Some(r) => Some(serde_json::from_value::<Role>(json!(r)).map_err(|_| {
            Problem::validation(vec![
                tracseq_core::FieldError::field("role", "one_of", "unknown role").with_value(r),
            ])
        })?),
        None => None,
    };
    let status = match req.query("status") {
        Some(s) => Some(serde_json::from_value::<UserStatus>(json!(s)).map_err(|_| {
            Problem::validation(vec![
                tracseq_core::FieldError::field("status", "one_of", "unknown status").with_value(s),
            ])
        })?),
        None => None,
    };
    let users: Page<User> = store::list(&st, &p.lab_id, role, status, &page).await?;
    Ok(Response::ok(&users.map(|u| u.view())))
}

pub async fn get_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.user(&p.lab_id, req.path_param("id")?).await?.view()))
}

pub async fn create_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewUser = req.json()?;
    let mut check = Check::default();
    check
        .email("email", &body.email)
        .len("name", &body.name, 1, 200)
        .opt_len("department", body.department.as_deref(), 200);
    check_phone(&mut check, body.phone.as_deref());
    check.done()?;
    if let Some(pw) = &body.password {
        check_policy("password", pw, &body.email)?;
    }
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let now = now_rfc3339();
        let hash = match &body.password {
            Some(pw) => Some(st.hasher.hash(pw).await?),
            None => None,
        };
        let user = User {
            id: ulid::Ulid::new().to_string(),
            lab_id: p.lab_id.clone(),
            email: body.email.trim().to_lowercase(),
            name: body.name.trim().to_owned(),
            role: body.role,
            status: if hash.is_some() {
                UserStatus::Active
            } else {
                UserStatus::PendingVerification
            },
            department: body.department.clone(),
            phone: body.phone.clone(),
            password_hash: hash,
            failed_logins: 0,
            locked_until: None,
            operator: false,
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        };
        let audit = AuditRecord::new(&p.lab_id, &p.user_id, action::USER_CREATED, "success")
            .target(&user.id)
            .from_ip(req.source_ip.as_deref())
            .detail(json!({ "role": user.role }));
        store::insert(&st, &user, &audit).await?;
        if user.status == UserStatus::PendingVerification {
            super::passwords::send_reset(
                &st,
                &user,
                tracseq_aws::account_mail::Purpose::Invitation,
                req.source_ip.as_deref(),
            )
            .await?;
        }
        Ok(Response::created(&format!("/api/users/{}", user.id), &user.view()))
    })
    .await
}

pub async fn update_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?.to_owned();
    let body: UserPatch = req.json()?;
    let mut check = Check::default();
    check_profile(
        &mut check,
        body.name.as_deref(),
        body.phone.as_deref(),
        body.department.as_deref(),
    );
    check.done()?;
    let expected = expected_version(&req, body.version)?;
    let before = st.user(&p.lab_id, &id).await?;
    if body.role.is_some_and(|r| r != before.role) && id == p.user_id {
        return Err(not_yourself("change the role of"));
    }
    check_version("user", before.version, expected)?;
    let mut user = before.clone();
    if let Some(r) = body.role {
        user.role = r;
    }
    apply_profile(&mut user, body.name, body.phone, body.department);
    user.version = expected + 1;
    user.updated_at = now_rfc3339();
    let role_changed = user.role != before.role;
    let audit = AuditRecord::new(
        &p.lab_id,
        &p.user_id,
        if role_changed {
            action::ROLE_CHANGED
        } else {
            action::USER_CHANGED
        },
        "success",
    )
    .target(&id)
    .from_ip(req.source_ip.as_deref())
    .detail(json!({ "role": { "from": before.role, "to": user.role } }));
    store::save(&st, &before, &user, &audit, None).await?;
    if role_changed {
        // Tokens carry the role: make the user log in again to get the new one.
        st.revoke_sessions(&p.lab_id, &id, None).await?;
    }
    Ok(Response::ok(&user.view()))
}

pub async fn delete_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?.to_owned();
    if id == p.user_id {
        return Err(not_yourself("delete"));
    }
    let user = st.user(&p.lab_id, &id).await?;
    let audit = AuditRecord::new(&p.lab_id, &p.user_id, action::USER_DELETED, "success")
        .target(&id)
        .from_ip(req.source_ip.as_deref())
        .detail(json!({ "role": user.role }));
    store::delete(&st, &user, &audit).await?;
    st.revoke_sessions(&p.lab_id, &id, None).await?;
    Ok(Response::new(204))
}

async fn change_status(st: Arc<AuthState>, req: Request, p: Principal, act: StatusAction) -> Result<Response, Problem> {
    let id = req.path_param("id")?.to_owned();
    if id == p.user_id {
        return Err(not_yourself("change the status of"));
    }
    let before = st.user(&p.lab_id, &id).await?;
    let mut user = before.clone();
    user.status = before.status.apply(act)?;
    if act == StatusAction::Unlock {
        user.failed_logins = 0;
        user.locked_until = None;
    }
    user.version += 1;
    user.updated_at = now_rfc3339();
    let name = match act {
        StatusAction::Disable => action::USER_DISABLED,
        StatusAction::Enable => action::USER_ENABLED,
        _ => action::USER_UNLOCKED,
    };
    let audit = AuditRecord::new(&p.lab_id, &p.user_id, name, "success")
        .target(&id)
        .from_ip(req.source_ip.as_deref());
    store::save(&st, &before, &user, &audit, None).await?;
    if act == StatusAction::Disable {
        st.revoke_sessions(&p.lab_id, &id, None).await?;
    }
    Ok(Response::ok(&user.view()))
}

pub async fn disable_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    change_status(st, req, p, StatusAction::Disable).await
}

pub async fn enable_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    change_status(st, req, p, StatusAction::Enable).await
}

pub async fn unlock_user(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    change_status(st, req, p, StatusAction::Unlock).await
}
