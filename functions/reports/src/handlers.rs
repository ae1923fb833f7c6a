//! `GET /api/reports/{name}`: a report for a range and grouping, as JSON or (with
//! `Accept: text/csv`) CSV, read from the counters only.

use crate::domain::fold::Metric;
use crate::domain::period::{Grouping, Range, Span, spans};
use crate::domain::report::{Row, assemble, csv, occupancy, xlsx};
use crate::model::{ReportRow, ReportView};
use crate::state::ReportsState;
use crate::store;
use std::sync::Arc;
use time::format_description::well_known::Iso8601;
use time::{Date, Duration, OffsetDateTime};
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::problem::FieldError;

/// The XLSX media type (`Accept` asks for it).
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Without `from`, a report covers the 30 days up to `to` (today by default).
const DEFAULT_DAYS: i64 = 30;

fn date(req: &Request, name: &'static str, errors: &mut Vec<FieldError>) -> Option<Date> {
    let v = req.query(name)?;
    match Date::parse(v, &Iso8601::DATE) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::field(name, "format", "a date, YYYY-MM-DD"));
            None
        }
    }
}

fn rows(rows: Vec<Row>) -> Vec<ReportRow> {
    rows.into_iter()
        .map(|r| ReportRow {
            period: r.period.map(|d| d.to_string()),
            dims: r.dims,
            values: r.values,
        })
        .collect()
}

pub async fn get(st: Arc<ReportsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let name = req.path_param("name")?;
    let metric = Metric::parse(name).ok_or_else(|| Problem::not_found("report"))?;
    let mut errors = Vec::new();
    let today = OffsetDateTime::now_utc().date();
    let to = date(&req, "to", &mut errors).unwrap_or(today);
    let from = date(&req, "from", &mut errors).unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    let default_group = if metric == Metric::Turnaround { "month" } else { "day" };
    let group = req.query("group").unwrap_or(default_group);
    let grouping = group.parse::<Grouping>().unwrap_or_else(|e| {
        errors.push(FieldError::field("group", "one_of", e.to_string()));
        Grouping::Day
    });
    if metric == Metric::Turnaround && grouping != Grouping::Month {
        errors.push(FieldError::field(
            "group",
            "one_of",
            "turnaround is kept per month: group=month",
        ));
    }
    let range = Range::new(from, to).unwrap_or_else(|e| {
        errors.push(FieldError::field("from", "range", e.to_string()));
        Range { from, to }
    });
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let unavailable = |e| {
        tracing::error!(error = %e, "reading report counters failed");
        Problem::unavailable("reports are unavailable; retry shortly")
    };
    let totals = metric == Metric::Status;
    let read = |spans: Vec<Span>| {
        let st = st.clone();
        let lab = p.lab_id.clone();
        async move {
            let mut out = Vec::new();
            for span in spans {
                out.extend(store::counters(&st, &lab, metric, Some(span)).await?);
            }
            Ok::<_, tracseq_aws::store::StoreError>(out)
        }
    };
    let assembled = match metric {
        Metric::Status => assemble(
            metric,
            &store::counters(&st, &p.lab_id, metric, None)
                .await
                .map_err(unavailable)?,
            grouping,
        ),
        // Turnaround is kept per month as histograms, without rollups.
        Metric::Turnaround => {
            let span = Span {
                grain: Grouping::Day,
                from: grouping.start(range.from),
                to: range.to,
            };
            assemble(metric, &read(vec![span]).await.map_err(unavailable)?, grouping)
        }
        // Occupancy walks back from each unit's running total through every later change.
        Metric::Occupancy => {
            let now = store::counters(&st, &p.lab_id, metric, None)
                .await
                .map_err(unavailable)?;
            let until_today = Range {
                from: range.from,
                to: range.to.max(today),
            };
            let changes = read(spans(until_today, grouping)).await.map_err(unavailable)?;
            occupancy(&now, &changes, range, grouping)
        }
        _ => assemble(
            metric,
            &read(spans(range, grouping)).await.map_err(unavailable)?,
            grouping,
        ),
    };
    let accept = req.header("accept").unwrap_or_default();
    let stem = format!("{}-{}-{}", metric.as_str(), range.from, range.to);
    if accept.contains(XLSX) {
        let book = xlsx(metric, &assembled).map_err(|e| {
            tracing::error!(error = %e, "report workbook failed");
            Problem::internal()
        })?;
        return Ok(Response::download(book, XLSX, &format!("{stem}.xlsx")));
    }
    if accept.contains("text/csv") {
        return Ok(Response::download(
            csv(&assembled).into_bytes(),
            "text/csv; charset=utf-8",
            &format!("{stem}.csv"),
        ));
    }
    Ok(Response::ok(&ReportView {
        name: metric.as_str().to_owned(),
        from: (!totals).then(|| range.from.to_string()),
        to: (!totals).then(|| range.to.to_string()),
        group: (!totals).then(|| group.to_owned()),
        rows: rows(assembled),
    }))
}
