//! Items as JSON, both ways.
//!
//! Backups use *DynamoDB JSON* (`{"S": "…"}`, `{"N": "…"}`, …), the format of AWS's own
//! table exports: it keeps every type exactly (numbers as their decimal strings, sets as
//! sets, binary as base64), so a restored item is the item that was backed up. Keys are
//! sorted and set members ordered, so one item has one text and one SHA-256: the manifest's
//! table digest is computed over those texts and a restore recomputes it from the table.
//!
//! Lab exports use plain JSON instead ([`to_plain`]): what a lab that leaves can read
//! without knowing DynamoDB.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("line is not JSON: {0}")]
    Json(String),
    #[error("not a DynamoDB JSON item: {0}")]
    Shape(String),
}

/// An attribute as DynamoDB JSON.
pub fn attr_to_json(v: &AttributeValue) -> Value {
    let one = |k: &str, v: Value| Value::Object(Map::from_iter([(k.to_owned(), v)]));
    let sorted = |mut xs: Vec<String>| {
        xs.sort();
        Value::Array(xs.into_iter().map(Value::String).collect())
    };
    match v {
        AttributeValue::S(s) => one("S", Value::String(s.clone())),
        AttributeValue::N(n) => one("N", Value::String(n.clone())),
        AttributeValue::B(b) => one("B", Value::String(B64.encode(b.as_ref()))),
        AttributeValue::Bool(b) => one("BOOL", Value::Bool(*b)),
        AttributeValue::Null(_) => one("NULL", Value::Bool(true)),
        AttributeValue::Ss(xs) => one("SS", sorted(xs.clone())),
        AttributeValue::Ns(xs) => one("NS", sorted(xs.clone())),
        AttributeValue::Bs(xs) => one("BS", sorted(xs.iter().map(|b| B64.encode(b.as_ref())).collect())),
        AttributeValue::L(xs) => one("L", Value::Array(xs.iter().map(attr_to_json).collect())),
        AttributeValue::M(m) => one("M", map_to_json(m)),
        // A type this SDK does not know cannot be restored faithfully: keep a marker the
        // parser refuses rather than silently dropping the attribute.
        _ => one("UNKNOWN", Value::Null),
    }
}

fn map_to_json(m: &HashMap<String, AttributeValue>) -> Value {
    let sorted: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, attr_to_json(v))).collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

/// One item as one canonical line of DynamoDB JSON (no newline).
pub fn item_line(item: &Item) -> String {
    map_to_json(item).to_string()
}

/// SHA-256 of an item's canonical line.
pub fn item_hash(line: &str) -> [u8; 32] {
    Sha256::digest(line.as_bytes()).into()
}

/// The digest of a set of items: SHA-256 over their sorted item hashes. Independent of
/// scan order and part boundaries, so a backup and the restored table compare directly.
pub fn set_digest(hashes: &mut [[u8; 32]]) -> String {
    hashes.sort_unstable();
    let mut h = Sha256::new();
    for x in hashes.iter() {
        h.update(x);
    }
    hex::encode(h.finalize())
}

/// Parse one line of DynamoDB JSON back into an item.
pub fn parse_line(line: &str) -> Result<Item, CodecError> {
    let v: Value = serde_json::from_str(line).map_err(|e| CodecError::Json(e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(CodecError::Shape("an item is an object".into()));
    };
    m.iter().map(|(k, v)| Ok((k.clone(), attr_from_json(v)?))).collect()
}

fn attr_from_json(v: &Value) -> Result<AttributeValue, CodecError> {
    let Some((kind, inner)) = v.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next()) else {
        return Err(CodecError::Shape(format!("expected one type key, got {v}")));
    };
    let bad = || CodecError::Shape(format!("bad {kind} value {inner}"));
    let string = || inner.as_str().map(str::to_owned).ok_or_else(bad);
    let strings = || -> Result<Vec<String>, CodecError> {
        inner
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(bad))
            .collect()
    };
    let blob = |s: &str| B64.decode(s).map(Blob::new).map_err(|_| bad());
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(string()?),
        "N" => AttributeValue::N(string()?),
        "B" => AttributeValue::B(blob(&string()?)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(bad)?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings()?),
        "NS" => AttributeValue::Ns(strings()?),
        "BS" => AttributeValue::Bs(strings()?.iter().map(|s| blob(s)).collect::<Result<_, _>>()?),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(attr_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .ok_or_else(bad)?
                .iter()
                .map(|(k, v)| Ok((k.clone(), attr_from_json(v)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        _ => return Err(bad()),
    })
}

/// An attribute as plain JSON: numbers as numbers (as strings when JSON cannot hold them
/// exactly), sets as sorted arrays, binary as base64.
pub fn to_plain(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => serde_json::from_str::<serde_json::Number>(n)
            .ok()
            .filter(|x| x.to_string() == *n)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(n.clone())),
        AttributeValue::B(b) => Value::String(B64.encode(b.as_ref())),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => match attr_to_json(v) {
            Value::Object(m) => m.into_iter().next().map(|(_, a)| a).unwrap_or(Value::Null),
            other => other,
        },
        AttributeValue::L(xs) => Value::Array(xs.iter().map(to_plain).collect()),
        AttributeValue::M(m) => item_to_plain(m),
        _ => Value::Null,
    }
}

/// An item as a plain JSON object with sorted keys.
pub fn item_to_plain(item: &Item) -> Value {
    let sorted: BTreeMap<&String, Value> = item.iter().map(|(k, v)| (k, to_plain(v))).collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Item {
        HashMap::from([
            ("PK".into(), AttributeValue::S("LAB#1#SAMPLE#2".into())),
            ("version".into(), AttributeValue::N("3".into())),
            ("volume".into(), AttributeValue::N("12.50".into())),
            ("flag".into(), AttributeValue::Bool(false)),
            ("gone".into(), AttributeValue::Null(true)),
            ("tags".into(), AttributeValue::Ss(vec!["b".into(), "a".into()])),
            ("ns".into(), AttributeValue::Ns(vec!["2".into(), "10".into()])),
            ("raw".into(), AttributeValue::B(Blob::new(vec![0u8, 255, 10]))),
            (
                "nested".into(),
                AttributeValue::M(HashMap::from([(
                    "list".into(),
                    AttributeValue::L(vec![AttributeValue::S("x".into()), AttributeValue::N("1".into())]),
                )])),
            ),
        ])
    }

    #[test]
    fn every_type_round_trips() {
        let item = sample();
        let line = item_line(&item);
        let back = parse_line(&line).unwrap();
        assert_eq!(item_line(&back), line);
        assert_eq!(back["volume"], AttributeValue::N("12.50".into()));
        assert_eq!(back["raw"], AttributeValue::B(Blob::new(vec![0u8, 255, 10])));
    }

    #[test]
    fn one_item_has_one_text_whatever_the_order() {
        let mut a = sample();
        a.insert("tags".into(), AttributeValue::Ss(vec!["a".into(), "b".into()]));
        assert_eq!(item_line(&a), item_line(&sample()));
        assert!(item_line(&a).starts_with(r#"{"PK":{"S":"LAB#1#SAMPLE#2"},"flag""#));
    }

    #[test]
    fn set_digest_ignores_order_but_not_content() {
        let h = |s: &str| item_hash(s);
        let d1 = set_digest(&mut [h("a"), h("b"), h("c")]);
        assert_eq!(d1, set_digest(&mut [h("c"), h("a"), h("b")]));
        assert_ne!(d1, set_digest(&mut [h("a"), h("b"), h("d")]));
        assert_ne!(d1, set_digest(&mut [h("a"), h("b")]));
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "not json",
            "[]",
            r#"{"PK":"bare"}"#,
            r#"{"PK":{"S":1}}"#,
            r#"{"PK":{"Q":"x"}}"#,
            r#"{"PK":{"S":"a","N":"1"}}"#,
            r#"{"B":{"B":"***"}}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_json_is_readable() {
        let v = item_to_plain(&sample());
        assert_eq!(v["version"], 3);
        assert_eq!(v["volume"], "12.50");
        assert_eq!(v["tags"], serde_json::json!(["a", "b"]));
        assert_eq!(v["nested"]["list"], serde_json::json!(["x", 1]));
        assert_eq!(v["gone"], Value::Null);
    }
}
