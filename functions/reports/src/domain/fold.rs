//! What one event adds to the reports: counter increments per day (or to a running total)
//! and turnaround observations per month. Folding is pure and order-free, so the counters
//! equal a recount from the raw records whatever order events arrive in, as long as each
//! event is folded once (the consumer records the event id in the same transaction).

use super::histogram;
use serde_json::Value;
use time::{Date, OffsetDateTime, format_description::well_known::Rfc3339};

/// A dimension value an event did not carry.
pub const UNSPECIFIED: &str = "unspecified";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Samples registered, by type and project, per day.
    Received,
    /// Samples in each status now (a running total).
    Status,
    /// Received → in sequencing, by project and priority, per month (a histogram).
    Turnaround,
    /// Runs started, completed and failed, per day.
    Runs,
    /// QC verdicts by platform, per day.
    Qc,
    /// Imports by outcome with their rows and row errors, per day.
    Imports,
    /// Positions taken in each storage unit: the net change per day and the running total.
    Occupancy,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Self::Received,
        Self::Status,
        Self::Turnaround,
        Self::Runs,
        Self::Qc,
        Self::Imports,
        Self::Occupancy,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Status => "status",
            Self::Turnaround => "turnaround",
            Self::Runs => "runs",
            Self::Qc => "qc",
            Self::Imports => "imports",
            Self::Occupancy => "occupancy",
        }
    }
}

/// One event as the consumer reads it (type without the `tracseq.` prefix).
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub kind: &'a str,
    pub time: OffsetDateTime,
    pub data: &'a Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub metric: Metric,
    /// The day it counts on, or None for a running total.
    pub day: Option<Date>,
    /// Dimension name and value pairs, in a fixed order per metric.
    pub dims: Vec<(&'static str, String)>,
    pub counter: &'static str,
    pub delta: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub metric: Metric,
    /// The first day of the month it was observed in.
    pub month: Date,
    pub dims: Vec<(&'static str, String)>,
    pub bucket: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub increments: Vec<Increment>,
    pub observations: Vec<Observation>,
}

fn text(data: &Value, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(UNSPECIFIED)
        .to_owned()
}

fn count(data: &Value, key: &str) -> i64 {
    data.get(key).and_then(Value::as_i64).unwrap_or(0)
}

impl Effects {
    fn add(
        &mut self,
        metric: Metric,
        day: Option<Date>,
        dims: Vec<(&'static str, String)>,
        counter: &'static str,
        delta: i64,
    ) {
        if delta != 0 {
            self.increments.push(Increment {
                metric,
                day,
                dims,
                counter,
                delta,
            });
        }
    }
}

/// The effects of one event; events the reports do not count have none.
pub fn fold(e: &Event) -> Effects {
    let mut out = Effects::default();
    let day = Some(e.time.date());
    let d = e.data;
    match e.kind {
        "sample.created" => {
            let dims = vec![("sample_type", text(d, "sample_type")), ("project", text(d, "project"))];
            out.add(Metric::Received, day, dims, "count", 1);
            out.add(Metric::Status, None, vec![("status", text(d, "status"))], "count", 1);
        }
        "sample.status_changed" => {
            out.add(Metric::Status, None, vec![("status", text(d, "from"))], "count", -1);
            out.add(Metric::Status, None, vec![("status", text(d, "to"))], "count", 1);
            let received = d
                .get("received_at")
                .and_then(Value::as_str)
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            if let (Some("in_sequencing"), Some(received)) = (d.get("to").and_then(Value::as_str), received) {
                let secs = (e.time - received).whole_seconds();
                out.observations.push(Observation {
                    metric: Metric::Turnaround,
                    month: e.time.date().replace_day(1).unwrap_or(e.time.date()),
                    dims: vec![("project", text(d, "project")), ("priority", text(d, "priority"))],
                    bucket: histogram::bucket(secs),
                });
            }
        }
        "run.started" | "sequencing.run_completed" | "run.failed" => {
            let outcome = match e.kind {
                "run.started" => "started",
                "run.failed" => "failed",
                _ => "completed",
            };
            out.add(Metric::Runs, day, vec![("outcome", outcome.to_owned())], "count", 1);
        }
        "sequencing.qc_recorded" => {
            let dims = vec![("platform", text(d, "instrument")), ("verdict", text(d, "verdict"))];
            out.add(Metric::Qc, day, dims, "count", 1);
        }
        "import.completed" | "import.failed" if d.get("dry_run").and_then(Value::as_bool) != Some(true) => {
            let outcome = if e.kind == "import.completed" {
                "completed"
            } else {
                "failed"
            };
            let dims = || vec![("outcome", outcome.to_owned())];
            out.add(Metric::Imports, day, dims(), "count", 1);
            out.add(Metric::Imports, day, dims(), "rows", count(d, "rows_total"));
            out.add(Metric::Imports, day, dims(), "errors", count(d, "errors_total"));
        }
        "sample.stored" | "sample.moved" | "sample.disposed" | "sample.released" => {
            // A position is taken from its placement until it is freed (a checked-out
            // sample keeps its position, so a retrieval changes nothing); a return to
            // another position frees one and takes the other.
            for (place, delta) in [("from", -1), ("to", 1)] {
                if let Some(unit) = d.get(place).and_then(|p| p.get("unit_id")).and_then(Value::as_str) {
                    let dims = || vec![("unit", unit.to_owned())];
                    out.add(Metric::Occupancy, day, dims(), "net", delta);
                    out.add(Metric::Occupancy, None, dims(), "count", delta);
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    fn fold_at(kind: &str, data: Value) -> Effects {
        fold(&Event {
            kind,
            time: datetime!(2026-12-04 10:00 UTC),
            data: &data,
        })
    }

    #[test]
    fn positions_taken_and_freed_move_each_units_occupancy() {
        let placed = fold_at(
            "sample.stored",
            json!({"action": "placed", "from": null, "to": {"unit_id": "U1"}}),
        );
        let nets: Vec<(i64, Option<Date>)> = placed.increments.iter().map(|i| (i.delta, i.day)).collect();
        assert_eq!(nets, [(1, Some(datetime!(2026-12-04 10:00 UTC).date())), (1, None)]);
        let moved = fold_at(
            "sample.moved",
            json!({"from": {"unit_id": "U1"}, "to": {"unit_id": "U2"}}),
        );
        let by_unit: Vec<(String, &str, i64)> = moved
            .increments
            .iter()
            .map(|i| (i.dims[0].1.clone(), i.counter, i.delta))
            .collect();
        assert_eq!(
            by_unit,
            [
                ("U1".into(), "net", -1),
                ("U1".into(), "count", -1),
                ("U2".into(), "net", 1),
                ("U2".into(), "count", 1)
            ]
        );
        // A retrieval keeps the position; an event from before units were recorded counts nothing.
        assert!(
            fold_at("sample.retrieved", json!({"from": {"unit_id": "U1"}}))
                .increments
                .is_empty()
        );
        assert!(
            fold_at("sample.disposed", json!({"from": {"location_id": "B"}}))
                .increments
                .is_empty()
        );
    }

    #[test]
    fn a_new_sample_counts_as_received_and_in_its_status() {
        let e = fold_at(
            "sample.created",
            json!({"sample_type": "DNA", "project": "ONC", "status": "pending"}),
        );
        assert_eq!(e.increments.len(), 2);
        assert_eq!(e.increments[0].metric, Metric::Received);
        assert_eq!(
            e.increments[0].dims,
            vec![("sample_type", "DNA".to_owned()), ("project", "ONC".to_owned())]
        );
        assert_eq!(e.increments[1].day, None, "statuses are a running total");
        let bare = fold_at("sample.created", json!({"status": "pending"}));
        assert_eq!(bare.increments[0].dims[1].1, UNSPECIFIED);
    }

    #[test]
    fn reaching_sequencing_observes_the_turnaround() {
        let e = fold_at(
            "sample.status_changed",
            json!({"from": "in_storage", "to": "in_sequencing", "received_at": "2026-12-01T10:00:00Z", "project": "ONC", "priority": "high"}),
        );
        let moves: Vec<i64> = e.increments.iter().map(|i| i.delta).collect();
        assert_eq!(moves, vec![-1, 1]);
        assert_eq!(e.observations.len(), 1);
        let o = &e.observations[0];
        assert_eq!(o.bucket, histogram::bucket(3 * 86_400));
        assert_eq!(o.month, time::macros::date!(2026 - 12 - 01));
        let other = fold_at("sample.status_changed", json!({"from": "pending", "to": "validated"}));
        assert!(other.observations.is_empty());
    }

    #[test]
    fn dry_runs_and_unknown_events_count_nothing() {
        assert_eq!(
            fold_at("import.completed", json!({"dry_run": true, "rows_total": 5})),
            Effects::default()
        );
        assert_eq!(fold_at("auth.login_failed", json!({})), Effects::default());
        let real = fold_at(
            "import.failed",
            json!({"dry_run": false, "rows_total": 20, "errors_total": 3}),
        );
        let by: BTreeMap<&str, i64> = real.increments.iter().map(|i| (i.counter, i.delta)).collect();
        assert_eq!(by, BTreeMap::from([("count", 1), ("rows", 20), ("errors", 3)]));
    }

    #[test]
    fn folding_is_order_free() {
        let events = [
            ("sample.created", json!({"status": "pending"})),
            ("sample.status_changed", json!({"from": "pending", "to": "validated"})),
            (
                "sample.status_changed",
                json!({"from": "validated", "to": "in_storage"}),
            ),
        ];
        let total = |order: &[usize]| {
            let mut by: BTreeMap<String, i64> = BTreeMap::new();
            for &i in order {
                for inc in fold_at(events[i].0, events[i].1.clone()).increments {
                    if inc.metric == Metric::Status {
                        *by.entry(inc.dims[0].1.clone()).or_default() += inc.delta;
                    }
                }
            }
            by.retain(|_, v| *v != 0);
            by
        };
        assert_eq!(total(&[0, 1, 2]), total(&[2, 0, 1]));
        assert_eq!(total(&[0, 1, 2]), BTreeMap::from([("in_storage".to_owned(), 1)]));
    }
}
