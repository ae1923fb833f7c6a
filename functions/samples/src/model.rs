//! Stored records of the samples service and their keys (docs/data-model.md).

use crate::domain::manifest::Format;
use crate::domain::template::TemplateDef;
use serde::{Deserialize, Serialize};
use tracseq_aws::store::{Item, StoreError, keyed_item};

pub use tracseq_core::now_rfc3339;

pub mod keys {

    use tracseq_core::keyed::lab_key;
    pub use tracseq_lab::keys::{
        BARCODE_COUNTER_SK, BARCODE_SK, IMPORT_SK, LAB_SK, SAMPLE_SK, barcode, by_month, by_status, history_sk, import,
        imports, lab, location, position_sk, sample,
    };

    pub fn template_sk(id: &str) -> String {
        format!("TEMPLATE#{id}")
    }
    pub fn template_versions(lab: &str, id: &str) -> String {
        lab_key(lab, &["TEMPLATE", id])
    }
    pub fn template_version_sk(n: u32) -> String {
        format!("V#{n:04}")
    }
}

pub use tracseq_lab::sample::{HistoryEntry, ImportStatus, Sample, StoragePlace, month_of, position_to_sync};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    Draft,
    Published,
    Deprecated,
}

/// What may happen to a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateAction {
    Edit,
    Publish,
    Deprecate,
    Delete,
}

impl TemplateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Deprecated => "deprecated",
        }
    }

    /// `draft → published → deprecated`; a published template takes edits (they become
    /// the next version when published again); only a never-published draft is deleted.
    pub fn apply(self, action: TemplateAction) -> Result<TemplateStatus, &'static str> {
        use TemplateAction::*;
        use TemplateStatus::*;
        match (self, action) {
            (Draft | Published, Edit) => Ok(self),
            (Draft | Published, Publish) => Ok(Published),
            (Published, Deprecate) => Ok(Deprecated),
            (Draft, Delete) => Ok(Draft),
            (Deprecated, _) => Err("a deprecated template cannot change"),
            (Draft, Deprecate) => Err("only a published template can be deprecated"),
            (Published, Delete) => Err("a published template is deprecated, not deleted: samples refer to it"),
        }
    }
}

/// A template's head: its working definition and lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub id: String,
    pub status: TemplateStatus,
    /// The working definition (what the next publish freezes).
    #[serde(deserialize_with = "text_or_object")]
    pub definition: TemplateDef,
    /// The latest frozen version, used for new samples and imports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_version: Option<u32>,
    /// Whether the working definition differs from the latest published version.
    pub unpublished_changes: bool,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

impl Template {
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        let item = keyed_item(
            self,
            &[("PK", keys::lab(lab)), ("SK", keys::template_sk(&self.id))],
            "template",
        )?;
        definition_as_text(item, &self.definition)
    }
}

/// A frozen, published definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TemplateVersion {
    pub template_id: String,
    pub number: u32,
    #[serde(deserialize_with = "text_or_object")]
    pub definition: TemplateDef,
    pub published_at: String,
    pub published_by: String,
}

impl TemplateVersion {
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        let item = keyed_item(
            self,
            &[
                ("PK", keys::template_versions(lab, &self.template_id)),
                ("SK", keys::template_version_sk(self.number)),
            ],
            "template_version",
        )?;
        definition_as_text(item, &self.definition)
    }
}

/// A definition is stored as one JSON string attribute: read and written whole, never
/// queried inside, and exact (no number conversions through DynamoDB's types).
fn definition_as_text(mut item: Item, def: &TemplateDef) -> Result<Item, StoreError> {
    let text = serde_json::to_string(def).map_err(|e| StoreError::Serde(e.to_string()))?;
    item.insert("definition".into(), tracseq_aws::store::s(text));
    Ok(item)
}

/// Read a definition stored as text (or given as an object).
fn text_or_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TemplateDef, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Object(TemplateDef),
    }
    match Either::deserialize(d)? {
        Either::Text(t) => serde_json::from_str(&t).map_err(serde::de::Error::custom),
        Either::Object(def) => Ok(def),
    }
}

/// Why a whole import failed (rather than single rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportFailure {
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Import {
    pub id: String,
    pub template_id: String,
    pub template_version: u32,
    pub object_key: String,
    /// The object's ETag when it was checked: the worker reads that object or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    pub dry_run: bool,
    pub status: ImportStatus,
    pub rows_total: u32,
    pub rows_valid: u32,
    pub rows_committed: u32,
    pub errors_total: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ImportFailure>,
    /// The checked rows in S3, written by the validation that moved the import to
    /// `committing` (a duplicate delivery's own copy is never used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_object: Option<String>,
    /// `sample.created` events written after completion (resumable).
    #[serde(default)]
    pub events_written: u32,
    /// Moment the commit started: the creation time of every imported sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

impl Import {
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        keyed_item(
            self,
            &[
                ("PK", keys::import(lab, &self.id)),
                ("SK", keys::IMPORT_SK.to_owned()),
                // The lab's imports, listed (a lab export finds them here).
                ("GSI2PK", keys::imports(lab)),
                ("GSI2SK", format!("{}#{}", self.created_at, self.id)),
            ],
            "import",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_lifecycle() {
        use TemplateAction::*;
        use TemplateStatus::*;
        assert_eq!(Draft.apply(Publish), Ok(Published));
        assert_eq!(Published.apply(Publish), Ok(Published));
        assert_eq!(Published.apply(Edit), Ok(Published));
        assert_eq!(Published.apply(Deprecate), Ok(Deprecated));
        assert_eq!(Draft.apply(Delete), Ok(Draft));
        assert!(Published.apply(Delete).is_err());
        assert!(Draft.apply(Deprecate).is_err());
        for a in [Edit, Publish, Deprecate, Delete] {
            assert!(Deprecated.apply(a).is_err());
        }
    }

    #[test]
    fn samples_round_trip_through_items() {
        use tracseq_aws::store::ToItem;
        use tracseq_lab::fields::SampleDetails;
        use tracseq_lab::kinds::{Priority, SampleType};
        use tracseq_lab::status::SampleStatus;
        let s = Sample {
            id: "01J".into(),
            barcode: "B-1".into(),
            name: "Liver".into(),
            sample_type: SampleType::Tissue,
            status: SampleStatus::Pending,
            priority: Priority::High,
            details: SampleDetails {
                volume: Some(2.5),
                custom: [
                    ("n".to_owned(), serde_json::json!(3)),
                    ("s".to_owned(), serde_json::json!(["a"])),
                ]
                .into_iter()
                .collect(),
                ..Default::default()
            },
            template_id: None,
            template_version: None,
            parent_id: None,
            parent_relation: None,
            import_id: None,
            storage: None,
            freeze_thaw_count: 0,
            version: 1,
            created_at: "2026-11-27T00:00:00Z".into(),
            created_by: "u".into(),
            updated_at: "2026-11-27T00:00:00Z".into(),
            updated_by: "u".into(),
        };
        let item = s.item("LAB1").unwrap();
        assert_eq!(item["GSI2PK"].as_s().unwrap(), "LAB#LAB1#SAMPLES#2026-11");
        assert_eq!(item["name_lc"].as_s().unwrap(), "liver");
        let back: Sample = tracseq_aws::store::from_item(item).unwrap();
        assert_eq!(back, s);
    }
}
