//! What can go wrong in a backup, a restore or an export, with the error type a caller
//! (the runner's `restore` command, a Step Functions `Catch`, the CLI) can act on.

use tracseq_core::Problem;
use tracseq_core::function::FunctionError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("no finished backup matches {0:?}")]
    BackupNotFound(String),
    #[error("backup file {file} is corrupt: {detail}")]
    Corrupted { file: String, detail: String },
    #[error("table {0} is not empty; restore into an empty table or pass force")]
    TargetNotEmpty(String),
    #[error("restored table does not match the backup: {0}")]
    Verification(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{what}: {detail}")]
    Aws { what: String, detail: String },
    #[error("{0}")]
    Internal(String),
}

impl OpsError {
    pub fn aws(what: &str, e: impl std::fmt::Display + std::fmt::Debug) -> Self {
        // The SDK's Display is terse ("service error"); its Debug names the code.
        let detail = format!("{e}: {e:?}").chars().take(400).collect();
        Self::Aws {
            what: what.to_owned(),
            detail,
        }
    }

    /// The stable name a caller matches on.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BackupNotFound(_) => "BackupNotFound",
            Self::Corrupted { .. } => "BackupCorrupted",
            Self::TargetNotEmpty(_) => "TargetNotEmpty",
            Self::Verification(_) => "VerificationFailed",
            Self::Invalid(_) => "InvalidEvent",
            Self::Aws { .. } | Self::Internal(_) => "Transient",
        }
    }
}

impl From<OpsError> for FunctionError {
    fn from(e: OpsError) -> Self {
        FunctionError::new(e.kind(), e.to_string())
    }
}

impl From<OpsError> for Problem {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::BackupNotFound(_) => Problem::not_found("backup"),
            OpsError::Invalid(d) => Problem::bad_request("invalid_request", d),
            other => {
                tracing::error!(error = %other, "operations request failed");
                Problem::unavailable("the backup store did not answer; try again")
            }
        }
    }
}
