//! First-start seed of the local stack: a demo lab and the local-only platform admin
//! `admin@lab.local` / `admin123`. Built with the auth service's own model and hasher, so
//! the seed cannot drift from what the service reads; written in one transaction guarded
//! by the email guard item, so a second start changes nothing. Never part of the AWS
//! template.

use tracseq_auth::model::{Lab, User, UserStatus, now_rfc3339};
use tracseq_auth::password::Hasher;
use tracseq_aws::store::{StoreError, Table};
use tracseq_core::auth::Role;

pub const ADMIN_EMAIL: &str = "admin@lab.local";
pub const ADMIN_PASSWORD: &str = "admin123";
pub const DEMO_LAB_NAME: &str = "Demo Sequencing Lab";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("hashing the seed password failed: {0}")]
    Hash(String),
}

/// Seed unless already seeded. Returns the demo lab id when it created one.
pub async fn seed(table: &Table) -> Result<Option<String>, SeedError> {
    if table
        .get(
            &tracseq_auth::model::email_pk(ADMIN_EMAIL),
            tracseq_auth::model::EMAIL_SK,
        )
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let now = now_rfc3339();
    let lab = Lab {
        id: ulid::Ulid::new().to_string(),
        name: DEMO_LAB_NAME.into(),
        barcode_prefix: "DEMO".into(),
        time_zone: "UTC".into(),
        admins: 1,
        version: 1,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let hash = Hasher::shared(2)
        .hash(ADMIN_PASSWORD)
        .await
        .map_err(|p| SeedError::Hash(p.detail))?;
    let admin = User {
        id: ulid::Ulid::new().to_string(),
        lab_id: lab.id.clone(),
        email: ADMIN_EMAIL.into(),
        name: "Local Admin".into(),
        role: Role::LabAdministrator,
        status: UserStatus::Active,
        department: None,
        phone: None,
        password_hash: Some(hash),
        failed_logins: 0,
        locked_until: None,
        operator: true,
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    };
    let mut ops = vec![
        table.put_new_op(admin.email_guard())?,
        table.put_new_op(lab.item()?)?,
        table.put_new_op(admin.item()?)?,
    ];
    ops.extend(tracseq_events::handlers::subscriptions::default_ops(
        table, &lab.id, &admin.id,
    )?);
    match table.transact(ops).await {
        Ok(()) => Ok(Some(lab.id)),
        // Another runner seeded at the same moment: fine.
        Err(e) if e.is_condition_failure() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
