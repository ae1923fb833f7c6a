//! Pool membership in the table: the members are items of the pool's partition, and
//! every change moves the pool's version and member count with them.

use crate::model::{Pool, PoolMember, keys, now_rfc3339};
use crate::state::SequencingState;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{StoreError, ToItem, n, s, stale};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;

/// The pool's head update of a membership change: members ± `delta`, next version, if
/// the version is `expected`.
fn pool_update(
    st: &SequencingState,
    lab: &str,
    pool: &Pool,
    expected: u64,
    delta: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(&st.table.name)
        .key("PK", s(keys::pool(lab, &pool.id)))
        .key("SK", s(keys::POOL_SK))
        .update_expression("SET #v = :next, members = :members, updated_at = :now")
        .condition_expression("#v = :expected")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":expected", n(expected))
        .expression_attribute_values(":next", n(expected + 1))
        .expression_attribute_values(":members", n((pool.members as i64 + delta).max(0)))
        .expression_attribute_values(":now", s(now_rfc3339()))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Add members to the pool at version `expected`, with the event.
pub async fn add(
    st: &SequencingState,
    lab: &str,
    pool: &Pool,
    expected: u64,
    added: &[PoolMember],
    ev: &CloudEvent,
) -> Result<(), Problem> {
    let mut ops = vec![pool_update(st, lab, pool, expected, added.len() as i64)?];
    for m in added {
        ops.push(st.table.put_new_op(m.item(lab)?)?);
    }
    ops.push(put_event_op(&st.table, ev)?);
    st.table.transact(ops).await.map_err(stale("pool"))
}

/// Take one library out of the pool at version `expected`, with the event.
pub async fn remove(
    st: &SequencingState,
    lab: &str,
    pool: &Pool,
    expected: u64,
    library: &str,
    ev: &CloudEvent,
) -> Result<(), Problem> {
    let ops = vec![
        pool_update(st, lab, pool, expected, -1)?,
        st.table
            .delete_op(&keys::pool(lab, &pool.id), &keys::member_sk(library))?,
        put_event_op(&st.table, ev)?,
    ];
    st.table.transact(ops).await.map_err(stale("pool"))
}
