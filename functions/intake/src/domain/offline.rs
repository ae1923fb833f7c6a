//! The offline extractor: deterministic label/value, sample block, table and synonym
//! rules over the passages retrieval chose for each group. No network, no keys; the same
//! document gives the same answer on every run.

use super::chunk::{Chunk, Line, Position, is_heading, is_rule};
use super::extraction::{Citation, Extracted, Extraction, FieldValue, Row};
use super::fields::{COLUMNS, FIELDS, Group, Kind, Spec, label_match, norm_label};
use regex::Regex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;
use tracseq_lab::kinds::Priority;
use tracseq_lab::value::{DateOrder, format_date, parse_bool, parse_date};

/// Confidence of a value under one of its field's own labels.
const LABELLED: f64 = 0.95;
/// A value found by its shape alone (an email address in the contact passage).
const BY_SHAPE: f64 = 0.6;
/// A value inferred from prose ("priority processing requested").
const INFERRED: f64 = 0.7;

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b").ok());
static INDEX: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[ACGTN]{6,24}(?:\s*[-+/]\s*[ACGTN]{6,24})?$").ok());
static SAMPLE_HEADING: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:#+\s*)?sample\s*(?:#|no\.?)?\s*\d+\s*[:.)-]?\s*$").ok());

fn email_in(s: &str) -> Option<String> {
    EMAIL.as_ref()?.find(s).map(|m| m.as_str().to_owned())
}

/// A `Label: value` line.
#[derive(Debug, Clone)]
struct Pair {
    line: usize,
    label: String,
    value: String,
    /// Where the value starts.
    at: Position,
}

/// Leading bullets and check boxes.
fn strip_bullet(s: &str) -> (&str, usize) {
    let t = s.trim_start_matches(|c: char| c.is_whitespace() || "-*•·>☑☐✓".contains(c));
    (t, s.chars().count() - t.chars().count())
}

fn split_pair(lines: &[Line], i: usize) -> Option<Pair> {
    let line = &lines[i];
    // A two-cell table row ("| Email | a@b.org |") is a pair too.
    if line.text.trim_start().starts_with('|') {
        let row = cells(&line.text);
        let [label, value] = row.as_slice() else { return None };
        let label_norm = norm_label(label);
        let start = line.text.rfind(value.as_str()).filter(|_| !value.is_empty())?;
        return (!label_norm.is_empty()).then(|| Pair {
            line: i,
            label: label_norm,
            value: value.clone(),
            at: Position {
                page: line.at.page,
                offset: line.at.offset + line.text[..start].chars().count() as u32,
            },
        });
    }
    let (body, skipped) = strip_bullet(&line.text);
    let colon = body.find(':')?;
    let (label, rest) = body.split_at(colon);
    let label_norm = norm_label(label);
    // A time ("10:30") or a URL is not a label; labels are short.
    if label_norm.is_empty()
        || label.chars().count() > 60
        || label_norm.split(' ').count() > 8
        || rest.starts_with("://")
    {
        return None;
    }
    let after = &rest[1..];
    let value = after.trim();
    let lead = after.chars().count() - after.trim_start().chars().count();
    Some(Pair {
        line: i,
        label: label_norm,
        value: value.to_owned(),
        at: Position {
            page: line.at.page,
            offset: line.at.offset + (skipped + label.chars().count() + 1 + lead) as u32,
        },
    })
}

/// A sample row and the lines it was read from.
struct RowSrc {
    cells: BTreeMap<&'static str, (String, Position, f64)>,
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let parts: Vec<&str> = if t.contains('|') {
        t.trim_matches('|').split('|').collect()
    } else if t.contains('\t') {
        t.split('\t').collect()
    } else if t.contains("  ") {
        t.split("  ").filter(|c| !c.trim().is_empty()).collect()
    } else {
        t.split(',').collect()
    };
    parts.into_iter().map(|c| c.trim().to_owned()).collect()
}

fn column_of(label: &str) -> Option<&'static Spec> {
    let l = norm_label(label);
    COLUMNS.iter().find(|c| label_match(c, &l).is_some())
}

/// The document's sample blocks ("Sample 1:" and its lines) and tables (a header row
/// naming at least two columns, one of them an identifier).
fn sample_rows(lines: &[Line], pairs: &HashMap<usize, Pair>) -> (Vec<RowSrc>, HashSet<usize>) {
    let mut rows = Vec::new();
    let mut used = HashSet::new();
    let mut i = 0;
    while i < lines.len() {
        let text = &lines[i].text;
        if SAMPLE_HEADING.as_ref().is_some_and(|r| r.is_match(text)) {
            let mut row = RowSrc { cells: BTreeMap::new() };
            used.insert(i);
            let mut j = i + 1;
            while j < lines.len() && !is_heading(&lines[j].text) && !is_rule(&lines[j].text) {
                used.insert(j);
                if let Some(p) = pairs.get(&j)
                    && let Some(col) = COLUMNS.iter().find(|c| label_match(c, &p.label).is_some())
                    && !p.value.is_empty()
                {
                    row.cells.entry(col.name).or_insert((p.value.clone(), p.at, LABELLED));
                }
                j += 1;
            }
            if !row.cells.is_empty() {
                rows.push(row);
            }
            i = j;
            continue;
        }
        let header = cells(text);
        let columns: Vec<Option<&'static Spec>> = header.iter().map(|h| column_of(h)).collect();
        let named = columns.iter().flatten().count();
        let has_id = columns
            .iter()
            .flatten()
            .any(|c| matches!(c.name, "sample_id" | "name" | "barcode"));
        if header.len() >= 2 && named >= 2 && has_id && !pairs.contains_key(&i) {
            used.insert(i);
            let mut j = i + 1;
            while j < lines.len() {
                let row_cells = cells(&lines[j].text);
                if row_cells.iter().all(|c| c.chars().all(|ch| "-:= ".contains(ch))) {
                    used.insert(j);
                    j += 1;
                    continue;
                }
                if row_cells.len() != header.len() {
                    break;
                }
                used.insert(j);
                let mut row = RowSrc { cells: BTreeMap::new() };
                for (col, value) in columns.iter().zip(&row_cells) {
                    if let Some(c) = col
                        && !value.is_empty()
                    {
                        row.cells.entry(c.name).or_insert((value.clone(), lines[j].at, 0.9));
                    }
                }
                rows.push(row);
                j += 1;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    (rows, used)
}

/// A value read as its field's kind, and how far it fits (`None`: not this field).
fn read_value(spec: &Spec, raw: &str) -> Option<(FieldValue, f64)> {
    let raw = raw.trim().trim_end_matches([';', ',']).trim();
    if raw.is_empty() {
        return None;
    }
    match spec.kind {
        Kind::Email => email_in(raw).map(|e| (FieldValue::Text(e), 1.0)),
        Kind::Phone => {
            (raw.chars().filter(char::is_ascii_digit).count() >= 7).then(|| (FieldValue::Text(raw.into()), 1.0))
        }
        Kind::Date => Some(match parse_date(raw, DateOrder::Unambiguous) {
            Ok(d) => (FieldValue::Text(format_date(d)), 1.0),
            Err(_) => (FieldValue::Text(raw.into()), 0.6),
        }),
        Kind::YesNo => {
            let word = raw.split([' ', ',', '(', '.']).next().unwrap_or(raw);
            parse_bool(word)
                .ok()
                .map(|b| (FieldValue::Text(if b { "yes" } else { "no" }.into()), 1.0))
        }
        Kind::List => {
            let items = list_items(raw);
            (!items.is_empty()).then_some((FieldValue::List(items), 1.0))
        }
        Kind::Priority => priority_of(raw).map(|p| (FieldValue::Text(p.as_str().into()), 1.0)),
        Kind::Text if spec.name == "submitter_name" => {
            // "Jane Doe <jane@lab.org>" from a mail header.
            let name = raw.split('<').next().unwrap_or(raw).trim().trim_matches('"').trim();
            (!name.is_empty() && email_in(name).is_none()).then(|| (FieldValue::Text(name.into()), 1.0))
        }
        Kind::Text => Some((FieldValue::Text(raw.into()), 1.0)),
    }
}

fn list_items(raw: &str) -> Vec<String> {
    raw.split([',', ';'])
        .flat_map(|p| p.split(" and "))
        .map(|p| p.trim().trim_end_matches('.').trim())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

fn priority_of(raw: &str) -> Option<Priority> {
    Priority::parse(raw.split([' ', ',', '(']).next().unwrap_or(raw)).or_else(|| {
        let l = raw.to_lowercase();
        if ["urgent", "asap", "stat ", "emergency"].iter().any(|w| l.contains(w)) {
            Some(Priority::Urgent)
        } else if ["high", "rush", "expedite", "priority processing"]
            .iter()
            .any(|w| l.contains(w))
        {
            Some(Priority::High)
        } else if l.contains("low") {
            Some(Priority::Low)
        } else if l.contains("normal") || l.contains("standard") || l.contains("routine") {
            Some(Priority::Normal)
        } else {
            None
        }
    })
}

/// What the extractor reads: the document's lines and chunks, and for each group the
/// chunks retrieval ranked for it, best first.
pub struct Context<'a> {
    pub lines: &'a [Line],
    pub chunks: &'a [Chunk],
    pub retrieved: &'a BTreeMap<Group, Vec<u32>>,
}

impl Context<'_> {
    /// Line indices of a group's retrieved chunks, in rank order then document order.
    fn group_lines(&self, group: Group) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for id in self.retrieved.get(&group).into_iter().flatten() {
            if let Some(c) = self.chunks.get(*id as usize) {
                for i in c.lines.clone() {
                    if seen.insert(i) {
                        out.push(i);
                    }
                }
            }
        }
        out
    }
}

fn cite(lines: &[Line], i: usize) -> Citation {
    Citation::new(lines[i].at, &lines[i].text)
}

pub fn extract(cx: &Context) -> Extraction {
    let lines = cx.lines;
    let pairs: HashMap<usize, Pair> = (0..lines.len())
        .filter_map(|i| split_pair(lines, i).map(|p| (i, p)))
        .collect();
    let (rows, row_lines) = sample_rows(lines, &pairs);
    let mut x = Extraction::default();
    for group in Group::ALL {
        let candidates: Vec<usize> = cx
            .group_lines(*group)
            .into_iter()
            .filter(|i| !row_lines.contains(i))
            .collect();
        for spec in FIELDS.iter().filter(|f| f.group == *group) {
            let mut best: Option<(f64, Extracted)> = None;
            for &i in &candidates {
                let Some(p) = pairs.get(&i) else { continue };
                let Some(score) = label_match(spec, &p.label) else {
                    continue;
                };
                let Some((value, fit)) = read_value(spec, &p.value) else {
                    continue;
                };
                let conf = LABELLED * score * fit;
                if best.as_ref().is_none_or(|(b, _)| conf > *b) {
                    best = Some((conf, Extracted::new(value, conf, Some(cite(lines, i)))));
                }
            }
            if let Some((_, e)) = best {
                x.fields.insert(spec.name.into(), e);
            }
        }
        rules(cx, *group, &candidates, &pairs, &mut x);
    }
    for src in rows {
        let mut row = Row::new();
        for (name, (value, at, conf)) in src.cells {
            let Some(spec) = COLUMNS.iter().find(|c| c.name == name) else {
                continue;
            };
            if let Some((v, fit)) = read_value(spec, &value) {
                row.insert(
                    name.into(),
                    Extracted::new(v, conf * fit, Some(Citation::new(at, &value))),
                );
            }
        }
        x.samples.push(row);
    }
    sample_ids(&mut x);
    x
}

/// The rules beyond one label and one value.
fn rules(cx: &Context, group: Group, candidates: &[usize], pairs: &HashMap<usize, Pair>, x: &mut Extraction) {
    let lines = cx.lines;
    let labelled = |label: &str| {
        candidates
            .iter()
            .filter_map(|i| pairs.get(i))
            .find(|p| p.label == label && !p.value.is_empty())
    };
    match group {
        Group::Administrative => {
            // "First Name: …" and "Last Name: …" make one name.
            if let (Some(first), Some(last)) = (labelled("first name"), labelled("last name")) {
                let name = format!("{} {}", first.value, last.value);
                x.fields.insert(
                    "submitter_name".into(),
                    Extracted::new(FieldValue::Text(name), LABELLED, Some(cite(lines, first.line))),
                );
            }
            if !x.fields.contains_key("submitter_email")
                && let Some((i, e)) = candidates
                    .iter()
                    .find_map(|i| email_in(&lines[*i].text).map(|e| (*i, e)))
            {
                x.fields.insert(
                    "submitter_email".into(),
                    Extracted::new(FieldValue::Text(e), BY_SHAPE, Some(cite(lines, i))),
                );
            }
        }
        Group::Pooling => {
            let index = INDEX.as_ref();
            let found: Vec<(usize, String)> = candidates
                .iter()
                .filter_map(|i| pairs.get(i))
                .filter(|p| index.is_some_and(|r| r.is_match(&p.value)))
                .map(|p| {
                    let (label, _) = strip_bullet(lines[p.line].text.split(':').next().unwrap_or_default());
                    (p.line, format!("{}={}", label.trim(), p.value.replace(' ', "")))
                })
                .collect();
            if let Some((first, _)) = found.first() {
                let first = *first;
                x.fields.insert(
                    "index_pairs".into(),
                    Extracted::new(
                        FieldValue::List(found.into_iter().map(|(_, v)| v).collect()),
                        LABELLED,
                        Some(cite(lines, first)),
                    ),
                );
            }
        }
        Group::SampleDetails => {
            instructions(cx, candidates, pairs, x);
            if !x.fields.contains_key("priority") {
                let inferred = x
                    .fields
                    .get("instructions")
                    .into_iter()
                    .flat_map(|f| f.value.items())
                    .find_map(|s| {
                        priority_of(s)
                            .filter(|p| *p != Priority::Low && *p != Priority::Normal)
                            .map(|p| (s.to_owned(), p))
                    });
                if let Some((text, p)) = inferred {
                    let at = candidates.iter().find(|i| lines[**i].text.contains(&text)).copied();
                    x.fields.insert(
                        "priority".into(),
                        Extracted::new(
                            FieldValue::Text(p.as_str().into()),
                            INFERRED,
                            at.map(|i| cite(lines, i)),
                        ),
                    );
                }
            }
        }
        _ => {}
    }
}

/// Bullet lines under an "instructions", "notes" or "comments" heading.
fn instructions(cx: &Context, candidates: &[usize], pairs: &HashMap<usize, Pair>, x: &mut Extraction) {
    let lines = cx.lines;
    let mut items: Vec<(usize, String)> = Vec::new();
    if let Some(f) = x.fields.get("instructions")
        && let Some(c) = &f.citation
        && let Some(i) = candidates.iter().find(|i| {
            lines[**i].at
                == Position {
                    page: c.page,
                    offset: c.offset,
                }
        })
    {
        items.extend(f.value.items().into_iter().map(|s| (*i, s.to_owned())));
    }
    let wanted = ["instruction", "note", "comment", "special request"];
    for chunk in cx.chunks {
        let Some(head) = chunk.text.lines().next() else {
            continue;
        };
        let head = head.to_lowercase();
        if !wanted.iter().any(|w| head.contains(w)) || !candidates.contains(&chunk.lines.start) {
            continue;
        }
        for i in chunk.lines.clone().skip(1) {
            let t = &lines[i].text;
            if is_rule(t)
                || is_heading(t)
                || pairs
                    .get(&i)
                    .is_some_and(|p| !p.value.is_empty() && p.label.split(' ').count() <= 4)
            {
                continue;
            }
            let (body, _) = strip_bullet(t);
            if !body.trim().is_empty() {
                items.push((i, body.trim().to_owned()));
            }
        }
    }
    if let Some((first, _)) = items.first() {
        let first = *first;
        let mut seen = HashSet::new();
        let list: Vec<String> = items
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| seen.insert(s.clone()))
            .collect();
        x.fields.insert(
            "instructions".into(),
            Extracted::new(FieldValue::List(list), LABELLED, Some(cite(lines, first))),
        );
    }
}

/// The samples' identifiers: each row's id (else its barcode, else its name), or the
/// document's own list when there are no rows.
fn sample_ids(x: &mut Extraction) {
    if x.samples.is_empty() {
        return;
    }
    let mut ids = Vec::new();
    let mut conf: f64 = 1.0;
    let mut citation = None;
    for row in &x.samples {
        let Some(f) = ["sample_id", "barcode", "name"].iter().find_map(|c| row.get(*c)) else {
            continue;
        };
        if let Some(t) = f.value.as_text() {
            ids.push(t.to_owned());
            conf = conf.min(f.confidence);
            citation = citation.or_else(|| f.citation.clone());
        }
    }
    if !ids.is_empty() {
        x.fields.insert(
            "sample_ids".into(),
            Extracted::new(FieldValue::List(ids), conf, citation),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chunk::{Text, lines};

    fn pair(s: &str) -> Option<Pair> {
        let l = lines(&Text::single(s));
        split_pair(&l, 0)
    }

    #[test]
    fn pairs_know_where_their_value_starts() {
        let text = "  - Email: sarah@uni.edu";
        let p = pair(text).unwrap();
        assert_eq!((p.label.as_str(), p.value.as_str()), ("email", "sarah@uni.edu"));
        assert_eq!(&text[p.at.offset as usize..], "sarah@uni.edu");
        assert!(pair("see https://example.org").is_none());
        assert!(pair("no colon here").is_none());
    }

    #[test]
    fn values_are_read_by_kind() {
        let date = FIELDS.iter().find(|f| f.name == "collection_date").unwrap();
        assert_eq!(
            read_value(date, "December 10, 2024").unwrap().0,
            FieldValue::Text("2024-12-10".into())
        );
        let pooled = FIELDS.iter().find(|f| f.name == "pooled").unwrap();
        assert_eq!(read_value(pooled, "Yes").unwrap().0, FieldValue::Text("yes".into()));
        assert!(read_value(pooled, "Equal molarity").is_none());
        let name = FIELDS.iter().find(|f| f.name == "submitter_name").unwrap();
        assert_eq!(
            read_value(name, "\"Jane Doe\" <jd@x.org>").unwrap().0,
            FieldValue::Text("Jane Doe".into())
        );
        assert_eq!(priority_of("Priority processing requested"), Some(Priority::High));
        assert_eq!(priority_of("URGENT please"), Some(Priority::Urgent));
    }

    #[test]
    fn tables_become_rows() {
        let l = lines(&Text::single(
            "| Sample ID | Type | Volume |\n|---|---|---|\n| S-1 | DNA | 20 uL |\n| S-2 | RNA | 15 uL |\n\nafter",
        ));
        let pairs = HashMap::new();
        let (rows, used) = sample_rows(&l, &pairs);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].cells["sample_type"].0, "RNA");
        assert_eq!(used.len(), 4);
    }
}
