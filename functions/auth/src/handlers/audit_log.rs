//! Reading the audit record, and the public keys.

use crate::audit::AuditRecord;
use crate::state::AuthState;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracseq_aws::jwt_keys::{self, Jwk};
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, header};
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type AuditPage = tracseq_core::pagination::Page<AuditRecord>;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwksView {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Jwk>,
}

/// The audit list's filters, as its query names them.
pub const FILTERS: &[&str] = &["actor", "action", "from", "to"];

/// What part of the record a list or an export reads: one actor or the whole lab, one
/// action or all, between two times (sort-key bounds).
#[derive(Debug, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: String,
    pub to: String,
}

fn time_param(f: &BTreeMap<String, String>, name: &str) -> Result<Option<String>, Problem> {
    match f.get(name) {
        None => Ok(None),
        Some(raw) => OffsetDateTime::parse(raw, &Rfc3339)
            .map(|t| t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
            .map_err(|_| {
                Problem::validation(vec![
                    FieldError::field(name, "date_time", "must be an RFC 3339 time, e.g. 2026-11-26T00:00:00Z")
                        .with_value(raw),
                ])
            }),
    }
}

/// The filters, each checked (422 naming the filter).
pub fn audit_filter(f: &BTreeMap<String, String>) -> Result<AuditFilter, Problem> {
    let from = time_param(f, "from")?.unwrap_or_else(|| "0000".into());
    let to = time_param(f, "to")?
        .map(|t| format!("{t}~"))
        .unwrap_or_else(|| "9999".into());
    let actor = match f.get("actor") {
        Some(actor) if tracseq_core::keyed::is_valid_id(actor) => Some(actor.clone()),
        Some(actor) => {
            return Err(Problem::validation(vec![
                FieldError::field("actor", "id", "actor must be a user id").with_value(actor),
            ]));
        }
        None => None,
    };
    Ok(AuditFilter {
        actor,
        action: f.get("action").cloned(),
        from,
        to,
    })
}

/// A page of the record `f` selects, newest first.
pub async fn audit_page(st: &AuthState, lab: &str, f: &AuditFilter, page: &PageRequest) -> Result<AuditPage, Problem> {
    crate::store::audit_log::page(st, lab, f.actor.as_deref(), f.action.as_deref(), (&f.from, &f.to), page).await
}

/// Newest first, for one actor or the whole lab, between two times.
pub async fn list_audit(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let f = audit_filter(&tracseq_aws::export::filters(&req, FILTERS))?;
    Ok(Response::ok(&audit_page(&st, &p.lab_id, &f, &page).await?))
}

pub async fn jwks(st: Arc<AuthState>, _req: Request) -> Result<Response, Problem> {
    let set = jwt_keys::load_public(&st.ssm, &st.issuer.config.keys)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "loading public keys failed");
            Problem::unavailable("keys are unavailable")
        })?;
    Ok(Response::ok(&set).with_header(header::CACHE_CONTROL, "public, max-age=300"))
}
