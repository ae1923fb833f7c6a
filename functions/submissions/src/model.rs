//! A submission as stored and as the API shows it, and the body that starts one.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracseq_core::saga::Fault;
use tracseq_core::saga::timeline::{Failure, SagaStatus as Status, StepRecord};

/// The most samples one submission takes (four 96-well plates); more go by import.
pub const MAX_SAMPLES: usize = 384;

/// `POST /api/submissions`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "samples": [{"sample_type": "DNA", "name": "P7 blood", "volume": 50, "volume_unit": "µL"}],
    "storage": {"location_ids": ["01JBOX00000000000000000000"]}
}))]
pub struct NewSubmission {
    /// Sample bodies as `POST /api/samples` takes them (1–384), or none with `import_id`.
    #[serde(default)]
    #[schema(max_items = 384, value_type = Vec<Object>)]
    pub samples: Vec<Value>,
    /// Instead of `samples`: a completed import of at most 384 rows, whose samples the
    /// submission takes on (validates, stores, sequences). An import feeds one submission.
    #[schema(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub import_id: Option<String>,
    /// Boxes to store the samples in, filled in this order by each box's fill order.
    pub storage: Option<StorageTarget>,
    /// Ask for sequencing: a job for the samples, `submitted`, requested by the submitter.
    pub sequencing_job: Option<JobRequest>,
    /// Failures planted in steps, for tests; the local stack only (422 elsewhere).
    #[serde(default)]
    #[schema(max_items = 8)]
    pub faults: Vec<Fault>,
}

/// The sequencing job a submission asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = Option<tracseq_lab::kinds::Priority>)]
    pub priority: Option<String>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageTarget {
    #[schema(min_items = 1, max_items = 20, pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub location_ids: Vec<String>,
}

/// Where one sample of the submission went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placement {
    pub sample_id: String,
    pub location_id: String,
    pub position: String,
    pub path: String,
}

/// A submission: the saga's record, kept by its task steps.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    pub id: String,
    pub status: Status,
    pub sample_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageTarget>,
    /// Every step with its start, end, outcome and error code, in the order they ran.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// The samples it registered (once validated).
    #[serde(default)]
    pub sample_ids: Vec<String>,
    #[serde(default)]
    pub positions: Vec<Placement>,
    /// The import whose samples it took on, when that was its source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// The sequencing job it created, when it asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    #[serde(default)]
    pub cancel_requested: bool,
    /// The Step Functions execution that runs it.
    pub execution_arn: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    pub version: u64,
}

pub type SubmissionPage = tracseq_core::pagination::Page<Submission>;
