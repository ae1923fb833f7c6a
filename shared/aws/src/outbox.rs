//! The transactional outbox: a state change writes its domain event as an item in the same
//! `TransactWriteItems`, so the change and its event commit together or not at all. The
//! table's stream carries the INSERT to the publisher; the item itself is the lab's
//! event history (docs/data-model.md: `LAB#{lab}#EVENTS#{yyyy-mm-dd}` / `{ts}#{event_id}`).

use crate::store::{Item, StoreError, Table, s};
use aws_sdk_dynamodb::types::TransactWriteItem;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::{InvalidId, LabKeys};

pub const ENTITY: &str = "event";

/// The outbox item for `event`.
pub fn event_item(event: &CloudEvent) -> Result<Item, StoreError> {
    let lab = LabKeys::new(&event.labid).map_err(|e: InvalidId| StoreError::Invalid(e.to_string()))?;
    let mut item = crate::store::to_item(event)?;
    item.insert("PK".into(), s(lab.events_day(event.day())));
    item.insert("SK".into(), s(format!("{}#{}", event.time, event.id)));
    item.insert("GSI1PK".into(), s(format!("{}#SUBJECT#{}", lab.root(), event.subject)));
    item.insert("GSI1SK".into(), s(format!("{}#{}", event.time, event.id)));
    item.insert("entity".into(), s(ENTITY));
    Ok(item)
}

/// The transaction action that writes `event` to the outbox.
pub fn put_event_op(table: &Table, event: &CloudEvent) -> Result<TransactWriteItem, StoreError> {
    table.put_new_op(event_item(event)?)
}

/// Read an outbox item back into its envelope (drops the key attributes).
pub fn event_from_item(mut item: Item) -> Result<CloudEvent, StoreError> {
    for k in ["PK", "SK", "GSI1PK", "GSI1SK", "entity"] {
        item.remove(k);
    }
    crate::store::from_item(item)
}
