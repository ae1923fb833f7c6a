//! The lab's notification settings in the table: channels, subscriptions, template
//! overrides and webhooks are records under the lab's partition, each kind under its own
//! sort-key prefix (`CHANNEL#`, `SUB#`, `NOTIFYTPL#`, `WEBHOOK#`) followed by its id. Every
//! change is version-checked; a lost race is a 409 naming the kind.

use crate::model::keys;
use crate::state::EventsState;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracseq_aws::store::{StoreError, from_item, keyed_item, stale};
use tracseq_core::Problem;

/// One kind of settings record.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    prefix: &'static str,
    entity: &'static str,
    what: &'static str,
}

pub const CHANNEL: Kind = Kind {
    prefix: keys::CHANNEL,
    entity: "notification_channel",
    what: "channel",
};
pub const SUBSCRIPTION: Kind = Kind {
    prefix: keys::SUB,
    entity: "subscription",
    what: "subscription",
};
pub const TEMPLATE: Kind = Kind {
    prefix: keys::TEMPLATE,
    entity: "notification_template",
    what: "template",
};
pub const WEBHOOK: Kind = Kind {
    prefix: keys::WEBHOOK,
    entity: "webhook",
    what: "webhook",
};

impl Kind {
    fn sk(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }
}

/// One record of `kind`, by id.
pub async fn get<T: DeserializeOwned>(st: &EventsState, lab: &str, kind: Kind, id: &str) -> Result<Option<T>, Problem> {
    Ok(st.table.get_as(&keys::lab(lab), &kind.sk(id)).await?)
}

/// Every record of `kind` in the lab.
pub async fn all<T: DeserializeOwned>(st: &EventsState, lab: &str, kind: Kind) -> Result<Vec<T>, StoreError> {
    let items = st.table.query_prefix(&keys::lab(lab), kind.prefix).await?;
    items.into_iter().map(from_item).collect()
}

/// Store `record` as the record `id` of `kind`: new when `current` is `None`, otherwise
/// over that version.
pub async fn put<T: Serialize>(
    st: &EventsState,
    lab: &str,
    kind: Kind,
    id: &str,
    record: &T,
    current: Option<u64>,
) -> Result<(), Problem> {
    let item = keyed_item(record, &[("PK", keys::lab(lab)), ("SK", kind.sk(id))], kind.entity)?;
    let op = match current {
        Some(v) => st.table.put_versioned_op(item, v)?,
        None => st.table.put_new_op(item)?,
    };
    st.table.transact(vec![op]).await.map_err(stale(kind.what))
}

/// Store new records of `kind` in one transaction that writes only new items; `Ok(false)`
/// when any of them already exists (then none is written).
pub async fn insert_all<'a, T: Serialize + 'a>(
    st: &EventsState,
    lab: &str,
    kind: Kind,
    records: impl IntoIterator<Item = (&'a str, &'a T)>,
) -> Result<bool, StoreError> {
    let ops = records
        .into_iter()
        .map(|(id, r)| {
            st.table.put_new_op(keyed_item(
                r,
                &[("PK", keys::lab(lab)), ("SK", kind.sk(id))],
                kind.entity,
            )?)
        })
        .collect::<Result<Vec<_>, _>>()?;
    match st.table.transact(ops).await {
        Ok(()) => Ok(true),
        Err(e) if e.failed_action().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Remove the record `id` of `kind` at its version.
pub async fn delete(st: &EventsState, lab: &str, kind: Kind, id: &str, version: u64) -> Result<(), Problem> {
    st.table
        .delete_versioned(&keys::lab(lab), &kind.sk(id), version)
        .await
        .map_err(stale(kind.what))
}
