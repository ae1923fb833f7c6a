//! The partitions of one lab, found by key, so that an export reads them with Query and
//! never scans the table (the export worker's role may not Scan).
//!
//! Every lab partition key starts with `LAB#{lab}` (docs/data-model.md). They are found:
//! - the root collection `LAB#{lab}` itself, whose items name more partitions: template
//!   versions (`TEMPLATE#`), a webhook's deliveries (`WEBHOOK#`), a user's inbox
//!   (`USER#`), a subscription's digest (`SUB#`);
//! - by date, from the lab's creation to today: audit months and event days;
//! - by the lab's list indexes, whose items carry their own `PK`: samples by month,
//!   libraries, pools, jobs, runs, imports, storage operations, and the location tree
//!   (walked from its roots); items with a `barcode` name their barcode guard;
//! - the channel delivery logs, one per channel kind.
//!
//! Idempotency records and the old secret deliveries are left out by design (an export
//! never carries them), so they are not looked for.

use crate::dynamo_json::Item;
use crate::error::OpsError;
use std::collections::BTreeSet;
use time::{Date, Duration, OffsetDateTime};
use tracseq_aws::store::Table;
use tracseq_core::keyed::lab_key;

/// Channel kinds with a delivery log partition (`LAB#{lab}#CHANNEL#{kind}`).
const CHANNEL_KINDS: &[&str] = &["email", "sms", "slack", "teams", "in_app"];

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// The days from `from` to `to`, both included.
pub fn days(from: Date, to: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d += Duration::days(1);
    }
    out
}

/// `yyyy-mm` of every month from `from` to `to`.
pub fn months(from: Date, to: Date) -> Vec<String> {
    let mut out: Vec<String> = days(from, to).iter().map(|d| month(*d)).collect();
    out.dedup();
    out
}

fn month(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

fn day(d: Date) -> String {
    format!("{month}-{:02}", d.day(), month = month(d))
}

/// The partitions the root collection's items name.
pub fn named_by_root(root: &str, items: &[Item]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for item in items {
        let sk = attr(item, "SK").unwrap_or_default();
        let named = [
            ("TEMPLATE#", "#TEMPLATE#", ""),
            ("WEBHOOK#", "#WEBHOOK#", ""),
            ("USER#", "#USER#", "#INBOX"),
            ("SUB#", "#DIGEST#", ""),
        ];
        for (prefix, infix, suffix) in named {
            if let Some(id) = sk.strip_prefix(prefix) {
                out.insert(format!("{root}{infix}{id}{suffix}"));
            }
        }
    }
    for kind in CHANNEL_KINDS {
        out.insert(format!("{root}#CHANNEL#{kind}"));
    }
    out
}

/// Every partition of the lab, sorted.
pub async fn of_lab(table: &Table, lab: &str) -> Result<BTreeSet<String>, OpsError> {
    let read = |what: &str| {
        let what = format!("reading {what}");
        move |e| OpsError::aws(&what, e)
    };
    let root = lab_key(lab, &[]);
    let root_items = table.query_all(&root).await.map_err(read(&root))?;
    let mut parts = named_by_root(&root, &root_items);
    parts.insert(root.clone());
    let today = OffsetDateTime::now_utc().date();
    let created = root_items
        .iter()
        .find(|i| attr(i, "SK") == Some("LAB"))
        .and_then(|i| attr(i, "created_at"))
        .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .map_or(today, |t| t.date());
    // A day either side: clocks of the writers and of this worker may differ.
    let (from, to) = (created - Duration::days(1), today + Duration::days(1));
    for d in days(from, to) {
        parts.insert(format!("{root}#EVENTS#{}", day(d)));
    }
    let months = months(from, to);
    let mut listings: Vec<(&str, String)> = months
        .iter()
        .flat_map(|m| {
            [
                ("GSI2", format!("{root}#SAMPLES#{m}")),
                ("", format!("{root}#AUDIT#{m}")),
            ]
        })
        .collect();
    listings.extend([
        ("GSI1", format!("{root}#LIBRARIES")),
        ("GSI1", format!("{root}#POOLS")),
        ("GSI2", format!("{root}#JOBS")),
        ("GSI2", format!("{root}#RUNS")),
        ("GSI2", format!("{root}#IMPORTS")),
        ("GSI2", format!("{root}#STORAGEOPS")),
    ]);
    for (index, key) in listings {
        if index.is_empty() {
            parts.insert(key);
            continue;
        }
        for item in table.query_index_all(index, &key).await.map_err(read(&key))? {
            found(&root, &item, &mut parts);
        }
    }
    // The location tree, from its roots down.
    let mut parents = vec!["ROOT".to_owned()];
    while let Some(parent) = parents.pop() {
        let key = format!("{root}#LOC#{parent}#CHILDREN");
        for item in table.query_index_all("GSI1", &key).await.map_err(read(&key))? {
            if let Some(id) = attr(&item, "id") {
                parents.push(id.to_owned());
            }
            found(&root, &item, &mut parts);
        }
    }
    Ok(parts)
}

/// An item listed by an index: its own partition, and its barcode guard's.
fn found(root: &str, item: &Item, parts: &mut BTreeSet<String>) {
    if let Some(pk) = attr(item, "PK").filter(|pk| pk.starts_with(root)) {
        parts.insert(pk.to_owned());
    }
    if let Some(code) = attr(item, "barcode") {
        parts.insert(format!("{root}#BARCODE#{code}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use time::Month;

    #[test]
    fn dates_cover_both_ends() {
        let from = Date::from_calendar_date(2026, Month::November, 30).unwrap();
        let to = Date::from_calendar_date(2027, Month::January, 1).unwrap();
        assert_eq!(days(from, to).len(), 33);
        assert_eq!(months(from, to), ["2026-11", "2026-12", "2027-01"]);
        assert_eq!(day(from), "2026-11-30");
    }

    #[test]
    fn root_items_name_their_partitions() {
        let item = |sk: &str| Item::from([("SK".to_owned(), AttributeValue::S(sk.to_owned()))]);
        let got = named_by_root(
            "LAB#L",
            &[
                item("TEMPLATE#T1"),
                item("WEBHOOK#W1"),
                item("USER#U1"),
                item("SUB#S1"),
                item("LAB"),
            ],
        );
        for p in [
            "LAB#L#TEMPLATE#T1",
            "LAB#L#WEBHOOK#W1",
            "LAB#L#USER#U1#INBOX",
            "LAB#L#DIGEST#S1",
            "LAB#L#CHANNEL#email",
        ] {
            assert!(got.contains(p), "{p}: {got:?}");
        }
        assert_eq!(got.len(), 4 + CHANNEL_KINDS.len());
    }
}
