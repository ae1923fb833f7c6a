//! Reset and invitation links in the table: the link's record (`RESET#{sha256}`, TTL) is
//! written with the account mail that carries the token, and used up by the reset that
//! changes the password.

use crate::audit::AuditRecord;
use crate::model::User;
use crate::state::AuthState;
use tracseq_aws::account_mail::AccountMail;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, n, s};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;

fn reset_pk(hash: &str) -> String {
    format!("RESET#{hash}")
}
const RESET_SK: &str = "RESET";

/// Store a reset link (by the hash of its token) for `mail`'s user, with the mail, the
/// audit record and the event.
pub async fn insert(
    st: &AuthState,
    token_hash: &str,
    mail: &AccountMail,
    audit: &AuditRecord,
    event: &CloudEvent,
) -> Result<(), Problem> {
    let reset = Item::from([
        ("PK".into(), s(reset_pk(token_hash))),
        ("SK".into(), s(RESET_SK)),
        ("entity".into(), s("password_reset")),
        ("lab_id".into(), s(&mail.lab_id)),
        ("user_id".into(), s(&mail.user_id)),
        ("expires_at".into(), n(mail.expires_at)),
    ]);
    st.table
        .transact(vec![
            st.table.put_new_op(reset)?,
            st.table.put_new_op(mail.item()?)?,
            st.audit_op(audit)?,
            put_event_op(&st.table, event)?,
        ])
        .await?;
    Ok(())
}

/// The `(lab, user)` a live reset link belongs to.
pub async fn owner(st: &AuthState, token_hash: &str) -> Result<Option<(String, String)>, Problem> {
    let Some(item) = st.table.get(&reset_pk(token_hash), RESET_SK).await? else {
        return Ok(None);
    };
    let field = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    Ok(Some((field("lab_id"), field("user_id"))))
}

/// How using a reset link can fail besides the store.
pub enum ResetRefused {
    /// The link was used (or expired) meanwhile.
    Used,
    /// The account changed meanwhile.
    Changed,
}

/// Use up the link and store `user` over `before`, with the audit record and event.
pub async fn complete(
    st: &AuthState,
    token_hash: &str,
    before: &User,
    user: &User,
    audit: &AuditRecord,
    event: &CloudEvent,
) -> Result<Result<(), ResetRefused>, Problem> {
    let ops = vec![
        // Single use: the delete must find the token.
        st.table.delete_op(&reset_pk(token_hash), RESET_SK)?,
        st.table.put_versioned_op(user.item()?, before.version)?,
        st.audit_op(audit)?,
        put_event_op(&st.table, event)?,
    ];
    match st.table.transact(ops).await {
        Ok(()) => Ok(Ok(())),
        Err(e) if e.failed_action() == Some(0) => Ok(Err(ResetRefused::Used)),
        Err(e) if e.failed_action() == Some(1) => Ok(Err(ResetRefused::Changed)),
        Err(e) => Err(e.into()),
    }
}
