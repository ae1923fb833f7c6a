//! What a run needs of its samples: each sample once, and every one ready before the run
//! starts.

use std::collections::HashSet;
use tracseq_core::FieldError;
use tracseq_lab::sample::Sample;
use tracseq_lab::status::SampleStatus;

/// The distinct sample ids of `members`.
pub fn sample_ids(members: &[(String, String)]) -> Vec<String> {
    let mut seen = HashSet::new();
    members
        .iter()
        .filter(|(_, s)| seen.insert(s.clone()))
        .map(|(_, s)| s.clone())
        .collect()
}

/// Before a run starts: every sample must be validated and out of the freezer (or
/// already sequencing in another run). Answers the refusals, one per sample.
pub fn not_ready(samples: &[Sample]) -> Vec<FieldError> {
    samples
        .iter()
        .filter_map(|s| {
            let in_freezer = s.storage.as_ref().is_some_and(|p| !p.checked_out);
            match s.status {
                SampleStatus::InSequencing => None,
                SampleStatus::Validated if !in_freezer => None,
                SampleStatus::InStorage | SampleStatus::Validated => Some(
                    FieldError::field(
                        "samples",
                        "in_storage",
                        format!(
                            "sample {} is in the freezer: retrieve it through storage first",
                            s.barcode
                        ),
                    )
                    .with_value(&s.id),
                ),
                other => Some(
                    FieldError::field(
                        "samples",
                        "not_ready",
                        format!("sample {} is {}, not validated", s.barcode, other.as_str()),
                    )
                    .with_value(&s.id),
                ),
            }
        })
        .collect()
}
