//! Index kits as data. The one shipped is Illumina's Nextera XT Index Kit v2 (sets A–D),
//! with the sequences Illumina publishes in "Illumina Adapter Sequences"
//! (1000000002694): i7 as read for the sample sheet, i5 in the forward orientation (as
//! MiSeq reads it); [`crate::domain::platform`] decides when a sheet needs its reverse
//! complement. Labs add their own kits as data through the API.

use super::index::IndexSeq;
use serde::{Deserialize, Serialize};

/// A named index of a kit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KitIndex {
    pub name: String,
    pub sequence: IndexSeq,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndexKit {
    pub name: String,
    pub i7: Vec<KitIndex>,
    /// Forward orientation.
    pub i5: Vec<KitIndex>,
}

const NEXTERA_XT_V2_I7: &[(&str, &str)] = &[
    ("N701", "TAAGGCGA"),
    ("N702", "CGTACTAG"),
    ("N703", "AGGCAGAA"),
    ("N704", "TCCTGAGC"),
    ("N705", "GGACTCCT"),
    ("N706", "TAGGCATG"),
    ("N707", "CTCTCTAC"),
    ("N710", "CGAGGCTG"),
    ("N711", "AAGAGGCA"),
    ("N712", "GTAGAGGA"),
    ("N714", "GCTCATGA"),
    ("N715", "ATCTCAGG"),
    ("N716", "ACTCGCTA"),
    ("N718", "GGAGCTAC"),
    ("N719", "GCGTAGTA"),
    ("N720", "CGGAGCCT"),
    ("N721", "TACGCTGC"),
    ("N722", "ATGCGCAG"),
    ("N723", "TAGCGCTC"),
    ("N724", "ACTGAGCG"),
    ("N726", "CCTAAGAC"),
    ("N727", "CGATCAGT"),
    ("N728", "TGCAGCTA"),
    ("N729", "TCGACGTC"),
];

const NEXTERA_XT_V2_I5: &[(&str, &str)] = &[
    ("S502", "CTCTCTAT"),
    ("S503", "TATCCTCT"),
    ("S505", "GTAAGGAG"),
    ("S506", "ACTGCATA"),
    ("S507", "AAGGAGTA"),
    ("S508", "CTAAGCCT"),
    ("S510", "CGTCTAAT"),
    ("S511", "TCTCTCCG"),
    ("S513", "TCGACTAG"),
    ("S515", "TTCTAGCT"),
    ("S516", "CCTAGAGT"),
    ("S517", "GCGTAAGA"),
    ("S518", "CTATTAAG"),
    ("S520", "AAGGCTAT"),
    ("S521", "GAGCCTTA"),
    ("S522", "TTATGCGA"),
];

fn indexes(table: &[(&str, &str)]) -> Vec<KitIndex> {
    table
        .iter()
        .filter_map(|(name, seq)| {
            Some(KitIndex {
                name: (*name).to_owned(),
                sequence: IndexSeq::parse(seq).ok()?,
            })
        })
        .collect()
}

/// Nextera XT Index Kit v2: 24 i7 × 16 i5, 384 dual-index combinations.
pub fn nextera_xt_v2() -> IndexKit {
    IndexKit {
        name: "Nextera XT Index Kit v2".to_owned(),
        i7: indexes(NEXTERA_XT_V2_I7),
        i5: indexes(NEXTERA_XT_V2_I5),
    }
}

impl IndexKit {
    pub fn i7(&self, name: &str) -> Option<&IndexSeq> {
        self.i7
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
            .map(|i| &i.sequence)
    }

    pub fn i5(&self, name: &str) -> Option<&IndexSeq> {
        self.i5
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
            .map(|i| &i.sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::index::hamming;

    #[test]
    fn the_kit_is_complete_and_its_published_sequences_load() {
        let kit = nextera_xt_v2();
        assert_eq!((kit.i7.len(), kit.i5.len()), (24, 16));
        assert_eq!(kit.i7("n701").map(IndexSeq::as_str), Some("TAAGGCGA"));
        assert_eq!(kit.i5("S522").map(IndexSeq::as_str), Some("TTATGCGA"));
        // A kit designed for pooling: every i7 pair differs in at least 3 bases.
        for (a, x) in kit.i7.iter().enumerate() {
            for y in &kit.i7[a + 1..] {
                assert!(
                    hamming(x.sequence.as_str(), y.sequence.as_str()) >= 3,
                    "{} {}",
                    x.name,
                    y.name
                );
            }
        }
    }
}
