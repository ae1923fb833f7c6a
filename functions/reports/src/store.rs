//! The reports' items: one counter item per metric, period and dimensions
//! (`LAB#{lab}#REPORT#{metric}[#D#{yyyy-mm} | #W | #M]`, `SK = {period or "total"}#{dimensions}`,
//! a day's period bare, its ISO week's as `W{monday}`, its month's as `M{first day}`) whose values only
//! ever grow by `ADD`, and one marker per folded event (`LAB#{lab}#REPORTED`,
//! `SK = event id`, kept 35 days) written in the same transaction, so a redelivered event
//! finds its marker and changes nothing.

use crate::domain::fold::{Effects, Metric};
use crate::domain::period::{Grouping, Span};
use crate::domain::report::{BUCKET, Counter};
use crate::state::ReportsState;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::{BTreeMap, HashMap};
use time::Date;
use tracseq_aws::store::{Item, StoreError, n, now_epoch, s};
use tracseq_core::keyed::LabKeys;

pub const ENTITY: &str = "report_counter";
const MARKER: &str = "report_marker";
/// How long a folded event's id is remembered: past any stream or queue redelivery.
const MARKER_TTL_SECS: i64 = 35 * 86_400;
/// The period part of a running total's key.
const TOTAL: &str = "total";

fn keys(lab: &str) -> Result<LabKeys, StoreError> {
    LabKeys::new(lab).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A metric's counters live in small partitions, so a read touches no more than it needs
/// (moto, like any store, pays for a partition's size): running totals in
/// `REPORT#{metric}`, days in one partition per month (`…#D#{yyyy-mm}`), weeks (`…#W`) and
/// months (`…#M`) in one each.
fn partition(lab: &LabKeys, metric: Metric, slot: Slot) -> Result<String, StoreError> {
    let month;
    let parts: Vec<&str> = match slot {
        None => vec!["REPORT", metric.as_str()],
        Some((Grouping::Day, d)) => {
            month = format!("{:04}-{:02}", d.year(), u8::from(d.month()));
            vec!["REPORT", metric.as_str(), "D", month.as_str()]
        }
        Some((Grouping::Week, _)) => vec!["REPORT", metric.as_str(), "W"],
        Some((Grouping::Month, _)) => vec!["REPORT", metric.as_str(), "M"],
    };
    lab.partition(&parts).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Which counter of a metric and dimensions: a running total, or a period kept per day,
/// week or month (named by its first day).
type Slot = Option<(Grouping, Date)>;

/// One counter item's change: its slot, dimensions and what to add.
struct Change {
    slot: Slot,
    dims: Vec<(&'static str, String)>,
    adds: BTreeMap<String, i64>,
}

fn sort_key(slot: Slot, dims: &[(&'static str, String)]) -> String {
    let period = match slot {
        Some((grain, start)) => format!("{}{start}", grain.key_prefix()),
        None => TOTAL.to_owned(),
    };
    let dims: Vec<String> = dims.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{period}#{}", dims.join("|"))
}

/// DynamoDB's limit of actions in one transaction.
const MAX_ACTIONS: usize = 100;

/// One counter change: metric, slot, dimensions, value name, delta.
type Touch<'a> = (Metric, Slot, &'a Vec<(&'static str, String)>, String, i64);

/// Every counter change an event makes: a day's increment also adds to its week's and
/// its month's rollup; an observation adds one to its month's histogram bucket.
fn touches(effects: &Effects) -> impl Iterator<Item = Touch<'_>> {
    let increments = effects.increments.iter().flat_map(|i| {
        let slots: Vec<Slot> = match i.day {
            Some(day) => [Grouping::Day, Grouping::Week, Grouping::Month]
                .into_iter()
                .map(|g| Some((g, g.start(day))))
                .collect(),
            None => vec![None],
        };
        slots
            .into_iter()
            .map(move |slot| (i.metric, slot, &i.dims, i.counter.to_owned(), i.delta))
    });
    let observations = effects.observations.iter().map(|o| {
        let slot = Some((Grouping::Day, o.month));
        (o.metric, slot, &o.dims, format!("{BUCKET}{}", o.bucket), 1)
    });
    increments.chain(observations)
}

/// The counter items (partition, sort key) an event changes.
fn items_of(lab: &LabKeys, effects: &Effects) -> Result<Vec<(String, String)>, StoreError> {
    touches(effects)
        .map(|(metric, slot, dims, _, _)| Ok((partition(lab, metric, slot)?, sort_key(slot, dims))))
        .collect()
}

/// Folds the `effects` of events (id, effects) of `lab` into the counters, each once:
/// as many events per transaction as their markers and merged counter items fit in
/// DynamoDB's 100 actions (an import's batch of 25 samples is one), and one event per
/// transaction for a group holding an event folded before. Answers (counted, repeated).
pub async fn apply(st: &ReportsState, lab: &str, events: &[(String, Effects)]) -> Result<(u32, u32), StoreError> {
    let keys_of = keys(lab)?;
    let (mut counted, mut repeated) = (0, 0);
    let mut start = 0;
    while start < events.len() {
        let mut items = std::collections::BTreeSet::new();
        let mut end = start;
        while end < events.len() {
            let more = items_of(&keys_of, &events[end].1)?;
            let union = items.iter().chain(more.iter().filter(|k| !items.contains(*k))).count();
            if end > start && (end - start + 1) + union > MAX_ACTIONS {
                break;
            }
            items.extend(more);
            end += 1;
        }
        let group = &events[start..end];
        match write(st, lab, group).await {
            Ok(()) => counted += group.len() as u32,
            // A marker was there: find which, one event at a time.
            Err(e) if e.failed_action().is_some_and(|i| i < group.len()) => {
                for one in group {
                    match write(st, lab, std::slice::from_ref(one)).await {
                        Ok(()) => counted += 1,
                        Err(e) if e.failed_action() == Some(0) => repeated += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
        start = end;
    }
    Ok((counted, repeated))
}

/// One transaction: a marker per event (which must not exist), then each counter item's
/// merged change.
async fn write(st: &ReportsState, lab: &str, events: &[(String, Effects)]) -> Result<(), StoreError> {
    let lab = keys(lab)?;
    let mut changes: BTreeMap<(String, String), Change> = BTreeMap::new();
    for (_, effects) in events {
        for (metric, slot, dims, counter, delta) in touches(effects) {
            let c = changes
                .entry((partition(&lab, metric, slot)?, sort_key(slot, dims)))
                .or_insert_with(|| Change {
                    slot,
                    dims: dims.clone(),
                    adds: BTreeMap::new(),
                });
            *c.adds.entry(counter).or_default() += delta;
        }
    }
    let markers = lab
        .partition(&["REPORTED"])
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut actions = Vec::with_capacity(events.len() + changes.len());
    for (event_id, _) in events {
        let marker = Put::builder()
            .table_name(&st.table.name)
            .set_item(Some(HashMap::from([
                ("PK".to_owned(), s(markers.as_str())),
                ("SK".to_owned(), s(event_id.as_str())),
                ("entity".to_owned(), s(MARKER)),
                ("expires_at".to_owned(), n(now_epoch() + MARKER_TTL_SECS)),
            ])))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        actions.push(TransactWriteItem::builder().put(marker).build());
    }
    for ((pk, sk), c) in changes {
        if c.adds.values().any(|d| *d != 0) {
            actions.push(TransactWriteItem::builder().update(update(st, pk, sk, &c)?).build());
        }
    }
    st.table.transact(actions).await
}

fn update(st: &ReportsState, pk: String, sk: String, c: &Change) -> Result<Update, StoreError> {
    let dims: HashMap<String, AttributeValue> = c.dims.iter().map(|(k, v)| ((*k).to_owned(), s(v.as_str()))).collect();
    let mut u = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(pk))
        .key("SK", s(sk))
        .expression_attribute_values(":e", s(ENTITY))
        .expression_attribute_values(":d", AttributeValue::M(dims));
    let mut sets = vec!["entity = :e".to_owned(), "dims = :d".to_owned()];
    if let Some((_, p)) = c.slot {
        sets.push("period = :p".to_owned());
        u = u.expression_attribute_values(":p", s(p.to_string()));
    }
    let mut adds = Vec::new();
    for (i, (name, delta)) in c.adds.iter().filter(|(_, d)| **d != 0).enumerate() {
        adds.push(format!("#a{i} :a{i}"));
        u = u
            .expression_attribute_names(format!("#a{i}"), format!("v_{name}"))
            .expression_attribute_values(format!(":a{i}"), n(*delta));
    }
    u.update_expression(format!("SET {} ADD {}", sets.join(", "), adds.join(", ")))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A stored counter item, read back.
fn counter(item: &Item) -> Option<Counter> {
    let period = match item.get("period") {
        Some(AttributeValue::S(p)) => Some(Date::parse(p, &time::format_description::well_known::Iso8601::DATE).ok()?),
        _ => None,
    };
    let dims = match item.get("dims") {
        Some(AttributeValue::M(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let values = item
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("v_")?.to_owned(), v.as_n().ok()?.parse::<i64>().ok()?)))
        .collect();
    Some(Counter { period, dims, values })
}

/// The counters of `metric` in `span` (kept per its grain, period starts in its range), or
/// the running totals when `span` is None: one Query per partition the span covers (a
/// month's days are one), in pages of DynamoDB's 1 MB.
pub async fn counters(
    st: &ReportsState,
    lab: &str,
    metric: Metric,
    span: Option<Span>,
) -> Result<Vec<Counter>, StoreError> {
    let keys = keys(lab)?;
    let Some(Span { grain, from, to }) = span else {
        return query(
            st,
            &partition(&keys, metric, None)?,
            &format!("{TOTAL}#"),
            &format!("{TOTAL}#\u{10FFFF}"),
        )
        .await;
    };
    let p = grain.key_prefix();
    let (lo, hi) = (format!("{p}{from}#"), format!("{p}{to}#\u{10FFFF}"));
    if grain != Grouping::Day {
        return query(st, &partition(&keys, metric, Some((grain, from)))?, &lo, &hi).await;
    }
    let mut out = Vec::new();
    let mut month = Grouping::Month.start(from);
    while month <= to {
        out.extend(query(st, &partition(&keys, metric, Some((Grouping::Day, month)))?, &lo, &hi).await?);
        let Some(next) = Grouping::Month.next(month) else {
            break;
        };
        month = next;
    }
    Ok(out)
}

/// Every counter of partition `pk` whose sort key lies in `lo..=hi`.
async fn query(st: &ReportsState, pk: &str, lo: &str, hi: &str) -> Result<Vec<Counter>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = st
            .table
            .client
            .query()
            .table_name(&st.table.name)
            .key_condition_expression("PK = :pk AND SK BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.extend(page.items().iter().filter_map(counter));
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(out),
        }
    }
}
