//! What a report answers.

use serde::Serialize;
use std::collections::BTreeMap;

/// A report over a range of days, grouped by period and dimensions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    /// `received`, `status`, `turnaround`, `runs`, `qc`, `imports` or `occupancy`.
    pub name: String,
    /// `YYYY-MM-DD`; absent for `status`, which is the count now.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `day`, `week` (ISO, Monday first) or `month`.
    pub group: Option<String>,
    pub rows: Vec<ReportRow>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// The first day of the period; absent for running totals.
    pub period: Option<String>,
    /// Dimension values (`sample_type`, `project`, `priority`, `status`, `outcome`,
    /// `platform`, `verdict`, `unit`); `unspecified` when an event did not carry one.
    pub dims: BTreeMap<String, String>,
    /// `count` (and `rows`, `errors` for imports; `median_hours`, `p90_hours` for
    /// turnaround; `net`, the change within the period, for occupancy).
    pub values: BTreeMap<String, f64>,
}
