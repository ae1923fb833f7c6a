//! Reading the audit record, and the public keys.

use crate::audit::AuditRecord;
use crate::state::AuthState;
use serde::Serialize;
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

fn time_param(req: &Request, name: &str) -> Result<Option<String>, Problem> {
    match req.query(name) {
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

/// Newest first, for one actor or the whole lab, between two times.
pub async fn list_audit(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let from = time_param(&req, "from")?.unwrap_or_else(|| "0000".into());
    let to = time_param(&req, "to")?
        .map(|t| format!("{t}~"))
        .unwrap_or_else(|| "9999".into());
    let actor = match req.query("actor") {
        Some(actor) if tracseq_core::keyed::is_valid_id(actor) => Some(actor),
        Some(actor) => {
            return Err(Problem::validation(vec![
                FieldError::field("actor", "id", "actor must be a user id").with_value(actor),
            ]));
        }
        None => None,
    };
    let records: AuditPage =
        crate::store::audit_log::page(&st, &p.lab_id, actor, req.query("action"), (&from, &to), &page).await?;
    Ok(Response::ok(&records))
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
