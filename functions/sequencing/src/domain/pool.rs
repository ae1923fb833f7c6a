//! Pooling: libraries in one pool share a lane, so their index pairs are checked when a
//! library joins, with the same rule the sample sheet applies (identical pairs, or pairs
//! within `2m` mismatches on every index read, are refused), naming the library already
//! in the pool it collides with.

use super::index::{IndexSeq, ambiguous, identical, pair_distances};
use serde::{Deserialize, Serialize};

/// A library as pooling sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub library_id: String,
    pub i7: IndexSeq,
    pub i5: Option<IndexSeq>,
}

/// Why a library cannot join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolConflict {
    #[error("library {new} has the same indexes as library {existing} in this pool")]
    Identical { new: String, existing: String },
    #[error(
        "library {new} is within {distance_i7} (i7){} of library {existing}: with {mismatches} mismatch(es) allowed some index must differ by at least {}",
        .distance_i5.map(|d| format!(" and {d} (i5)")).unwrap_or_default(),
        2 * *.mismatches as usize + 1
    )]
    TooClose {
        new: String,
        existing: String,
        distance_i7: usize,
        distance_i5: Option<usize>,
        mismatches: u8,
    },
    #[error("library {new} is single-index but the pool is dual-index (or the other way round)")]
    MixedIndexing { new: String },
}

/// Check `joining` against the pool's `members`; every conflict is returned.
pub fn check_join(members: &[Member], joining: &[Member], mismatches: u8) -> Vec<PoolConflict> {
    let mut out = Vec::new();
    let mut all: Vec<&Member> = members.iter().collect();
    for new in joining {
        for existing in &all {
            if existing.i5.is_some() != new.i5.is_some() {
                out.push(PoolConflict::MixedIndexing {
                    new: new.library_id.clone(),
                });
                break;
            }
            let d = pair_distances((&new.i7, new.i5.as_ref()), (&existing.i7, existing.i5.as_ref()));
            if identical(d) {
                out.push(PoolConflict::Identical {
                    new: new.library_id.clone(),
                    existing: existing.library_id.clone(),
                });
            } else if ambiguous(d, mismatches, mismatches) {
                out.push(PoolConflict::TooClose {
                    new: new.library_id.clone(),
                    existing: existing.library_id.clone(),
                    distance_i7: d.0,
                    distance_i5: d.1,
                    mismatches,
                });
            }
        }
        all.push(new);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, i7: &str, i5: Option<&str>) -> Member {
        Member {
            library_id: id.into(),
            i7: IndexSeq::parse(i7).unwrap(),
            i5: i5.map(|s| IndexSeq::parse(s).unwrap()),
        }
    }

    #[test]
    fn identical_and_close_pairs_are_refused_at_pooling() {
        let pool = vec![m("L1", "TAAGGCGA", Some("CTCTCTAT"))];
        let join = |i7: &str, i5: &str| check_join(&pool, &[m("L2", i7, Some(i5))], 1);
        assert!(matches!(
            join("TAAGGCGA", "CTCTCTAT")[..],
            [PoolConflict::Identical { .. }]
        ));
        assert!(matches!(
            join("TAAGGCGT", "CTCTCTAT")[..],
            [PoolConflict::TooClose { distance_i7: 1, .. }]
        ));
        assert!(matches!(
            join("TAAGGCTT", "CTCTCTAT")[..],
            [PoolConflict::TooClose { distance_i7: 2, .. }]
        ));
        assert!(join("TAAGGATT", "CTCTCTAT").is_empty(), "3 apart");
        assert!(join("TAAGGCGT", "CTCTCGGG").is_empty(), "i5 3 apart");
        let msg = join("TAAGGCGT", "CTCTCTAA")[0].to_string();
        assert_eq!(
            msg,
            "library L2 is within 1 (i7) and 1 (i5) of library L1: with 1 mismatch(es) allowed some index must differ by at least 3"
        );
        assert!(matches!(
            check_join(&pool, &[m("L3", "GGACTCCT", None)], 1)[..],
            [PoolConflict::MixedIndexing { .. }]
        ));
    }

    #[test]
    fn libraries_joining_together_are_checked_against_each_other() {
        let got = check_join(
            &[],
            &[
                m("A", "TAAGGCGA", Some("CTCTCTAT")),
                m("B", "TAAGGCGA", Some("CTCTCTAT")),
            ],
            0,
        );
        assert_eq!(
            got,
            [PoolConflict::Identical {
                new: "B".into(),
                existing: "A".into()
            }]
        );
    }
}
