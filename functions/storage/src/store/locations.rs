//! Locations in the table: the node, its barcode guard and the counters of every
//! ancestor change together in one transaction with the location's event.

use super::{CounterGuard, counter_op};
use crate::domain::kinds::LocationStatus;
use crate::domain::zone::Zone;
use crate::model::{Location, Position, children_sort, keys};
use crate::state::StorageState;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{GSI1, Item, PageQuery, StoreError, from_item, n, s, stale};
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::lab_key;
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_core::{FieldError, Problem};

/// `LOC-NNNNNN` from the lab's location counter.
pub async fn next_barcode(st: &StorageState, lab: &str) -> Result<String, Problem> {
    let out = st
        .table
        .client
        .update_item()
        .table_name(&st.table.name)
        .key("PK", s(lab_key(lab, &[])))
        .key("SK", s(keys::LOCATION_COUNTER_SK))
        .update_expression("ADD #n :one SET entity = :e")
        .expression_attribute_names("#n", "value")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":e", s("counter"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let value = out
        .attributes
        .and_then(|a| {
            a.get("value")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .ok_or_else(Problem::internal)?;
    Ok(format!("LOC-{value:06}"))
}

fn guard(lab: &str, code: &str, id: &str) -> Item {
    Item::from([
        ("PK".to_owned(), s(keys::barcode(lab, code))),
        ("SK".to_owned(), s(keys::BARCODE_SK)),
        ("entity".to_owned(), s("guard")),
        ("kind".to_owned(), s("location")),
        ("owner".to_owned(), s(id)),
    ])
}

/// The counter changes of `loc`'s ancestors when it comes (`sign` 1) or goes (-1): its
/// parent's children, every ancestor's capacity.
fn ancestor_ops(st: &StorageState, lab: &str, loc: &Location, sign: i64) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut ops = Vec::new();
    for (i, ancestor) in loc.ancestors.iter().enumerate() {
        let mut deltas = Vec::new();
        if i + 1 == loc.ancestors.len() {
            deltas.push(("children", sign));
        }
        if loc.capacity > 0 {
            deltas.push(("capacity", sign * loc.capacity as i64));
        }
        if !deltas.is_empty() {
            ops.push(counter_op(&st.table, lab, ancestor, CounterGuard::default(), &deltas)?);
        }
    }
    Ok(ops)
}

/// Write a new location with its barcode guard, its ancestors' counters and its event.
pub async fn insert(st: &StorageState, lab: &str, loc: &Location, ev: &CloudEvent) -> Result<(), Problem> {
    let mut ops = vec![
        st.table.put_new_op(loc.item(lab)?)?,
        st.table.put_new_op(guard(lab, &loc.barcode, &loc.id))?,
    ];
    ops.extend(ancestor_ops(st, lab, loc, 1)?);
    ops.push(put_event_op(&st.table, ev)?);
    match st.table.transact_retrying(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(1) => {
            let code = &loc.barcode;
            let mut p = Problem::conflict("barcode_taken", format!("barcode {code} is already in use in this lab"));
            p.errors = vec![FieldError::field("barcode", "unique", "already in use").with_value(code)];
            Err(p)
        }
        Err(e) if e.failed_action().is_some_and(|i| i >= 2) => Err(Problem::conflict(
            "parent_changed",
            "the parent location was removed meanwhile",
        )),
        Err(e) => Err(e.into()),
    }
}

/// One change a PATCH makes to a location.
#[derive(Debug, Clone)]
pub enum Change {
    Name(String),
    /// Trimmed; empty clears it.
    Description(String),
    Status(LocationStatus),
    Zone(Zone),
}

impl Change {
    /// The field's name, as the event lists it.
    pub fn field(&self) -> &'static str {
        match self {
            Change::Name(_) => "name",
            Change::Description(_) => "description",
            Change::Status(_) => "status",
            Change::Zone(_) => "zone",
        }
    }
}

/// Apply `changes` to `loc` if its version is still `expected` (and, for a zone change,
/// it is still empty: a placement racing it loses), with the event, by `user` at `now`.
pub async fn update(
    st: &StorageState,
    lab: &str,
    loc: &Location,
    expected: u64,
    changes: &[Change],
    stamp: (&str, &str),
    ev: &CloudEvent,
) -> Result<(), Problem> {
    let (now, user) = stamp;
    let mut sets: Vec<(&str, AttributeValue)> = Vec::new();
    for c in changes {
        match c {
            Change::Name(name) => {
                sets.push(("GSI1SK", s(children_sort(name, &loc.id))));
                if loc.kind.is_unit() {
                    sets.push(("GSI2SK", s(children_sort(name, &loc.id))));
                }
                sets.push(("name", s(name)));
            }
            Change::Description(d) => sets.push(("description", s(d))),
            Change::Status(v) => sets.push(("status", s(v.as_str()))),
            Change::Zone(z) => sets.push(("zone", s(z.as_str()))),
        }
    }
    sets.push(("updated_at", s(now)));
    sets.push(("updated_by", s(user)));
    let ops = vec![
        versioned_update(st, lab, &loc.id, expected, &sets)?,
        put_event_op(&st.table, ev)?,
    ];
    st.table.transact_retrying(ops).await.map_err(stale("location"))
}

/// `SET` `sets` and the next version if the version is `expected` (and, for a zone
/// change, the location is still empty).
fn versioned_update(
    st: &StorageState,
    lab: &str,
    id: &str,
    expected: u64,
    sets: &[(&str, AttributeValue)],
) -> Result<TransactWriteItem, StoreError> {
    let mut expr = String::from("SET #version = :next");
    let mut condition = String::from("#version = :expected");
    let mut update = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(keys::location(lab, id)))
        .key("SK", s(keys::LOCATION_SK))
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":expected", n(expected))
        .expression_attribute_values(":next", n(expected + 1));
    for (i, (name, value)) in sets.iter().enumerate() {
        expr.push_str(&format!(", #a{i} = :v{i}"));
        update = update
            .expression_attribute_names(format!("#a{i}"), *name)
            .expression_attribute_values(format!(":v{i}"), value.clone());
        if *name == "zone" {
            condition.push_str(" AND occupied = :zero");
            update = update.expression_attribute_values(":zero", n(0));
        }
    }
    let update = update
        .update_expression(expr)
        .condition_expression(condition)
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The conflict of removing a location that still holds something.
pub fn not_empty(loc: &Location) -> Problem {
    Problem::conflict(
        "location_not_empty",
        format!(
            "{} still holds {} location(s) and {} sample(s); empty it first",
            loc.name, loc.children, loc.occupied
        ),
    )
}

/// Remove `loc` (at its version, still empty) with its guard, its ancestors' counters and
/// the event.
pub async fn delete(st: &StorageState, lab: &str, loc: &Location, ev: &CloudEvent) -> Result<(), Problem> {
    let del = Delete::builder()
        .table_name(&st.table.name)
        .key("PK", s(keys::location(lab, &loc.id)))
        .key("SK", s(keys::LOCATION_SK))
        .condition_expression("#v = :v AND children = :zero AND occupied = :zero")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":v", n(loc.version))
        .expression_attribute_values(":zero", n(0))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut ops = vec![
        TransactWriteItem::builder().delete(del).build(),
        st.table
            .delete_op(&keys::barcode(lab, &loc.barcode), keys::BARCODE_SK)?,
    ];
    ops.extend(ancestor_ops(st, lab, loc, -1)?);
    ops.push(put_event_op(&st.table, ev)?);
    match st.table.transact_retrying(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_action() == Some(0) => {
            let now = st.location(lab, &loc.id).await?;
            if now.children > 0 || now.occupied > 0 {
                Err(not_empty(&now))
            } else {
                Err(stale("location")(e))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// A page of `parent`'s children (roots when `None`), by name.
pub async fn children(
    st: &StorageState,
    lab: &str,
    parent: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Location>, Problem> {
    let partition = keys::children(lab, parent);
    st.table
        .query_page_as(&PageQuery::of(&partition).on_index(GSI1), page)
        .await
}

/// A box's partition: the node and its taken positions (one Query).
pub async fn with_positions(
    st: &StorageState,
    lab: &str,
    id: &str,
) -> Result<(Option<Location>, Vec<Position>), Problem> {
    Ok(split_partition(st.table.query_all(&keys::location(lab, id)).await?)?)
}

/// A box partition's items: the node and its taken positions.
pub fn split_partition(items: Vec<Item>) -> Result<(Option<Location>, Vec<Position>), StoreError> {
    let mut node = None;
    let mut taken = Vec::with_capacity(items.len());
    for item in items {
        match item.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str) {
            Some(keys::LOCATION_SK) => node = Some(from_item::<Location>(item)?),
            Some(sk) if sk.starts_with("POS#") => taken.push(from_item::<Position>(item)?),
            _ => {}
        }
    }
    Ok((node, taken))
}
