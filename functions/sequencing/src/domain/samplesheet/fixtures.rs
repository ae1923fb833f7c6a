//! Example runs built from the shipped kit, shared by the tests, the benchmark and the
//! end-to-end parser checks.

use super::{Reads, SheetRequest, SheetSample};
use crate::domain::kits::nextera_xt_v2;
use crate::domain::platform::Instrument;

/// A NovaSeq X run of all 384 Nextera XT v2 combinations over 8 lanes: three i7 per
/// lane, each with all 16 i5 (2 × 151 cycles, 10-cycle index reads).
pub fn nextera_384_over_8_lanes() -> SheetRequest {
    let kit = nextera_xt_v2();
    let mut samples = Vec::with_capacity(kit.i7.len() * kit.i5.len());
    for (a, i7) in kit.i7.iter().enumerate() {
        for i5 in &kit.i5 {
            samples.push(SheetSample {
                lane: (a / 3 + 1) as u8,
                sample_id: format!("S{}-{}", i7.name, i5.name),
                index: i7.sequence.clone(),
                index2: Some(i5.sequence.clone()),
                project: Some("Genome_Panel".to_owned()),
                i7_name: Some(i7.name.clone()),
                i5_name: Some(i5.name.clone()),
            });
        }
    }
    SheetRequest {
        run_name: "NVX-384".to_owned(),
        instrument: Instrument::NovaSeqX,
        lanes: 8,
        reads: Reads {
            read1: 151,
            index1: 10,
            index2: 10,
            read2: 151,
        },
        barcode_mismatches: 1,
        allow_lower_mismatches: false,
        date: "2026-11-27".to_owned(),
        bclconvert_version: None,
        samples,
    }
}

/// A MiSeq run of 24 samples (N701–N712 × S502, S503), 2 × 301 cycles, 8-cycle indexes.
pub fn miseq_24() -> SheetRequest {
    let kit = nextera_xt_v2();
    let mut samples = Vec::new();
    for i7 in kit.i7.iter().take(12) {
        for i5 in kit.i5.iter().take(2) {
            samples.push(SheetSample {
                lane: 1,
                sample_id: format!("M{}-{}", i7.name, i5.name),
                index: i7.sequence.clone(),
                index2: Some(i5.sequence.clone()),
                project: Some("Amplicons".to_owned()),
                i7_name: Some(i7.name.clone()),
                i5_name: Some(i5.name.clone()),
            });
        }
    }
    SheetRequest {
        run_name: "MISEQ-24".to_owned(),
        instrument: Instrument::MiSeq,
        lanes: 1,
        reads: Reads {
            read1: 301,
            index1: 8,
            index2: 8,
            read2: 301,
        },
        barcode_mismatches: 1,
        allow_lower_mismatches: false,
        date: "2026-11-27".to_owned(),
        bclconvert_version: None,
        samples,
    }
}
