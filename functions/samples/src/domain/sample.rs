//! What a sample is made of, as input: from a manifest row or an API body, both checked
//! by the same rules before anything is stored.

use super::kinds::{Priority, SampleType};
use super::template::{Compiled, CoreField};
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
    pub submitter: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organism: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tissue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concentration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concentration_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a260_280: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a260_230: Option<f64>,
    /// RIN or DIN, 1–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rin: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The template's own fields (those that fill no sample attribute), by field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, Value>,
}

const SHORT: usize = 200;
const NOTES: usize = 2000;

impl SampleFields {
    /// A validated manifest row: `values[i]` belongs to field `i` of `t`.
    pub fn from_values(t: &Compiled, values: &[Option<Value>]) -> Self {
        let mut out = SampleFields::default();
        for (field, v) in t.fields.iter().zip(values) {
            let Some(v) = v else { continue };
            let text = || v.as_str().map(str::to_owned);
            let num = || v.as_f64();
            let unit = || {
                field
                    .def
                    .rules
                    .unit
                    .as_deref()
                    .and_then(value::canonical_unit)
                    .map(str::to_owned)
            };
            match field.def.maps_to {
                None => {
                    out.details.custom.insert(field.def.name.clone(), v.clone());
                }
                Some(core) => match core {
                    CoreField::Barcode => out.barcode = text(),
                    CoreField::Name => out.name = text(),
                    CoreField::SampleType => out.sample_type = serde_json::from_value(v.clone()).ok(),
                    CoreField::Priority => out.priority = serde_json::from_value(v.clone()).ok(),
                    CoreField::Submitter => out.details.submitter = text(),
                    CoreField::CollectionDate => out.details.collection_date = text(),
                    CoreField::CollectionLocation => out.details.collection_location = text(),
                    CoreField::Organism => out.details.organism = text(),
                    CoreField::Tissue => out.details.tissue = text(),
                    CoreField::Project => out.details.project = text(),
                    CoreField::Notes => out.details.notes = text(),
                    CoreField::Volume => {
                        out.details.volume = num();
                        out.details.volume_unit = unit();
                    }
                    CoreField::Concentration => {
                        out.details.concentration = num();
                        out.details.concentration_unit = unit();
                    }
                    CoreField::A260280 => out.details.a260_280 = num(),
                    CoreField::A260230 => out.details.a260_230 = num(),
                    CoreField::Rin => out.details.rin = num(),
                },
            }
        }
        out
    }

    /// Check the attributes given through the API (a manifest row was checked cell by
    /// cell already); normalizes dates to `YYYY-MM-DD`, units to their symbols, and trims.
    pub fn check(&mut self, errors: &mut Vec<FieldError>) {
        if let Some(code) = &self.barcode {
            match super::barcode::check(code) {
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

    /// Check `custom` against the template the sample follows: known fields only, each
    /// value valid, every required field present.
    pub fn check_custom(&mut self, t: &Compiled, errors: &mut Vec<FieldError>) {
        let mut checked = BTreeMap::new();
        for (name, v) in &self.custom {
            match t.field(name).filter(|f| f.def.maps_to.is_none()) {
                None => errors.push(FieldError::field(
                    format!("custom.{name}"),
                    "unknown_field",
                    format!("the template has no custom field {name:?}"),
                )),
                Some(f) => match f.check_json(v) {
                    Ok(Some(v)) => {
                        checked.insert(name.clone(), v);
                    }
                    Ok(None) => {}
                    Err(b) => errors
                        .push(FieldError::field(format!("custom.{name}"), b.rule, b.message).with_value(v.to_string())),
                },
            }
        }
        for f in t.fields.iter().filter(|f| f.def.maps_to.is_none()) {
            if checked.contains_key(f.name()) {
                continue;
            }
            match f.check_json(&Value::Null) {
                Ok(Some(default)) => {
                    checked.insert(f.name().to_owned(), default);
                }
                Ok(None) => {}
                Err(b) => errors.push(FieldError::field(format!("custom.{}", f.name()), b.rule, b.message)),
            }
        }
        self.custom = checked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::template::tests::reference_template;
    use serde_json::json;

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

    #[test]
    fn custom_fields_follow_the_template() {
        let t = reference_template().compile().unwrap();
        let mut f = SampleDetails {
            custom: BTreeMap::from([
                ("patient_id".into(), json!("P12345")),
                ("quality_score".into(), json!("8.5")),
            ]),
            ..Default::default()
        };
        let mut errors = vec![];
        f.check_custom(&t, &mut errors);
        assert_eq!(errors, vec![]);
        assert_eq!(f.custom["quality_score"], json!(8.5));

        let mut g = SampleDetails {
            custom: BTreeMap::from([("colour".into(), json!("red")), ("quality_score".into(), json!(true))]),
            ..Default::default()
        };
        let mut errors = vec![];
        g.check_custom(&t, &mut errors);
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_deref().unwrap(), e.rule.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("custom.colour", "unknown_field"),
                ("custom.quality_score", "number"),
                ("custom.patient_id", "required")
            ]
        );
    }
}
