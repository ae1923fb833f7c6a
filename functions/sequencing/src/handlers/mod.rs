//! HTTP handlers of the sequencing service.

pub mod jobs;
pub mod libraries;
pub mod pools;
pub mod qc_settings;
pub mod reference;
pub mod runs;

pub use crate::store::run_samples::SampleSync;

use serde::de::DeserializeOwned;
use tracseq_core::http::Request;
use tracseq_core::{FieldError, Problem};

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
