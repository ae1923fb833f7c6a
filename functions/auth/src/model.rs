//! Labs, users and sessions: their items (docs/data-model.md keys), their client views, and the user
//! status machine.

use serde::{Deserialize, Serialize};
use tracseq_aws::store::{Item, StoreError, keyed_item, s};
use tracseq_core::Problem;
use tracseq_core::auth::Role;
use tracseq_core::keyed::lab_key;

pub use tracseq_core::now_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
    Locked,
    PendingVerification,
}

/// What can happen to an account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    /// An admin switches the account off.
    Disable,
    /// An admin switches it back on.
    Enable,
    /// An admin lifts a lockout.
    Unlock,
    /// Too many failed logins.
    Lock,
    /// The user set a password through a reset or invitation link.
    PasswordReset,
}

impl UserStatus {
    /// The status machine: the next status, or 409 naming the refused transition.
    pub fn apply(self, action: StatusAction) -> Result<UserStatus, Problem> {
        use StatusAction::*;
        use UserStatus::*;
        let next = match (self, action) {
            (Active | Locked | PendingVerification, Disable) => Some(Disabled),
            (Disabled, Enable) => Some(Active),
            (Locked, Unlock) => Some(Active),
            (Active, Lock) => Some(Locked),
            (Active | Locked | PendingVerification, PasswordReset) => Some(Active),
            _ => None,
        };
        next.ok_or_else(|| {
            Problem::conflict(
                "invalid_transition",
                format!("a {self:?} account cannot be {action:?}d").to_lowercase(),
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
            UserStatus::Locked => "locked",
            UserStatus::PendingVerification => "pending_verification",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub lab_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub failed_logins: u32,
    #[serde(default)]
    pub locked_until: Option<i64>,
    #[serde(default)]
    pub operator: bool,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A user as clients see it (never the hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub lab_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub platform_operator: bool,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            lab_id: u.lab_id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            status: u.status,
            department: u.department.clone(),
            phone: u.phone.clone(),
            platform_operator: u.operator,
            version: u.version,
            created_at: u.created_at.clone(),
            updated_at: u.updated_at.clone(),
        }
    }
}

pub fn user_pk(lab: &str) -> String {
    lab_key(lab, &[])
}
pub fn user_sk(id: &str) -> String {
    format!("USER#{id}")
}
pub fn email_pk(email: &str) -> String {
    format!("EMAIL#{}", email.to_lowercase())
}
pub const EMAIL_SK: &str = "EMAIL";

impl User {
    pub fn item(&self) -> Result<Item, StoreError> {
        let keys = [
            ("PK", user_pk(&self.lab_id)),
            ("SK", user_sk(&self.id)),
            ("GSI1PK", lab_key(&self.lab_id, &["USERS", self.role.as_str()])),
            ("GSI1SK", self.email.to_lowercase()),
        ];
        keyed_item(self, &keys, "user")
    }

    /// The email guard: unique across the deployment, the login lookup.
    pub fn email_guard(&self) -> Item {
        Item::from([
            ("PK".into(), s(email_pk(&self.email))),
            ("SK".into(), s(EMAIL_SK)),
            ("entity".into(), s("email_guard")),
            ("lab_id".into(), s(&self.lab_id)),
            ("user_id".into(), s(&self.id)),
        ])
    }

    pub fn view(&self) -> UserView {
        UserView::from(self)
    }

    /// An active administrator counts toward the lab's "at least one admin" rule.
    pub fn counts_as_admin(&self) -> bool {
        self.role == Role::LabAdministrator && self.status != UserStatus::Disabled
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lab {
    pub id: String,
    pub name: String,
    pub barcode_prefix: String,
    pub time_zone: String,
    /// Administrators that are not disabled; never below 1 (checked in every transaction
    /// that demotes, disables or deletes an administrator).
    #[serde(default)]
    pub admins: u32,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn lab_pk(lab: &str) -> String {
    lab_key(lab, &[])
}
pub const LAB_SK: &str = "LAB";

impl Lab {
    pub fn item(&self) -> Result<Item, StoreError> {
        let keys = [
            ("PK", lab_pk(&self.id)),
            ("SK", LAB_SK.to_owned()),
            ("GSI1PK", "LABS".to_owned()),
            ("GSI1SK", format!("{}#{}", self.created_at, self.id)),
        ];
        keyed_item(self, &keys, "lab")
    }

    /// The `lab.created` event, for the creation's transaction: the notification service
    /// gives the lab its default subscriptions when it hears of it (they are its records,
    /// so this service writes none of them).
    pub fn created_event_op(
        &self,
        table: &tracseq_aws::store::Table,
        admin_id: &str,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let event = tracseq_core::events::CloudEvent::new(
            "lab.created",
            &self.id,
            &format!("labs/{}", self.id),
            &self.id,
            serde_json::json!({ "lab_id": self.id, "name": self.name, "admin_id": admin_id }),
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        tracseq_aws::outbox::put_event_op(table, &event)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    pub id: String,
    pub lab_id: String,
    pub user_id: String,
    pub created_at: String,
    pub last_used_at: String,
    /// Epoch seconds; also the TTL.
    pub expires_at: i64,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub revoked: bool,
}

impl Session {
    pub fn item(&self) -> Result<Item, StoreError> {
        let keys = [
            ("PK", tracseq_aws::auth::session_pk(&self.id)),
            ("SK", tracseq_aws::auth::SESSION_SK.to_owned()),
            ("GSI1PK", sessions_of(&self.lab_id, &self.user_id)),
            ("GSI1SK", format!("SESSION#{}#{}", self.created_at, self.id)),
        ];
        keyed_item(self, &keys, "session")
    }
}

/// GSI1 partition of a user's sessions.
pub fn sessions_of(lab: &str, user: &str) -> String {
    lab_key(lab, &["USER", user])
}

#[cfg(test)]
mod tests {
    use super::StatusAction::*;
    use super::UserStatus::*;

    #[test]
    fn status_machine_table() {
        let all = [Active, Disabled, Locked, PendingVerification];
        let allowed = [
            (Active, Disable, Disabled),
            (Locked, Disable, Disabled),
            (PendingVerification, Disable, Disabled),
            (Disabled, Enable, Active),
            (Locked, Unlock, Active),
            (Active, Lock, Locked),
            (Active, PasswordReset, Active),
            (Locked, PasswordReset, Active),
            (PendingVerification, PasswordReset, Active),
        ];
        for from in all {
            for action in [Disable, Enable, Unlock, Lock, PasswordReset] {
                let want = allowed.iter().find(|(f, a, _)| *f == from && *a == action).map(|t| t.2);
                match (from.apply(action), want) {
                    (Ok(got), Some(w)) => assert_eq!(got, w, "{from:?} {action:?}"),
                    (Err(p), None) => assert_eq!(p.status, 409, "{from:?} {action:?}"),
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }
}
