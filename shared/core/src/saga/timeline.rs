//! The record every saga keeps of itself, as pure functions: its status machine, the
//! timeline of its steps, and the error Step Functions hands its compensations.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a saga stands (a submission, a run's start). `running` until it ends in one of
/// the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SagaStatus)]
pub enum SagaStatus {
    Running,
    /// Every step succeeded.
    Completed,
    /// A step failed (or the saga was cancelled) and the completed steps were undone.
    Compensated,
    /// A compensation itself failed: an operator must look (the alarm fires).
    Failed,
}

impl SagaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Compensated => "compensated",
            Self::Failed => "failed",
        }
    }

    /// The one transition function: only a running saga ends, and only once.
    pub fn end(self, to: SagaStatus) -> Result<SagaStatus, &'static str> {
        match (self, to) {
            (Self::Running, Self::Completed | Self::Compensated | Self::Failed) => Ok(to),
            (Self::Running, Self::Running) => Err("a saga starts running only once"),
            _ => Err("the saga has already ended"),
        }
    }

    pub fn is_terminal(self) -> bool {
        self != Self::Running
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Running,
    Succeeded,
    Failed,
}

/// One step of the saga as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepRecord {
    /// The step's name in docs/sagas.md (a forward step or a compensation).
    pub name: String,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    pub outcome: StepOutcome,
    /// The step's `errorType` (docs/sagas.md) when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// The running step ends with `outcome`.
fn close(steps: &mut [StepRecord], now: &str, outcome: StepOutcome, error: Option<&str>) {
    if let Some(last) = steps.last_mut().filter(|s| s.outcome == StepOutcome::Running) {
        last.ended_at = Some(now.to_owned());
        last.outcome = outcome;
        last.error_code = error.map(str::to_owned);
    }
}

/// Step `name` begins; the one before it (if still running) succeeded. Beginning the
/// step that is already running changes nothing (a redelivered task).
pub fn begin(steps: &mut Vec<StepRecord>, name: &str, now: &str) {
    if steps
        .last()
        .is_some_and(|s| s.name == name && s.outcome == StepOutcome::Running)
    {
        return;
    }
    close(steps, now, StepOutcome::Succeeded, None);
    steps.push(StepRecord {
        name: name.to_owned(),
        started_at: now.to_owned(),
        ended_at: None,
        outcome: StepOutcome::Running,
        error_code: None,
    });
}

/// The running step succeeded (the last one of a completed saga).
pub fn succeed(steps: &mut [StepRecord], now: &str) {
    close(steps, now, StepOutcome::Succeeded, None);
}

/// The running step failed with `error` (and the compensations follow).
pub fn fail(steps: &mut [StepRecord], now: &str, error: &str) {
    close(steps, now, StepOutcome::Failed, Some(error));
}

/// The step that was running when the saga failed, if any.
pub fn failed_step(steps: &[StepRecord]) -> Option<&str> {
    steps
        .iter()
        .rev()
        .find(|s| s.outcome == StepOutcome::Failed)
        .map(|s| s.name.as_str())
}

/// Why a saga did not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SagaFailure)]
pub struct Failure {
    /// The step that failed (or was about to begin when the saga was cancelled).
    pub step: Option<String>,
    /// Its `errorType` (docs/sagas.md).
    pub code: String,
    pub detail: String,
}

/// The error a state machine hands a task in `$.error` (`Error` and `Cause`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SagaError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl SagaError {
    /// The failure's message: a Lambda error's `Cause` is its JSON (`errorMessage`).
    pub fn detail(&self) -> String {
        serde_json::from_str::<Value>(&self.cause)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| self.cause.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_running_saga_ends_and_only_once() {
        assert_eq!(
            SagaStatus::Running.end(SagaStatus::Completed),
            Ok(SagaStatus::Completed)
        );
        assert_eq!(
            SagaStatus::Running.end(SagaStatus::Compensated),
            Ok(SagaStatus::Compensated)
        );
        assert!(SagaStatus::Running.end(SagaStatus::Running).is_err());
        for ended in [SagaStatus::Completed, SagaStatus::Compensated, SagaStatus::Failed] {
            assert!(ended.is_terminal());
            assert!(ended.end(SagaStatus::Failed).is_err(), "{ended:?}");
        }
    }

    #[test]
    fn the_timeline_closes_each_step_when_the_next_begins() {
        let mut steps = Vec::new();
        begin(&mut steps, "register", "t1");
        begin(&mut steps, "register", "t1b");
        assert_eq!(steps.len(), 1, "a redelivered begin changes nothing");
        begin(&mut steps, "validate", "t2");
        assert_eq!(steps[0].outcome, StepOutcome::Succeeded);
        assert_eq!(steps[0].ended_at.as_deref(), Some("t2"));
        fail(&mut steps, "t3", "ValidationFailed");
        assert_eq!(steps[1].outcome, StepOutcome::Failed);
        assert_eq!(steps[1].error_code.as_deref(), Some("ValidationFailed"));
        assert_eq!(failed_step(&steps), Some("validate"));
        begin(&mut steps, "reject", "t4");
        succeed(&mut steps, "t5");
        assert_eq!(steps[1].outcome, StepOutcome::Failed, "a failed step stays failed");
        assert_eq!(steps[2].outcome, StepOutcome::Succeeded);
    }

    #[test]
    fn a_lambda_cause_gives_its_message() {
        let e: SagaError = serde_json::from_value(json!({
            "Error": "StorageFull",
            "Cause": "{\"errorType\":\"StorageFull\",\"errorMessage\":\"3 of 5 samples found no room\"}"
        }))
        .unwrap();
        assert_eq!(e.detail(), "3 of 5 samples found no room");
        let plain = SagaError {
            error: "States.Timeout".into(),
            cause: "timed out".into(),
        };
        assert_eq!(plain.detail(), "timed out");
    }
}
