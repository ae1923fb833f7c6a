//! Reading one typed value out of what a person typed into a spreadsheet cell: numbers
//! with units, dates in the formats labs use, booleans. Each parser answers the value in
//! its canonical form or the rule it broke.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// A broken rule: its stable name and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub rule: &'static str,
    pub message: String,
}

impl Broken {
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
        }
    }
}

/// Physical dimension of a unit; only units of one dimension convert into each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Volume,
    MassConcentration,
    MolarConcentration,
    Mass,
    Length,
    Temperature,
    Ratio,
}

/// A unit: accepted spellings (compared after [`unit_key`]), dimension, factor to the
/// dimension's base unit, canonical symbol.
struct Unit {
    symbol: &'static str,
    spellings: &'static [&'static str],
    dim: Dimension,
    factor: f64,
}

const UNITS: &[Unit] = &[
    Unit {
        symbol: "L",
        spellings: &["l", "liter", "litre"],
        dim: Dimension::Volume,
        factor: 1.0,
    },
    Unit {
        symbol: "mL",
        spellings: &["ml", "milliliter", "millilitre"],
        dim: Dimension::Volume,
        factor: 1e-3,
    },
    Unit {
        symbol: "µL",
        spellings: &["ul", "microliter", "microlitre"],
        dim: Dimension::Volume,
        factor: 1e-6,
    },
    Unit {
        symbol: "nL",
        spellings: &["nl"],
        dim: Dimension::Volume,
        factor: 1e-9,
    },
    Unit {
        symbol: "mg/mL",
        spellings: &["mg/ml", "ug/ul"],
        dim: Dimension::MassConcentration,
        factor: 1.0,
    },
    Unit {
        symbol: "ng/µL",
        spellings: &["ng/ul", "ug/ml"],
        dim: Dimension::MassConcentration,
        factor: 1e-3,
    },
    Unit {
        symbol: "ng/mL",
        spellings: &["ng/ml", "pg/ul"],
        dim: Dimension::MassConcentration,
        factor: 1e-6,
    },
    Unit {
        symbol: "M",
        spellings: &["m", "mol/l"],
        dim: Dimension::MolarConcentration,
        factor: 1.0,
    },
    Unit {
        symbol: "mM",
        spellings: &["mm", "mmol/l"],
        dim: Dimension::MolarConcentration,
        factor: 1e-3,
    },
    Unit {
        symbol: "µM",
        spellings: &["um", "umol/l"],
        dim: Dimension::MolarConcentration,
        factor: 1e-6,
    },
    Unit {
        symbol: "nM",
        spellings: &["nm", "nmol/l"],
        dim: Dimension::MolarConcentration,
        factor: 1e-9,
    },
    Unit {
        symbol: "pM",
        spellings: &["pm", "pmol/l"],
        dim: Dimension::MolarConcentration,
        factor: 1e-12,
    },
    Unit {
        symbol: "g",
        spellings: &["g", "gram"],
        dim: Dimension::Mass,
        factor: 1.0,
    },
    Unit {
        symbol: "mg",
        spellings: &["mg"],
        dim: Dimension::Mass,
        factor: 1e-3,
    },
    Unit {
        symbol: "µg",
        spellings: &["ug"],
        dim: Dimension::Mass,
        factor: 1e-6,
    },
    Unit {
        symbol: "ng",
        spellings: &["ng"],
        dim: Dimension::Mass,
        factor: 1e-9,
    },
    Unit {
        symbol: "bp",
        spellings: &["bp"],
        dim: Dimension::Length,
        factor: 1.0,
    },
    Unit {
        symbol: "kb",
        spellings: &["kb", "kbp"],
        dim: Dimension::Length,
        factor: 1e3,
    },
    Unit {
        symbol: "°C",
        spellings: &["°c", "c", "degc"],
        dim: Dimension::Temperature,
        factor: 1.0,
    },
    Unit {
        symbol: "%",
        spellings: &["%", "percent"],
        dim: Dimension::Ratio,
        factor: 1.0,
    },
];

/// Lowercase, no spaces, every micro sign spelled `u`.
fn unit_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == 'µ' || c == 'μ' { 'u' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

fn find_unit(s: &str) -> Option<&'static Unit> {
    let key = unit_key(s);
    // "M" (molar) and "m" spellings collide only in case; keep case for the molar family.
    if s.trim() == "m" {
        return None;
    }
    UNITS
        .iter()
        .find(|u| u.spellings.contains(&key.as_str()) || unit_key(u.symbol) == key)
}

/// A unit as the OpenAPI document states it: one of the canonical symbols (other spellings
/// such as `ul` or `ng/ul` are accepted too, and answered as their symbol).
pub struct UnitSymbol;

impl utoipa::PartialSchema for UnitSymbol {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(UNITS.iter().map(|u| u.symbol)))
            .into()
    }
}

impl utoipa::ToSchema for UnitSymbol {}

/// The canonical symbol of a known unit (for template definitions).
pub fn canonical_unit(s: &str) -> Option<&'static str> {
    find_unit(s).map(|u| u.symbol)
}

/// A number, optionally followed by a unit, converted to `unit` when the field has one.
/// Thousands separators are accepted only in the `1,234.5` shape; a lone decimal comma is
/// refused, because "1,500" would otherwise mean 1.5 to one lab and 1500 to another.
pub fn parse_number(raw: &str, unit: Option<&str>) -> Result<f64, Broken> {
    let text = raw.trim();
    let split = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || c == ',' || ((c == '-' || c == '+') && i == 0)))
        .map_or(text.len(), |(i, _)| i);
    // An exponent ("1e-3") is part of the number, not a unit.
    let (num, rest) = match text[split..].strip_prefix(['e', 'E']) {
        Some(tail) if tail.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => {
            let end = tail
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || ((c == '-' || c == '+') && i == 0)))
                .map_or(tail.len(), |(i, _)| i);
            let cut = split + 1 + end;
            (&text[..cut], text[cut..].trim())
        }
        _ => (&text[..split], text[split..].trim()),
    };
    let value = parse_plain(num).ok_or_else(|| Broken::new("number", format!("{raw:?} is not a number")))?;
    if !value.is_finite() {
        return Err(Broken::new("number", "the number is out of range"));
    }
    if rest.is_empty() {
        return Ok(value);
    }
    let Some(given) = find_unit(rest) else {
        return Err(Broken::new("unit", format!("unknown unit {rest:?}")));
    };
    let Some(target) = unit.and_then(find_unit) else {
        return Err(Broken::new(
            "unit",
            format!("this column takes a plain number, not {rest:?}"),
        ));
    };
    if given.dim != target.dim {
        return Err(Broken::new(
            "unit",
            format!("{} cannot be converted to {}", given.symbol, target.symbol),
        ));
    }
    // Round away float noise from the conversion (2.5 mL → 2500 µL, not 2499.9999…).
    let converted = value * given.factor / target.factor;
    Ok((converted * 1e9).round() / 1e9)
}

fn parse_plain(num: &str) -> Option<f64> {
    if num.is_empty() {
        return None;
    }
    if num.contains(',') {
        let (int, frac) = num.split_once('.').map_or((num, None), |(i, f)| (i, Some(f)));
        let digits = int.trim_start_matches(['-', '+']);
        let mut groups = digits.split(',');
        let first = groups.next()?;
        let grouped = (1..=3).contains(&first.len())
            && groups.all(|g| g.len() == 3)
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b',');
        if !grouped || frac.is_some_and(|f| f.contains(',')) {
            return None;
        }
        return num.replace(',', "").parse().ok();
    }
    num.parse().ok()
}

/// How a slashed date such as `03/04/2024` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// Day first (03/04/2024 is 3 April).
    Dmy,
    /// Month first (03/04/2024 is 4 March).
    Mdy,
    /// Only when unambiguous: a day above 12 tells which is which; otherwise refused.
    #[default]
    Unambiguous,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_named(s: &str) -> Option<u8> {
    let s = s.trim_end_matches('.').to_lowercase();
    if s.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&s) && (s.len() == 3 || m.len() == s.len() || s == "sept"))
        .map(|i| i as u8 + 1)
}

fn ymd(y: i32, m: u8, d: u8) -> Option<Date> {
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// Dates as labs write them: `2024-01-15`, `2024/01/15`, `20240115`, `15.01.2024`,
/// `15-Jan-2024`, `15 January 2024`, `Jan 15, 2024`, `15/01/2024` (see [`DateOrder`]),
/// and date-times whose time is dropped (`2024-01-15T10:30:00Z`, `2024-01-15 10:30`).
pub fn parse_date(raw: &str, order: DateOrder) -> Result<Date, Broken> {
    let s = raw.trim();
    let bad = || Broken::new("date", format!("{raw:?} is not a date (use YYYY-MM-DD)"));
    let s = s
        .split(['T', ' '])
        .next()
        .filter(|d| d.len() >= 8 && looks_numeric_date(d))
        .unwrap_or(s);
    let nums = |parts: &[&str]| -> Option<Vec<u32>> { parts.iter().map(|p| p.parse().ok()).collect() };
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: Vec<u32> = vec![
            s[..4].parse().ok().ok_or_else(bad)?,
            s[4..6].parse().ok().ok_or_else(bad)?,
            s[6..].parse().ok().ok_or_else(bad)?,
        ];
        return ymd(n[0] as i32, n[1] as u8, n[2] as u8).ok_or_else(bad);
    }
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 3 {
            continue;
        }
        if let Some(n) = nums(&parts) {
            if parts[0].len() == 4 {
                return ymd(n[0] as i32, n[1] as u8, n[2] as u8).ok_or_else(bad);
            }
            if parts[2].len() != 4 {
                return Err(bad());
            }
            let (a, b, y) = (n[0], n[1], n[2] as i32);
            let (d, m) = match (sep, order) {
                ('.', _) => (a, b),
                (_, DateOrder::Dmy) => (a, b),
                (_, DateOrder::Mdy) => (b, a),
                (_, DateOrder::Unambiguous) if a > 12 => (a, b),
                (_, DateOrder::Unambiguous) if b > 12 => (b, a),
                (_, DateOrder::Unambiguous) if a == b => (a, b),
                _ => {
                    return Err(Broken::new(
                        "date_ambiguous",
                        format!("{raw:?} could be day/month or month/day; write YYYY-MM-DD"),
                    ));
                }
            };
            return ymd(y, m as u8, d as u8).ok_or_else(bad);
        }
        // 15-Jan-2024
        if let (Ok(d), Some(m), Ok(y)) = (parts[0].parse::<u8>(), month_named(parts[1]), parts[2].parse::<i32>()) {
            return ymd(y, m, d).ok_or_else(bad);
        }
    }
    // "15 January 2024", "January 15, 2024", "Jan 15 2024"
    let words: Vec<&str> = s.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    if words.len() == 3 {
        if let (Ok(d), Some(m), Ok(y)) = (words[0].parse::<u8>(), month_named(words[1]), words[2].parse::<i32>()) {
            return ymd(y, m, d).ok_or_else(bad);
        }
        if let (Some(m), Ok(d), Ok(y)) = (month_named(words[0]), words[1].parse::<u8>(), words[2].parse::<i32>()) {
            return ymd(y, m, d).ok_or_else(bad);
        }
    }
    Err(bad())
}

fn looks_numeric_date(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || b"-/.".contains(&b))
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A spreadsheet serial date (days since 1899-12-30, the Excel/Lotus epoch).
pub fn date_from_serial(serial: f64) -> Option<Date> {
    let epoch = time::macros::date!(1899 - 12 - 30);
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    epoch.checked_add(time::Duration::days(serial.floor() as i64))
}

pub fn parse_bool(raw: &str) -> Result<bool, Broken> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "x" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        _ => Err(Broken::new("boolean", format!("{raw:?} is not yes/no"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn numbers_with_and_without_units() {
        assert_eq!(parse_number("2.5", Some("mL")), Ok(2.5));
        assert_eq!(parse_number(" 2.5 mL ", Some("mL")), Ok(2.5));
        assert_eq!(parse_number("250 µL", Some("mL")), Ok(0.25));
        assert_eq!(parse_number("250uL", Some("mL")), Ok(0.25));
        assert_eq!(parse_number("2.5 ml", Some("µL")), Ok(2500.0));
        assert_eq!(parse_number("250.5 ng/uL", Some("ng/µL")), Ok(250.5));
        assert_eq!(parse_number("0.25 mg/mL", Some("ng/µL")), Ok(250.0));
        assert_eq!(parse_number("250 ug/mL", Some("ng/µL")), Ok(250.0));
        assert_eq!(parse_number("-80°C", Some("°C")), Ok(-80.0));
        assert_eq!(parse_number("1,234.5", None), Ok(1234.5));
        assert_eq!(parse_number("1e3", None), Ok(1000.0));
        assert_eq!(parse_number("-4", None), Ok(-4.0));
        assert_eq!(parse_number("1,5", None).unwrap_err().rule, "number");
        assert_eq!(parse_number("abc", None).unwrap_err().rule, "number");
        assert_eq!(parse_number("", None).unwrap_err().rule, "number");
        assert_eq!(parse_number("2.5 parsecs", Some("mL")).unwrap_err().rule, "unit");
        assert_eq!(parse_number("2.5 ng", Some("mL")).unwrap_err().rule, "unit");
        assert_eq!(parse_number("2.5 mL", None).unwrap_err().rule, "unit");
        assert_eq!(parse_number("1e999", None).unwrap_err().rule, "number");
    }

    #[test]
    fn dates_in_common_formats() {
        let d = date!(2024 - 01 - 15);
        for raw in [
            "2024-01-15",
            "2024/01/15",
            "20240115",
            "15.01.2024",
            "15-Jan-2024",
            "15 January 2024",
            "January 15, 2024",
            "Jan 15 2024",
            "15/01/2024",
            "01/15/2024",
            "2024-01-15T10:30:00Z",
            "2024-01-15 10:30",
        ] {
            assert_eq!(parse_date(raw, DateOrder::Unambiguous), Ok(d), "{raw}");
        }
        assert_eq!(
            parse_date("03/04/2024", DateOrder::Unambiguous).unwrap_err().rule,
            "date_ambiguous"
        );
        assert_eq!(parse_date("03/04/2024", DateOrder::Dmy), Ok(date!(2024 - 04 - 03)));
        assert_eq!(parse_date("03/04/2024", DateOrder::Mdy), Ok(date!(2024 - 03 - 04)));
        assert_eq!(parse_date("2024-02-30", DateOrder::Dmy).unwrap_err().rule, "date");
        assert_eq!(parse_date("yesterday", DateOrder::Dmy).unwrap_err().rule, "date");
        assert_eq!(parse_date("15/01/24", DateOrder::Dmy).unwrap_err().rule, "date");
        assert_eq!(format_date(d), "2024-01-15");
        assert_eq!(date_from_serial(45306.0), Some(d));
        assert_eq!(date_from_serial(-1.0), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("n"), Ok(false));
        assert_eq!(parse_bool("maybe").unwrap_err().rule, "boolean");
    }

    #[test]
    fn units_have_canonical_symbols() {
        assert_eq!(canonical_unit("ul"), Some("µL"));
        assert_eq!(canonical_unit("μl"), Some("µL"));
        assert_eq!(canonical_unit("NG/UL"), Some("ng/µL"));
        assert_eq!(canonical_unit("furlong"), None);
    }
}
