//! Illumina sample sheets: v2 for BCL Convert and v1 (IEM) for bcl2fastq, and the checks
//! that keep a run from being wasted (docs/domain.md, Sequencing). [`validate`] returns every
//! problem at once; errors block [`render`], warnings do not.
//!
//! Index collisions: BCL Convert accepts a read for a sample when each index read is
//! within the allowed mismatches (`m`) of that sample's index. Two samples in a lane are
//! therefore ambiguous when every index read is within `2m` of the other's, so with one
//! mismatch allowed some index read must differ by at least 3 (docs/domain.md's rule).
//! Identical index pairs are always an error. Closer pairs are an error too, unless the
//! request allows lowering the mismatches: then the highest setting without ambiguity is
//! used (per index read) and a warning names the pair that forced it.

use super::index::{Distances, IndexSeq, ambiguous, identical, pair_distances};
use super::platform::{Instrument, Orientation, SheetFormat};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

/// Cycles of each read (`0` for an absent read): read1 1 to 1000, read2 0 to 1000, index
/// reads 0 to 24, and an index2 only with an index1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reads {
    #[schema(minimum = 1, maximum = 1000)]
    pub read1: u16,
    #[schema(maximum = 24)]
    pub index1: u16,
    #[schema(maximum = 24)]
    pub index2: u16,
    #[schema(maximum = 1000)]
    pub read2: u16,
}

impl Reads {
    /// Whether an instrument can run these cycles.
    pub fn valid(&self) -> bool {
        (1..=1000).contains(&self.read1)
            && self.read2 <= 1000
            && self.index1 <= 24
            && self.index2 <= 24
            && !(self.index1 == 0 && self.index2 > 0)
    }
}

/// What [`Reads::valid`] asks, for a field error.
pub const READS_RULE: &str = "read1 1 to 1000, read2 0 to 1000, index reads 0 to 24 (index2 needs index1)";

/// One sample (a library) on one lane. `index2` is in the forward orientation; the
/// renderer writes what the instrument and format need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SheetSample {
    pub lane: u8,
    pub sample_id: String,
    pub index: IndexSeq,
    #[serde(default)]
    pub index2: Option<IndexSeq>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub i7_name: Option<String>,
    #[serde(default)]
    pub i5_name: Option<String>,
}

/// Everything a sheet is made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SheetRequest {
    pub run_name: String,
    pub instrument: Instrument,
    /// Lanes of the flow cell.
    pub lanes: u8,
    pub reads: Reads,
    /// Mismatches allowed per index read (BarcodeMismatchesIndex1/2), 0–2.
    pub barcode_mismatches: u8,
    /// Lower the mismatches (with a warning) instead of failing on close indexes.
    #[serde(default)]
    pub allow_lower_mismatches: bool,
    /// `YYYY-MM-DD`, for the v1 header.
    pub date: String,
    /// BCL Convert version for `[BCLConvert_Settings] SoftwareVersion` (required by the v2
    /// format); [`DEFAULT_BCLCONVERT_VERSION`] when absent.
    #[serde(default)]
    pub bclconvert_version: Option<String>,
    pub samples: Vec<SheetSample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem with a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Issue {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_id: Option<String>,
}

fn issue(severity: Severity, code: &str, message: String, lane: Option<u8>, sample_id: Option<&str>) -> Issue {
    Issue {
        severity,
        code: code.to_owned(),
        message,
        lane,
        sample_id: sample_id.map(str::to_owned),
    }
}

/// What validation decided, besides the issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub issues: Vec<Issue>,
    /// Mismatches to write for index 1 and index 2.
    pub mismatches: (u8, u8),
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == Severity::Error)
    }
}

pub const DEFAULT_BCLCONVERT_VERSION: &str = "4.2.7";
const MAX_ID: usize = 100;
const MAX_CYCLES: u16 = 1000;

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_run_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' '))
}

/// Check everything; the issues come in input order, errors and warnings mixed.
pub fn validate(req: &SheetRequest) -> Checked {
    let mut issues = Vec::new();
    let mut err = |code: &str, msg: String, lane: Option<u8>, id: Option<&str>| {
        issues.push(issue(Severity::Error, code, msg, lane, id));
    };
    if !req.instrument.has_illumina_sheets() {
        err(
            "no_illumina_sheet",
            format!("{} runs have no Illumina sample sheet", req.instrument.as_str()),
            None,
            None,
        );
    }
    if !valid_run_name(&req.run_name) {
        err(
            "run_name",
            "a run name has 1 to 100 letters, digits, spaces, '.', '_' or '-'".into(),
            None,
            None,
        );
    }
    let r = req.reads;
    if r.read1 == 0 || [r.read1, r.read2].iter().any(|c| *c > MAX_CYCLES) {
        err(
            "reads",
            format!("Read1Cycles must be 1 to {MAX_CYCLES}, Read2Cycles 0 to {MAX_CYCLES}"),
            None,
            None,
        );
    }
    if [r.index1, r.index2]
        .iter()
        .any(|c| *c > super::index::MAX_INDEX_LENGTH as u16)
        || (r.index1 == 0 && r.index2 > 0)
    {
        err(
            "reads",
            "index reads are 0 to 24 cycles, and Index2 needs Index1".into(),
            None,
            None,
        );
    }
    if let Some(v) = &req.bclconvert_version
        && (v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    {
        err(
            "bclconvert_version",
            format!("BCL Convert version {v:?} is not like 4.2.7"),
            None,
            None,
        );
    }
    if req.barcode_mismatches > 2 {
        err(
            "barcode_mismatches",
            "0, 1 or 2 mismatches per index read".into(),
            None,
            None,
        );
    }
    if req.samples.is_empty() {
        err("empty", "a sheet needs at least one sample".into(), None, None);
    }
    let mut seen: HashSet<(u8, &str)> = HashSet::new();
    for s in &req.samples {
        let (lane, id) = (Some(s.lane), Some(s.sample_id.as_str()));
        if s.lane == 0 || s.lane > req.lanes {
            err(
                "lane",
                format!("lane {} is not on this {}-lane flow cell", s.lane, req.lanes),
                lane,
                id,
            );
        }
        if !valid_id(&s.sample_id) {
            err(
                "sample_id",
                format!("Sample_ID {:?}: 1 to 100 of A-Z, a-z, 0-9, '_' and '-'", s.sample_id),
                lane,
                id,
            );
        } else if !seen.insert((s.lane, s.sample_id.as_str())) {
            err(
                "duplicate_sample_id",
                format!("Sample_ID {} appears twice in lane {}", s.sample_id, s.lane),
                lane,
                id,
            );
        }
        if let Some(p) = &s.project
            && !valid_id(p)
        {
            err(
                "project",
                format!("Sample_Project {p:?}: 1 to 100 of A-Z, a-z, 0-9, '_' and '-'"),
                lane,
                id,
            );
        }
        if s.index.len() > r.index1 as usize {
            err(
                "index_length",
                format!(
                    "index {} has {} bases but Index1Cycles is {}",
                    s.index.as_str(),
                    s.index.len(),
                    r.index1
                ),
                lane,
                id,
            );
        }
        match (&s.index2, r.index2) {
            (Some(i2), cycles) if i2.len() > cycles as usize => err(
                "index2_length",
                format!(
                    "index2 {} has {} bases but Index2Cycles is {cycles}",
                    i2.as_str(),
                    i2.len()
                ),
                lane,
                id,
            ),
            (None, c) if c > 0 => err(
                "missing_index2",
                "this run reads a second index; the sample has none".into(),
                lane,
                id,
            ),
            _ => {}
        }
    }
    let mismatches = check_collisions(req, &mut issues);
    lengths_per_lane(req, &mut issues);
    Checked { issues, mismatches }
}

/// Warn about lanes whose samples have indexes of different lengths (they need
/// per-sample OverrideCycles, which only v2 sheets carry).
fn lengths_per_lane(req: &SheetRequest, issues: &mut Vec<Issue>) {
    let mut lens: BTreeMap<u8, HashSet<(usize, usize)>> = BTreeMap::new();
    for s in &req.samples {
        lens.entry(s.lane)
            .or_default()
            .insert((s.index.len(), s.index2.as_ref().map_or(0, IndexSeq::len)));
    }
    for (lane, l) in lens {
        if l.len() > 1 {
            issues.push(issue(
                Severity::Warning,
                "mixed_index_lengths",
                format!("lane {lane} mixes index lengths; each sample gets its own OverrideCycles (v2 only)"),
                Some(lane),
                None,
            ));
        }
    }
}

/// Two samples of a lane whose indexes are close, and how close.
struct ClosePair<'a> {
    lane: u8,
    a: &'a SheetSample,
    b: &'a SheetSample,
    d: Distances,
}

fn distances(a: &SheetSample, b: &SheetSample) -> Distances {
    pair_distances((&a.index, a.index2.as_ref()), (&b.index, b.index2.as_ref()))
}

/// Check every pair in each lane; answer the mismatches to write.
fn check_collisions(req: &SheetRequest, issues: &mut Vec<Issue>) -> (u8, u8) {
    let mut by_lane: BTreeMap<u8, Vec<&SheetSample>> = BTreeMap::new();
    for s in &req.samples {
        by_lane.entry(s.lane).or_default().push(s);
    }
    let m = req.barcode_mismatches.min(2);
    let dual = req.reads.index2 > 0;
    // The candidate settings, most permissive first (most mismatches in total, then
    // index 1 keeping more).
    let max5 = if dual { m } else { 0 };
    let mut candidates: Vec<(u8, u8)> = (0..=m).flat_map(|a| (0..=max5).map(move |b| (a, b))).collect();
    candidates.sort_by_key(|(a, b)| std::cmp::Reverse((a + b, *a)));
    let mut close: Vec<ClosePair> = Vec::new();
    for (lane, samples) in &by_lane {
        for (i, a) in samples.iter().enumerate() {
            for b in &samples[i + 1..] {
                let d = distances(a, b);
                if identical(d) {
                    issues.push(issue(
                        Severity::Error,
                        "index_collision",
                        format!(
                            "{} and {} have the same indexes ({}{}) in lane {lane}",
                            a.sample_id,
                            b.sample_id,
                            a.index.as_str(),
                            a.index2
                                .as_ref()
                                .map(|x| format!("+{}", x.as_str()))
                                .unwrap_or_default()
                        ),
                        Some(*lane),
                        Some(&b.sample_id),
                    ));
                } else if ambiguous(d, m, if dual { m } else { 0 }) {
                    close.push(ClosePair { lane: *lane, a, b, d });
                }
            }
        }
    }
    let requested = (m, if dual { m } else { 0 });
    if close.is_empty() {
        return requested;
    }
    let describe = |c: &ClosePair| {
        format!(
            "{} and {} in lane {} differ by {} in index 1{}",
            c.a.sample_id,
            c.b.sample_id,
            c.lane,
            c.d.0,
            c.d.1.map(|x| format!(" and {x} in index 2")).unwrap_or_default()
        )
    };
    if !req.allow_lower_mismatches {
        for c in &close {
            issues.push(issue(
                Severity::Error,
                "index_too_close",
                format!(
                    "{}: with {m} mismatch(es) allowed some index read must differ by at least {}",
                    describe(c),
                    2 * m + 1
                ),
                Some(c.lane),
                Some(&c.b.sample_id),
            ));
        }
        return requested;
    }
    let chosen = candidates
        .into_iter()
        .find(|(m7, m5)| close.iter().all(|c| !ambiguous(c.d, *m7, *m5)))
        .unwrap_or((0, 0));
    issues.push(issue(
        Severity::Warning,
        "mismatches_lowered",
        format!(
            "BarcodeMismatchesIndex1/2 lowered from {m}/{} to {}/{} because {}",
            requested.1,
            chosen.0,
            chosen.1,
            describe(&close[0])
        ),
        Some(close[0].lane),
        Some(&close[0].b.sample_id),
    ));
    chosen
}

/// `Y151;I8N2;I8N2;Y151` for a sample with `i7`/`i5` bases.
pub fn override_cycles(reads: &Reads, i7: usize, i5: usize) -> String {
    let index = |len: usize, cycles: u16| {
        let n = (cycles as usize).saturating_sub(len);
        match (len, n) {
            (0, n) => format!("N{n}"),
            (l, 0) => format!("I{l}"),
            (l, n) => format!("I{l}N{n}"),
        }
    };
    let mut parts = vec![format!("Y{}", reads.read1)];
    if reads.index1 > 0 {
        parts.push(index(i7, reads.index1));
    }
    if reads.index2 > 0 {
        parts.push(index(i5, reads.index2));
    }
    if reads.read2 > 0 {
        parts.push(format!("Y{}", reads.read2));
    }
    parts.join(";")
}

/// The cycles an OverrideCycles string accounts for, per read (to check it against
/// `[Reads]`).
pub fn cycles_of(override_cycles: &str) -> Vec<u16> {
    override_cycles
        .split(';')
        .map(|part| {
            let mut total = 0u16;
            let mut num = String::new();
            for c in part.chars().chain(['#']) {
                if c.is_ascii_digit() {
                    num.push(c);
                } else {
                    total += num.parse::<u16>().unwrap_or(0);
                    num.clear();
                }
            }
            total
        })
        .collect()
}

fn i5_written(req: &SheetRequest, s: &SheetSample, format: SheetFormat) -> Option<String> {
    s.index2.as_ref().map(|i| match req.instrument.i5_orientation(format) {
        Orientation::Forward => i.as_str().to_owned(),
        Orientation::ReverseComplement => i.reverse_complement().as_str().to_owned(),
    })
}

/// The sheet as CSV, or the errors that block it (warnings never do).
pub fn render(req: &SheetRequest, format: SheetFormat) -> Result<String, Vec<Issue>> {
    let checked = validate(req);
    let mut blocking: Vec<Issue> = checked
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .cloned()
        .collect();
    let mixed = checked.issues.iter().any(|i| i.code == "mixed_index_lengths");
    if mixed && format == SheetFormat::V1 {
        blocking.push(issue(
            Severity::Error,
            "mixed_index_lengths",
            "a v1 sheet cannot mix index lengths in a lane; use v2".into(),
            None,
            None,
        ));
    }
    if !blocking.is_empty() {
        return Err(blocking);
    }
    Ok(match format {
        SheetFormat::V2 => render_v2(req, checked.mismatches, mixed),
        SheetFormat::V1 => render_v1(req),
    })
}

fn render_v2(req: &SheetRequest, (m1, m2): (u8, u8), mixed: bool) -> String {
    let r = req.reads;
    let dual = r.index2 > 0;
    let multi_lane = req.lanes > 1;
    let projects = req.samples.iter().any(|s| s.project.is_some());
    let mut out = String::with_capacity(64 * req.samples.len() + 512);
    let _ = write!(
        out,
        "[Header]\r\nFileFormatVersion,2\r\nRunName,{}\r\nInstrumentPlatform,{}\r\nIndexOrientation,Forward\r\n\r\n[Reads]\r\nRead1Cycles,{}\r\n",
        req.run_name,
        req.instrument.v2_platform(),
        r.read1
    );
    if r.read2 > 0 {
        let _ = write!(out, "Read2Cycles,{}\r\n", r.read2);
    }
    if r.index1 > 0 {
        let _ = write!(out, "Index1Cycles,{}\r\n", r.index1);
    }
    if dual {
        let _ = write!(out, "Index2Cycles,{}\r\n", r.index2);
    }
    let _ = write!(
        out,
        "\r\n[BCLConvert_Settings]\r\nSoftwareVersion,{}\r\n",
        req.bclconvert_version.as_deref().unwrap_or(DEFAULT_BCLCONVERT_VERSION)
    );
    if let (false, Some(first)) = (mixed, req.samples.first()) {
        let i5 = first.index2.as_ref().map_or(0, IndexSeq::len);
        let _ = write!(out, "OverrideCycles,{}\r\n", override_cycles(&r, first.index.len(), i5));
    }
    if r.index1 > 0 {
        let _ = write!(out, "BarcodeMismatchesIndex1,{m1}\r\n");
    }
    if dual {
        let _ = write!(out, "BarcodeMismatchesIndex2,{m2}\r\n");
    }
    out.push_str("\r\n[BCLConvert_Data]\r\n");
    let mut header = Vec::new();
    if multi_lane {
        header.push("Lane");
    }
    header.push("Sample_ID");
    header.push("Index");
    if dual {
        header.push("Index2");
    }
    if projects {
        header.push("Sample_Project");
    }
    if mixed {
        header.push("OverrideCycles");
    }
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for s in &req.samples {
        let mut row: Vec<String> = Vec::with_capacity(6);
        if multi_lane {
            row.push(s.lane.to_string());
        }
        row.push(s.sample_id.clone());
        row.push(s.index.as_str().to_owned());
        if dual {
            row.push(i5_written(req, s, SheetFormat::V2).unwrap_or_default());
        }
        if projects {
            row.push(s.project.clone().unwrap_or_default());
        }
        if mixed {
            row.push(override_cycles(
                &r,
                s.index.len(),
                s.index2.as_ref().map_or(0, IndexSeq::len),
            ));
        }
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

fn render_v1(req: &SheetRequest) -> String {
    let r = req.reads;
    let dual = r.index2 > 0;
    let multi_lane = req.lanes > 1;
    let mut out = String::with_capacity(80 * req.samples.len() + 512);
    let _ = write!(
        out,
        "[Header]\r\nIEMFileVersion,5\r\nExperiment Name,{}\r\nDate,{}\r\nWorkflow,GenerateFASTQ\r\nApplication,FASTQ Only\r\nInstrument Type,{}\r\nChemistry,Amplicon\r\n\r\n[Reads]\r\n{}\r\n",
        req.run_name,
        req.date,
        req.instrument.as_str(),
        r.read1
    );
    if r.read2 > 0 {
        let _ = write!(out, "{}\r\n", r.read2);
    }
    out.push_str("\r\n[Settings]\r\nCreateFastqForIndexReads,0\r\n\r\n[Data]\r\n");
    let mut header = Vec::new();
    if multi_lane {
        header.push("Lane");
    }
    header.extend(["Sample_ID", "Sample_Name", "I7_Index_ID", "index"]);
    if dual {
        header.extend(["I5_Index_ID", "index2"]);
    }
    header.push("Sample_Project");
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for s in &req.samples {
        let mut row: Vec<String> = Vec::with_capacity(8);
        if multi_lane {
            row.push(s.lane.to_string());
        }
        row.push(s.sample_id.clone());
        row.push(s.sample_id.clone());
        row.push(s.i7_name.clone().unwrap_or_default());
        row.push(s.index.as_str().to_owned());
        if dual {
            row.push(s.i5_name.clone().unwrap_or_default());
            row.push(i5_written(req, s, SheetFormat::V1).unwrap_or_default());
        }
        row.push(s.project.clone().unwrap_or_default());
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

pub mod fixtures;

#[cfg(test)]
mod tests;
