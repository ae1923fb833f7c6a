//! The sample status machine (docs/domain.md, Samples).
//!
//! ```text
//! pending → validated | rejected        validated → in_storage | in_sequencing | rejected
//! in_storage → in_sequencing | validated in_sequencing → completed | failed | validated
//! failed → pending   rejected → pending  completed → archived
//! any state but in_sequencing (and deleted itself) → deleted (soft delete, terminal)
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SampleStatus {
    Pending,
    Validated,
    Rejected,
    InStorage,
    InSequencing,
    Completed,
    Failed,
    Archived,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sample cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: &'static str,
    pub to: &'static str,
}

impl SampleStatus {
    pub const ALL: [SampleStatus; 9] = [
        Self::Pending,
        Self::Validated,
        Self::Rejected,
        Self::InStorage,
        Self::InSequencing,
        Self::Completed,
        Self::Failed,
        Self::Archived,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Validated => "validated",
            Self::Rejected => "rejected",
            Self::InStorage => "in_storage",
            Self::InSequencing => "in_sequencing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Archived => "archived",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the machine has an edge `self → to`.
    pub fn can_become(self, to: SampleStatus) -> bool {
        use SampleStatus::*;
        match (self, to) {
            (Deleted, _) | (InSequencing, Deleted) => false,
            (_, Deleted) => true,
            (Pending, Validated | Rejected)
            | (Validated, InStorage | InSequencing | Rejected)
            | (InStorage, InSequencing | Validated)
            | (InSequencing, Completed | Failed | Validated)
            | (Failed, Pending)
            | (Rejected, Pending)
            | (Completed, Archived) => true,
            _ => false,
        }
    }

    /// The state after `self → to`, or why the machine refuses it.
    pub fn transition(self, to: SampleStatus) -> Result<SampleStatus, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    /// Moves that must say why (the reason lands in the history): refusals, failures,
    /// sending a sample back, deletion.
    pub fn needs_reason(self, to: SampleStatus) -> bool {
        matches!(to, Self::Rejected | Self::Failed | Self::Deleted)
            || matches!((self, to), (Self::Failed | Self::Rejected, Self::Pending))
    }
}

#[cfg(test)]
mod tests {
    use super::SampleStatus::{self, *};

    /// Every edge docs/domain.md allows; everything else must be refused.
    const ALLOWED: &[(SampleStatus, SampleStatus)] = &[
        (Pending, Validated),
        (Pending, Rejected),
        (Validated, InStorage),
        (Validated, InSequencing),
        (Validated, Rejected),
        (InStorage, InSequencing),
        (InStorage, Validated),
        (InSequencing, Completed),
        (InSequencing, Failed),
        (InSequencing, Validated),
        (Failed, Pending),
        (Rejected, Pending),
        (Completed, Archived),
        (Pending, Deleted),
        (Validated, Deleted),
        (Rejected, Deleted),
        (InStorage, Deleted),
        (Completed, Deleted),
        (Failed, Deleted),
        (Archived, Deleted),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_when_the_table_says_so() {
        let mut allowed = 0;
        for from in SampleStatus::ALL {
            for to in SampleStatus::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from:?} -> {to:?}");
                match from.transition(to) {
                    Ok(s) => {
                        assert!(expected);
                        assert_eq!(s, to);
                        allowed += 1;
                    }
                    Err(e) => {
                        assert!(!expected);
                        assert_eq!((e.from, e.to), (from.as_str(), to.as_str()));
                    }
                }
            }
        }
        assert_eq!(allowed, ALLOWED.len());
    }

    #[test]
    fn deleted_is_terminal_and_in_sequencing_cannot_be_deleted() {
        assert!(SampleStatus::ALL.iter().all(|&to| !Deleted.can_become(to)));
        assert!(!InSequencing.can_become(Deleted));
    }

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for s in SampleStatus::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.as_str());
            assert_eq!(SampleStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SampleStatus::parse("Pending"), None);
    }

    #[test]
    fn refusals_and_retries_need_a_reason() {
        assert!(Pending.needs_reason(Rejected));
        assert!(Failed.needs_reason(Pending));
        assert!(InSequencing.needs_reason(Failed));
        assert!(!Pending.needs_reason(Validated));
        assert!(!Completed.needs_reason(Archived));
        assert!(Validated.needs_reason(Deleted));
    }
}
