//! Scoring an extraction against a golden answer written by hand: precision and recall
//! per group, counting each scalar field, each list item and each sample cell once.

use super::extraction::{Extraction, FieldValue};
use super::fields::{FIELDS, Group};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A document's expected fields (absent means the document does not state it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Golden {
    pub fields: BTreeMap<String, FieldValue>,
    #[serde(default)]
    pub samples: Vec<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub correct: u32,
    pub extracted: u32,
    pub expected: u32,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        if self.extracted == 0 {
            1.0
        } else {
            f64::from(self.correct) / f64::from(self.extracted)
        }
    }
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            f64::from(self.correct) / f64::from(self.expected)
        }
    }
    fn add(&mut self, o: Counts) {
        self.correct += o.correct;
        self.extracted += o.extracted;
        self.expected += o.expected;
    }
}

/// Compared as people read them: case, spacing, a trailing period and the two micro
/// signs do not matter.
pub fn same(a: &str, b: &str) -> bool {
    norm(a) == norm(b)
}

fn norm(s: &str) -> String {
    s.replace('\u{3bc}', "\u{b5}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches('.')
        .to_lowercase()
}

fn compare(got: Option<&FieldValue>, want: Option<&FieldValue>) -> Counts {
    let set = |v: Option<&FieldValue>| -> BTreeSet<String> {
        v.map(|v| v.items().into_iter().map(norm).collect()).unwrap_or_default()
    };
    let (g, w) = (set(got), set(want));
    Counts {
        correct: g.intersection(&w).count() as u32,
        extracted: g.len() as u32,
        expected: w.len() as u32,
    }
}

/// Per group, and `critical` for the fields a document cannot do without.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    pub groups: BTreeMap<String, Counts>,
    pub critical: Counts,
    pub overall: Counts,
}

pub fn score(x: &Extraction, golden: &Golden) -> Score {
    let mut s = Score::default();
    for spec in FIELDS {
        let c = compare(x.fields.get(spec.name).map(|e| &e.value), golden.fields.get(spec.name));
        s.groups.entry(spec.group.as_str().into()).or_default().add(c);
        s.overall.add(c);
        if matches!(spec.name, "submitter_email" | "sample_ids") {
            s.critical.add(c);
        }
    }
    let rows = x.samples.len().max(golden.samples.len());
    for i in 0..rows {
        let got = x.samples.get(i);
        let want = golden.samples.get(i);
        let cols: BTreeSet<&str> = got
            .into_iter()
            .flat_map(|r| r.keys().map(String::as_str))
            .chain(want.into_iter().flat_map(|r| r.keys().map(String::as_str)))
            .collect();
        for col in cols {
            let g = got.and_then(|r| r.get(col)).map(|e| &e.value);
            let w = want.and_then(|r| r.get(col)).map(|v| FieldValue::Text(v.clone()));
            let c = compare(g, w.as_ref());
            s.groups.entry(Group::SampleDetails.as_str().into()).or_default().add(c);
            s.overall.add(c);
            if col == "sample_type" {
                s.critical.add(c);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::extraction::Extracted;

    #[test]
    fn lists_count_per_item_and_wrong_values_cost_precision() {
        let mut x = Extraction::default();
        x.fields.insert(
            "sample_ids".into(),
            Extracted::new(FieldValue::List(vec!["A".into(), "b".into(), "C".into()]), 1.0, None),
        );
        x.fields.insert(
            "organism".into(),
            Extracted::new(FieldValue::Text("Mouse".into()), 1.0, None),
        );
        let golden = Golden {
            fields: [
                (
                    "sample_ids".to_owned(),
                    FieldValue::List(vec!["a".into(), "B".into(), "D".into(), "E".into()]),
                ),
                ("organism".to_owned(), FieldValue::Text("Homo sapiens".into())),
            ]
            .into(),
            samples: vec![],
        };
        let s = score(&x, &golden);
        assert_eq!(
            s.critical,
            Counts {
                correct: 2,
                extracted: 3,
                expected: 4
            }
        );
        assert_eq!(
            s.overall,
            Counts {
                correct: 2,
                extracted: 4,
                expected: 5
            }
        );
        assert!(same("50 μL.", "50  µL"));
    }
}
