//! `POST /api/audit/exports?{filters}&format=`: the audit record, with the filters its
//! list route takes, as CSV or XLSX through the platform's [`tracseq_aws::export`];
//! `GET /api/audit/exports/{id}` shows its progress and link. Lab administrators only, as
//! the list.

use super::audit_log::{AuditFilter, FILTERS, audit_filter, audit_page};
use crate::audit::AuditRecord;
use crate::state::AuthState;
use serde_json::Value;
use std::sync::Arc;
use tracseq_aws::export::{self, ExportSpec};
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::function::FunctionError;
use tracseq_core::http::{Request, Response};
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_core::sheet::Cell;

/// The list's name in export records.
pub const LIST: &str = "audit";

pub const HEADER: &[&str] = &[
    "id",
    "at",
    "actor",
    "action",
    "target",
    "outcome",
    "source_ip",
    "detail",
];

/// A record as one row of [`HEADER`]; the detail as compact JSON.
pub fn row(r: AuditRecord) -> Vec<Cell> {
    vec![
        Cell::from(r.id),
        Cell::from(r.at),
        Cell::from(r.actor),
        Cell::from(r.action),
        r.target.into(),
        Cell::from(r.outcome),
        r.source_ip.into(),
        r.detail.map(|d| d.to_string()).into(),
    ]
}

async fn rows(st: &AuthState, lab: &str, f: &AuditFilter, page: PageRequest) -> Result<Page<Vec<Cell>>, Problem> {
    Ok(audit_page(st, lab, f, &page).await?.map(row))
}

pub async fn start_export(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let format = export::format(&req)?;
    let filters = export::filters(&req, FILTERS);
    let f = audit_filter(&filters)?;
    let spec = ExportSpec {
        list: LIST,
        status_path: "/api/audit/exports/",
        header: HEADER,
        format,
        filters,
    };
    let lab = p.lab_id.clone();
    export::start(&st.exports, &p, spec, |page| rows(&st, &lab, &f, page)).await
}

pub async fn get_export(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    export::status(&st.exports, &p, LIST, req.path_param("id")?).await
}

/// The export worker (the platform's, over this list).
pub async fn work(st: Arc<AuthState>, event: Value) -> Result<Value, FunctionError> {
    export::work(
        "audit_export_worker",
        &st.exports,
        event,
        HEADER,
        audit_filter,
        |f, lab, page| {
            let st = st.clone();
            async move { rows(&st, &lab, &f, page).await }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_row_with_its_detail_as_json() {
        let record = AuditRecord::new("L", "u1", "login", "success").detail(serde_json::json!({"ip": "1.2.3.4"}));
        let cells = row(record);
        assert_eq!(cells.len(), HEADER.len());
        assert_eq!(cells[3], Cell::from("login"));
        assert_eq!(cells[7], Cell::from(r#"{"ip":"1.2.3.4"}"#));
    }
}
