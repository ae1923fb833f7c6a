//! A reviewed extraction as the submission saga's samples: each row becomes the body
//! `POST /api/samples` takes, with the document's own fields (organism, project,
//! submitter, priority) filled in where the row has none.

use super::extraction::{Extraction, Row};
use serde_json::{Map, Value, json};
use tracseq_core::FieldError;
use tracseq_lab::kinds::SampleType;
use tracseq_lab::value::canonical_unit;

/// A type as forms write it ("Tumor tissue", "Total RNA", "Whole blood") as one of the
/// lab's sample types; the most specific word wins.
pub fn sample_type(text: &str) -> Option<SampleType> {
    if let Some(t) = SampleType::parse(text) {
        return Some(t);
    }
    let l = text.to_lowercase();
    let has = |w: &str| l.split(|c: char| !c.is_alphanumeric()).any(|x| x == w);
    let rules: &[(&[&str], SampleType)] = &[
        (&["ffpe"], SampleType::Ffpe),
        (&["cdna"], SampleType::Cdna),
        (&["rna", "mrna", "rnalater"], SampleType::Rna),
        (&["dna", "gdna"], SampleType::Dna),
        (&["plasma"], SampleType::Plasma),
        (&["serum"], SampleType::Serum),
        (&["blood"], SampleType::Blood),
        (&["saliva"], SampleType::Saliva),
        (&["urine"], SampleType::Urine),
        (&["swab", "swabs"], SampleType::Swab),
        (&["pellet"], SampleType::CellPellet),
        (&["culture", "cells", "cell"], SampleType::CellCulture),
        (&["library", "libraries"], SampleType::Library),
        (&["pool"], SampleType::Pool),
        (&["protein"], SampleType::Protein),
        (&["tissue", "tumor", "tumour", "biopsy", "organ"], SampleType::Tissue),
        (&["soil", "water", "environmental"], SampleType::Environmental),
    ];
    rules
        .iter()
        .find(|(words, _)| words.iter().any(|w| has(w)))
        .map(|(_, t)| *t)
}

/// "50 μL" as `(50, "µL")`; a bare number has no unit.
fn amount(raw: &str) -> Option<(f64, Option<&'static str>)> {
    let t = raw.trim();
    let split = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let n: f64 = t[..split].parse().ok()?;
    let rest = t[split..].trim();
    if rest.is_empty() {
        return Some((n, None));
    }
    canonical_unit(rest).map(|u| (n, Some(u)))
}

fn text<'a>(row: &'a Row, x: &'a Extraction, col: &str, field: &str) -> Option<&'a str> {
    row.get(col)
        .and_then(|f| f.value.as_text())
        .or_else(|| x.text(field))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn barcode_like(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The sample bodies, or every row's problem at once.
pub fn samples(x: &Extraction) -> Result<Vec<Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    if x.samples.is_empty() {
        errors.push(FieldError::field(
            "samples",
            "required",
            "the document has no sample rows; add them in review (PATCH samples) before submitting",
        ));
    }
    for (i, row) in x.samples.iter().enumerate() {
        let at = |c: &str| format!("samples[{i}].{c}");
        let mut body = Map::new();
        let id = text(row, x, "sample_id", "");
        let barcode = text(row, x, "barcode", "")
            .filter(|b| barcode_like(b))
            .or(id.filter(|b| barcode_like(b)));
        if let Some(b) = barcode {
            body.insert("barcode".into(), json!(b));
        }
        if let Some(n) = text(row, x, "name", "").or(id) {
            body.insert("name".into(), json!(n.chars().take(200).collect::<String>()));
        }
        match text(row, x, "sample_type", "source_type") {
            Some(t) => match sample_type(t) {
                Some(k) => {
                    body.insert("sample_type".into(), json!(k.as_str()));
                }
                None => errors.push(
                    FieldError::field(at("sample_type"), "one_of", format!("one of {}", SampleType::names()))
                        .with_value(t),
                ),
            },
            None => errors.push(FieldError::field(
                at("sample_type"),
                "required",
                "every sample needs a type",
            )),
        }
        for (col, unit_key) in [("volume", "volume_unit"), ("concentration", "concentration_unit")] {
            if let Some(raw) = text(row, x, col, col) {
                match amount(raw) {
                    Some((n, unit)) => {
                        body.insert(col.into(), json!(n));
                        if let Some(u) = unit {
                            body.insert(unit_key.into(), json!(u));
                        }
                    }
                    None => {
                        errors.push(FieldError::field(at(col), "number", "a number and a unit (50 µL)").with_value(raw))
                    }
                }
            }
        }
        for col in ["a260_280", "a260_230", "rin"] {
            if let Some(raw) = text(row, x, col, "") {
                match raw.parse::<f64>() {
                    Ok(n) => {
                        body.insert(col.into(), json!(n));
                    }
                    Err(_) => errors.push(FieldError::field(at(col), "number", "a number").with_value(raw)),
                }
            }
        }
        let doc_fields = [
            ("collection_date", "collection_date", "collection_date"),
            ("organism", "organism", "organism"),
            ("tissue", "", "tissue_type"),
            ("project", "", "project_id"),
            ("submitter", "", "submitter_name"),
        ];
        for (key, col, field) in doc_fields {
            if let Some(v) = text(row, x, col, field) {
                body.insert(key.into(), json!(v.chars().take(200).collect::<String>()));
            }
        }
        if let Some(p) = x.text("priority") {
            body.insert("priority".into(), json!(p));
        }
        out.push(Value::Object(body));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Prepared;
    use crate::domain::chunk::Text;

    #[test]
    fn types_as_forms_write_them() {
        assert_eq!(sample_type("Tumor tissue"), Some(SampleType::Tissue));
        assert_eq!(sample_type("Adjacent normal tissue"), Some(SampleType::Tissue));
        assert_eq!(sample_type("Total RNA"), Some(SampleType::Rna));
        assert_eq!(sample_type("FFPE tissue block"), Some(SampleType::Ffpe));
        assert_eq!(sample_type("Whole blood (EDTA)"), Some(SampleType::Blood));
        assert_eq!(sample_type("dna"), Some(SampleType::Dna));
        assert_eq!(sample_type("mystery"), None);
    }

    #[test]
    fn the_reference_form_maps_to_six_samples() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/documents/reference_submission.txt"
        ))
        .unwrap();
        let x = Prepared::new(&Text::single(text)).extract_offline();
        let s = samples(&x).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(s[0]["barcode"], "CRC240001");
        assert_eq!(s[0]["name"], "CRC-T01-Tumor");
        assert_eq!(s[0]["sample_type"], "Tissue");
        assert_eq!(s[0]["volume"], 50.0);
        assert_eq!(s[0]["volume_unit"], "µL");
        assert_eq!(s[0]["concentration_unit"], "ng/µL");
        assert_eq!(s[0]["rin"], 8.2);
        assert_eq!(s[0]["organism"], "Homo sapiens");
        assert_eq!(s[0]["project"], "UNC-2024-MB-045");
        assert_eq!(s[0]["collection_date"], "2024-12-10");
        assert_eq!(s[0]["priority"], "high");
    }

    #[test]
    fn a_document_without_rows_or_types_is_refused_with_every_reason() {
        let x = Prepared::new(&Text::single("Email: a@b.org\n")).extract_offline();
        let e = samples(&x).unwrap_err();
        assert_eq!(e[0].field.as_deref(), Some("samples"));
    }
}
