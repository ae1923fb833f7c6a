//! Submission templates (docs/domain.md, Templates): the columns a lab accepts, each with a type,
//! rules, aliases and optionally the sample attribute it fills. [`TemplateDef::compile`]
//! checks a definition once; the compiled form validates cells fast (regexes built, header
//! lookup hashed), which is what a 10,000-row import runs against.

use super::kinds::{Priority, SampleType, squash};
use super::value::{self, Broken, DateOrder};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use tracseq_core::FieldError;

pub const MAX_FIELDS: usize = 100;
pub const MAX_OPTIONS: usize = 500;
const MAX_PATTERN_LEN: usize = 500;
const MAX_TEXT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Integer,
    Date,
    Boolean,
    Select,
    Multiselect,
    Email,
}

/// The sample attribute a column fills; columns without one become custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoreField {
    Barcode,
    Name,
    SampleType,
    Submitter,
    CollectionDate,
    CollectionLocation,
    Organism,
    Tissue,
    Volume,
    Concentration,
    #[serde(rename = "a260_280")]
    A260280,
    #[serde(rename = "a260_230")]
    A260230,
    Rin,
    Priority,
    Project,
    Notes,
}

impl CoreField {
    fn accepts(self, t: FieldType) -> bool {
        use FieldType::*;
        match self {
            Self::Volume | Self::Concentration | Self::A260280 | Self::A260230 | Self::Rin => {
                matches!(t, Number | Integer)
            }
            Self::CollectionDate => t == Date,
            Self::SampleType | Self::Priority => matches!(t, Text | Select),
            _ => matches!(t, Text | Select | Email),
        }
    }

    /// Domain rules of the attribute itself, after the column's own rules.
    fn check(self, v: Value) -> Result<Value, Broken> {
        match self {
            Self::Barcode => {
                let raw = v.as_str().unwrap_or_default();
                super::barcode::check(raw)
                    .map(|c| json!(c))
                    .map_err(|e| Broken::new(e.rule(), e.to_string()))
            }
            Self::SampleType => {
                let raw = v.as_str().unwrap_or_default();
                SampleType::parse(raw).map(|t| json!(t)).ok_or_else(|| {
                    Broken::new(
                        "sample_type",
                        format!("{raw:?} is not a sample type ({})", SampleType::names()),
                    )
                })
            }
            Self::Priority => {
                let raw = v.as_str().unwrap_or_default();
                Priority::parse(raw)
                    .map(|p| json!(p))
                    .ok_or_else(|| Broken::new("priority", format!("{raw:?} is not one of {}", Priority::names())))
            }
            Self::Rin => match v.as_f64() {
                Some(x) if !(1.0..=10.0).contains(&x) => Err(Broken::new("max", "RIN/DIN lies between 1 and 10")),
                _ => Ok(v),
            },
            Self::Volume | Self::Concentration | Self::A260280 | Self::A260230 => match v.as_f64() {
                Some(x) if x < 0.0 => Err(Broken::new("min", "must not be negative")),
                _ => Ok(v),
            },
            _ => Ok(v),
        }
    }
}

/// A select option: a value, plus spellings that mean it (`"Medium"` → `normal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SelectOption {
    Plain(String),
    WithAliases {
        value: String,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

impl SelectOption {
    pub fn value(&self) -> &str {
        match self {
            Self::Plain(v) | Self::WithAliases { value: v, .. } => v,
        }
    }
    fn aliases(&self) -> &[String] {
        match self {
            Self::Plain(_) => &[],
            Self::WithAliases { aliases, .. } => aliases,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The unit numbers are stored in; values written with another unit of the same
    /// dimension are converted (`250 µL` into `mL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// How slashed dates are read (default: only when unambiguous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_order: Option<DateOrder>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Machine name: `[a-z][a-z0-9_]*`, at most 64 characters.
    pub name: String,
    /// Column header of the blank manifest.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Used when a row leaves the cell empty (validated like a cell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    #[serde(default, skip_serializing_if = "is_default_rules")]
    pub rules: FieldRules,
    /// Other headers that mean this column (matched ignoring case, spaces and punctuation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maps_to: Option<CoreField>,
    /// Position in the manifest; fields without one keep their place in the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
}

fn is_default_rules(r: &FieldRules) -> bool {
    *r == FieldRules::default()
}

/// What a lab edits: a name, a description and the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TemplateDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: Vec<FieldDef>,
}

/// A checked field, ready to validate cells.
#[derive(Debug, Clone)]
pub struct Field {
    pub def: FieldDef,
    pattern: Option<regex::Regex>,
    /// squash(spelling) → option value.
    options: HashMap<String, String>,
    default: Option<Value>,
}

/// A checked template.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub fields: Vec<Field>,
    /// squash(header or alias) → field index.
    headers: HashMap<String, usize>,
}

fn ferr(path: String, rule: &str, message: impl Into<String>) -> FieldError {
    FieldError::field(path, rule, message)
}

impl TemplateDef {
    /// Check the definition (every problem at once) and compile it.
    pub fn compile(&self) -> Result<Compiled, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name_len = self.name.trim().chars().count();
        if !(1..=200).contains(&name_len) {
            errors.push(ferr("name".into(), "length", "name must have 1 to 200 characters"));
        }
        if self.description.as_ref().is_some_and(|d| d.chars().count() > 2000) {
            errors.push(ferr(
                "description".into(),
                "max_length",
                "description has at most 2000 characters",
            ));
        }
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            errors.push(ferr("fields".into(), "length", "a template has 1 to 100 fields"));
        }
        let mut fields = Vec::with_capacity(self.fields.len());
        let mut headers: HashMap<String, usize> = HashMap::new();
        let mut names = HashMap::new();
        let mut mapped = HashMap::new();
        let mut ordered: Vec<(i32, usize)> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.order.unwrap_or(i as i32), i))
            .collect();
        ordered.sort();
        for (_, i) in ordered.into_iter().take(MAX_FIELDS) {
            let f = &self.fields[i];
            let at = |k: &str| format!("fields[{i}].{k}");
            let before = errors.len();
            if !valid_name(&f.name) {
                errors.push(ferr(
                    at("name"),
                    "pattern",
                    "a field name is [a-z][a-z0-9_]* with at most 64 characters",
                ));
            } else if names.insert(f.name.clone(), i).is_some() {
                errors.push(ferr(
                    at("name"),
                    "unique",
                    format!("field {:?} is defined twice", f.name),
                ));
            }
            if !(1..=200).contains(&f.label.trim().chars().count()) {
                errors.push(ferr(at("label"), "length", "a label has 1 to 200 characters"));
            }
            if f.aliases.len() > 20 || f.aliases.iter().any(|a| a.chars().count() > 200) {
                errors.push(ferr(
                    at("aliases"),
                    "length",
                    "at most 20 aliases of at most 200 characters",
                ));
            }
            for spelling in [&f.name, &f.label].into_iter().chain(&f.aliases) {
                let key = squash(spelling);
                if key.is_empty() {
                    errors.push(ferr(at("aliases"), "required", "a header needs a letter or digit"));
                    continue;
                }
                match headers.get(&key) {
                    Some(&other) if other != fields.len() => errors.push(ferr(
                        at("aliases"),
                        "unique",
                        format!("header {spelling:?} already names another field"),
                    )),
                    _ => {
                        headers.insert(key, fields.len());
                    }
                }
            }
            if let Some(target) = f.maps_to {
                if !target.accepts(f.kind) {
                    errors.push(ferr(
                        at("maps_to"),
                        "type",
                        format!("{target:?} cannot come from a {:?} field", f.kind),
                    ));
                }
                if mapped.insert(target, i).is_some() {
                    errors.push(ferr(
                        at("maps_to"),
                        "unique",
                        "two fields fill the same sample attribute",
                    ));
                }
            }
            let options = check_options(f, &at, &mut errors);
            let pattern = check_rules(f, &at, &mut errors);
            if errors.len() == before {
                let mut field = Field {
                    def: f.clone(),
                    pattern,
                    options,
                    default: None,
                };
                if let Some(d) = &f.default {
                    match field.check_json(d) {
                        Ok(v) => field.default = v,
                        Err(b) => errors.push(ferr(at("default"), b.rule, format!("default: {}", b.message))),
                    }
                }
                fields.push(field);
            } else {
                // Keep indexes aligned for the header map even when this field is broken.
                fields.push(Field {
                    def: f.clone(),
                    pattern: None,
                    options: HashMap::new(),
                    default: None,
                });
            }
        }
        if errors.is_empty() {
            Ok(Compiled { fields, headers })
        } else {
            Err(errors)
        }
    }
}

fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn check_options(f: &FieldDef, at: &dyn Fn(&str) -> String, errors: &mut Vec<FieldError>) -> HashMap<String, String> {
    let is_select = matches!(f.kind, FieldType::Select | FieldType::Multiselect);
    let mut map = HashMap::new();
    if is_select && f.options.is_empty() {
        errors.push(ferr(at("options"), "required", "a select field needs options"));
    }
    if !is_select && !f.options.is_empty() {
        errors.push(ferr(at("options"), "type", "only select fields have options"));
    }
    if f.options.len() > MAX_OPTIONS {
        errors.push(ferr(at("options"), "length", "at most 500 options"));
    }
    for o in &f.options {
        if o.value().trim().is_empty() || o.value().chars().count() > 200 {
            errors.push(ferr(at("options"), "length", "an option has 1 to 200 characters"));
        }
        for spelling in std::iter::once(o.value()).chain(o.aliases().iter().map(String::as_str)) {
            if let Some(prev) = map.insert(squash(spelling), o.value().to_owned())
                && prev != o.value()
            {
                errors.push(ferr(at("options"), "unique", format!("{spelling:?} names two options")));
            }
        }
    }
    map
}

fn check_rules(f: &FieldDef, at: &dyn Fn(&str) -> String, errors: &mut Vec<FieldError>) -> Option<regex::Regex> {
    let r = &f.rules;
    let numeric = matches!(f.kind, FieldType::Number | FieldType::Integer);
    let textual = matches!(f.kind, FieldType::Text | FieldType::Email);
    if (r.min.is_some() || r.max.is_some()) && !numeric {
        errors.push(ferr(at("rules"), "type", "min and max apply to numbers"));
    }
    if let (Some(lo), Some(hi)) = (r.min, r.max)
        && lo > hi
    {
        errors.push(ferr(at("rules"), "range", "min is above max"));
    }
    if (r.min_length.is_some() || r.max_length.is_some() || r.pattern.is_some()) && !textual {
        errors.push(ferr(at("rules"), "type", "length and pattern rules apply to text"));
    }
    if let (Some(lo), Some(hi)) = (r.min_length, r.max_length)
        && lo > hi
    {
        errors.push(ferr(at("rules"), "range", "min_length is above max_length"));
    }
    if let Some(u) = &r.unit {
        if !numeric {
            errors.push(ferr(at("rules.unit"), "type", "a unit applies to numbers"));
        } else if value::canonical_unit(u).is_none() {
            errors.push(ferr(at("rules.unit"), "unit", format!("unknown unit {u:?}")));
        }
    }
    if r.date_order.is_some() && f.kind != FieldType::Date {
        errors.push(ferr(at("rules.date_order"), "type", "date_order applies to dates"));
    }
    let pattern = r.pattern.as_ref()?;
    if pattern.len() > MAX_PATTERN_LEN {
        errors.push(ferr(
            at("rules.pattern"),
            "max_length",
            "a pattern has at most 500 characters",
        ));
        return None;
    }
    match regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
    {
        Ok(re) => Some(re),
        Err(e) => {
            errors.push(ferr(
                at("rules.pattern"),
                "pattern",
                format!("not a valid regular expression: {e}"),
            ));
            None
        }
    }
}

/// A cell as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(time::Date),
}

impl Cell {
    /// How the cell reads as text (for error messages and text fields).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Empty => "".into(),
            Cell::Text(s) => s.as_str().into(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64).into(),
            Cell::Number(n) => n.to_string().into(),
            Cell::Bool(b) => b.to_string().into(),
            Cell::Date(d) => value::format_date(*d).into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

impl Field {
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Validate one cell: `Ok(None)` for an empty optional cell without default.
    pub fn check_cell(&self, cell: &Cell) -> Result<Option<Value>, Broken> {
        if cell.is_empty() {
            return match &self.default {
                Some(d) => Ok(Some(d.clone())),
                None if self.def.required => Err(Broken::new("required", format!("{} is required", self.def.label))),
                None => Ok(None),
            };
        }
        let v = self.typed(cell)?;
        let v = self.ranges(v)?;
        match self.def.maps_to {
            Some(core) => core.check(v).map(Some),
            None => Ok(Some(v)),
        }
    }

    /// Validate a JSON value (API input): strings go through the cell parsers.
    pub fn check_json(&self, v: &Value) -> Result<Option<Value>, Broken> {
        let cell = match v {
            Value::Null => Cell::Empty,
            Value::String(s) => Cell::Text(s.clone()),
            Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => Cell::Bool(*b),
            Value::Array(items) if self.def.kind == FieldType::Multiselect => {
                let joined: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                match joined {
                    Some(parts) => Cell::Text(parts.join(";")),
                    None => return Err(Broken::new("type", "a list of option values")),
                }
            }
            _ => {
                return Err(Broken::new(
                    "type",
                    format!("{} takes a {:?} value", self.def.name, self.def.kind),
                ));
            }
        };
        self.check_cell(&cell)
    }

    fn typed(&self, cell: &Cell) -> Result<Value, Broken> {
        let text = cell.text();
        let unit = self.def.rules.unit.as_deref();
        Ok(match self.def.kind {
            FieldType::Text => {
                let t = text.trim();
                if t.chars().count() > MAX_TEXT {
                    return Err(Broken::new("max_length", "text cells hold at most 10,000 characters"));
                }
                json!(t)
            }
            FieldType::Email => {
                let t = text.trim();
                let ok = t.len() <= 254
                    && t.split_once('@')
                        .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.ends_with('.'))
                    && !t.contains(char::is_whitespace);
                if !ok {
                    return Err(Broken::new("email", format!("{t:?} is not an email address")));
                }
                json!(t)
            }
            FieldType::Number => match cell {
                Cell::Number(n) if n.is_finite() => json!(n),
                _ => json!(value::parse_number(&text, unit)?),
            },
            FieldType::Integer => {
                let n = match cell {
                    Cell::Number(n) => *n,
                    _ => value::parse_number(&text, unit)?,
                };
                if n.fract() != 0.0 || n.abs() > 9e15 {
                    return Err(Broken::new("integer", format!("{text:?} is not a whole number")));
                }
                json!(n as i64)
            }
            FieldType::Date => match cell {
                Cell::Date(d) => json!(value::format_date(*d)),
                Cell::Number(n) => json!(value::format_date(
                    value::date_from_serial(*n).ok_or_else(|| Broken::new("date", "not a date"))?
                )),
                _ => json!(value::format_date(value::parse_date(
                    &text,
                    self.def.rules.date_order.unwrap_or_default()
                )?)),
            },
            FieldType::Boolean => match cell {
                Cell::Bool(b) => json!(b),
                _ => json!(value::parse_bool(&text)?),
            },
            FieldType::Select => json!(self.option(text.trim())?),
            FieldType::Multiselect => {
                let picked = text
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| self.option(s))
                    .collect::<Result<Vec<_>, _>>()?;
                json!(picked)
            }
        })
    }

    fn option(&self, s: &str) -> Result<String, Broken> {
        self.options.get(&squash(s)).cloned().ok_or_else(|| {
            let list: Vec<&str> = self.def.options.iter().map(SelectOption::value).take(20).collect();
            Broken::new("one_of", format!("{s:?} is not one of {}", list.join(", ")))
        })
    }

    fn ranges(&self, v: Value) -> Result<Value, Broken> {
        let r = &self.def.rules;
        if let Some(x) = v.as_f64() {
            if let Some(min) = r.min
                && x < min
            {
                return Err(Broken::new("min", format!("{x} is below the minimum {min}")));
            }
            if let Some(max) = r.max
                && x > max
            {
                return Err(Broken::new("max", format!("{x} is above the maximum {max}")));
            }
        }
        if let Some(s) = v.as_str() {
            let n = s.chars().count() as u32;
            if let Some(min) = r.min_length
                && n < min
            {
                return Err(Broken::new("min_length", format!("at least {min} characters")));
            }
            if let Some(max) = r.max_length
                && n > max
            {
                return Err(Broken::new("max_length", format!("at most {max} characters")));
            }
            if let Some(re) = &self.pattern
                && !re.is_match(s)
            {
                return Err(Broken::new(
                    "pattern",
                    format!("{s:?} does not match the required pattern"),
                ));
            }
        }
        Ok(v)
    }
}

impl Compiled {
    /// The field a header names, if any.
    pub fn field_for_header(&self, header: &str) -> Option<usize> {
        self.headers.get(&squash(header)).copied()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.def.name == name)
    }

    pub fn mapped(&self, core: CoreField) -> Option<usize> {
        self.fields.iter().position(|f| f.def.maps_to == Some(core))
    }

    /// The headers of the blank manifest, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.def.label.as_str()).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A template for `tests/fixtures/reference/sample_lab_template.csv`.
    pub fn reference_template() -> TemplateDef {
        serde_json::from_str(include_str!("../../../../tests/fixtures/reference/template.json")).unwrap()
    }

    #[test]
    fn the_reference_template_compiles_and_matches_headers_loosely() {
        let t = reference_template().compile().unwrap();
        assert_eq!(t.field_for_header("Sample_ID"), Some(0));
        assert_eq!(t.field_for_header("sample id"), Some(0));
        assert_eq!(t.field_for_header(" SAMPLE-ID "), Some(0));
        assert_eq!(t.field_for_header("Volume (mL)"), Some(9));
        assert_eq!(t.field_for_header("Colour"), None);
    }

    #[test]
    fn cells_are_typed_converted_and_checked() {
        let t = reference_template().compile().unwrap();
        let f = |n: &str| t.field(n).unwrap();
        assert_eq!(
            f("priority").check_cell(&Cell::Text("Medium".into())),
            Ok(Some(json!("normal")))
        );
        assert_eq!(f("priority").check_cell(&Cell::Empty), Ok(Some(json!("normal"))));
        assert_eq!(
            f("sample_type").check_cell(&Cell::Text("blood".into())),
            Ok(Some(json!("Blood")))
        );
        assert_eq!(
            f("volume").check_cell(&Cell::Text("250 µL".into())),
            Ok(Some(json!(0.25)))
        );
        assert_eq!(
            f("volume").check_cell(&Cell::Text("0.05".into())).unwrap_err().rule,
            "min"
        );
        assert_eq!(
            f("storage_temp").check_cell(&Cell::Text("-80°C".into())),
            Ok(Some(json!(-80.0)))
        );
        assert_eq!(
            f("patient_id").check_cell(&Cell::Text("X1".into())).unwrap_err().rule,
            "pattern"
        );
        assert_eq!(
            f("sample_id").check_cell(&Cell::Text("lab-1".into())).unwrap_err().rule,
            "barcode"
        );
        assert_eq!(f("sample_id").check_cell(&Cell::Empty).unwrap_err().rule, "required");
        assert_eq!(
            f("analysis_type")
                .check_cell(&Cell::Text("ChIP".into()))
                .unwrap_err()
                .rule,
            "one_of"
        );
        assert_eq!(
            f("collection_date").check_cell(&Cell::Number(45306.0)),
            Ok(Some(json!("2024-01-15")))
        );
        assert_eq!(f("department").check_cell(&Cell::Empty), Ok(None));
    }

    #[test]
    fn broken_definitions_report_every_problem() {
        let def: TemplateDef = serde_json::from_value(json!({
            "name": "",
            "fields": [
                {"name": "Bad Name", "label": "A", "type": "text"},
                {"name": "a", "label": "Dup", "type": "text"},
                {"name": "b", "label": "dup", "type": "number", "rules": {"pattern": "x"}},
                {"name": "c", "label": "C", "type": "select"},
                {"name": "d", "label": "D", "type": "text", "rules": {"pattern": "("}},
                {"name": "e", "label": "E", "type": "date", "maps_to": "volume"},
                {"name": "f", "label": "F", "type": "number", "rules": {"unit": "parsec"}},
                {"name": "g", "label": "G", "type": "integer", "default": "many"}
            ]
        }))
        .unwrap();
        let errors = def.compile().unwrap_err();
        let rules: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_deref().unwrap_or(""), e.rule.as_str()))
            .collect();
        for expected in [
            ("name", "length"),
            ("fields[0].name", "pattern"),
            ("fields[2].aliases", "unique"),
            ("fields[2].rules", "type"),
            ("fields[3].options", "required"),
            ("fields[4].rules.pattern", "pattern"),
            ("fields[5].maps_to", "type"),
            ("fields[6].rules.unit", "unit"),
            ("fields[7].default", "number"),
        ] {
            assert!(rules.contains(&expected), "{expected:?} missing from {rules:?}");
        }
    }

    #[test]
    fn field_count_is_limited() {
        let fields: Vec<Value> = (0..101)
            .map(|i| json!({"name": format!("f{i}"), "label": format!("F{i}"), "type": "text"}))
            .collect();
        let def: TemplateDef = serde_json::from_value(json!({"name": "big", "fields": fields})).unwrap();
        let errors = def.compile().unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.field.as_deref() == Some("fields") && e.rule == "length")
        );
    }
}
