//! The audit record: append-only (written with a not-exists condition, never updated or
//! deleted by any code path), partitioned by lab and month, and by actor on GSI1.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tracseq_aws::store::{Item, StoreError, keyed_item};
use tracseq_core::keyed::lab_key;

/// Actions the audit records (docs/domain.md: logins, failures, lockouts, password changes and
/// resets, user and role changes, token misuse).
pub mod action {
    pub const LOGIN: &str = "login";
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const LOCKOUT: &str = "lockout";
    pub const LOGOUT: &str = "logout";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const USER_CREATED: &str = "user_created";
    pub const USER_CHANGED: &str = "user_changed";
    pub const ROLE_CHANGED: &str = "role_changed";
    pub const USER_DISABLED: &str = "user_disabled";
    pub const USER_ENABLED: &str = "user_enabled";
    pub const USER_UNLOCKED: &str = "user_unlocked";
    pub const USER_DELETED: &str = "user_deleted";
    pub const LAB_CREATED: &str = "lab_created";
    pub const LAB_CHANGED: &str = "lab_changed";
    pub const TOKEN_MISUSE: &str = "token_misuse";
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: String,
    pub lab_id: String,
    pub at: String,
    /// The user who acted; `anonymous` before login succeeds.
    pub actor: String,
    pub action: String,
    /// What it was done to (a user id, a session id).
    pub target: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Where from (source IP).
    pub source_ip: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

impl AuditRecord {
    pub fn new(lab: &str, actor: &str, action: &str, outcome: &str) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            lab_id: lab.to_owned(),
            at: crate::model::now_rfc3339(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: None,
            outcome: outcome.to_owned(),
            source_ip: None,
            detail: None,
        }
    }

    pub fn target(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }

    pub fn from_ip(mut self, ip: Option<&str>) -> Self {
        self.source_ip = ip.map(str::to_owned);
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        let month = self.at.get(..7).unwrap_or("0000-00");
        let sk = format!("{}#{}", self.at, self.id);
        let keys = [
            ("PK", audit_month(&self.lab_id, month)),
            ("SK", sk.clone()),
            ("GSI1PK", lab_key(&self.lab_id, &["ACTOR", &self.actor])),
            ("GSI1SK", sk.clone()),
            ("GSI2PK", lab_key(&self.lab_id, &["AUDIT"])),
            ("GSI2SK", sk),
        ];
        keyed_item(self, &keys, "audit")
    }
}

pub fn audit_month(lab: &str, month: &str) -> String {
    lab_key(lab, &["AUDIT", month])
}

/// `yyyy-mm` of a timestamp.
pub fn month_of(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}
