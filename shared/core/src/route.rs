//! Route declarations. Each HTTP function declares its method, path and minimum access in
//! code; a test holds template.yaml and the OpenAPI document to exactly these.

use crate::auth::Role;
use std::borrow::Cow;
use utoipa::openapi::{RefOr, schema::Schema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (health, version, login, JWKS).
    Public,
    /// A valid token whose role is at least this one.
    Role(Role),
    /// The platform-operator flag (creates labs, lists backups).
    Operator,
    /// A device's own token (a freezer's sensor), not a user session: the handler checks
    /// it against the record the path names, and the token alone gives the lab.
    Device,
}

/// A schema for the OpenAPI document, taken from a `utoipa::ToSchema` type.
#[derive(Clone, Copy)]
pub struct SchemaRef {
    pub name: fn() -> Cow<'static, str>,
    pub schemas: fn(&mut Vec<(String, RefOr<Schema>)>),
    pub schema: fn() -> RefOr<Schema>,
    /// JSON Schema keywords added to the derived schema in the document (see
    /// [`crate::openapi::Rules`]).
    pub rules: Option<fn() -> serde_json::Value>,
}

impl std::fmt::Debug for SchemaRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SchemaRef({})", (self.name)())
    }
}

impl SchemaRef {
    pub const fn of<T: utoipa::ToSchema>() -> Self {
        fn name<T: utoipa::ToSchema>() -> Cow<'static, str> {
            T::name()
        }
        fn schemas<T: utoipa::ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
            T::schemas(out)
        }
        fn schema<T: utoipa::ToSchema>() -> RefOr<Schema> {
            <T as utoipa::PartialSchema>::schema()
        }
        Self {
            name: name::<T>,
            schemas: schemas::<T>,
            schema: schema::<T>,
            rules: None,
        }
    }

    /// `T`'s schema with its [`Rules`](crate::openapi::Rules) added.
    pub const fn ruled<T: utoipa::ToSchema + crate::openapi::Rules>() -> Self {
        Self {
            rules: Some(T::rules),
            ..Self::of::<T>()
        }
    }
}

/// One documented response of a route.
#[derive(Debug, Clone, Copy)]
pub struct ResponseSpec {
    pub status: u16,
    pub description: &'static str,
    pub schema: Option<SchemaRef>,
    /// Media type of the body (`application/json` unless stated).
    pub media_type: &'static str,
}

/// A route for this role and up.
pub const fn role(r: Role) -> Access {
    Access::Role(r)
}

/// The answer of a route that answers nothing: 204.
pub const NO_CONTENT: &[ResponseSpec] = &[ResponseSpec {
    status: 204,
    description: "Done",
    schema: None,
    media_type: "application/json",
}];

impl ResponseSpec {
    pub const fn json(status: u16, description: &'static str, schema: SchemaRef) -> Self {
        Self {
            status,
            description,
            schema: Some(schema),
            media_type: "application/json",
        }
    }

    /// A file answered as is (`text/csv`, a workbook, a PDF), without a JSON schema.
    pub const fn file(status: u16, description: &'static str, media_type: &'static str) -> Self {
        Self {
            status,
            description,
            schema: None,
            media_type,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The `Handler` property of the function in template.yaml (`_HANDLER` in Lambda).
    pub handler: &'static str,
    pub method: Method,
    /// API Gateway syntax: `/api/samples/{id}`.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub tag: &'static str,
    pub request: Option<SchemaRef>,
    pub responses: &'static [ResponseSpec],
    /// Query parameters the route reads (name, description).
    pub query: &'static [QueryParam],
}

/// What a query parameter takes, as the OpenAPI document states it.
#[derive(Debug, Clone, Copy)]
pub enum QueryKind {
    Text,
    /// An integer in `[min, max]`.
    Integer {
        min: i64,
        max: i64,
    },
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// Text with something besides spaces in it, at most `max` characters (a reason).
    Note {
        max: u32,
    },
    /// An RFC 3339 date and time.
    DateTime,
    /// A value of a documented type (a status enum), inline.
    Schema(fn() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>),
}

/// A documented query parameter.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub kind: QueryKind,
}

impl QueryParam {
    pub const fn text(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            required: false,
            kind: QueryKind::Text,
        }
    }
    pub const fn integer(name: &'static str, description: &'static str, min: i64, max: i64) -> Self {
        Self {
            kind: QueryKind::Integer { min, max },
            ..Self::text(name, description)
        }
    }
    pub const fn one_of(name: &'static str, description: &'static str, words: &'static [&'static str]) -> Self {
        Self {
            kind: QueryKind::OneOf(words),
            ..Self::text(name, description)
        }
    }
    /// An RFC 3339 date and time, like `2026-12-04T10:30:00Z`.
    pub const fn date_time(name: &'static str, description: &'static str) -> Self {
        Self {
            kind: QueryKind::DateTime,
            ..Self::text(name, description)
        }
    }
    /// A value of `T`, as `T`'s schema states it (one of a status enum's names).
    pub const fn of<T: utoipa::PartialSchema>(name: &'static str, description: &'static str) -> Self {
        Self {
            kind: QueryKind::Schema(T::schema),
            ..Self::text(name, description)
        }
    }
    /// A required reason: not blank, at most `max` characters.
    pub const fn note(name: &'static str, description: &'static str, max: u32) -> Self {
        Self {
            kind: QueryKind::Note { max },
            required: true,
            ..Self::text(name, description)
        }
    }
    pub const fn required(self) -> Self {
        Self { required: true, ..self }
    }
}

/// `limit` and `cursor`, as every list takes them (see `pagination`).
pub const PAGING: &[QueryParam] = &[
    QueryParam::integer("limit", "page size", 1, crate::pagination::MAX_LIMIT as i64),
    QueryParam::text("cursor", "from next_cursor"),
];

impl RouteSpec {
    /// A route with no documentation beyond its method and path (tests, benches).
    pub const fn new(handler: &'static str, method: Method, path: &'static str, access: Access) -> Self {
        Self {
            handler,
            method,
            path,
            access,
            summary: "",
            tag: "",
            request: None,
            responses: &[],
            query: &[],
        }
    }

    pub const fn doc(self, summary: &'static str, tag: &'static str) -> Self {
        Self { summary, tag, ..self }
    }

    pub const fn takes(self, request: SchemaRef) -> Self {
        Self {
            request: Some(request),
            ..self
        }
    }

    pub const fn answers(self, responses: &'static [ResponseSpec]) -> Self {
        Self { responses, ..self }
    }

    pub const fn query(self, query: &'static [QueryParam]) -> Self {
        Self { query, ..self }
    }

    /// Path parameter names, in order: `/a/{id}/b/{n}` → `["id", "n"]`.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|s| s.trim_end_matches('+'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_extracted_in_order() {
        let spec = RouteSpec::new("h", Method::Get, "/api/a/{id}/b/{n}", Access::Public);
        assert_eq!(spec.path_params(), ["id", "n"]);
        assert_eq!(Method::parse("patch"), Some(Method::Patch));
        assert_eq!(Method::parse("TRACE"), None);
    }
}
