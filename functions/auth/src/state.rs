//! What every auth function is built with, once per container, and the store operations
//! the handlers share.

use crate::audit::AuditRecord;
use crate::model::{EMAIL_SK, LAB_SK, Lab, User, email_pk, lab_pk, sessions_of, user_pk, user_sk};
use crate::password::Hasher;
use crate::tokens::Issuer;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use std::sync::Arc;
use tracseq_aws::auth::{Auth, SESSION_SK, TokenConfig, session_pk};
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::{PageQuery, StoreError, Table, from_item, n, now_epoch, s};
use tracseq_aws::{Init, InitError};
use tracseq_core::Problem;
use tracseq_core::pagination::PageRequest;

/// Login protection settings (template environment; defaults as the README's security model states).
#[derive(Debug, Clone)]
pub struct Limits {
    pub per_email_per_minute: u32,
    pub per_ip_per_minute: u32,
    pub lockout_after: u32,
    pub lockout_secs: i64,
    pub reset_ttl_secs: i64,
}

pub struct AuthState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub issuer: Issuer,
    pub hasher: Hasher,
    pub idem: IdempotencyStore,
    pub limits: Limits,
    pub ssm: aws_sdk_ssm::Client,
}

impl AuthState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        let config = TokenConfig::from_init(init)?;
        let ssm = aws_sdk_ssm::Client::new(&init.aws);
        let ttls = (
            env.parse_or("ACCESS_TOKEN_TTL", 900)?,
            env.parse_or("REFRESH_TOKEN_TTL", 30 * 86400)?,
        );
        let max_age = std::time::Duration::from_secs(env.parse_or("SIGNING_KEYS_MAX_AGE_SECS", 300)?);
        let issuer = Issuer::new(config, ssm.clone(), ttls, max_age);
        let limits = Limits {
            per_email_per_minute: env.parse_or("LOGIN_LIMIT_PER_EMAIL", 10)?,
            per_ip_per_minute: env.parse_or("LOGIN_LIMIT_PER_IP", 60)?,
            lockout_after: env.parse_or("LOCKOUT_THRESHOLD", 5)?,
            lockout_secs: env.parse_or("LOCKOUT_SECONDS", 900)?,
            reset_ttl_secs: env.parse_or("PASSWORD_RESET_TTL", 3600)?,
        };
        let hasher = Hasher::shared(env.parse_or("HASH_CONCURRENCY", 2)?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            issuer,
            hasher,
            limits,
            ssm,
        }))
    }

    pub async fn lab(&self, lab: &str) -> Result<Lab, Problem> {
        self.table
            .get_as::<Lab>(&lab_pk(lab), LAB_SK)
            .await?
            .ok_or_else(|| Problem::not_found("lab"))
    }

    /// A user of `lab`; another lab's user is as absent as a missing one.
    pub async fn user(&self, lab: &str, id: &str) -> Result<User, Problem> {
        if !tracseq_core::keyed::is_valid_id(id) {
            return Err(Problem::not_found("user"));
        }
        self.table
            .get_as::<User>(&user_pk(lab), &user_sk(id))
            .await?
            .ok_or_else(|| Problem::not_found("user"))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, Problem> {
        let Some(guard) = self.table.get(&email_pk(email), EMAIL_SK).await? else {
            return Ok(None);
        };
        let field = |k: &str| guard.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        Ok(self
            .table
            .get_as::<User>(&user_pk(&field("lab_id")), &user_sk(&field("user_id")))
            .await?)
    }

    /// Append an audit record on its own (for events with no other write).
    pub async fn audit(&self, record: AuditRecord) {
        let put = match record.item() {
            Ok(item) => self.table.put_new(item).await,
            Err(e) => Err(e),
        };
        if let Err(e) = put {
            tracing::error!(error = %e, action = %record.action, "audit record not written");
        }
    }

    pub fn audit_op(&self, record: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
        self.table.put_new_op(record.item()?)
    }

    /// Change the lab's administrator count by `delta`, never to below one.
    pub fn admins_op(&self, lab: &str, delta: i64) -> Result<TransactWriteItem, StoreError> {
        let mut u = Update::builder()
            .table_name(&self.table.name)
            .key("PK", s(lab_pk(lab)))
            .key("SK", s(LAB_SK))
            .update_expression("ADD admins :d")
            .expression_attribute_values(":d", n(delta));
        u = if delta < 0 {
            u.condition_expression("admins > :one")
                .expression_attribute_values(":one", n(1))
        } else {
            u.condition_expression("attribute_exists(PK)")
        };
        Ok(TransactWriteItem::builder()
            .update(u.build().map_err(|e| StoreError::Invalid(e.to_string()))?)
            .build())
    }

    pub async fn revoke_session(&self, sid: &str) -> Result<(), StoreError> {
        self.table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("PK", s(session_pk(sid)))
            .key("SK", s(SESSION_SK))
            .update_expression("SET revoked = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Revoke every live session of a user, but `keep`.
    pub async fn revoke_sessions(&self, lab: &str, user: &str, keep: Option<&str>) -> Result<usize, Problem> {
        let partition = sessions_of(lab, user);
        let mut page = PageRequest::first(100);
        let mut revoked = 0;
        loop {
            let out = self
                .table
                .query_page(&PageQuery::of(&partition).on_index("GSI1"), &page)
                .await?;
            for item in out.items {
                let session: crate::model::Session = from_item(item)?;
                if !session.revoked && Some(session.id.as_str()) != keep {
                    self.revoke_session(&session.id).await?;
                    revoked += 1;
                }
            }
            match out.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(revoked),
            }
        }
    }
}

pub use tracseq_core::http::{check_version, expected_version};

pub fn now() -> i64 {
    now_epoch()
}
