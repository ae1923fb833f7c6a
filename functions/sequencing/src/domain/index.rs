//! Index sequences: `ACGTN` only, compared by Hamming distance, reverse-complemented for
//! the instruments that read i5 on the other strand.

use serde::{Deserialize, Serialize};

/// A validated index sequence (uppercase `ACGTN`, 1 to 24 bases).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct IndexSeq(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an index sequence: 1 to 24 bases of A, C, G, T or N")]
pub struct BadIndex(pub String);

pub const MAX_INDEX_LENGTH: usize = 24;

impl IndexSeq {
    pub fn parse(raw: &str) -> Result<Self, BadIndex> {
        let s = raw.trim().to_ascii_uppercase();
        if s.is_empty()
            || s.len() > MAX_INDEX_LENGTH
            || !s.bytes().all(|b| matches!(b, b'A' | b'C' | b'G' | b'T' | b'N'))
        {
            return Err(BadIndex(raw.to_owned()));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The other strand, read 5'→3'.
    pub fn reverse_complement(&self) -> IndexSeq {
        IndexSeq(
            self.0
                .bytes()
                .rev()
                .map(|b| match b {
                    b'A' => 'T',
                    b'C' => 'G',
                    b'G' => 'C',
                    b'T' => 'A',
                    _ => 'N',
                })
                .collect(),
        )
    }
}

impl TryFrom<String> for IndexSeq {
    type Error = BadIndex;
    fn try_from(s: String) -> Result<Self, BadIndex> {
        IndexSeq::parse(&s)
    }
}

impl From<IndexSeq> for String {
    fn from(s: IndexSeq) -> String {
        s.0
    }
}

/// Positions that differ over the shorter length (what a demultiplexer with per-sample
/// masks compares); an `N` matches nothing, as in BCL Convert.
pub fn hamming(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).filter(|(x, y)| x != y || *x == b'N').count()
}

/// Index distances of two index pairs: (i7, i5); i5 is `None` unless both have one.
pub type Distances = (usize, Option<usize>);

pub fn pair_distances(a: (&IndexSeq, Option<&IndexSeq>), b: (&IndexSeq, Option<&IndexSeq>)) -> Distances {
    let d7 = hamming(a.0.as_str(), b.0.as_str());
    let d5 = match (a.1, b.1) {
        (Some(x), Some(y)) => Some(hamming(x.as_str(), y.as_str())),
        _ => None,
    };
    (d7, d5)
}

/// Whether a read could match both pairs with `m7`/`m5` mismatches allowed: each index
/// read within `2m` of the other's.
pub fn ambiguous((d7, d5): Distances, m7: u8, m5: u8) -> bool {
    d7 <= 2 * m7 as usize && d5.is_none_or(|d| d <= 2 * m5 as usize)
}

/// Identical pairs (never separable).
pub fn identical((d7, d5): Distances) -> bool {
    d7 == 0 && d5.is_none_or(|d| d == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_checked_and_normalized() {
        assert_eq!(IndexSeq::parse(" taaggcga ").unwrap().as_str(), "TAAGGCGA");
        for bad in ["", "ACGU", "ACG T", &"A".repeat(25)] {
            assert!(IndexSeq::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reverse_complement_and_distance() {
        assert_eq!(
            IndexSeq::parse("CTCTCTAT").unwrap().reverse_complement().as_str(),
            "ATAGAGAG"
        );
        assert_eq!(
            IndexSeq::parse("GTAAGGAG").unwrap().reverse_complement().as_str(),
            "CTCCTTAC"
        );
        assert_eq!(hamming("TAAGGCGA", "TAAGGCGA"), 0);
        assert_eq!(hamming("TAAGGCGA", "TAAGGCGT"), 1);
        assert_eq!(hamming("TAAGGCGA", "CGTACTAG"), 8);
        assert_eq!(hamming("TAAGGCGA", "TAAGGC"), 0, "over the shorter length");
        assert_eq!(hamming("NAAG", "NAAG"), 1, "N never matches");
    }
}
