//! What an extraction produces: each field's value with its confidence and the passage it
//! came from, the per-sample rows, and the document's confidence.

use super::chunk::Position;
use super::fields::{CRITICAL, FIELDS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A field's value: one text, or a list (sample ids, pool members, instructions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    List(Vec<String>),
}

impl FieldValue {
    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Text(t) => t.trim().is_empty(),
            FieldValue::List(l) => l.is_empty(),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(t) => Some(t),
            FieldValue::List(_) => None,
        }
    }

    pub fn items(&self) -> Vec<&str> {
        match self {
            FieldValue::Text(t) => vec![t.as_str()],
            FieldValue::List(l) => l.iter().map(String::as_str).collect(),
        }
    }
}

/// Where a value was read: the page, the character offset in it, the quoted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Citation {
    pub page: u32,
    pub offset: u32,
    #[schema(max_length = 300)]
    pub quote: String,
}

/// Longest quote kept in a citation.
pub const MAX_QUOTE: usize = 300;

impl Citation {
    pub fn new(at: Position, quote: &str) -> Self {
        Self {
            page: at.page,
            offset: at.offset,
            quote: quote.trim().chars().take(MAX_QUOTE).collect(),
        }
    }
}

/// One extracted field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Extracted {
    pub value: FieldValue,
    /// In [0, 1]: how sure the extractor is (1 after a person's correction).
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f64,
    /// Absent for a value a person typed.
    pub citation: Option<Citation>,
}

impl Extracted {
    pub fn new(value: FieldValue, confidence: f64, citation: Option<Citation>) -> Self {
        Self {
            value,
            confidence: confidence.clamp(0.0, 1.0),
            citation,
        }
    }
}

/// A sample's columns (`sample_id`, `name`, `barcode`, `sample_type`, …).
pub type Row = BTreeMap<String, Extracted>;

/// Everything read from a document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Extraction {
    /// Document-level fields by name (docs/domain.md lists them by group).
    pub fields: BTreeMap<String, Extracted>,
    /// One row per sample, in document order.
    pub samples: Vec<Row>,
}

impl Extraction {
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(|f| f.value.as_text())
    }
}

/// The fields whose absence makes a form incomplete (the rest are often left out).
pub const CORE: &[&str] = &[
    "submitter_name",
    "submitter_email",
    "institution",
    "project_id",
    "source_type",
    "organism",
    "collection_date",
    "platform",
    "read_type",
    "read_length",
    "container_type",
    "volume",
    "concentration",
    "sample_ids",
];

/// How far a document can be trusted, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assessment {
    /// 0.6 × the weakest critical field + 0.4 × completeness; at most 0.6 while a
    /// critical field is missing.
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f64,
    /// The core fields' mean confidence (a missing one counts 0).
    #[schema(minimum = 0, maximum = 1)]
    pub completeness: f64,
    /// Critical fields with no value: `submitter_email`, `sample_ids`, `sample_type`.
    pub missing_critical: Vec<String>,
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Every sample's type (or the document's source type when rows have none), at the
/// weakest confidence among them.
fn sample_type_confidence(x: &Extraction) -> Option<f64> {
    let rows: Vec<f64> = x
        .samples
        .iter()
        .map(|r| r.get("sample_type").map_or(0.0, |f| f.confidence))
        .collect();
    if !rows.is_empty() && rows.iter().all(|c| *c > 0.0) {
        return rows.into_iter().reduce(f64::min);
    }
    x.fields.get("source_type").map(|f| f.confidence)
}

pub fn assess(x: &Extraction) -> Assessment {
    let completeness = CORE
        .iter()
        .map(|f| x.fields.get(*f).map_or(0.0, |e| e.confidence))
        .sum::<f64>()
        / CORE.len() as f64;
    let mut missing = Vec::new();
    let mut weakest: f64 = 1.0;
    for c in CRITICAL {
        let conf = match *c {
            "sample_type" => sample_type_confidence(x),
            f => x.fields.get(f).filter(|e| !e.value.is_empty()).map(|e| e.confidence),
        };
        match conf {
            Some(v) => weakest = weakest.min(v),
            None => {
                missing.push((*c).to_owned());
                weakest = 0.0;
            }
        }
    }
    let mut confidence = 0.6 * weakest + 0.4 * completeness;
    if !missing.is_empty() {
        confidence = confidence.min(0.6);
    }
    Assessment {
        confidence: round(confidence),
        completeness: round(completeness),
        missing_critical: missing,
    }
}

/// A field name the catalogue knows (document-level).
pub fn is_field(name: &str) -> bool {
    FIELDS.iter().any(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(v: &str, c: f64) -> Extracted {
        Extracted::new(FieldValue::Text(v.into()), c, None)
    }

    #[test]
    fn a_missing_critical_field_caps_the_confidence() {
        let mut x = Extraction::default();
        for f in CORE {
            x.fields.insert((*f).into(), field("x", 1.0));
        }
        x.fields.insert("source_type".into(), field("Blood", 1.0));
        assert_eq!(assess(&x).confidence, 1.0);
        x.fields.remove("submitter_email");
        let a = assess(&x);
        assert_eq!(a.missing_critical, ["submitter_email"]);
        assert!(a.confidence <= 0.6, "{a:?}");
    }

    #[test]
    fn rows_without_a_type_fall_back_to_the_source_type() {
        let mut x = Extraction::default();
        let mut row = Row::new();
        row.insert("sample_id".into(), field("S1", 0.95));
        x.samples.push(row);
        assert_eq!(sample_type_confidence(&x), None);
        x.fields.insert("source_type".into(), field("Blood", 0.8));
        assert_eq!(sample_type_confidence(&x), Some(0.8));
    }
}
