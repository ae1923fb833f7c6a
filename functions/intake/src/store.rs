//! Documents in the table (one item each under the lab's list partition, ULID-sorted,
//! version-checked, written with their events) and their objects in S3: the upload, its
//! text, and one extraction per version, so a corrected extraction never overwrites the
//! one a person was looking at.

use crate::domain::chunk::Text;
use crate::domain::extraction::Extraction;
use crate::model::{Document, DocumentPage};
use crate::state::IntakeState;
use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
pub use tracseq_aws::record::Change;
use tracseq_aws::record::{self, Versioned};
use tracseq_aws::store::{PageQuery, ToItem};
use tracseq_core::Problem;
use tracseq_core::keyed::{Keyed, is_valid_id, lab_key};
use tracseq_core::pagination::PageRequest;

fn partition(lab: &str) -> String {
    lab_key(lab, &["DOCUMENTS"])
}

impl Keyed for Document {
    const ENTITY: &'static str = "document";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![("PK", partition(lab)), ("SK", self.id.clone())]
    }
}

impl Versioned for Document {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

const SETTINGS: &str = "SETTINGS";

fn settings_key(lab: &str) -> String {
    lab_key(lab, &["INTAKE"])
}

impl Keyed for crate::model::IntakeSettings {
    const ENTITY: &'static str = "intake_settings";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![("PK", settings_key(lab)), ("SK", SETTINGS.into())]
    }
}

impl Versioned for crate::model::IntakeSettings {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

/// The lab's settings, or the stack's defaults (offline, its threshold) at version 0.
pub async fn settings(st: &IntakeState, lab: &str) -> Result<crate::model::IntakeSettings, Problem> {
    Ok(st
        .table
        .get_as(&settings_key(lab), SETTINGS)
        .await?
        .unwrap_or(crate::model::IntakeSettings {
            provider: crate::providers::ProviderKind::Offline,
            model: None,
            threshold: st.default_threshold,
            api_key_set: false,
            updated_by: None,
            updated_at: None,
            version: 0,
        }))
}

/// Write the lab's settings at `expected` (0: none yet).
pub async fn put_settings(
    st: &IntakeState,
    lab: &str,
    s: &crate::model::IntakeSettings,
    expected: u64,
) -> Result<(), Problem> {
    let op = if expected == 0 {
        st.table.put_new_op(s.item(lab)?)?
    } else {
        st.table.put_versioned_op(s.item(lab)?, expected)?
    };
    st.table.transact(vec![op]).await.map_err(|e| match e {
        e if e.is_condition_failure() => {
            Problem::conflict("version_conflict", "the settings changed meanwhile; read them again")
        }
        e => e.into(),
    })
}

/// The SSM parameter holding a lab's key for a provider.
pub fn key_parameter(st: &IntakeState, lab: &str, provider: crate::providers::ProviderKind) -> String {
    format!("{}/{lab}/{}", st.keys_prefix.trim_end_matches('/'), provider.as_str())
}

pub async fn put_key(st: &IntakeState, name: &str, key: &str) -> Result<(), Problem> {
    st.ssm
        .put_parameter()
        .name(name)
        .value(key)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| {
            tracing::error!(error = %aws_sdk_ssm::error::DisplayErrorContext(&e), parameter = name, "storing a provider key failed");
            Problem::unavailable("the key store is unavailable; retry shortly")
        })?;
    Ok(())
}

pub async fn get_key(st: &IntakeState, name: &str) -> Result<Option<String>, Problem> {
    match st.ssm.get_parameter().name(name).with_decryption(true).send().await {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => Ok(None),
        Err(e) => {
            tracing::error!(error = %aws_sdk_ssm::error::DisplayErrorContext(&e), parameter = name, "reading a provider key failed");
            Err(Problem::unavailable("the key store is unavailable"))
        }
    }
}

/// Where a lab's document's objects live; the S3 event's key names both back.
pub fn prefix(lab: &str, id: &str) -> String {
    format!("intake/{lab}/{id}/")
}

/// `(lab, document)` from an object key under [`prefix`].
pub fn owner_of(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.strip_prefix("intake/")?.splitn(3, '/');
    let (lab, id) = (parts.next()?, parts.next()?);
    let ok = |s: &str| is_valid_id(s) && !s.starts_with('.');
    (ok(lab) && ok(id) && parts.next().is_some()).then_some((lab, id))
}

pub fn text_key(lab: &str, id: &str) -> String {
    format!("{}text.json", prefix(lab, id))
}

pub fn extraction_key(lab: &str, id: &str, version: u64) -> String {
    format!("{}extraction-v{version}.json", prefix(lab, id))
}

pub async fn insert(st: &IntakeState, lab: &str, d: &Document) -> Result<(), Problem> {
    st.table
        .transact(vec![st.table.put_new_op(d.item(lab)?)?])
        .await
        .map_err(|e| match e {
            e if e.is_condition_failure() => Problem::conflict("document_exists", "this document exists already"),
            e => e.into(),
        })
}

pub async fn find(st: &IntakeState, lab: &str, id: &str) -> Result<Option<Document>, Problem> {
    if !is_valid_id(id) {
        return Ok(None);
    }
    Ok(st.table.get_as(&partition(lab), id).await?)
}

/// The lab's document, or 404 (another lab's id is not found here).
pub async fn get(st: &IntakeState, lab: &str, id: &str) -> Result<Document, Problem> {
    find(st, lab, id).await?.ok_or_else(|| Problem::not_found("document"))
}

pub async fn page(st: &IntakeState, lab: &str, page: &PageRequest) -> Result<DocumentPage, Problem> {
    let pk = partition(lab);
    st.table.query_page_as(&PageQuery::of(&pk).newest_first(), page).await
}

/// Read, change and write back a document with the events the change raises, again when
/// another writer got there first (the worker's progress and a person's review).
pub async fn update<F>(st: &IntakeState, lab: &str, id: &str, change: F) -> Result<Document, Problem>
where
    F: FnMut(&mut Document) -> Result<Change, Problem>,
{
    if !is_valid_id(id) {
        return Err(Problem::not_found("document"));
    }
    record::update(&st.table, lab, (&partition(lab), id), "document", change).await
}

fn storage_down(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "file storage failed");
    Problem::unavailable("file storage is unavailable; retry shortly")
}

pub async fn put_json<T: Serialize>(st: &IntakeState, key: &str, value: &T) -> Result<(), Problem> {
    let body = serde_json::to_vec(value).map_err(|_| Problem::internal())?;
    st.s3
        .put_object()
        .bucket(&st.bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(storage_down)?;
    Ok(())
}

pub async fn get_bytes(st: &IntakeState, key: &str, limit: u64) -> Result<Option<Vec<u8>>, Problem> {
    let out = match st.s3.get_object().bucket(&st.bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(storage_down(e)),
    };
    if out.content_length().unwrap_or(0) as u64 > limit {
        return Err(Problem::new(413, "file_too_large", format!("at most {limit} bytes")));
    }
    let bytes = out.body.collect().await.map_err(storage_down)?.into_bytes();
    Ok(Some(bytes.to_vec()))
}

async fn get_json<T: DeserializeOwned>(st: &IntakeState, key: &str) -> Result<Option<T>, Problem> {
    match get_bytes(st, key, 64 * 1024 * 1024).await? {
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            tracing::error!(error = %e, key, "a stored object does not parse");
            Problem::internal()
        }),
        None => Ok(None),
    }
}

pub async fn extraction(st: &IntakeState, d: &Document) -> Result<Option<Extraction>, Problem> {
    match &d.extraction_key {
        Some(k) => get_json(st, k).await,
        None => Ok(None),
    }
}

pub async fn text(st: &IntakeState, lab: &str, id: &str) -> Result<Option<Text>, Problem> {
    get_json(st, &text_key(lab, id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_name_their_lab_and_document() {
        let k = format!("{}report.pdf", prefix("L1", "D1"));
        assert_eq!(owner_of(&k), Some(("L1", "D1")));
        assert_eq!(owner_of(&extraction_key("L1", "D1", 3)), Some(("L1", "D1")));
        assert_eq!(owner_of("intake/L1/D1"), None);
        assert_eq!(owner_of("uploads/L1/D1/x"), None);
        assert_eq!(owner_of("intake/../D1/x"), None);
    }
}
