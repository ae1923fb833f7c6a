//! Sample sheets read back by independent parsers from PyPI, installed in the project
//! venv: samshee for v2 (it also validates against its schema, Illumina's v2 logic and
//! its index-distance check) and sample-sheet for v1 (IEM).

use serde_json::Value;
use std::process::Command;
use tracseq_sequencing::domain::index::IndexSeq;
use tracseq_sequencing::domain::platform::{Instrument, SheetFormat};
use tracseq_sequencing::domain::samplesheet::{fixtures, render};

/// Write both sheets and parse them; answers what the parsers read.
fn parse(v2: &str, v1: &str) -> Value {
    let dir = std::env::temp_dir().join(format!("tracseq-sheets-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (p2, p1) = (dir.join("v2.csv"), dir.join("v1.csv"));
    std::fs::write(&p2, v2).unwrap();
    std::fs::write(&p1, v1).unwrap();
    let script = tracseq_tests::workspace().join("tests/fixtures/sequencing/parse_sheets.py");
    let out = Command::new(tracseq_tests::venv().join("bin/python"))
        .arg(script)
        .arg(&p2)
        .arg(&p1)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the parsers refused our sheets:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn independent_parsers_read_our_sheets_as_the_instruments_expect() {
    let novaseq_x = fixtures::nextera_384_over_8_lanes();
    let miseq = fixtures::miseq_24();
    let got = parse(
        &render(&novaseq_x, SheetFormat::V2).unwrap(),
        &render(&miseq, SheetFormat::V1).unwrap(),
    );

    let v2 = &got["v2"];
    assert_eq!(v2["header"]["FileFormatVersion"], 2);
    assert_eq!(v2["header"]["InstrumentPlatform"], "NovaSeqXSeries");
    assert_eq!(v2["header"]["RunName"], "NVX-384");
    for (k, want) in [
        ("Read1Cycles", 151),
        ("Read2Cycles", 151),
        ("Index1Cycles", 10),
        ("Index2Cycles", 10),
    ] {
        assert_eq!(v2["reads"][k], want, "{k}");
    }
    assert_eq!(v2["settings"]["OverrideCycles"], "Y151;I8N2;I8N2;Y151");
    assert_eq!(v2["settings"]["BarcodeMismatchesIndex1"], 1);
    assert_eq!(v2["settings"]["BarcodeMismatchesIndex2"], 1);
    let data = v2["data"].as_array().unwrap();
    assert_eq!(data.len(), 384);
    for (row, sample) in data.iter().zip(&novaseq_x.samples) {
        assert_eq!(row["Lane"], u64::from(sample.lane));
        assert_eq!(row["Sample_ID"], sample.sample_id.as_str());
        assert_eq!(row["Index"], sample.index.as_str());
        // NovaSeq X, v2: i5 forward (BCL Convert reverse-complements it itself).
        assert_eq!(row["Index2"], sample.index2.as_ref().unwrap().as_str());
        assert_eq!(row["Sample_Project"], "Genome_Panel");
    }

    let v1 = &got["v1"];
    assert_eq!(v1["header"]["IEMFileVersion"], "5");
    assert_eq!(v1["header"]["Instrument Type"], "MiSeq");
    assert_eq!(v1["reads"], serde_json::json!([301, 301]));
    let samples = v1["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 24);
    for (row, sample) in samples.iter().zip(&miseq.samples) {
        assert_eq!(row["Sample_ID"], sample.sample_id.as_str());
        assert_eq!(row["index"], sample.index.as_str());
        // MiSeq reads i5 forward.
        assert_eq!(row["index2"], sample.index2.as_ref().unwrap().as_str());
    }
}

#[test]
fn a_novaseq_6000_v1_sheet_carries_i5_reverse_complemented() {
    let mut run = fixtures::nextera_384_over_8_lanes();
    run.instrument = Instrument::NovaSeq6000;
    run.lanes = 4;
    run.samples.retain(|s| s.lane <= 4);
    let got = parse(
        &render(&run, SheetFormat::V2).unwrap(),
        &render(&run, SheetFormat::V1).unwrap(),
    );
    let rc = |s: &Option<IndexSeq>| s.as_ref().unwrap().reverse_complement().as_str().to_owned();
    assert_eq!(got["v2"]["header"]["InstrumentPlatform"], "NovaSeq6000");
    let (v2, v1) = (
        got["v2"]["data"].as_array().unwrap(),
        got["v1"]["samples"].as_array().unwrap(),
    );
    assert_eq!((v2.len(), v1.len()), (192, 192));
    for ((a, b), sample) in v2.iter().zip(v1).zip(&run.samples) {
        assert_eq!(a["Index2"], rc(&sample.index2), "v2 on NovaSeq 6000");
        assert_eq!(b["index2"], rc(&sample.index2), "v1 on NovaSeq 6000");
        assert_eq!(b["Lane"], sample.lane.to_string());
    }
}
