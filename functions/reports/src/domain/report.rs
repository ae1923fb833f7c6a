//! A report from stored counters: each counter summed into its period (day, ISO week or
//! month) and dimensions; turnaround histograms merged and read as median and p90; and
//! the same rows as CSV.

use super::fold::Metric;
use super::histogram::{self, Histogram};
use super::period::{Grouping, Range};
use std::collections::BTreeMap;
use time::Date;

/// One stored counter item: its day (or month, for turnaround; none for a running total),
/// its dimensions and its values (`h{bucket}` for a histogram's buckets).
#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub period: Option<Date>,
    pub dims: BTreeMap<String, String>,
    pub values: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub period: Option<Date>,
    pub dims: BTreeMap<String, String>,
    pub values: BTreeMap<String, f64>,
}

/// The prefix of a histogram bucket's value name.
pub const BUCKET: &str = "h";

/// A row's identity: its period and its dimensions in name order.
type RowKey = (Option<Date>, Vec<(String, String)>);

/// Rows of `metric` from its counters, grouped by `g` (statuses ignore it).
pub fn assemble(metric: Metric, counters: &[Counter], g: Grouping) -> Vec<Row> {
    let mut sums: BTreeMap<RowKey, BTreeMap<String, i64>> = BTreeMap::new();
    for c in counters {
        let period = c.period.map(|d| g.start(d));
        let key = (period, c.dims.clone().into_iter().collect());
        let into = sums.entry(key).or_default();
        for (k, v) in &c.values {
            *into.entry(k.clone()).or_default() += v;
        }
    }
    sums.into_iter()
        .filter_map(|((period, dims), values)| {
            let values = match metric {
                Metric::Turnaround => quantiles(&values)?,
                _ => {
                    let kept: BTreeMap<String, f64> = values
                        .into_iter()
                        .filter(|(_, v)| *v != 0)
                        .map(|(k, v)| (k, v as f64))
                        .collect();
                    if kept.is_empty() {
                        return None;
                    }
                    kept
                }
            };
            Some(Row {
                period,
                dims: dims.into_iter().collect(),
                values,
            })
        })
        .collect()
}

/// Occupancy by unit at the end of each period of `range` (`count`) and its change within
/// the period (`net`), from each unit's running total and its daily changes since the
/// first period began (`days` must reach today: later changes are taken back off the
/// total). A unit empty and unchanged in a period has no row for it.
pub fn occupancy(totals: &[Counter], days: &[Counter], range: Range, g: Grouping) -> Vec<Row> {
    /// A unit's running total and its daily changes.
    type History = (i64, Vec<(Date, i64)>);
    let mut units: BTreeMap<&str, History> = BTreeMap::new();
    for c in totals {
        if let Some(unit) = c.dims.get("unit") {
            units.entry(unit).or_default().0 += c.values.get("count").copied().unwrap_or(0);
        }
    }
    for c in days {
        if let (Some(unit), Some(day)) = (c.dims.get("unit"), c.period) {
            let net = c.values.get("net").copied().unwrap_or(0);
            units.entry(unit).or_default().1.push((day, net));
        }
    }
    let periods = range.periods(g);
    let mut rows = Vec::new();
    for (unit, (total, changes)) in units {
        for (i, start) in periods.iter().enumerate() {
            let next = periods.get(i + 1).copied();
            let ends_after = |d: Date| next.is_none_or(|n| d < n) && d >= *start;
            let end = next.map_or(range.to, |n| n.previous_day().unwrap_or(n)).min(range.to);
            let later: i64 = changes.iter().filter(|(d, _)| *d > end).map(|(_, n)| n).sum();
            let net: i64 = changes
                .iter()
                .filter(|(d, _)| ends_after(*d) && *d <= end)
                .map(|(_, n)| n)
                .sum();
            let count = total - later;
            if count != 0 || net != 0 {
                rows.push(Row {
                    period: Some(*start),
                    dims: BTreeMap::from([("unit".to_owned(), unit.to_owned())]),
                    values: BTreeMap::from([("count".to_owned(), count as f64), ("net".to_owned(), net as f64)]),
                });
            }
        }
    }
    rows.sort_by(|a, b| (a.period, &a.dims).cmp(&(b.period, &b.dims)));
    rows
}

/// Count, median and p90 (hours) of merged histogram buckets.
fn quantiles(values: &BTreeMap<String, i64>) -> Option<BTreeMap<String, f64>> {
    let h: Histogram = values
        .iter()
        .filter_map(|(k, v)| {
            let b = k.strip_prefix(BUCKET)?.parse::<u16>().ok()?;
            u64::try_from(*v).ok().filter(|n| *n > 0).map(|n| (b, n))
        })
        .collect();
    let count: u64 = h.values().sum();
    let hours = |q| histogram::quantile(&h, q).map(|s| (s / 3600.0 * 10.0).round() / 10.0);
    Some(BTreeMap::from([
        ("count".to_owned(), count as f64),
        ("median_hours".to_owned(), hours(0.5)?),
        ("p90_hours".to_owned(), hours(0.9)?),
    ]))
}

/// The columns of a tabular report: period, each dimension, each value (names sorted).
fn columns(rows: &[Row]) -> (Vec<&String>, Vec<&String>) {
    let mut dims: Vec<&String> = rows.iter().flat_map(|r| r.dims.keys()).collect();
    dims.sort();
    dims.dedup();
    let mut values: Vec<&String> = rows.iter().flat_map(|r| r.values.keys()).collect();
    values.sort();
    values.dedup();
    (dims, values)
}

/// The rows as CSV: period, each dimension, each value; a cell that a spreadsheet would
/// run as a formula is quoted with a leading apostrophe.
pub fn csv(rows: &[Row]) -> String {
    let (dims, values) = columns(rows);
    let mut out = String::from("period");
    for name in dims.iter().chain(values.iter()) {
        out.push(',');
        out.push_str(&cell(name));
    }
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.period.map(|d| d.to_string()).unwrap_or_default());
        for d in &dims {
            out.push(',');
            out.push_str(&cell(r.dims.get(*d).map(String::as_str).unwrap_or_default()));
        }
        for v in &values {
            out.push(',');
            out.push_str(&r.values.get(*v).map(|x| x.to_string()).unwrap_or_default());
        }
        out.push_str("\r\n");
    }
    out
}

/// The same table as an XLSX workbook of one sheet named after the report: periods as
/// dates, values as numbers, dimensions as text (a text cell is never run as a formula).
pub fn xlsx(metric: Metric, rows: &[Row]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let (dims, values) = columns(rows);
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    ws.set_name(metric.as_str())?;
    let headers = std::iter::once("period").chain(dims.iter().chain(values.iter()).map(|s| s.as_str()));
    for (c, name) in headers.enumerate() {
        ws.write_string_with_format(0, c as u16, name, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        if let Some(d) = r.period {
            let date = ExcelDateTime::from_ymd(d.year() as u16, u8::from(d.month()), d.day())?;
            ws.write_datetime_with_format(row, 0, &date, &day)?;
        }
        for (j, d) in dims.iter().enumerate() {
            if let Some(text) = r.dims.get(*d) {
                ws.write_string(row, j as u16 + 1, text)?;
            }
        }
        for (j, v) in values.iter().enumerate() {
            if let Some(x) = r.values.get(*v) {
                ws.write_number(row, (dims.len() + j) as u16 + 1, *x)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofit();
    wb.save_to_buffer()
}

fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn counter(day: Option<Date>, dims: &[(&str, &str)], values: &[(&str, i64)]) -> Counter {
        Counter {
            period: day,
            dims: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn days_sum_into_weeks_and_months() {
        let c = [
            counter(Some(date!(2026 - 11 - 30)), &[("project", "A")], &[("count", 2)]),
            counter(Some(date!(2026 - 12 - 04)), &[("project", "A")], &[("count", 3)]),
            counter(Some(date!(2026 - 12 - 04)), &[("project", "B")], &[("count", 1)]),
        ];
        let weeks = assemble(Metric::Received, &c, Grouping::Week);
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].period, Some(date!(2026 - 11 - 30)));
        assert_eq!(weeks[0].values["count"], 5.0);
        let months = assemble(Metric::Received, &c, Grouping::Month);
        assert_eq!(months[0].period, Some(date!(2026 - 11 - 01)));
        assert_eq!(months[1].values["count"], 3.0);
    }

    #[test]
    fn statuses_drop_what_nets_to_zero() {
        let c = [
            counter(None, &[("status", "pending")], &[("count", 0)]),
            counter(None, &[("status", "in_storage")], &[("count", 4)]),
        ];
        let rows = assemble(Metric::Status, &c, Grouping::Day);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].dims["status"], "in_storage");
    }

    #[test]
    fn turnaround_merges_buckets_into_median_and_p90() {
        let b = |secs: i64| format!("h{}", histogram::bucket(secs));
        let month = Some(date!(2026 - 12 - 01));
        let c = [
            counter(month, &[("project", "A")], &[(&b(3600), 5), (&b(36_000), 4)]),
            counter(month, &[("project", "A")], &[(&b(360_000), 1)]),
        ];
        let rows = assemble(Metric::Turnaround, &c, Grouping::Month);
        assert_eq!(rows[0].values["count"], 10.0);
        assert!(
            (rows[0].values["median_hours"] - 1.0).abs() < 0.1,
            "{:?}",
            rows[0].values
        );
        assert!((rows[0].values["p90_hours"] - 10.0).abs() < 0.6, "{:?}", rows[0].values);
    }

    fn unit(day: Option<Date>, unit: &str, name: &str, v: i64) -> Counter {
        Counter {
            period: day,
            dims: BTreeMap::from([("unit".to_owned(), unit.to_owned())]),
            values: BTreeMap::from([(name.to_owned(), v)]),
        }
    }

    #[test]
    fn occupancy_walks_back_from_the_running_total() {
        // U1 holds 10 now: +4 on Dec 1, +3 on Dec 8, -1 on Dec 20 (after the range).
        let totals = [unit(None, "U1", "count", 10), unit(None, "U2", "count", 0)];
        let days = [
            unit(Some(date!(2026 - 12 - 01)), "U1", "net", 4),
            unit(Some(date!(2026 - 12 - 08)), "U1", "net", 3),
            unit(Some(date!(2026 - 12 - 20)), "U1", "net", -1),
            unit(Some(date!(2026 - 12 - 02)), "U2", "net", 2),
            unit(Some(date!(2026 - 12 - 09)), "U2", "net", -2),
        ];
        let range = Range::new(date!(2026 - 11 - 30), date!(2026 - 12 - 13)).unwrap();
        let rows = occupancy(&totals, &days, range, Grouping::Week);
        let got: Vec<(Date, &str, f64, f64)> = rows
            .iter()
            .map(|r| {
                (
                    r.period.unwrap(),
                    r.dims["unit"].as_str(),
                    r.values["count"],
                    r.values["net"],
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (date!(2026 - 11 - 30), "U1", 8.0, 4.0),
                (date!(2026 - 11 - 30), "U2", 2.0, 2.0),
                (date!(2026 - 12 - 07), "U1", 11.0, 3.0),
                (date!(2026 - 12 - 07), "U2", 0.0, -2.0),
            ]
        );
    }

    #[test]
    fn xlsx_holds_the_same_table_with_dates_and_numbers() {
        use calamine::{Data, Reader, Xlsx};
        let rows = vec![Row {
            period: Some(date!(2026 - 11 - 30)),
            dims: BTreeMap::from([("project".to_owned(), "=HYPERLINK(1)".to_owned())]),
            values: BTreeMap::from([("count".to_owned(), 3.0)]),
        }];
        let bytes = xlsx(Metric::Received, &rows).unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("received").unwrap();
        let cells: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
        assert_eq!(
            cells[0],
            [
                Data::String("period".into()),
                Data::String("project".into()),
                Data::String("count".into())
            ]
        );
        assert!(matches!(cells[1][0], Data::DateTime(_)), "{:?}", cells[1][0]);
        // Text stays text: the formula is a string cell, never evaluated.
        assert_eq!(cells[1][1], Data::String("=HYPERLINK(1)".into()));
        assert_eq!(cells[1][2], Data::Float(3.0));
        assert!(
            book.worksheet_formula("received")
                .unwrap()
                .rows()
                .flatten()
                .all(|f| f.is_empty())
        );
    }

    #[test]
    fn csv_has_a_header_and_defuses_formulas() {
        let rows = [Row {
            period: Some(date!(2026 - 12 - 01)),
            dims: BTreeMap::from([("project".to_owned(), "=cmd|' /C calc'!A0".to_owned())]),
            values: BTreeMap::from([("count".to_owned(), 3.0)]),
        }];
        let text = csv(&rows);
        assert_eq!(text, "period,project,count\r\n2026-12-01,'=cmd|' /C calc'!A0,3\r\n");
        assert_eq!(cell("a,b"), "\"a,b\"");
    }
}
