//! Job and run status machines (docs/domain.md, Sequencing).
//!
//! ```text
//! job:  draft → submitted → validated → queued → running → completed | failed
//!       validated | queued → on_hold → (back to) validated | queued
//!       any non-terminal → cancelled        failed → queued (retry)
//! run:  planned → loaded → running → completed | failed | aborted
//!       planned | loaded → aborted (a run that never started can be called off)
//!       loaded → planned (a start saga that loaded the run was undone)
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {what} cannot go from {from} to {to}")]
pub struct TransitionError {
    pub what: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

macro_rules! machine {
    ($name:ident, $what:literal, [$($variant:ident => $text:literal),+ $(,)?], $edges:expr) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire names, in order (for documentation: query parameters).
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn can_become(self, to: $name) -> bool {
                let edges: fn($name, $name) -> bool = $edges;
                edges(self, to)
            }

            /// `to`, if the machine has the edge.
            pub fn transition(self, to: $name) -> Result<$name, TransitionError> {
                if self.can_become(to) {
                    Ok(to)
                } else {
                    Err(TransitionError { what: $what, from: self.as_str(), to: to.as_str() })
                }
            }
        }
    };
}

machine!(
    JobStatus,
    "job",
    [
        Draft => "draft",
        Submitted => "submitted",
        Validated => "validated",
        Queued => "queued",
        OnHold => "on_hold",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    ],
    |from, to| {
        use JobStatus::*;
        match (from, to) {
            (Completed | Cancelled, _) => false,
            (Failed, Queued | Cancelled) => true,
            (Failed, _) => false,
            (_, Cancelled) => true,
            (Draft, Submitted)
            | (Submitted, Validated)
            | (Validated, Queued | OnHold)
            | (Queued, Running | OnHold)
            | (OnHold, Validated | Queued)
            | (Running, Completed | Failed) => true,
            _ => false,
        }
    }
);

machine!(
    RunStatus,
    "run",
    [
        Planned => "planned",
        Loaded => "loaded",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Aborted => "aborted",
    ],
    |from, to| {
        use RunStatus::*;
        matches!(
            (from, to),
            (Planned, Loaded | Aborted)
                | (Loaded, Running | Aborted | Planned)
                | (Running, Completed | Failed | Aborted)
        )
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of states against the edges docs/domain.md lists (and nothing else).
    #[test]
    fn job_machine_table() {
        use JobStatus::*;
        let allowed = [
            (Draft, Submitted),
            (Submitted, Validated),
            (Validated, Queued),
            (Queued, Running),
            (Running, Completed),
            (Running, Failed),
            (Validated, OnHold),
            (Queued, OnHold),
            (OnHold, Validated),
            (OnHold, Queued),
            (Failed, Queued),
            (Draft, Cancelled),
            (Submitted, Cancelled),
            (Validated, Cancelled),
            (Queued, Cancelled),
            (OnHold, Cancelled),
            (Running, Cancelled),
            (Failed, Cancelled),
        ];
        let mut edges = 0;
        for &a in JobStatus::ALL {
            for &b in JobStatus::ALL {
                let want = allowed.contains(&(a, b));
                assert_eq!(a.can_become(b), want, "{a:?} → {b:?}");
                edges += usize::from(want);
            }
        }
        assert_eq!((JobStatus::ALL.len() * JobStatus::ALL.len(), edges), (81, 18));
        assert_eq!(
            Completed.transition(Queued).unwrap_err().to_string(),
            "a job cannot go from completed to queued"
        );
    }

    #[test]
    fn run_machine_table() {
        use RunStatus::*;
        let allowed = [
            (Planned, Loaded),
            (Loaded, Running),
            (Loaded, Planned),
            (Running, Completed),
            (Running, Failed),
            (Running, Aborted),
            (Planned, Aborted),
            (Loaded, Aborted),
        ];
        for &a in RunStatus::ALL {
            for &b in RunStatus::ALL {
                assert_eq!(a.can_become(b), allowed.contains(&(a, b)), "{a:?} → {b:?}");
            }
        }
        assert_eq!(serde_json::to_value(RunStatus::Planned).unwrap(), "planned");
    }
}
