//! The auth service's table access: every read and write of labs, users, sessions, reset
//! links, throttles and the audit record goes through here, so handlers hold no item, key
//! or transaction. The reads every handler shares are here, with the refusals a write can
//! meet; users, sessions, passwords, labs, the audit log and throttles have their modules.

pub mod audit_log;
pub mod labs;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod users;

use crate::audit::AuditRecord;
use crate::model::{EMAIL_SK, LAB_SK, Lab, User, email_pk, lab_pk, sessions_of, user_pk, user_sk};
use crate::state::AuthState;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use tracseq_aws::auth::{SESSION_SK, session_pk};
use tracseq_aws::store::{PageQuery, StoreError, from_item, n, s};
use tracseq_core::Problem;
use tracseq_core::pagination::PageRequest;

/// Emails are unique across the deployment; the answer does not say where it is used.
pub fn email_unavailable() -> Problem {
    Problem::conflict("email_unavailable", "this email cannot be used for a new account")
}

pub fn last_admin() -> Problem {
    Problem::conflict("last_admin", "a lab must keep at least one administrator")
}

impl AuthState {
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

    pub(crate) fn audit_op(&self, record: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
        self.table.put_new_op(record.item()?)
    }

    /// Change the lab's administrator count by `delta`, never to below one.
    fn admins_op(&self, lab: &str, delta: i64) -> Result<TransactWriteItem, StoreError> {
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
