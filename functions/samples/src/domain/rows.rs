//! Validating a whole sheet against a compiled template: headers first (unknown, missing
//! and duplicate columns), then every cell of every row, collecting every error with its
//! row, column, value and rule. Nothing stops at the first error: a lab fixes a file once.

use super::manifest::Sheet;
use super::template::{Cell, Compiled, CoreField};
use serde_json::Value;
use std::collections::HashMap;
use tracseq_core::FieldError;
use tracseq_lab::fields::SampleFields;

/// A row error (row, column, value, rule, message).
pub fn row_error(row: u32, column: &str, value: &str, rule: &str, message: impl Into<String>) -> FieldError {
    let mut e = FieldError::field(column.to_owned(), rule, message);
    e.field = None;
    e.row = Some(row);
    e.column = Some(column.to_owned());
    if !value.is_empty() {
        e = e.with_value(value);
    }
    e
}

/// For each sheet column, the template field it fills (`None`: reported unknown column).
pub fn map_headers(t: &Compiled, headers: &[String]) -> Result<Vec<Option<usize>>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut columns = Vec::with_capacity(headers.len());
    let mut seen: HashMap<usize, &str> = HashMap::new();
    for h in headers {
        match t.field_for_header(h) {
            Some(i) => {
                if let Some(first) = seen.insert(i, h) {
                    errors.push(row_error(
                        1,
                        h,
                        h,
                        "duplicate_column",
                        format!("{h:?} and {first:?} both name field {}", t.fields[i].name()),
                    ));
                }
                columns.push(Some(i));
            }
            None if h.is_empty() => columns.push(None),
            None => {
                errors.push(row_error(
                    1,
                    h,
                    h,
                    "unknown_column",
                    format!("{h:?} is not a column of this template"),
                ));
                columns.push(None);
            }
        }
    }
    for (i, f) in t.fields.iter().enumerate() {
        if f.def.required && f.def.default.is_none() && !seen.contains_key(&i) {
            errors.push(row_error(
                1,
                &f.def.label,
                "",
                "missing_column",
                format!("required column {:?} is missing", f.def.label),
            ));
        }
    }
    if errors.is_empty() { Ok(columns) } else { Err(errors) }
}

/// A valid row.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub row: u32,
    pub fields: SampleFields,
}

/// Every valid row and every error of `sheet`.
pub fn validate(t: &Compiled, sheet: &Sheet) -> (Vec<Record>, Vec<FieldError>) {
    let columns = match map_headers(t, &sheet.headers) {
        Ok(c) => c,
        Err(errors) => return (Vec::new(), errors),
    };
    // The column of each field (absent: the field is filled from its default or left empty).
    let mut column_of = vec![None; t.fields.len()];
    for (col, f) in columns.iter().enumerate() {
        if let Some(i) = f {
            column_of[*i] = Some(col);
        }
    }
    let barcode_field = t.mapped(CoreField::Barcode);
    let mut barcodes: HashMap<String, u32> = HashMap::new();
    let mut records = Vec::with_capacity(sheet.rows.len());
    let mut errors = Vec::new();
    let mut values: Vec<Option<Value>> = Vec::with_capacity(t.fields.len());
    for (row, cells) in &sheet.rows {
        values.clear();
        let before = errors.len();
        for (i, field) in t.fields.iter().enumerate() {
            let cell = column_of[i].and_then(|c| cells.get(c)).unwrap_or(&Cell::Empty);
            match field.check_cell(cell) {
                Ok(v) => values.push(v),
                Err(b) => {
                    errors.push(row_error(*row, &field.def.label, &cell.text(), b.rule, b.message));
                    values.push(None);
                }
            }
        }
        if let Some(bi) = barcode_field
            && let Some(Value::String(code)) = &values[bi]
            && let Some(first) = barcodes.insert(code.clone(), *row)
        {
            errors.push(row_error(
                *row,
                &t.fields[bi].def.label,
                code,
                "unique",
                format!("barcode {code} is already used in row {first}"),
            ));
        }
        if errors.len() == before {
            records.push(Record {
                row: *row,
                fields: super::sample::from_values(t, &values),
            });
        }
    }
    (records, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest::{Format, read};
    use crate::domain::template::tests::reference_template;

    fn reference_csv() -> String {
        include_str!("../../../../tests/fixtures/reference/sample_lab_template.csv").to_owned()
    }

    #[test]
    fn the_reference_manifest_validates_cleanly() {
        let t = reference_template().compile().unwrap();
        let sheet = read(reference_csv().as_bytes(), Format::Csv, None).unwrap();
        let (records, errors) = validate(&t, &sheet);
        assert_eq!(errors, vec![]);
        assert_eq!(records.len(), 20);
        let first = &records[0].fields;
        assert_eq!(first.barcode.as_deref(), Some("LAB20240001"));
        assert_eq!(first.details.volume, Some(2.5));
        assert_eq!(first.details.volume_unit.as_deref(), Some("mL"));
        assert_eq!(first.details.custom["patient_id"], "P12345");
        assert_eq!(first.details.custom["storage_temp"], -80.0);
        assert_eq!(serde_json::to_value(first.priority).unwrap(), "high");
        assert_eq!(serde_json::to_value(records[1].fields.priority).unwrap(), "normal");
    }

    #[test]
    fn broken_rows_are_each_reported_with_row_column_value_rule() {
        let csv = reference_csv()
            .replacen(
                "LAB20240002,P23456,Saliva,2024-01-14",
                "LAB20240002,P23456,Slime,2024-01-14",
                1,
            )
            .replacen("2024-01-13", "2024-13-45", 1)
            .replacen("LAB20240020", "LAB20240019", 1);
        let t = reference_template().compile().unwrap();
        let (records, errors) = validate(&t, &read(csv.as_bytes(), Format::Csv, None).unwrap());
        assert_eq!(records.len(), 17);
        let got: Vec<(u32, &str, &str, &str)> = errors
            .iter()
            .map(|e| {
                (
                    e.row.unwrap(),
                    e.column.as_deref().unwrap(),
                    e.value.as_deref().unwrap_or(""),
                    e.rule.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "Sample_Type", "Slime", "one_of"),
                (4, "Collection_Date", "2024-13-45", "date"),
                (21, "Sample_ID", "LAB20240019", "unique"),
            ]
        );
    }

    #[test]
    fn unknown_and_missing_columns() {
        let t = reference_template().compile().unwrap();
        let sheet = read(b"Sample ID,Colour\nA1,red\n", Format::Csv, None).unwrap();
        let (_, errors) = validate(&t, &sheet);
        let rules: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.column.as_deref().unwrap(), e.rule.as_str()))
            .collect();
        assert!(rules.contains(&("Colour", "unknown_column")));
        assert!(rules.contains(&("Patient_ID", "missing_column")));
        assert!(rules.contains(&("Sample_Type", "missing_column")));
        assert!(!rules.contains(&("Priority", "missing_column")), "has a default");
    }
}
