//! What an LLM provider is asked and how its answer is checked: the retrieved passages
//! (numbered, nothing else of the document), the field catalogue as a tool's input
//! schema, and a validation that keeps only known fields of the right shape whose quote
//! is really in the passage it names. An answer that fails it is not used.

use super::Prepared;
use super::chunk::{Chunk, Position};
use super::extraction::{Citation, Extracted, Extraction, FieldValue, Row};
use super::fields::{COLUMNS, FIELDS, Group, Kind};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The tool every provider is made to call with its answer.
pub const TOOL: &str = "record_submission_fields";

/// Confidence of a provider's value whose quote was found in its passage; one whose quote
/// was not is dropped (an uncited value cannot be reviewed).
const QUOTED: f64 = 0.9;

/// Longest prompt sent, in characters (passages beyond it are left out).
const MAX_PROMPT: usize = 60_000;

pub const SYSTEM: &str = "You extract sequencing-lab submission data from the numbered passages of one \
document. Use only what the passages say; leave out any field they do not state. For every value give \
the number of the passage it is in and a short exact quote from that passage that contains it. Dates as \
YYYY-MM-DD; yes/no fields as yes or no; one row per sample.";

/// The tool a provider answers a question with.
pub const ANSWER_TOOL: &str = "answer_from_passages";

pub const ASK_SYSTEM: &str = "You answer a question about one sequencing-lab submission document from its \
numbered passages only. Answer in a few plain sentences and list the numbers of the passages you used. If \
the passages do not say, answer that the document does not say.";

/// The answer tool's input schema.
pub fn answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string", "maxLength": 4000},
            "passages": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 20}
        },
        "required": ["answer", "passages"],
        "additionalProperties": false
    })
}

/// The question and its passages (document lines, numbered by line).
pub fn ask_prompt(question: &str, lines: &[(usize, &str)]) -> String {
    let mut out = String::from("Passages:\n");
    for (i, text) in lines {
        out.push_str(&format!("[passage {i}] {}\n", text.trim()));
    }
    out.push_str(&format!("\nQuestion: {question}\nCall {ANSWER_TOOL} with your answer."));
    out
}

/// The prose and the lines it cites, when every cited line was sent.
pub fn validate_answer(answer: &Value, sent: &[usize]) -> Result<(String, Vec<usize>), String> {
    let text = answer
        .get("answer")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 4000)
        .ok_or("the answer has no text")?;
    let cited: Vec<usize> = answer
        .get("passages")
        .and_then(Value::as_array)
        .ok_or("the answer cites no passages")?
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| sent.contains(n))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or("the answer cites a passage it was not given")?;
    Ok((text.to_owned(), cited))
}

fn cited(description: &str, value: Value) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": {
            "value": value,
            "passage": {"type": "integer", "minimum": 0},
            "quote": {"type": "string", "maxLength": 300}
        },
        "required": ["value", "passage", "quote"],
        "additionalProperties": false
    })
}

fn value_schema(kind: Kind) -> Value {
    match kind {
        Kind::List => json!({"type": "array", "items": {"type": "string", "maxLength": 2000}, "maxItems": 384}),
        Kind::YesNo => json!({"type": "string", "enum": ["yes", "no"]}),
        Kind::Priority => json!({"type": "string", "enum": ["low", "normal", "high", "urgent"]}),
        _ => json!({"type": "string", "maxLength": 2000}),
    }
}

/// The tool's input schema: every catalogue field, and the sample rows.
pub fn tool_schema() -> Value {
    let mut fields = Map::new();
    for f in FIELDS {
        fields.insert(
            f.name.into(),
            cited(
                &format!("{} ({})", f.name.replace('_', " "), f.group.as_str()),
                value_schema(f.kind),
            ),
        );
    }
    let mut columns = Map::new();
    for c in COLUMNS {
        columns.insert(c.name.into(), cited(&c.name.replace('_', " "), value_schema(c.kind)));
    }
    json!({
        "type": "object",
        "properties": {
            "fields": {"type": "object", "properties": fields, "additionalProperties": false},
            "samples": {"type": "array", "maxItems": 384, "items": {"type": "object", "properties": columns, "additionalProperties": false}}
        },
        "required": ["fields"],
        "additionalProperties": false
    })
}

/// The passages retrieval chose for any group, in document order.
pub fn passages(doc: &Prepared) -> Vec<&Chunk> {
    let retrieved = doc.retrieve();
    let ids: BTreeSet<u32> = Group::ALL
        .iter()
        .flat_map(|g| retrieved.get(g).into_iter().flatten().copied())
        .collect();
    ids.into_iter().filter_map(|i| doc.chunks.get(i as usize)).collect()
}

/// The user message: the passages, numbered by chunk id, within [`MAX_PROMPT`].
pub fn prompt(passages: &[&Chunk]) -> String {
    let mut out = String::from("Passages of the submission document:\n");
    for c in passages {
        let p = format!("\n[passage {} | page {}]\n{}\n", c.id, c.at.page, c.text);
        if out.len() + p.len() > MAX_PROMPT {
            break;
        }
        out.push_str(&p);
    }
    out.push_str(&format!("\nCall {TOOL} with every field these passages state."));
    out
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Where `quote` is in `chunk`: the line it starts on.
fn locate(doc: &Prepared, chunk: &Chunk, quote: &str) -> Option<Position> {
    let q = squash(quote);
    if q.is_empty() || !squash(&chunk.text).contains(&q) {
        return None;
    }
    let head: String = q.chars().take(20).collect();
    doc.lines[chunk.lines.clone()]
        .iter()
        .find(|l| squash(&l.text).contains(&head))
        .map(|l| l.at)
        .or(Some(chunk.at))
}

fn read_value(kind: Kind, v: &Value) -> Option<FieldValue> {
    match (kind, v) {
        (Kind::List, Value::Array(items)) => {
            let list: Option<Vec<String>> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && s.len() <= 2000)
                        .map(str::to_owned)
                })
                .collect();
            list.filter(|l| !l.is_empty() && l.len() <= 384).map(FieldValue::List)
        }
        (Kind::YesNo, Value::String(s)) if s == "yes" || s == "no" => Some(FieldValue::Text(s.clone())),
        (Kind::Priority, Value::String(s)) if ["low", "normal", "high", "urgent"].contains(&s.as_str()) => {
            Some(FieldValue::Text(s.clone()))
        }
        (Kind::List | Kind::YesNo | Kind::Priority, _) => None,
        (_, Value::String(s)) if !s.trim().is_empty() && s.len() <= 2000 => Some(FieldValue::Text(s.trim().to_owned())),
        _ => None,
    }
}

/// One cited value, checked: its passage was sent, its quote is in it.
fn one(doc: &Prepared, sent: &BTreeMap<u32, &Chunk>, kind: Kind, v: &Value) -> Option<Extracted> {
    let value = read_value(kind, v.get("value")?)?;
    let chunk = sent.get(&u32::try_from(v.get("passage")?.as_u64()?).ok()?)?;
    let quote = v.get("quote")?.as_str()?;
    let at = locate(doc, chunk, quote)?;
    Some(Extracted::new(value, QUOTED, Some(Citation::new(at, quote))))
}

/// The provider's tool input as an extraction, or why it cannot be used: not the schema's
/// shape, or more than half of its values unverifiable.
pub fn validate(doc: &Prepared, sent: &[&Chunk], answer: &Value) -> Result<Extraction, String> {
    let sent: BTreeMap<u32, &Chunk> = sent.iter().map(|c| (c.id, *c)).collect();
    let Some(fields) = answer.get("fields").and_then(Value::as_object) else {
        return Err("the answer has no `fields` object".into());
    };
    let mut x = Extraction::default();
    let (mut given, mut kept) = (0usize, 0usize);
    for (name, v) in fields {
        given += 1;
        let Some(spec) = FIELDS.iter().find(|f| f.name == name) else {
            continue;
        };
        if let Some(e) = one(doc, &sent, spec.kind, v) {
            kept += 1;
            x.fields.insert(name.clone(), e);
        }
    }
    for row in answer.get("samples").and_then(Value::as_array).into_iter().flatten() {
        let Some(row) = row.as_object() else {
            return Err("a sample row is not an object".into());
        };
        let mut r = Row::new();
        for (col, v) in row {
            given += 1;
            let Some(spec) = COLUMNS.iter().find(|c| c.name == col) else {
                continue;
            };
            if let Some(e) = one(doc, &sent, spec.kind, v) {
                kept += 1;
                r.insert(col.clone(), e);
            }
        }
        if !r.is_empty() {
            x.samples.push(r);
        }
    }
    if given == 0 {
        return Err("the answer states no field".into());
    }
    if kept * 2 < given {
        return Err(format!(
            "only {kept} of {given} values were found in the passages they cite"
        ));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chunk::Text;

    fn doc() -> Prepared {
        Prepared::new(&Text::single(
            "ADMINISTRATIVE\nEmail: a@b.org\nInstitution: UNC\n\nSAMPLES\nSample 1:\n- Sample ID: S-1\n- Sample Type: DNA\n",
        ))
    }

    #[test]
    fn the_schema_names_every_field_and_column() {
        let s = tool_schema();
        for f in FIELDS {
            assert!(
                s["properties"]["fields"]["properties"][f.name].is_object(),
                "{}",
                f.name
            );
        }
        assert_eq!(
            s["properties"]["samples"]["items"]["properties"]["sample_type"]["required"][0],
            "value"
        );
    }

    #[test]
    fn cited_values_are_kept_and_invented_ones_dropped() {
        let d = doc();
        let sent = passages(&d);
        let p = prompt(&sent);
        assert!(
            p.contains("[passage 0 | page 1]") && p.contains("Email: a@b.org"),
            "{p}"
        );
        let answer = json!({
            "fields": {
                "submitter_email": {"value": "a@b.org", "passage": 0, "quote": "Email: a@b.org"},
                "institution": {"value": "UNC", "passage": 0, "quote": "Institution:  UNC"},
                "organism": {"value": "Mouse", "passage": 0, "quote": "Organism: Mouse"}
            },
            "samples": [{"sample_id": {"value": "S-1", "passage": 1, "quote": "Sample ID: S-1"}}]
        });
        let x = validate(&d, &sent, &answer).unwrap();
        assert_eq!(x.text("submitter_email"), Some("a@b.org"));
        assert!(x.fields.contains_key("institution"));
        assert!(!x.fields.contains_key("organism"), "its quote is not in the passage");
        let c = x.fields["submitter_email"].citation.as_ref().unwrap();
        assert_eq!((c.page, c.offset), (1, 15));
        assert_eq!(x.samples.len(), 1);
    }

    #[test]
    fn malformed_or_invented_answers_are_refused() {
        let d = doc();
        let sent = passages(&d);
        assert!(validate(&d, &sent, &json!({"answer": "a@b.org"})).is_err());
        assert!(validate(&d, &sent, &json!({"fields": {}})).is_err());
        let invented = json!({"fields": {
            "submitter_email": {"value": "x@y.org", "passage": 0, "quote": "x@y.org"},
            "organism": {"value": "Mouse", "passage": 9, "quote": "Mouse"},
            "pooled": {"value": "maybe", "passage": 0, "quote": "Email"}
        }});
        let e = validate(&d, &sent, &invented).unwrap_err();
        assert!(e.contains("0 of 3"), "{e}");
    }
}

#[cfg(test)]
mod size {
    use super::*;
    use crate::domain::chunk::Text;

    /// What the cost model counts: the characters sent for the reference form (prompt,
    /// system text and tool schema) and the longest prompt any document can make.
    #[test]
    fn the_reference_forms_request_size() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/documents/reference_submission.txt"
        ))
        .unwrap();
        let doc = Prepared::new(&Text::single(text.clone()));
        let sent = passages(&doc);
        let prompt = prompt(&sent);
        let schema = tool_schema().to_string();
        println!(
            "document {} chars; prompt {} chars; system {} chars; tool schema {} chars",
            text.len(),
            prompt.len(),
            SYSTEM.len(),
            schema.len()
        );
        assert!(prompt.len() <= MAX_PROMPT + 200);
        assert!(prompt.len() > text.len() / 2, "most of the form is retrieved");
    }
}
