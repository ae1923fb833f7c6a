//! Instruments and flow cells (docs/domain.md's table, kept as data), and how each instrument
//! wants i5 written in each sample-sheet format.
//!
//! i5 orientation, from Illumina's "i5 Index Orientation Table" for sheets prepared by
//! hand: MiSeq reads i5 forward, so both formats take it forward. The other instruments
//! read it as the reverse complement. A v1 sheet (bcl2fastq) must then carry the reverse
//! complement. In a v2 sheet, BCL Convert reverse-complements by itself for NextSeq
//! 1000/2000 and NovaSeq X (their RunInfo.xml flags it) and wants i5 forward, while NovaSeq
//! 6000 (v1.5 chemistry) and iSeq 100 still want the reverse complement.

use serde::{Deserialize, Serialize};
use tracseq_core::named_enum;

named_enum!(
    /// A sequencer (ONT and PacBio have no Illumina sheets).
    Instrument {
        NovaSeq6000 => "NovaSeq 6000",
        NovaSeqX => "NovaSeq X",
        NextSeq2000 => "NextSeq 1000/2000",
        MiSeq => "MiSeq",
        ISeq100 => "iSeq 100",
        Ont => "Oxford Nanopore",
        PacBio => "PacBio",
    }
);

/// Which sample-sheet format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SheetFormat {
    /// BCL Convert (`FileFormatVersion,2`).
    V2,
    /// bcl2fastq / Illumina Experiment Manager.
    V1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    Forward,
    ReverseComplement,
}

impl Instrument {
    pub fn has_illumina_sheets(self) -> bool {
        !matches!(self, Instrument::Ont | Instrument::PacBio)
    }

    /// How i5 must appear in a sheet of `format` for this instrument.
    pub fn i5_orientation(self, format: SheetFormat) -> Orientation {
        use Instrument::*;
        match (self, format) {
            (MiSeq, _) => Orientation::Forward,
            (NovaSeqX | NextSeq2000, SheetFormat::V2) => Orientation::Forward,
            _ => Orientation::ReverseComplement,
        }
    }

    /// `InstrumentPlatform` of a v2 `[Header]`.
    pub fn v2_platform(self) -> &'static str {
        match self {
            Instrument::NovaSeqX => "NovaSeqXSeries",
            Instrument::NextSeq2000 => "NextSeq1000/2000",
            Instrument::NovaSeq6000 => "NovaSeq6000",
            Instrument::MiSeq => "MiSeq",
            Instrument::ISeq100 => "iSeq100",
            Instrument::Ont | Instrument::PacBio => "",
        }
    }
}

/// A flow cell type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowCell {
    pub name: String,
    pub instrument: Instrument,
    pub lanes: u8,
    /// Clusters passing filter per lane (docs/domain.md's "reads per lane").
    pub reads_per_lane: u64,
}

/// docs/domain.md's flow cells. Admins edit these as data; these are the seeds.
pub fn flow_cells() -> Vec<FlowCell> {
    use Instrument::*;
    let fc = |name: &str, instrument, lanes, reads_per_lane| FlowCell {
        name: name.to_owned(),
        instrument,
        lanes,
        reads_per_lane,
    };
    vec![
        fc("S4", NovaSeq6000, 4, 2_500_000_000),
        fc("S2", NovaSeq6000, 2, 1_650_000_000),
        fc("S1", NovaSeq6000, 2, 650_000_000),
        fc("SP", NovaSeq6000, 2, 325_000_000),
        fc("10B", NovaSeqX, 8, 1_250_000_000),
        fc("25B", NovaSeqX, 8, 3_125_000_000),
        fc("P2", NextSeq2000, 1, 400_000_000),
        fc("P3", NextSeq2000, 1, 1_200_000_000),
        fc("MiSeq v3", MiSeq, 1, 25_000_000),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i5_orientation_follows_illuminas_table() {
        use Instrument::*;
        use Orientation::*;
        use SheetFormat::*;
        for (inst, v2, v1) in [
            (MiSeq, Forward, Forward),
            (NovaSeqX, Forward, ReverseComplement),
            (NextSeq2000, Forward, ReverseComplement),
            (NovaSeq6000, ReverseComplement, ReverseComplement),
            (ISeq100, ReverseComplement, ReverseComplement),
        ] {
            assert_eq!((inst.i5_orientation(V2), inst.i5_orientation(V1)), (v2, v1), "{inst:?}");
        }
        assert!(!Ont.has_illumina_sheets() && NovaSeqX.has_illumina_sheets());
    }

    #[test]
    fn flow_cells_are_domain_data() {
        let cells = flow_cells();
        let x = cells.iter().find(|c| c.name == "25B").unwrap();
        assert_eq!((x.instrument, x.lanes), (Instrument::NovaSeqX, 8));
        assert_eq!(
            cells.iter().find(|c| c.name == "S4").unwrap().reads_per_lane,
            2_500_000_000
        );
    }
}
