//! First-start seed of the local stack: a demo lab and the local-only platform admin
//! `admin@lab.local` / `admin123`. Written in one transaction guarded by the email guard
//! item, so a second start changes nothing. Never part of the AWS template.

use argon2::{Argon2, PasswordHasher, password_hash::SaltString};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracseq_aws::store::{StoreError, Table, n, s, to_item};

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

/// OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane); the auth service uses the same.
pub fn hash_password(password: &str) -> Result<String, SeedError> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| SeedError::Hash(e.to_string()))?;
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SeedError::Hash(e.to_string()))
}

/// Seed unless already seeded. Returns the demo lab id when it created one.
pub async fn seed(table: &Table) -> Result<Option<String>, SeedError> {
    let guard_pk = format!("EMAIL#{ADMIN_EMAIL}");
    if table.get(&guard_pk, "EMAIL").await?.is_some() {
        return Ok(None);
    }
    let lab = ulid::Ulid::new().to_string();
    let user = ulid::Ulid::new().to_string();
    let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
    let hash = tokio::task::spawn_blocking(|| hash_password(ADMIN_PASSWORD))
        .await
        .map_err(|e| SeedError::Hash(e.to_string()))??;
    let lab_item = HashMap::from([
        ("PK".to_owned(), s(format!("LAB#{lab}"))),
        ("SK".to_owned(), s("LAB")),
        ("GSI1PK".to_owned(), s("LABS")),
        ("GSI1SK".to_owned(), s(format!("{now}#{lab}"))),
        ("entity".to_owned(), s("lab")),
        ("id".to_owned(), s(&lab)),
        ("name".to_owned(), s(DEMO_LAB_NAME)),
        ("barcode_prefix".to_owned(), s("DEMO")),
        ("time_zone".to_owned(), s("UTC")),
        ("admins".to_owned(), n(1)),
        ("version".to_owned(), n(1)),
        ("created_at".to_owned(), s(&now)),
        ("updated_at".to_owned(), s(&now)),
    ]);
    let mut user_item = to_item(&serde_json::json!({
        "id": user, "lab_id": lab, "email": ADMIN_EMAIL, "name": "Local Admin",
        "role": "lab_administrator", "status": "active", "operator": true,
        "password_hash": hash, "failed_logins": 0, "version": 1,
        "created_at": now, "updated_at": now,
    }))?;
    user_item.insert("PK".into(), s(format!("LAB#{lab}")));
    user_item.insert("SK".into(), s(format!("USER#{user}")));
    user_item.insert("GSI1PK".into(), s(format!("LAB#{lab}#USERS#lab_administrator")));
    user_item.insert("GSI1SK".into(), s(ADMIN_EMAIL));
    user_item.insert("entity".into(), s("user"));
    let mut guard = HashMap::from([
        ("PK".to_owned(), s(guard_pk)),
        ("SK".to_owned(), s("EMAIL")),
        ("entity".to_owned(), s("email_guard")),
        ("lab_id".to_owned(), s(&lab)),
        ("user_id".to_owned(), s(&user)),
    ]);
    guard.insert("owner".into(), s(&user));
    let ops = vec![
        table.put_new_op(guard)?,
        table.put_new_op(lab_item)?,
        table.put_new_op(user_item)?,
    ];
    match table.transact(ops).await {
        Ok(()) => Ok(Some(lab)),
        // Another runner seeded at the same moment: fine.
        Err(e) if e.is_condition_failure() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
