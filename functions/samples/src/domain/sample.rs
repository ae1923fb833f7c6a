//! A sample's fields as a template fills and checks them (the fields themselves, and the
//! checks that need no template, are the shared lab model's: `tracseq_lab::fields`).

use super::template::{Compiled, CoreField};
use serde_json::Value;
use std::collections::BTreeMap;
use tracseq_core::FieldError;
use tracseq_lab::fields::{SampleDetails, SampleFields};
use tracseq_lab::value;

/// A validated manifest row: `values[i]` belongs to field `i` of `t`.
pub fn from_values(t: &Compiled, values: &[Option<Value>]) -> SampleFields {
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

/// Check `custom` against the template the sample follows: known fields only, each
/// value valid, every required field present.
pub fn check_custom(details: &mut SampleDetails, t: &Compiled, errors: &mut Vec<FieldError>) {
    let mut checked = BTreeMap::new();
    for (name, v) in &details.custom {
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
    details.custom = checked;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::template::tests::reference_template;
    use serde_json::json;

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
        check_custom(&mut f, &t, &mut errors);
        assert_eq!(errors, vec![]);
        assert_eq!(f.custom["quality_score"], json!(8.5));

        let mut g = SampleDetails {
            custom: BTreeMap::from([("colour".into(), json!("red")), ("quality_score".into(), json!(true))]),
            ..Default::default()
        };
        let mut errors = vec![];
        check_custom(&mut g, &t, &mut errors);
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
