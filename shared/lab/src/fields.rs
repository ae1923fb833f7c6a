//! What a sample is made of, as input: from a manifest row or an API body, both checked
//! by the same rules before anything is stored.

use super::kinds::{Priority, SampleType};
use super::value::{self, DateOrder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tracseq_core::FieldError;

/// Who a sample is: barcode, name, type and priority, optional on input (generated or
/// defaulted) and always present on a stored sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SampleFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_type: Option<SampleType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(flatten)]
    pub details: SampleDetails,
}

/// The describing attributes of a sample, all optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SampleDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub submitter: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub collection_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub collection_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub organism: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub tissue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub volume: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::value::UnitSymbol>)]
    pub volume_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub concentration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::value::UnitSymbol>)]
    pub concentration_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub a260_280: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub a260_230: Option<f64>,
    /// RIN or DIN, 1–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10)]
    pub rin: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    /// The template's own fields (those that fill no sample attribute), by field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, Value>,
}

const SHORT: usize = 200;
const NOTES: usize = 2000;

impl SampleFields {
    /// Check the attributes given through the API (a manifest row was checked cell by
    /// cell already); normalizes dates to `YYYY-MM-DD`, units to their symbols, and trims.
    pub fn check(&mut self, errors: &mut Vec<FieldError>) {
        if let Some(code) = &self.barcode {
            match crate::barcode::check(code) {
                Ok(c) => self.barcode = Some(c.to_owned()),
                Err(e) => errors.push(FieldError::field("barcode", e.rule(), e.to_string()).with_value(code)),
            }
        }
        trim_text(errors, "name", &mut self.name, SHORT);
        self.details.check(errors);
    }
}

/// Trim an optional text (empty becomes absent) or report it too long.
fn trim_text(errors: &mut Vec<FieldError>, name: &str, value: &mut Option<String>, max: usize) {
    if let Some(v) = value {
        let t = v.trim();
        if t.chars().count() > max {
            errors.push(FieldError::field(
                name,
                "max_length",
                format!("{name} has at most {max} characters"),
            ));
        } else if t.is_empty() {
            *value = None;
        } else if t.len() != v.len() {
            *value = Some(t.to_owned());
        }
    }
}

impl SampleDetails {
    /// See [`SampleFields::check`].
    pub fn check(&mut self, errors: &mut Vec<FieldError>) {
        let err = |f: &str, rule: &str, msg: String| FieldError::field(f, rule, msg);
        for (name, value, max) in [
            ("submitter", &mut self.submitter, SHORT),
            ("collection_location", &mut self.collection_location, SHORT),
            ("organism", &mut self.organism, SHORT),
            ("tissue", &mut self.tissue, SHORT),
            ("project", &mut self.project, SHORT),
            ("notes", &mut self.notes, NOTES),
        ] {
            trim_text(errors, name, value, max);
        }
        if let Some(d) = &self.collection_date {
            match value::parse_date(d, DateOrder::Unambiguous) {
                Ok(date) => self.collection_date = Some(value::format_date(date)),
                Err(b) => errors.push(err("collection_date", b.rule, b.message).with_value(d)),
            }
        }
        for (name, v) in [
            ("volume", self.volume),
            ("concentration", self.concentration),
            ("a260_280", self.a260_280),
            ("a260_230", self.a260_230),
        ] {
            if v.is_some_and(|x| !x.is_finite() || x < 0.0) {
                errors.push(err(name, "min", format!("{name} must not be negative")));
            }
        }
        if self.rin.is_some_and(|x| !(1.0..=10.0).contains(&x)) {
            errors.push(err("rin", "range", "RIN/DIN lies between 1 and 10".into()));
        }
        for (name, unit, has_value) in [
            ("volume_unit", &mut self.volume_unit, self.volume.is_some()),
            (
                "concentration_unit",
                &mut self.concentration_unit,
                self.concentration.is_some(),
            ),
        ] {
            match unit.as_deref() {
                Some(u) => match value::canonical_unit(u) {
                    Some(c) => *unit = Some(c.to_owned()),
                    None => errors.push(err(name, "unit", format!("unknown unit {u:?}")).with_value(u)),
                },
                None if has_value => errors.push(err(name, "required", format!("{name} is required with a value"))),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_input_is_normalized_or_refused_with_every_error() {
        let mut f = SampleFields {
            barcode: Some(" AB-1 ".into()),
            name: Some("  liver  ".into()),
            details: SampleDetails {
                collection_date: Some("15 January 2024".into()),
                volume: Some(2.0),
                volume_unit: Some("ul".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut errors = vec![];
        f.check(&mut errors);
        assert_eq!(errors, vec![]);
        assert_eq!(f.barcode.as_deref(), Some("AB-1"));
        assert_eq!(f.name.as_deref(), Some("liver"));
        assert_eq!(f.details.collection_date.as_deref(), Some("2024-01-15"));
        assert_eq!(f.details.volume_unit.as_deref(), Some("µL"));

        let mut bad = SampleFields {
            barcode: Some("ab 1".into()),
            details: SampleDetails {
                notes: Some("x".repeat(2001)),
                concentration: Some(-1.0),
                concentration_unit: Some("ng/uL".into()),
                volume: Some(1.0),
                rin: Some(11.0),
                collection_date: Some("03/04/2024".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut errors = vec![];
        bad.check(&mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_deref().unwrap()).collect();
        assert_eq!(
            fields,
            [
                "barcode",
                "notes",
                "collection_date",
                "concentration",
                "rin",
                "volume_unit"
            ]
        );
    }
}
