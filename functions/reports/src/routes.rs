//! The reports route and the least role it needs: principal investigators and above.

use crate::model::ReportView;
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Method::*, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role};

const REPORT: &[ResponseSpec] = &[
    ResponseSpec::json(
        200,
        "The report's rows by period and dimensions",
        SchemaRef::of::<ReportView>(),
    ),
    ResponseSpec {
        status: 200,
        description: "The same rows as CSV (Accept: text/csv)",
        schema: None,
        media_type: "text/csv",
    },
    ResponseSpec {
        status: 200,
        description: "The same rows as an XLSX workbook (Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)",
        schema: None,
        media_type: crate::handlers::XLSX,
    },
];

pub static GET: RouteSpec = RouteSpec::new("reports_get", Get, "/api/reports/{name}", role(PrincipalInvestigator))
    .doc(
        "A report (received, status, turnaround, runs, qc, imports, occupancy) for a range of days, from pre-aggregated counters",
        "reports",
    )
    .query(&[
        QueryParam::text("from", "first day, YYYY-MM-DD (default: 30 days before to)"),
        QueryParam::text("to", "last day, YYYY-MM-DD (default: today, UTC)"),
        QueryParam::one_of(
            "group",
            "day (default), week or month; turnaround is per month",
            &["day", "week", "month"],
        ),
    ])
    .answers(REPORT);
