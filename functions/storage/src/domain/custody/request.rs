//! What a custody request says: one sample or a rack of them, each with its target, and
//! the refusals that name the item they are about.

use crate::model::CustodyAction;
use serde::Deserialize;
use tracseq_core::{FieldError, Problem};

const MAX_REASON: usize = 500;

/// One sample of a custody request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyItem {
    /// The sample, by id or by barcode.
    pub sample_id: Option<String>,
    pub barcode: Option<String>,
    /// Target box or plate (placements, moves; returns elsewhere than the kept position).
    pub location_id: Option<String>,
    /// Target position, like `A1`; or `auto`.
    pub position: Option<String>,
    /// Take the next free position of the box in its fill order.
    pub auto: Option<bool>,
    /// The sample's version, if the caller wants the change only on that version.
    pub version: Option<u64>,
}

/// `POST /api/storage/{placements|moves|retrievals|returns|disposals}`: one sample given
/// by the top-level fields, or up to 96 in `items` (top-level `location_id` and `auto`
/// then apply to every item that has no target of its own).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyRequest {
    pub sample_id: Option<String>,
    pub barcode: Option<String>,
    pub location_id: Option<String>,
    pub position: Option<String>,
    pub auto: Option<bool>,
    pub version: Option<u64>,
    /// Why: required for moves and disposals, at most 500 characters.
    pub reason: Option<String>,
    #[schema(min_items = 1, max_items = 96)]
    pub items: Option<Vec<CustodyItem>>,
}

/// The request as one action takes it, for the OpenAPI document: the sample by id or by
/// barcode; the target each action needs, allows or refuses; a reason where one is
/// required; and a rack's items with their own targets, or without them under a
/// top-level box and `auto: true`.
pub fn wire_rules(action: CustodyAction) -> serde_json::Value {
    use serde_json::json;
    let none = json!({ "type": "null" });
    let who = json!({ "oneOf": [
        { "required": ["sample_id"], "properties": { "sample_id": { "type": "string", "minLength": 1 }, "barcode": none } },
        { "required": ["barcode"], "properties": { "barcode": { "type": "string", "minLength": 1 }, "sample_id": none } },
    ]});
    let box_id = json!({ "type": "string", "pattern": tracseq_core::openapi::ULID_PATTERN });
    let target = json!({ "required": ["location_id"], "properties": { "location_id": box_id }, "oneOf": [
        { "required": ["position"], "properties": { "position": { "type": "string", "minLength": 1 }, "auto": { "enum": [false, null] } } },
        { "required": ["auto"], "properties": { "auto": { "const": true }, "position": none } },
    ]});
    let no_target =
        json!({ "properties": { "location_id": none, "position": none, "auto": { "enum": [false, null] } } });
    let own = match action.target() {
        TargetRule::Required => target.clone(),
        TargetRule::Optional => json!({ "anyOf": [target.clone(), no_target.clone()] }),
        TargetRule::None => no_target.clone(),
    };
    let item = |place: serde_json::Value| json!({ "type": "object", "allOf": [who.clone(), place] });
    let rack = |item: serde_json::Value| json!({ "type": "array", "minItems": 1, "maxItems": 96, "items": item });
    let single = json!({ "allOf": [who.clone(), own.clone()], "properties": { "items": none } });
    let mut racks = vec![json!({
        "required": ["items"],
        "properties": { "items": rack(item(own.clone())), "sample_id": none, "barcode": none, "version": none,
            "position": none },
    })];
    if action.target() == TargetRule::None {
        // A top-level box would become every item's target, which this action refuses.
        racks[0]["properties"]["location_id"] = none.clone();
        racks[0]["properties"]["auto"] = json!({ "enum": [false, null] });
    } else {
        // Items without a target of their own take the top-level box, by auto.
        let bare = json!({ "properties": { "location_id": none, "position": none, "auto": { "enum": [true, null] } } });
        racks.push(json!({
            "required": ["items", "location_id", "auto"],
            "properties": { "items": rack(item(json!({ "anyOf": [own.clone(), bare] }))), "location_id": box_id,
                "auto": { "const": true }, "sample_id": none, "barcode": none, "version": none, "position": none },
        }));
    }
    let mut rules = json!({
        "anyOf": [single, { "anyOf": racks }],
        "properties": { "reason": { "type": ["string", "null"], "maxLength": MAX_REASON } },
    });
    if action.needs_reason() {
        rules["required"] = json!(["reason"]);
        rules["properties"]["reason"] =
            json!({ "type": "string", "minLength": 1, "maxLength": MAX_REASON, "pattern": "\\S" });
    }
    rules
}

impl CustodyAction {
    pub fn target(self) -> TargetRule {
        match self {
            Self::Placed | Self::Moved => TargetRule::Required,
            Self::Returned => TargetRule::Optional,
            Self::Retrieved | Self::Disposed | Self::Released => TargetRule::None,
        }
    }

    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Moved | Self::Disposed)
    }

    /// The sample event of each movement (docs/domain.md's `sample.stored | moved | retrieved |
    /// disposed`; a return stores the sample again).
    pub fn event_kind(self) -> &'static str {
        match self {
            Self::Placed | Self::Returned => "sample.stored",
            Self::Moved => "sample.moved",
            Self::Retrieved => "sample.retrieved",
            Self::Disposed => "sample.disposed",
            Self::Released => "sample.released",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRule {
    Required,
    Optional,
    None,
}

/// A refusal of one item: its status, code and the field error that names it.
pub struct Refusal {
    status: u16,
    code: &'static str,
    /// Boxed: refusals travel in `Result`s, and a field error is large.
    error: Box<FieldError>,
}

impl Refusal {
    pub fn invalid(field: String, rule: &str, message: impl Into<String>) -> Self {
        Self {
            status: 422,
            code: "validation_failed",
            error: Box::new(FieldError::field(field, rule, message)),
        }
    }
    pub fn conflict(code: &'static str, field: String, message: impl Into<String>) -> Self {
        Self {
            status: 409,
            code,
            error: Box::new(FieldError::field(field, code, message)),
        }
    }
    pub fn missing(field: String, what: &str) -> Self {
        Self {
            status: 404,
            code: "not_found",
            error: Box::new(FieldError::field(field, "exists", format!("no such {what}"))),
        }
    }
}

/// The whole request's refusals as one problem: a single sample keeps its own status
/// (404, 409, 422); a rack answers 422 when every refusal is about the input and 409 when
/// any is about the current state, listing every refusal.
pub fn refusals_problem(mut refusals: Vec<Refusal>, single: bool) -> Problem {
    if single && refusals.len() == 1 {
        let r = refusals.remove(0);
        let mut p = match r.status {
            404 => Problem::not_found(if r.error.field.as_deref().is_some_and(|f| f.contains("location")) {
                "location"
            } else {
                "sample"
            }),
            409 => Problem::conflict(r.code, r.error.message.clone()),
            _ => Problem::validation(vec![]),
        };
        p.errors = vec![*r.error];
        return p;
    }
    let state = refusals.iter().find(|r| r.status == 409);
    let mut p = match state {
        Some(r) => Problem::conflict(
            r.code,
            format!(
                "{} of the samples cannot be handled as asked; nothing was changed",
                refusals.len()
            ),
        ),
        None => {
            let mut p = Problem::validation(vec![]);
            let first = refusals.first().map(|r| r.error.message.clone()).unwrap_or_default();
            p.detail = format!(
                "{} of the samples cannot be handled as asked ({first}); nothing was changed",
                refusals.len()
            );
            p
        }
    };
    p.errors = refusals.into_iter().map(|r| *r.error).collect();
    p
}

/// A request reduced to its items, each with its target filled in.
#[derive(Debug)]
pub struct Normalized {
    pub items: Vec<CustodyItem>,
    pub reason: Option<String>,
    /// One sample given at the top level (not in `items`).
    pub single: bool,
}

/// How a field of item `i` is named in errors: plainly for a single sample, as
/// `items[i].field` in a rack.
pub fn item_field(single: bool, i: usize, name: &str) -> String {
    if single {
        name.to_owned()
    } else {
        format!("items[{i}].{name}")
    }
}

impl Normalized {
    pub fn field(&self, i: usize, name: &str) -> String {
        item_field(self.single, i, name)
    }
}

pub fn normalize(body: CustodyRequest, action: CustodyAction, max: usize) -> Result<Normalized, Problem> {
    let mut errors = Vec::new();
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        errors.push(FieldError::field(
            "reason",
            "max_length",
            "a reason has at most 500 characters",
        ));
    }
    if action.needs_reason() && reason.is_none() {
        errors.push(FieldError::field(
            "reason",
            "required",
            format!("a sample {} needs a reason", action.as_str()),
        ));
    }
    let single = body.items.is_none();
    let items = match body.items {
        Some(items) => {
            for (field, given) in [
                ("sample_id", body.sample_id.is_some()),
                ("barcode", body.barcode.is_some()),
                ("position", body.position.is_some()),
                ("version", body.version.is_some()),
            ] {
                if given {
                    errors.push(FieldError::field(
                        field,
                        "with_items",
                        "give it per item when items are listed",
                    ));
                }
            }
            if items.is_empty() || items.len() > max {
                errors.push(FieldError::field(
                    "items",
                    "length",
                    format!("1 to {max} samples per request"),
                ));
            }
            items
                .into_iter()
                .map(|mut i| {
                    if i.location_id.is_none() && i.position.is_none() {
                        i.location_id = body.location_id.clone();
                        i.auto = i.auto.or(body.auto);
                    }
                    i
                })
                .collect()
        }
        None => vec![CustodyItem {
            sample_id: body.sample_id,
            barcode: body.barcode,
            location_id: body.location_id,
            position: body.position,
            auto: body.auto,
            version: body.version,
        }],
    };
    for (i, item) in items.iter().enumerate() {
        let at = |f: &str| item_field(single, i, f);
        if item.sample_id.is_none() == item.barcode.is_none() {
            errors.push(FieldError::field(
                at("sample_id"),
                "one_of",
                "give the sample's id or its barcode",
            ));
        }
        let auto = item.auto.unwrap_or(false);
        let has_target = item.location_id.is_some() || item.position.is_some() || auto;
        match action.target() {
            TargetRule::None if has_target => {
                errors.push(FieldError::field(
                    at("location_id"),
                    "not_allowed",
                    "this operation takes no target",
                ));
            }
            TargetRule::Required | TargetRule::Optional if has_target => {
                if item.location_id.is_none() {
                    errors.push(FieldError::field(
                        at("location_id"),
                        "required",
                        "the target box or plate",
                    ));
                }
                if item.position.is_some() == auto {
                    errors.push(FieldError::field(
                        at("position"),
                        "one_of",
                        "give a position or auto: true",
                    ));
                }
            }
            TargetRule::Required => {
                errors.push(FieldError::field(
                    at("location_id"),
                    "required",
                    "the target box or plate",
                ));
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(Normalized { items, reason, single })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_normalize_to_items_with_their_targets() {
        let body: CustodyRequest = serde_json::from_value(json!({
            "location_id": "01BOX", "auto": true,
            "items": [{"sample_id": "a"}, {"barcode": "B-1", "location_id": "01OTHER", "position": "A1"}]
        }))
        .unwrap();
        let n = normalize(body, CustodyAction::Placed, 96).unwrap();
        assert!(!n.single);
        assert_eq!(n.items[0].location_id.as_deref(), Some("01BOX"));
        assert_eq!(n.items[0].auto, Some(true));
        assert_eq!(n.items[1].location_id.as_deref(), Some("01OTHER"));
        assert_eq!(n.items[1].auto, None);
    }

    #[test]
    fn shape_errors_are_all_reported() {
        let bad = |v: serde_json::Value, a: CustodyAction| {
            let body: CustodyRequest = serde_json::from_value(v).unwrap();
            normalize(body, a, 96)
                .unwrap_err()
                .errors
                .into_iter()
                .map(|e| (e.field.unwrap_or_default(), e.rule))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bad(json!({"sample_id": "a", "location_id": "b"}), CustodyAction::Placed),
            [("position".to_owned(), "one_of".to_owned())]
        );
        assert_eq!(
            bad(json!({"sample_id": "a"}), CustodyAction::Moved),
            [
                ("reason".to_owned(), "required".to_owned()),
                ("location_id".to_owned(), "required".to_owned())
            ]
        );
        assert_eq!(
            bad(
                json!({"barcode": "x", "location_id": "b", "auto": true}),
                CustodyAction::Retrieved
            ),
            [("location_id".to_owned(), "not_allowed".to_owned())]
        );
        assert_eq!(
            bad(json!({"items": []}), CustodyAction::Retrieved),
            [("items".to_owned(), "length".to_owned())]
        );
        let many: Vec<_> = (0..97).map(|i| json!({"sample_id": i.to_string()})).collect();
        assert_eq!(bad(json!({"items": many}), CustodyAction::Retrieved)[0].1, "length");
        assert_eq!(
            bad(
                json!({"items": [{"location_id": "b", "auto": true}]}),
                CustodyAction::Placed
            ),
            [("items[0].sample_id".to_owned(), "one_of".to_owned())]
        );
        assert_eq!(
            bad(
                json!({"sample_id": "a", "reason": "x".repeat(501)}),
                CustodyAction::Disposed
            )[0]
            .1,
            "max_length"
        );
    }
}
