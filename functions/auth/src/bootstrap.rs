//! The deployment's first platform operator: a lab, its administrator with the operator
//! flag, and the lab's default subscriptions, in one transaction with a global guard item,
//! so it can happen once per deployment and never again.
//!
//! In AWS, `auth_bootstrap_operator` is invoked by hand after the first deploy
//! (docs/operations.md); the local runner's seed writes the same items.

use crate::handlers::Check;
use crate::model::{Lab, User, UserStatus, now_rfc3339};
use crate::password::{Hasher, check_policy};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use tracseq_aws::store::{StoreError, Table, s};
use tracseq_core::Problem;
use tracseq_core::auth::Role;
use tracseq_core::function::FunctionError;

/// The guard item: exists once the first operator does.
pub const GUARD_PK: &str = "BOOTSTRAP#OPERATOR";
pub const GUARD_SK: &str = "BOOTSTRAP";

/// The invocation event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstOperator {
    pub lab_name: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Created {
    pub lab_id: String,
    pub user_id: String,
    pub email: String,
}

/// The lab and its operator-administrator, with `hash` as the password hash.
pub fn records(lab_name: &str, email: &str, name: &str, hash: String, prefix: &str) -> (Lab, User) {
    let now = now_rfc3339();
    let lab = Lab {
        id: ulid::Ulid::new().to_string(),
        name: lab_name.trim().to_owned(),
        barcode_prefix: prefix.to_owned(),
        time_zone: "UTC".into(),
        admins: 1,
        version: 1,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let user = User {
        id: ulid::Ulid::new().to_string(),
        lab_id: lab.id.clone(),
        email: email.trim().to_lowercase(),
        name: name.trim().to_owned(),
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
    (lab, user)
}

/// The transaction: guard first (a lost guard means "already bootstrapped"), then the
/// email guard, lab, user and the lab's default subscriptions.
pub fn ops(table: &Table, lab: &Lab, user: &User) -> Result<Vec<TransactWriteItem>, StoreError> {
    let guard = std::collections::HashMap::from([
        ("PK".to_owned(), s(GUARD_PK)),
        ("SK".to_owned(), s(GUARD_SK)),
        ("entity".to_owned(), s("bootstrap")),
        ("lab_id".to_owned(), s(lab.id.as_str())),
        ("user_id".to_owned(), s(user.id.as_str())),
        ("created_at".to_owned(), s(lab.created_at.as_str())),
    ]);
    let mut ops = vec![
        table.put_new_op(guard)?,
        table.put_new_op(user.email_guard())?,
        table.put_new_op(lab.item()?)?,
        table.put_new_op(user.item()?)?,
    ];
    ops.push(lab.created_event_op(table, &user.id)?);
    Ok(ops)
}

/// Validate, hash and write. `AlreadyBootstrapped` when an operator was made before.
pub async fn run(table: &Table, hasher: &Hasher, req: &FirstOperator) -> Result<Created, FunctionError> {
    let invalid = |p: Problem| {
        let fields: Vec<String> = p
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field.as_deref().unwrap_or("body"), e.message))
            .collect();
        FunctionError::invalid_event(format!("{} {}", p.detail, fields.join("; ")))
    };
    let mut check = Check::default();
    check
        .len("lab_name", &req.lab_name, 1, 200)
        .len("name", &req.name, 1, 200)
        .email("email", &req.email);
    check.done().map_err(invalid)?;
    check_policy("password", &req.password, &req.email).map_err(invalid)?;
    let hash = hasher
        .hash(&req.password)
        .await
        .map_err(|p| FunctionError::transient(p.detail))?;
    let (lab, user) = records(&req.lab_name, &req.email, &req.name, hash, "OPS");
    match table
        .transact(ops(table, &lab, &user).map_err(FunctionError::transient)?)
        .await
    {
        Ok(()) => Ok(Created {
            lab_id: lab.id,
            user_id: user.id,
            email: user.email,
        }),
        Err(e) if e.failed_action() == Some(0) => Err(FunctionError::new(
            "AlreadyBootstrapped",
            "the first platform operator exists; create further labs and users through the API",
        )),
        Err(e) if e.failed_action() == Some(1) => Err(FunctionError::invalid_event("this email is already in use")),
        Err(e) => Err(FunctionError::transient(e)),
    }
}
