use super::*;

fn seq(s: &str) -> IndexSeq {
    IndexSeq::parse(s).unwrap()
}

fn sample(lane: u8, id: &str, i7: &str, i5: Option<&str>) -> SheetSample {
    SheetSample {
        lane,
        sample_id: id.to_owned(),
        index: seq(i7),
        index2: i5.map(seq),
        project: Some("P1".to_owned()),
        i7_name: None,
        i5_name: None,
    }
}

fn request(instrument: Instrument, lanes: u8, samples: Vec<SheetSample>) -> SheetRequest {
    SheetRequest {
        run_name: "RUN-1".to_owned(),
        instrument,
        lanes,
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

fn full_novaseq_x() -> SheetRequest {
    super::fixtures::nextera_384_over_8_lanes()
}

fn codes(c: &Checked) -> Vec<(&str, Severity)> {
    c.issues.iter().map(|i| (i.code.as_str(), i.severity)).collect()
}

#[test]
fn a_clean_384_sample_8_lane_sheet_passes() {
    let req = full_novaseq_x();
    assert_eq!(req.samples.len(), 384);
    let checked = validate(&req);
    assert!(checked.issues.is_empty(), "{:?}", checked.issues);
    assert_eq!(checked.mismatches, (1, 1));
    let sheet = render(&req, SheetFormat::V2).unwrap();
    assert_eq!(
        sheet
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .count(),
        384
    );
}

#[test]
fn novaseq_x_v2_field_by_field() {
    let req = request(
        Instrument::NovaSeqX,
        8,
        vec![
            sample(1, "LIB-01", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "LIB-02", "CGTACTAG", Some("TATCCTCT")),
            sample(2, "LIB-03", "AGGCAGAA", Some("GTAAGGAG")),
        ],
    );
    let sheet = render(&req, SheetFormat::V2).unwrap();
    let expected = "[Header]\r\nFileFormatVersion,2\r\nRunName,RUN-1\r\nInstrumentPlatform,NovaSeqXSeries\r\nIndexOrientation,Forward\r\n\r\n\
[Reads]\r\nRead1Cycles,151\r\nRead2Cycles,151\r\nIndex1Cycles,10\r\nIndex2Cycles,10\r\n\r\n\
[BCLConvert_Settings]\r\nSoftwareVersion,4.2.7\r\nOverrideCycles,Y151;I8N2;I8N2;Y151\r\nBarcodeMismatchesIndex1,1\r\nBarcodeMismatchesIndex2,1\r\n\r\n\
[BCLConvert_Data]\r\nLane,Sample_ID,Index,Index2,Sample_Project\r\n\
1,LIB-01,TAAGGCGA,CTCTCTAT,P1\r\n1,LIB-02,CGTACTAG,TATCCTCT,P1\r\n2,LIB-03,AGGCAGAA,GTAAGGAG,P1\r\n";
    assert_eq!(sheet, expected);
    // OverrideCycles accounts for exactly the cycles in [Reads].
    assert_eq!(cycles_of("Y151;I8N2;I8N2;Y151"), [151, 10, 10, 151]);
}

#[test]
fn miseq_v1_field_by_field() {
    let mut req = request(
        Instrument::MiSeq,
        1,
        vec![
            sample(1, "LIB-01", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "LIB-02", "CGTACTAG", Some("TATCCTCT")),
        ],
    );
    req.reads = Reads {
        read1: 301,
        index1: 8,
        index2: 8,
        read2: 301,
    };
    req.samples[0].i7_name = Some("N701".into());
    req.samples[0].i5_name = Some("S502".into());
    let sheet = render(&req, SheetFormat::V1).unwrap();
    let expected = "[Header]\r\nIEMFileVersion,5\r\nExperiment Name,RUN-1\r\nDate,2026-11-27\r\nWorkflow,GenerateFASTQ\r\nApplication,FASTQ Only\r\nInstrument Type,MiSeq\r\nChemistry,Amplicon\r\n\r\n\
[Reads]\r\n301\r\n301\r\n\r\n[Settings]\r\nCreateFastqForIndexReads,0\r\n\r\n\
[Data]\r\nSample_ID,Sample_Name,I7_Index_ID,index,I5_Index_ID,index2,Sample_Project\r\n\
LIB-01,LIB-01,N701,TAAGGCGA,S502,CTCTCTAT,P1\r\nLIB-02,LIB-02,,CGTACTAG,,TATCCTCT,P1\r\n";
    assert_eq!(sheet, expected);
}

#[test]
fn index2_is_written_as_each_instrument_and_format_needs() {
    let one = |inst, lanes, fmt| {
        let req = request(inst, lanes, vec![sample(1, "A", "TAAGGCGA", Some("CTCTCTAT"))]);
        let sheet = render(&req, fmt).unwrap();
        let last = sheet.lines().last().unwrap().to_owned();
        last.contains("CTCTCTAT")
    };
    assert!(one(Instrument::NovaSeqX, 8, SheetFormat::V2), "forward in v2");
    assert!(
        !one(Instrument::NovaSeqX, 8, SheetFormat::V1),
        "reverse complement in v1"
    );
    assert!(one(Instrument::MiSeq, 1, SheetFormat::V1));
    assert!(!one(Instrument::NovaSeq6000, 4, SheetFormat::V2));
    assert!(one(Instrument::NextSeq2000, 1, SheetFormat::V2));
    let req = request(
        Instrument::NovaSeq6000,
        4,
        vec![sample(1, "A", "TAAGGCGA", Some("CTCTCTAT"))],
    );
    assert!(render(&req, SheetFormat::V1).unwrap().contains(",ATAGAGAG,"));
}

#[test]
fn collisions_identical_and_at_distance_one_and_two_are_caught() {
    for (i7b, i5b, code) in [
        ("TAAGGCGA", "CTCTCTAT", "index_collision"),
        ("TAAGGCGT", "CTCTCTAT", "index_too_close"),
        ("TAAGGCTT", "CTCTCTAT", "index_too_close"),
        ("TAAGGCGT", "CTCTCTAA", "index_too_close"),
    ] {
        let req = request(
            Instrument::NovaSeqX,
            8,
            vec![
                sample(3, "A", "TAAGGCGA", Some("CTCTCTAT")),
                sample(3, "B", i7b, Some(i5b)),
            ],
        );
        let checked = validate(&req);
        assert_eq!(codes(&checked), [(code, Severity::Error)], "{i7b}+{i5b}");
        assert_eq!(checked.issues[0].lane, Some(3));
        assert!(render(&req, SheetFormat::V2).is_err());
    }
    // Distance 3 in one index read is enough; the same pair in another lane is fine.
    let req = request(
        Instrument::NovaSeqX,
        8,
        vec![
            sample(1, "A", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "B", "TAAGGATT", Some("CTCTCTAT")),
            sample(2, "C", "TAAGGCGA", Some("CTCTCTAT")),
        ],
    );
    assert!(validate(&req).issues.is_empty());
}

#[test]
fn close_indexes_lower_the_mismatches_when_allowed_and_say_so() {
    let mut req = request(
        Instrument::NovaSeqX,
        8,
        vec![
            sample(1, "A", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "B", "TAAGGCGT", Some("CTCTCTAT")),
        ],
    );
    req.allow_lower_mismatches = true;
    let checked = validate(&req);
    assert_eq!(codes(&checked), [("mismatches_lowered", Severity::Warning)]);
    // i5 is identical, so only index 1 has to give up its mismatch.
    assert_eq!(checked.mismatches, (0, 1));
    let sheet = render(&req, SheetFormat::V2).unwrap();
    assert!(sheet.contains("BarcodeMismatchesIndex1,0\r\nBarcodeMismatchesIndex2,1\r\n"));
    assert!(
        checked.issues[0]
            .message
            .contains("differ by 1 in index 1 and 0 in index 2")
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut req = request(
        Instrument::NovaSeqX,
        2,
        vec![
            sample(3, "ok", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "bad id!", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "LONG", "TAAGGCGATAAG", Some("CTCTCTAT")),
            sample(1, "NO-I5", "GGACTCCT", None),
            sample(1, "LONG", "CGTACTAG", Some("TATCCTCT")),
        ],
    );
    req.samples[2].project = Some("has space".into());
    let checked = validate(&req);
    let got: Vec<&str> = checked.issues.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(
        got,
        [
            "lane",
            "sample_id",
            "project",
            "index_length",
            "missing_index2",
            "duplicate_sample_id",
            // A longer index whose first bases equal another's is no different to a
            // demultiplexer that masks the extra cycles.
            "index_collision",
            "mixed_index_lengths"
        ]
    );
    let errors = render(&req, SheetFormat::V2).unwrap_err();
    assert_eq!(errors.len(), 7, "the warning does not block");
    let mut bad = request(Instrument::PacBio, 1, vec![]);
    bad.reads.read1 = 0;
    bad.run_name = "a,b".into();
    let got: Vec<String> = validate(&bad).issues.into_iter().map(|i| i.code).collect();
    assert_eq!(got, ["no_illumina_sheet", "run_name", "reads", "empty"]);
}

#[test]
fn mixed_index_lengths_get_per_sample_override_cycles_in_v2_only() {
    let req = request(
        Instrument::NovaSeqX,
        8,
        vec![
            sample(1, "A", "TAAGGCGA", Some("CTCTCTAT")),
            sample(1, "B", "GGACTCCTAG", Some("TATCCTCTAA")),
        ],
    );
    let sheet = render(&req, SheetFormat::V2).unwrap();
    assert!(!sheet.contains("\r\nOverrideCycles,"), "no global setting");
    assert!(sheet.contains("Lane,Sample_ID,Index,Index2,Sample_Project,OverrideCycles\r\n"));
    assert!(sheet.contains(",Y151;I8N2;I8N2;Y151\r\n") && sheet.contains(",Y151;I10;I10;Y151\r\n"));
    assert_eq!(
        render(&req, SheetFormat::V1).unwrap_err()[0].code,
        "mixed_index_lengths"
    );
}

#[test]
fn override_cycles_cover_the_reads() {
    let reads = Reads {
        read1: 151,
        index1: 10,
        index2: 0,
        read2: 0,
    };
    assert_eq!(override_cycles(&reads, 8, 0), "Y151;I8N2");
    assert_eq!(cycles_of(&override_cycles(&reads, 8, 0)), [151, 10]);
    let full = Reads {
        read1: 101,
        index1: 8,
        index2: 8,
        read2: 101,
    };
    assert_eq!(override_cycles(&full, 8, 8), "Y101;I8;I8;Y101");
}

#[test]
fn reads_an_instrument_can_run() {
    let r = |read1, index1, index2, read2| Reads {
        read1,
        index1,
        index2,
        read2,
    };
    assert!(r(151, 10, 10, 151).valid());
    assert!(r(1, 0, 0, 0).valid(), "a single read without indexes");
    assert!(r(1000, 24, 24, 1000).valid(), "every upper bound");
    assert!(!r(0, 8, 8, 151).valid(), "no first read");
    assert!(!r(1001, 8, 8, 151).valid());
    assert!(!r(151, 25, 8, 151).valid());
    assert!(!r(151, 8, 8, 1001).valid());
    assert!(!r(151, 0, 8, 151).valid(), "an index2 needs an index1");
}
