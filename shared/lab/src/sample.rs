//! A sample as every service stores and answers it: the samples service creates and
//! changes it, storage places it, sequencing moves it through runs. Each writes it through
//! this one model (docs/data-model.md, Sample).

use crate::fields::SampleDetails;
use crate::keys;
use crate::kinds::{ParentRelation, Priority, SampleType};
use crate::status::SampleStatus;
use serde::{Deserialize, Serialize};
use tracseq_core::keyed::Keyed;

/// `yyyy-mm` of an RFC 3339 timestamp.
pub fn month_of(ts: &str) -> &str {
    ts.get(..7).unwrap_or("0000-00")
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
            "project": self.details.project,
            "priority": self.priority,
        })
    }

    /// The data of `sample.status_changed` as this sample leaves its status for `to`: the
    /// sample, the move, and what reports group turnaround by (project, priority and when
    /// the sample was received).
    pub fn status_changed_data(&self, to: SampleStatus, reason: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "sample_id": self.id,
            "barcode": self.barcode,
            "from": self.status,
            "to": to,
            "reason": reason,
            "project": self.details.project,
            "priority": self.priority,
            "received_at": self.created_at,
        })
    }
}

impl Keyed for Sample {
    const ENTITY: &'static str = "sample";

    /// Every key: by id, by status (GSI1), by month (GSI2), `name_lc` for free-text search.
    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        let order = format!("{}#{}", self.created_at, self.id);
        vec![
            ("PK", keys::sample(lab, &self.id)),
            ("SK", keys::SAMPLE_SK.to_owned()),
            ("GSI1PK", keys::by_status(lab, self.status.as_str())),
            ("GSI1SK", order.clone()),
            ("GSI2PK", keys::by_month(lab, month_of(&self.created_at))),
            ("GSI2SK", order),
            ("name_lc", self.name.to_lowercase()),
        ]
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

impl Keyed for HistoryEntry {
    const ENTITY: &'static str = "sample_history";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PK", keys::sample(lab, &self.sample_id)),
            ("SK", keys::history_sk(&self.at, &self.id)),
        ]
    }
}

/// The write that keeps a position item's copy of its sample (type and status, for the
/// box map) in step with a change from `current` to `next`, when one is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionSync {
    pub pk: String,
    pub sk: String,
    /// Attributes to set.
    pub sets: [(&'static str, &'static str); 2],
    /// The write holds only while the position still holds this sample.
    pub sample_id: String,
}

pub fn position_to_sync(lab: &str, current: &Sample, next: &Sample) -> Option<PositionSync> {
    let place = next.storage.as_ref()?;
    if current.status == next.status && current.sample_type == next.sample_type {
        return None;
    }
    Some(PositionSync {
        pk: keys::location(lab, &place.location_id),
        sk: keys::position_sk(&place.position),
        sets: [
            ("sample_status", next.status.as_str()),
            ("sample_type", next.sample_type.as_str()),
        ],
        sample_id: next.id.clone(),
    })
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

/// What another service reads of an import: whether its samples are visible yet, and how
/// many it committed (a submission of a finished import takes them all).
#[derive(Debug, Clone, Deserialize)]
pub struct ImportState {
    pub status: ImportStatus,
    #[serde(default)]
    pub rows_committed: u32,
}
