//! Templates in the table: the head record under the lab, each published version frozen
//! under its own partition, every change with its event.

use crate::model::{Template, TemplateStatus, TemplateVersion, keys};
use crate::state::SamplesState;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Filter, PageQuery, StoreError, n, s, stale};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::pagination::{Page, PageRequest};

/// A page of the lab's templates, by id, in one status or all.
pub async fn list(
    st: &SamplesState,
    lab: &str,
    status: Option<TemplateStatus>,
    page: &PageRequest,
) -> Result<Page<Template>, Problem> {
    let root = keys::lab(lab);
    let filters: Vec<Filter> = status
        .map(|s| Filter::Eq("status".into(), s.as_str().into()))
        .into_iter()
        .collect();
    let q = PageQuery::of(&root).with_prefix("TEMPLATE#").filtered(&filters);
    st.table.query_page_as(&q, page).await
}

/// A page of a template's published versions.
pub async fn versions(
    st: &SamplesState,
    lab: &str,
    id: &str,
    page: &PageRequest,
) -> Result<Page<TemplateVersion>, Problem> {
    let pk = keys::template_versions(lab, id);
    st.table
        .query_page_as(&PageQuery::of(&pk).with_prefix("V#"), page)
        .await
}

pub async fn insert(st: &SamplesState, lab: &str, t: &Template, ev: &CloudEvent) -> Result<(), Problem> {
    st.table
        .transact(vec![st.table.put_new_op(t.item(lab)?)?, put_event_op(&st.table, ev)?])
        .await?;
    Ok(())
}

/// Store `t` over the version `expected`, with its event, and (when publishing) the
/// frozen version.
pub async fn save(
    st: &SamplesState,
    lab: &str,
    t: &Template,
    expected: u64,
    frozen: Option<&TemplateVersion>,
    ev: &CloudEvent,
) -> Result<(), Problem> {
    let mut ops = vec![st.table.put_versioned_op(t.item(lab)?, expected)?];
    if let Some(f) = frozen {
        ops.push(st.table.put_new_op(f.item(lab)?)?);
    }
    ops.push(put_event_op(&st.table, ev)?);
    st.table.transact(ops).await.map_err(stale("template"))
}

/// Remove a draft at its version, after writing its event.
pub async fn delete(st: &SamplesState, lab: &str, t: &Template, ev: &CloudEvent) -> Result<(), Problem> {
    let head_pk = keys::lab(lab);
    st.table
        .transact(vec![
            st.table
                .check_version_op(&head_pk, &keys::template_sk(&t.id), t.version)?,
            put_event_op(&st.table, ev)?,
        ])
        .await
        .map_err(stale("template"))?;
    // The check above proved the draft unchanged; the delete itself is conditional too.
    st.table
        .client
        .delete_item()
        .table_name(&st.table.name)
        .key("PK", s(head_pk))
        .key("SK", s(keys::template_sk(&t.id)))
        .condition_expression("#v = :v")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":v", n(t.version))
        .send()
        .await
        .map_err(|e| stale("template")(StoreError::from_sdk(e)))?;
    Ok(())
}
