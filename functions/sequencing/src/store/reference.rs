//! The lab's reference data in the table, all under the lab's own partition: flow cell
//! types (`FLOWCELL#{instrument}#{name}`), index kits (`KIT#{id}`) and the QC thresholds
//! (`QCTHRESHOLDS`).

use crate::domain::platform::FlowCell;
use crate::model::{LabKit, keys};
use crate::state::SequencingState;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{PageQuery, StoreError, keyed_item, n, stale};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::lab_key;
use tracseq_core::pagination::{Page, PageRequest};

const QC_SK: &str = "QCTHRESHOLDS";

/// The lab's own flow cell types (at most 1000).
pub async fn flow_cells(st: &SequencingState, lab: &str) -> Result<Vec<FlowCell>, Problem> {
    let pk = lab_key(lab, &[]);
    let out: Page<FlowCell> = st
        .table
        .query_page_as(&PageQuery::of(&pk).with_prefix("FLOWCELL#"), &PageRequest::first(1000))
        .await?;
    Ok(out.items)
}

/// Store a new flow cell type with its event; `Ok(false)` when the instrument already
/// has one of that name.
pub async fn insert_flow_cell(
    st: &SequencingState,
    lab: &str,
    cell: &FlowCell,
    ev: &CloudEvent,
) -> Result<bool, Problem> {
    let item = keyed_item(
        cell,
        &[
            ("PK", lab_key(lab, &[])),
            ("SK", keys::flow_cell_sk(cell.instrument.as_str(), &cell.name)),
        ],
        "flow_cell",
    )?;
    match st
        .table
        .transact(vec![st.table.put_new_op(item)?, put_event_op(&st.table, ev)?])
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.failed_action() == Some(0) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A page of the lab's own kits.
pub async fn kits(st: &SequencingState, lab: &str, page: &PageRequest) -> Result<Page<LabKit>, Problem> {
    let pk = lab_key(lab, &[]);
    st.table
        .query_page_as(&PageQuery::of(&pk).with_prefix("KIT#"), page)
        .await
}

/// One of the lab's own kits.
pub async fn kit(st: &SequencingState, lab: &str, id: &str) -> Result<Option<LabKit>, Problem> {
    Ok(st.table.get_as(&lab_key(lab, &[]), &keys::kit_sk(id)).await?)
}

/// The lab's stored QC settings, if it has changed any.
pub async fn qc_settings<T: DeserializeOwned>(st: &SequencingState, lab: &str) -> Result<Option<T>, Problem> {
    Ok(st.table.get_as(&lab_key(lab, &[]), QC_SK).await?)
}

/// Store the lab's QC settings over the version `expected` (0: none stored yet), with
/// the event.
pub async fn put_qc_settings(
    st: &SequencingState,
    lab: &str,
    settings: &impl Serialize,
    expected: u64,
    ev: &CloudEvent,
) -> Result<(), Problem> {
    let item = keyed_item(
        settings,
        &[("PK", lab_key(lab, &[])), ("SK", QC_SK.to_owned())],
        "qc_thresholds",
    )?;
    let put = if expected == 0 {
        Put::builder().condition_expression("attribute_not_exists(PK)")
    } else {
        Put::builder()
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(expected))
    }
    .table_name(&st.table.name)
    .set_item(Some(item))
    .build()
    .map_err(|e| Problem::from(StoreError::Invalid(e.to_string())))?;
    st.table
        .transact(vec![
            TransactWriteItem::builder().put(put).build(),
            put_event_op(&st.table, ev)?,
        ])
        .await
        .map_err(stale("QC thresholds"))
}
