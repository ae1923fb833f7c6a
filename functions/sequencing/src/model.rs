//! Stored records of the sequencing service and their keys (docs/data-model.md).
//!
//! - Library `LAB#{lab}#LIBRARY#{id}` / `LIBRARY`; GSI1 `LAB#{lab}#LIBRARIES` / `{created}#{id}`.
//! - Pool `LAB#{lab}#POOL#{id}` / `POOL`, its members `MEMBER#{library}` in the same
//!   partition (a pool with its libraries is one Query); GSI1 `LAB#{lab}#POOLS`.
//! - A lab's own index kit `LAB#{lab}` / `KIT#{id}`.
//! - A reservation of a pool, library or sample by an active run
//!   `LAB#{lab}#RESERVED` / `{kind}#{id}`, a guard whose `owner` is the run.

use crate::domain::index::IndexSeq;
use crate::domain::kits::KitIndex;
use crate::domain::platform::Instrument;
use crate::domain::qc::{Finding, Verdict};
use crate::domain::samplesheet::Reads;
use crate::domain::status::{JobStatus, RunStatus};
use serde::{Deserialize, Serialize};
use tracseq_core::keyed::{Keyed, lab_key};
pub use tracseq_core::now_rfc3339;
use tracseq_core::saga::timeline::{Failure, SagaStatus, StepRecord};

pub mod keys {

    use tracseq_core::keyed::lab_key;
    pub const LIBRARY_SK: &str = "LIBRARY";
    pub const POOL_SK: &str = "POOL";

    pub fn library(lab: &str, id: &str) -> String {
        lab_key(lab, &["LIBRARY", id])
    }
    pub fn libraries(lab: &str) -> String {
        lab_key(lab, &["LIBRARIES"])
    }
    pub fn pool(lab: &str, id: &str) -> String {
        lab_key(lab, &["POOL", id])
    }
    pub fn pools(lab: &str) -> String {
        lab_key(lab, &["POOLS"])
    }
    pub fn member_sk(library: &str) -> String {
        format!("MEMBER#{library}")
    }
    pub fn kit_sk(id: &str) -> String {
        format!("KIT#{id}")
    }
    pub fn flow_cell_sk(instrument: &str, name: &str) -> String {
        format!("FLOWCELL#{instrument}#{}", name.to_lowercase())
    }
    pub const RUN_SK: &str = "RUN";
    pub fn run(lab: &str, id: &str) -> String {
        lab_key(lab, &["RUN", id])
    }
    pub fn runs(lab: &str) -> String {
        lab_key(lab, &["RUNS"])
    }
    pub fn runs_by_status(lab: &str, status: &str) -> String {
        lab_key(lab, &["RUNS", status])
    }
    pub const JOB_SK: &str = "JOB";
    pub fn job(lab: &str, id: &str) -> String {
        lab_key(lab, &["JOB", id])
    }
    pub fn jobs(lab: &str) -> String {
        lab_key(lab, &["JOBS"])
    }
    pub fn jobs_by_status(lab: &str, status: &str) -> String {
        lab_key(lab, &["JOBS", status])
    }
    /// The partition of every reservation an active run holds in the lab.
    pub fn reserved(lab: &str) -> String {
        lab_key(lab, &["RESERVED"])
    }
    /// The object a started run's sample sheet is kept in (files bucket).
    pub fn sheet_object(lab: &str, run: &str, attempt: u32) -> String {
        format!("labs/{lab}/runs/{run}/{attempt}/SampleSheet.csv")
    }
}

/// A sequencing library made from a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Library {
    pub id: String,
    pub name: String,
    pub sample_id: String,
    pub sample_barcode: String,
    pub kit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i7_name: Option<String>,
    pub i7: IndexSeq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i5_name: Option<String>,
    /// Forward orientation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i5: Option<IndexSeq>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concentration_ng_ul: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment_size_bp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The library QC verdict (concentration and fragment size against the thresholds).
    pub qc: Verdict,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
}

impl Keyed for Library {
    const ENTITY: &'static str = "library";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PK", keys::library(lab, &self.id)),
            ("SK", keys::LIBRARY_SK.to_owned()),
            ("GSI1PK", keys::libraries(lab)),
            ("GSI1SK", format!("{}#{}", self.created_at, self.id)),
        ]
    }
}

/// A pool of libraries (sequenced together on a lane).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pool {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Mismatches the pool's index check assumes (BCL Convert's default is 1).
    pub barcode_mismatches: u8,
    pub members: u32,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

impl Keyed for Pool {
    const ENTITY: &'static str = "pool";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PK", keys::pool(lab, &self.id)),
            ("SK", keys::POOL_SK.to_owned()),
            ("GSI1PK", keys::pools(lab)),
            ("GSI1SK", format!("{}#{}", self.created_at, self.id)),
        ]
    }
}

/// A library in a pool: what the index checks and the sheet need, copied when it joined
/// (a library's indexes never change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolMember {
    pub pool_id: String,
    pub library_id: String,
    pub library_name: String,
    pub sample_id: String,
    pub i7: IndexSeq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i5: Option<IndexSeq>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub added_at: String,
    pub added_by: String,
}

impl Keyed for PoolMember {
    const ENTITY: &'static str = "pool_member";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PK", keys::pool(lab, &self.pool_id)),
            ("SK", keys::member_sk(&self.library_id)),
        ]
    }
}

/// A lab's own index kit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabKit {
    pub id: String,
    pub name: String,
    pub i7: Vec<KitIndex>,
    pub i5: Vec<KitIndex>,
    pub created_at: String,
    pub created_by: String,
}

impl Keyed for LabKit {
    const ENTITY: &'static str = "index_kit";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        vec![("PK", lab_key(lab, &[])), ("SK", keys::kit_sk(&self.id))]
    }
}

/// The pools on one lane of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunLane {
    /// 1 to the flow cell's lanes (at most 8).
    #[schema(minimum = 1, maximum = 8)]
    pub lane: u8,
    #[schema(min_items = 1, max_items = 20, pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub pool_ids: Vec<String>,
}

/// QC of one lane or one library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QcResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_id: Option<String>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// A run's QC as submitted and judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunQc {
    pub verdict: Verdict,
    pub results: Vec<QcResult>,
    pub submitted_at: String,
    pub submitted_by: String,
}

/// A sequencing run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Run {
    pub id: String,
    pub name: String,
    pub instrument: Instrument,
    pub flow_cell: String,
    /// Lanes of that flow cell type when the run was planned.
    pub flow_cell_lanes: u8,
    pub lanes: Vec<RunLane>,
    pub reads: Reads,
    pub barcode_mismatches: u8,
    #[serde(default)]
    pub allow_lower_mismatches: bool,
    pub status: RunStatus,
    /// The job this run serves; its requester hears about QC and completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_folder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qc: Option<RunQc>,
    /// The latest start saga (`POST /api/sequencing/runs/{id}/start`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<RunStart>,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

/// A run's start saga as it ran (docs/sagas.md, Sequencing run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunStart {
    pub status: SagaStatus,
    /// 1 for the first start; a start after a compensated one counts on.
    pub attempt: u32,
    pub execution_arn: String,
    pub steps: Vec<StepRecord>,
    /// The status the run had when the start began (`planned` or `loaded`).
    pub from: RunStatus,
    /// The stored sample sheet (files bucket), once the sheet step wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    pub requested_by: String,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

impl tracseq_aws::record::Versioned for Job {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl tracseq_aws::record::Versioned for Run {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl Keyed for Run {
    const ENTITY: &'static str = "run";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        let order = format!("{}#{}", self.created_at, self.id);
        vec![
            ("PK", keys::run(lab, &self.id)),
            ("SK", keys::RUN_SK.to_owned()),
            ("GSI1PK", keys::runs_by_status(lab, self.status.as_str())),
            ("GSI1SK", order.clone()),
            ("GSI2PK", keys::runs(lab)),
            ("GSI2SK", order),
        ]
    }
}

/// A request for sequencing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub requested_by: String,
    pub priority: tracseq_lab::kinds::Priority,
    pub status: JobStatus,
    pub sample_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<Instrument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<Reads>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Why it was last held, cancelled or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Keyed for Job {
    const ENTITY: &'static str = "job";

    fn keys(&self, lab: &str) -> Vec<(&'static str, String)> {
        let order = format!("{}#{}", self.created_at, self.id);
        vec![
            ("PK", keys::job(lab, &self.id)),
            ("SK", keys::JOB_SK.to_owned()),
            ("GSI1PK", keys::jobs_by_status(lab, self.status.as_str())),
            ("GSI1SK", order.clone()),
            ("GSI2PK", keys::jobs(lab)),
            ("GSI2SK", order),
        ]
    }
}
