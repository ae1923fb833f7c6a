//! What every task of a saga (a Step Functions state machine, docs/sagas.md) receives and
//! answers: the saga it belongs to, the user it acts for, and its failure as a stable
//! `errorType` that the state machine's `Retry` and `Catch` clauses match.

pub mod timeline;

use crate::Problem;
use crate::auth::{Principal, Role};
use crate::function::FunctionError;
use serde::{Deserialize, Serialize};

/// Error types a task may answer with (docs/sagas.md lists which step raises which).
pub mod errors {
    /// Worth retrying: a throttle, a lost race, a dependency that did not answer.
    pub const TRANSIENT: &str = "Transient";
    /// The samples break the rules (fields, template, barcodes).
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    /// The storage target has no room (or no box the zone rules allow).
    pub const STORAGE_FULL: &str = "StorageFull";
    /// The storage target cannot take the samples for another reason (unknown, not a box).
    pub const STORAGE_REFUSED: &str = "StorageRefused";
    /// The sequencing job could not be created.
    pub const JOB_REFUSED: &str = "JobRefused";
    /// A pool, library or sample of the run is reserved by another active run.
    pub const RUN_CONFLICT: &str = "RunConflict";
    /// A sample of the run is not ready for sequencing (not validated, in the freezer).
    pub const SAMPLES_NOT_READY: &str = "SamplesNotReady";
    /// The run's sample sheet has errors.
    pub const SAMPLESHEET_INVALID: &str = "SampleSheetInvalid";
    /// Someone asked for the submission to be cancelled.
    pub const CANCELLED: &str = "SubmissionCancelled";
    /// A fault injected by a test (local stack only) that no retry cures.
    pub const INJECTED: &str = "InjectedFault";
    /// Every error type a task answers with (docs/sagas.md lists each).
    pub const ALL: [&str; 10] = [
        TRANSIENT,
        VALIDATION_FAILED,
        STORAGE_FULL,
        STORAGE_REFUSED,
        JOB_REFUSED,
        RUN_CONFLICT,
        SAMPLES_NOT_READY,
        SAMPLESHEET_INVALID,
        CANCELLED,
        INJECTED,
    ];
}

/// Who a saga acts for: the user who started it, in their lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub role: Role,
}

/// The part of every task's input that says which saga it serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SagaContext {
    /// The submission or the run the saga belongs to (its input names it
    /// `submission_id` or `run_id`).
    #[serde(rename = "submission_id", alias = "run_id")]
    pub saga_id: String,
    pub lab: String,
    pub actor: Actor,
    /// Failures a test asked for (accepted on the local stack only; docs/sagas.md).
    #[serde(default)]
    pub faults: Vec<Fault>,
}

impl SagaContext {
    /// The principal the task acts as: the submitter, in the submission's lab.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.actor.user_id.clone(),
            lab_id: self.lab.clone(),
            role: self.actor.role,
            session_id: String::new(),
            token_id: format!("saga:{}", self.saga_id),
            operator: false,
            expires_at: i64::MAX,
        }
    }

    /// The fault a test planted for `step`, if any.
    pub fn fault(&self, step: &str) -> Option<&Fault> {
        self.faults.iter().find(|f| f.step == step)
    }
}

/// How a planted fault fails its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `Transient` for the first `times` attempts (the state machine's retry cures it).
    Transient,
    /// `InjectedFault` every time (the saga compensates).
    Permanent,
    /// The function process dies for the first `times` attempts.
    Crash,
    /// The step waits `delay_ms` first (to cancel a running saga).
    Delay,
}

/// A failure a test plants in one step of its own submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A forward step: `register`, `validate`, `allocate`, `complete` (a submission);
    /// `reserve`, `sheet`, `start`, `complete` (a run).
    #[schema(pattern = "^[a-z_]{1,32}$")]
    pub step: String,
    pub kind: FaultKind,
    /// Attempts that fail (transient, crash); 1 when absent.
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 10)]
    pub times: u32,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 30000)]
    pub delay_ms: u64,
}

/// What is wrong with a request's planted faults: refused off the local stack, at most 8,
/// `times` 1 to 10 and `delay_ms` up to 30 s.
pub fn check_faults(faults: &[Fault], allowed: bool) -> Vec<crate::FieldError> {
    use crate::FieldError;
    let mut errors = Vec::new();
    if !faults.is_empty() && !allowed {
        errors.push(FieldError::field(
            "faults",
            "not_allowed",
            "faults are planted on the local stack only",
        ));
    }
    if faults.len() > 8 {
        errors.push(FieldError::field("faults", "length", "at most 8 faults"));
    }
    for (i, f) in faults.iter().enumerate() {
        if !(1..=10).contains(&f.times) || f.delay_ms > 30_000 {
            errors.push(FieldError::field(
                format!("faults[{i}]"),
                "range",
                "times 1 to 10, delay_ms up to 30000",
            ));
        }
    }
    errors
}

fn one() -> u32 {
    1
}

/// A problem as a task error: what cannot succeed on retry gets `permanent` (the step's
/// domain error type); throttles, lost races and unavailable dependencies are `Transient`.
pub fn task_error(p: &Problem, permanent: &str) -> FunctionError {
    let kind = match p.status {
        409 if p.code == "stale_version" || p.code == "request_in_progress" => errors::TRANSIENT,
        429 | 500.. => errors::TRANSIENT,
        _ => permanent,
    };
    FunctionError::new(kind, format!("{}: {}", p.code, p.detail))
}

/// A task's input: the saga context and the step's own arguments.
pub fn parse_input<T: serde::de::DeserializeOwned>(
    event: &serde_json::Value,
) -> Result<(SagaContext, T), FunctionError> {
    let ctx: SagaContext = serde_json::from_value(event.clone()).map_err(FunctionError::invalid_event)?;
    let args: T = serde_json::from_value(event.clone()).map_err(FunctionError::invalid_event)?;
    Ok((ctx, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_map_to_retryable_or_domain_errors() {
        let full = Problem::conflict("box_full", "no room");
        assert_eq!(task_error(&full, errors::STORAGE_FULL).error_type, "StorageFull");
        assert_eq!(
            task_error(&Problem::internal(), errors::STORAGE_FULL).error_type,
            "Transient"
        );
        assert_eq!(task_error(&Problem::too_many_requests(1), "X").error_type, "Transient");
        let stale = Problem::conflict("stale_version", "changed");
        assert_eq!(task_error(&stale, "X").error_type, "Transient");
        assert_eq!(
            task_error(&Problem::validation(vec![]), "ValidationFailed").error_type,
            "ValidationFailed"
        );
    }

    #[test]
    fn input_carries_context_and_arguments() {
        #[derive(Deserialize)]
        struct Args {
            sample_ids: Vec<String>,
        }
        let event = json!({
            "submission_id": "S1", "lab": "L1",
            "actor": {"user_id": "U1", "role": "lab_technician"},
            "faults": [{"step": "allocate", "kind": "transient", "times": 2}],
            "sample_ids": ["a", "b"]
        });
        let (ctx, args): (SagaContext, Args) = parse_input(&event).unwrap();
        assert_eq!(ctx.principal().lab_id, "L1");
        assert_eq!(ctx.principal().role, Role::LabTechnician);
        assert_eq!(ctx.fault("allocate").map(|f| f.times), Some(2));
        assert!(ctx.fault("register").is_none());
        assert_eq!(args.sample_ids, ["a", "b"]);
        assert!(parse_input::<Args>(&json!({"lab": "L1"})).is_err());
    }
}
