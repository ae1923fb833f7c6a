//! Stored records of the samples service and their keys (docs/data-model.md).

use crate::domain::kinds::{ParentRelation, Priority, SampleType};
use crate::domain::manifest::Format;
use crate::domain::sample::SampleDetails;
use crate::domain::status::SampleStatus;
use crate::domain::template::TemplateDef;
use serde::{Deserialize, Serialize};
use tracseq_aws::store::{Item, StoreError, keyed_item};

pub use tracseq_core::now_rfc3339;

/// `yyyy-mm` of an RFC 3339 timestamp.
pub fn month_of(ts: &str) -> &str {
    ts.get(..7).unwrap_or("0000-00")
}

pub mod keys {
    pub const SAMPLE_SK: &str = "SAMPLE";
    pub const BARCODE_SK: &str = "BARCODE";
    pub const IMPORT_SK: &str = "IMPORT";
    pub const LAB_SK: &str = "LAB";
    pub const BARCODE_COUNTER_SK: &str = "COUNTER#barcode";

    pub fn lab(lab: &str) -> String {
        format!("LAB#{lab}")
    }
    pub fn sample(lab: &str, id: &str) -> String {
        format!("LAB#{lab}#SAMPLE#{id}")
    }
    pub fn by_status(lab: &str, status: &str) -> String {
        format!("LAB#{lab}#SAMPLES#{status}")
    }
    pub fn by_month(lab: &str, month: &str) -> String {
        format!("LAB#{lab}#SAMPLES#{month}")
    }
    pub fn barcode(lab: &str, code: &str) -> String {
        format!("LAB#{lab}#BARCODE#{code}")
    }
    pub fn template_sk(id: &str) -> String {
        format!("TEMPLATE#{id}")
    }
    pub fn template_versions(lab: &str, id: &str) -> String {
        format!("LAB#{lab}#TEMPLATE#{id}")
    }
    pub fn template_version_sk(n: u32) -> String {
        format!("V#{n:04}")
    }
    pub fn import(lab: &str, id: &str) -> String {
        format!("LAB#{lab}#IMPORT#{id}")
    }
    pub fn imports(lab: &str) -> String {
        format!("LAB#{lab}#IMPORTS")
    }
    pub fn history_sk(at: &str, id: &str) -> String {
        format!("HIST#{at}#{id}")
    }
    /// A storage location's partition (the node item and, for a box, its positions).
    pub fn location(lab: &str, id: &str) -> String {
        format!("LAB#{lab}#LOC#{id}")
    }
    /// A box position's sort key; the item exists while the position is taken.
    pub fn position_sk(label: &str) -> String {
        format!("POS#{label}")
    }
}

/// Where a stored sample is. The storage service keeps it; the position item holds a
/// snapshot of the sample (type, status) that sample writes keep in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoragePlace {
    /// The box or plate.
    pub location_id: String,
    /// `A1`-style position label.
    pub position: String,
    /// The location's path when the sample was put there.
    pub path: String,
    /// Checked out: the sample is out of the freezer and its position is kept for its return.
    #[serde(default)]
    pub checked_out: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A sample as stored and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sample {
    pub id: String,
    pub barcode: String,
    pub name: String,
    pub sample_type: SampleType,
    pub status: SampleStatus,
    pub priority: Priority,
    #[serde(flatten)]
    pub details: SampleDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// The template version the sample was validated against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_relation: Option<ParentRelation>,
    /// The import that created the sample; it is visible once that import completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// Where the sample is stored (absent when it is not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StoragePlace>,
    /// Retrievals from a frozen zone (docs/domain.md: freeze-thaw counting).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub freeze_thaw_count: u32,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

impl Sample {
    /// The `data` of its `sample.created` event.
    pub fn created_event_data(&self) -> serde_json::Value {
        serde_json::json!({
            "sample_id": self.id,
            "barcode": self.barcode,
            "sample_type": self.sample_type,
            "status": self.status,
            "template_id": self.template_id,
            "parent_id": self.parent_id,
            "import_id": self.import_id,
        })
    }

    /// The item with every key: by id, by status (GSI1), by month (GSI2), `name_lc` for
    /// free-text search.
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        let order = format!("{}#{}", self.created_at, self.id);
        keyed_item(
            self,
            &[
                ("PK", keys::sample(lab, &self.id)),
                ("SK", keys::SAMPLE_SK.to_owned()),
                ("GSI1PK", keys::by_status(lab, self.status.as_str())),
                ("GSI1SK", order.clone()),
                ("GSI2PK", keys::by_month(lab, month_of(&self.created_at))),
                ("GSI2SK", order),
                ("name_lc", self.name.to_lowercase()),
            ],
            "sample",
        )
    }
}

/// One line of a sample's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: String,
    pub sample_id: String,
    /// `created`, `updated`, `status_changed`, `deleted`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SampleStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<SampleStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Attributes an update changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    pub at: String,
    pub by: String,
}

impl HistoryEntry {
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        keyed_item(
            self,
            &[
                ("PK", keys::sample(lab, &self.sample_id)),
                ("SK", keys::history_sk(&self.at, &self.id)),
            ],
            "sample_history",
        )
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Accepted, waiting for the worker.
    Queued,
    /// The worker is reading and checking the file; nothing is written.
    Validating,
    /// A dry run finished: every row checked, nothing written.
    Validated,
    /// Writing samples in checkpointed chunks; they stay invisible until completion.
    Committing,
    /// Removing the chunks written so far after a failure during the commit.
    RollingBack,
    /// Every sample is written and visible.
    Completed,
    /// Nothing was created: the file or its rows were invalid, or the commit was rolled back.
    Failed,
}

impl ImportStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Validated | Self::Completed | Self::Failed)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Validating => "validating",
            Self::Validated => "validated",
            Self::Committing => "committing",
            Self::RollingBack => "rolling_back",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
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
