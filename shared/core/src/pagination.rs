//! Cursor pagination. Every list is a DynamoDB Query with a `limit`; the cursor is the
//! query's `LastEvaluatedKey`, opaque to the client (base64url JSON) and checked on the way
//! back in so a forged cursor cannot point a query at another partition (another lab).

use crate::Problem;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;
const MAX_CURSOR_LEN: usize = 2048;

/// The key attributes of the last item of a page (all our keys are strings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor(pub BTreeMap<String, String>);

impl Cursor {
    pub fn encode(&self) -> String {
        B64.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }

    /// Decode a client's cursor; each `(attribute, value)` in `expect` must match exactly.
    pub fn decode(raw: &str, expect: &[(&str, &str)]) -> Result<Self, Problem> {
        let invalid = || Problem::bad_request("invalid_cursor", "cursor is not valid for this list");
        if raw.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes = B64.decode(raw.as_bytes()).map_err(|_| invalid())?;
        let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if map.is_empty() || map.len() > 6 {
            return Err(invalid());
        }
        for (name, value) in expect {
            if map.get(*name).map(String::as_str) != Some(*value) {
                return Err(invalid());
            }
        }
        Ok(Self(map))
    }
}

/// `limit` and `cursor` from a list request's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { limit, cursor: None }
    }

    pub fn from_query(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Problem> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Problem::validation(vec![
                        crate::FieldError::field(
                            "limit",
                            "range",
                            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                        )
                        .with_value(raw),
                    ]));
                }
            },
        };
        Ok(Self {
            limit,
            cursor: cursor.filter(|c| !c.is_empty()).map(str::to_owned),
        })
    }

    pub fn from_request(req: &crate::http::Request) -> Result<Self, Problem> {
        Self::from_query(req.query("limit"), req.query("cursor"))
    }
}

/// One page of a list, as every list route answers it. Its schema is named after the
/// item's (`Page<Sample>` is `SamplePage`), so the OpenAPI document has one per list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor }
    }

    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

impl<T: ToSchema> PartialSchema for Page<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "items",
                ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name(T::name()))),
            )
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("Where the next page starts; absent on the last page.")),
            )
            .into()
    }
}

impl<T: ToSchema> ToSchema for Page<T> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Page", T::name()))
    }

    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((T::name().into_owned(), T::schema()));
        T::schemas(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_is_pinned_to_its_partition() {
        let mut c = Cursor::default();
        c.0.insert("PK".into(), "LAB#a#SAMPLES".into());
        c.0.insert("SK".into(), "2026#x".into());
        let raw = c.encode();
        assert_eq!(Cursor::decode(&raw, &[("PK", "LAB#a#SAMPLES")]).unwrap(), c);
        assert_eq!(
            Cursor::decode(&raw, &[("PK", "LAB#b#SAMPLES")]).unwrap_err().code,
            "invalid_cursor"
        );
        assert!(Cursor::decode("!!!", &[]).is_err());
        assert!(Cursor::decode(&B64.encode(b"[1,2]"), &[]).is_err());
        assert!(Cursor::decode(&"A".repeat(5000), &[]).is_err());
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(PageRequest::from_query(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(
            PageRequest::from_query(Some("1000"), Some("")).unwrap(),
            PageRequest {
                limit: 1000,
                cursor: None
            }
        );
        for bad in ["0", "1001", "-1", "ten", "1e3"] {
            assert_eq!(
                PageRequest::from_query(Some(bad), None).unwrap_err().status,
                422,
                "{bad}"
            );
        }
    }
}
