//! HTTP handlers of the sequencing service.

pub mod jobs;
pub mod libraries;
pub mod pools;
pub mod qc_settings;
pub mod reference;
pub mod run_samples;
pub mod runs;

pub use run_samples::SampleSync;

use crate::state::SequencingState;
use serde::de::DeserializeOwned;
use tracseq_aws::store::PageQuery;
use tracseq_core::http::Request;
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_core::{FieldError, Problem};

/// A page of an index partition, newest first, decoded.
pub(crate) async fn newest_page<T: DeserializeOwned>(
    st: &SequencingState,
    req: &Request,
    partition: &str,
    index: &str,
) -> Result<Page<T>, Problem> {
    let page = PageRequest::from_request(req)?;
    st.table
        .query_page_as(&PageQuery::of(partition).on_index(index).newest_first(), &page)
        .await
}

/// `?status=` as a status of `what`; 422 when it names none.
pub(crate) fn status_query<S: DeserializeOwned>(req: &Request, what: &str) -> Result<Option<S>, Problem> {
    req.query("status")
        .map(|raw| {
            serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
                Problem::validation(vec![
                    FieldError::field("status", "one_of", format!("a {what} status")).with_value(raw),
                ])
            })
        })
        .transpose()
}
