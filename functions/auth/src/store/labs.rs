//! Labs in the table: a new lab arrives with its first administrator, both audit records
//! and the `lab.created` event in one transaction.

use super::email_unavailable;
use crate::audit::AuditRecord;
use crate::model::{Lab, User};
use crate::state::AuthState;
use tracseq_core::Problem;

/// Store a new lab with its administrator and audit records; a taken email is a 409.
pub async fn insert(st: &AuthState, lab: &Lab, admin: &User, audits: &[AuditRecord]) -> Result<(), Problem> {
    let mut ops = vec![
        st.table.put_new_op(admin.email_guard())?,
        st.table.put_new_op(lab.item()?)?,
        st.table.put_new_op(admin.item()?)?,
    ];
    for a in audits {
        ops.push(st.audit_op(a)?);
    }
    // Every lab starts with its alerts, outcomes and reset links (docs/domain.md,
    // Notifications): the notification service writes them when it hears of the lab.
    ops.push(lab.created_event_op(&st.table, &admin.id)?);
    match st.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(0) => Err(email_unavailable()),
        Err(e) => Err(e.into()),
    }
}

/// Store `lab` over the version `expected`, with the audit record.
pub async fn save(st: &AuthState, lab: &Lab, expected: u64, audit: &AuditRecord) -> Result<(), Problem> {
    match st
        .table
        .transact(vec![
            st.table.put_versioned_op(lab.item()?, expected)?,
            st.audit_op(audit)?,
        ])
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(0) => Err(Problem::conflict(
            "version_conflict",
            "the lab changed; reload and retry",
        )),
        Err(e) => Err(e.into()),
    }
}
