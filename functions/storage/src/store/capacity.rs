//! The reads behind capacity and suggestions (units, their grids, the boxes a project
//! uses, a box's taken cells), and the conditional write that remembers a location's
//! announced level.

use crate::domain::capacity::Level;
use crate::domain::grid::Cell;
use crate::model::{Location, Position, keys};
use crate::state::StorageState;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use std::collections::{HashMap, HashSet};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Filter, GSI1, GSI2, Item, PageQuery, StoreError, from_item, s};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::pagination::PageRequest;
use tracseq_lab::sample::Sample;

/// Every item of an index partition, up to `max_pages` pages of 1000.
async fn index_items(
    st: &StorageState,
    index: &str,
    partition: &str,
    filters: &[Filter],
    max_pages: usize,
) -> Result<Vec<Item>, Problem> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..max_pages {
        let page = PageRequest { limit: 1000, cursor };
        let got = st
            .table
            .query_page(&PageQuery::of(partition).on_index(index).filtered(filters), &page)
            .await?;
        out.extend(got.items);
        cursor = got.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(out)
}

fn locations(items: Vec<Item>) -> Result<Vec<Location>, Problem> {
    items
        .into_iter()
        .map(from_item::<Location>)
        .collect::<Result<_, _>>()
        .map_err(Problem::from)
}

/// The lab's storage units.
pub async fn units(st: &StorageState, lab: &str) -> Result<Vec<Location>, Problem> {
    locations(index_items(st, GSI2, &keys::units(lab), &[], 10).await?)
}

/// The boxes and plates under a unit.
pub async fn grids(st: &StorageState, lab: &str, unit: &str) -> Result<Vec<Location>, Problem> {
    locations(index_items(st, GSI2, &keys::unit_grids(lab, unit), &[], 10).await?)
}

/// Boxes holding stored samples of `project`, with the cells they hold.
pub async fn project_cells(
    st: &StorageState,
    lab: &str,
    project: &str,
) -> Result<HashMap<String, Vec<String>>, Problem> {
    let filters = [Filter::Eq("project".into(), project.to_owned())];
    let stored = index_items(st, GSI1, &tracseq_lab::keys::by_status(lab, "in_storage"), &filters, 5).await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for item in stored {
        let sample: Sample = from_item(item)?;
        if let Some(place) = sample.storage {
            out.entry(place.location_id).or_default().push(place.position);
        }
    }
    Ok(out)
}

/// The cells taken in a box.
pub async fn taken_cells(st: &StorageState, lab: &str, box_id: &str) -> Result<HashSet<Cell>, Problem> {
    let (_, taken) = super::locations::with_positions(st, lab, box_id).await?;
    Ok(taken
        .into_iter()
        .map(|pos: Position| Cell {
            row: pos.row,
            column: pos.column,
        })
        .collect())
}

/// Move a location's announced level from what it was to `level`, with the announcement
/// when there is one; a writer that lost the race fails its condition.
pub async fn remember_level(
    st: &StorageState,
    lab: &str,
    loc: &Location,
    level: Level,
    announcement: Option<&CloudEvent>,
) -> Result<(), StoreError> {
    let update = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(keys::location(lab, &loc.id)))
        .key("SK", s(keys::LOCATION_SK))
        .update_expression("SET alert_level = :new")
        .condition_expression("alert_level = :old")
        .expression_attribute_values(":new", s(level.as_str()))
        .expression_attribute_values(":old", s(loc.alert_level.as_str()))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut ops = vec![TransactWriteItem::builder().update(update).build()];
    if let Some(ev) = announcement {
        ops.push(put_event_op(&st.table, ev)?);
    }
    st.table.transact(ops).await
}
