//! First-start seed of the local stack: a demo lab and the local-only platform admin
//! `admin@lab.local` / `admin123`. The same records and transaction as the deployment's
//! first operator in AWS ([`tracseq_auth::bootstrap`]), only with a password the policy
//! would refuse (local only); a second start changes nothing.

use tracseq_auth::bootstrap;
use tracseq_auth::password::Hasher;
use tracseq_aws::store::{StoreError, Table};

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
    let hash = Hasher::shared(2)
        .hash(ADMIN_PASSWORD)
        .await
        .map_err(|p| SeedError::Hash(p.detail))?;
    let (lab, admin) = bootstrap::records(DEMO_LAB_NAME, ADMIN_EMAIL, "Local Admin", hash, "DEMO");
    let ops = bootstrap::ops(table, &lab, &admin)?;
    match table.transact(ops).await {
        Ok(()) => Ok(Some(lab.id)),
        // Another runner seeded at the same moment: fine.
        Err(e) if e.is_condition_failure() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
