//! The OpenAPI 3.1 document, generated from the same [`RouteSpec`]s that the handlers are
//! registered with and that template.yaml is checked against.

use crate::problem::ProblemBody;
use crate::route::{Access, Method, RouteSpec};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Required,
};
use utoipa::{PartialSchema, ToSchema};

fn http_method(m: Method) -> HttpMethod {
    match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Names that stand for two different schemas among `routes` (two types of one name in two
/// services): the document could keep only one, and would describe the other's answers
/// wrongly.
pub fn schema_collisions(routes: &[RouteSpec]) -> Vec<String> {
    let mut schemas = Vec::new();
    for r in routes {
        for s in r
            .request
            .iter()
            .chain(r.responses.iter().filter_map(|x| x.schema.as_ref()))
        {
            (s.schemas)(&mut schemas);
            schemas.push(((s.name)().into_owned(), (s.schema)()));
        }
    }
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut clashes = std::collections::BTreeSet::new();
    for (name, schema) in schemas {
        let text = serde_json::to_string(&schema).unwrap_or_default();
        match seen.get(&name) {
            Some(other) if *other != text => {
                clashes.insert(name);
            }
            Some(_) => {}
            None => {
                seen.insert(name, text);
            }
        }
    }
    clashes.into_iter().collect()
}

/// Build the document for `routes`.
pub fn document(title: &str, version: &str, routes: &[RouteSpec]) -> OpenApi {
    let mut schemas = Vec::new();
    ProblemBody::schemas(&mut schemas);
    schemas.push(("Problem".to_owned(), ProblemBody::schema()));
    let mut paths = PathsBuilder::new();
    for r in routes {
        let mut op = OperationBuilder::new()
            .operation_id(Some(r.handler))
            .summary(Some(r.summary))
            .tag(r.tag);
        for name in r.path_params() {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(String::schema())),
            );
        }
        for q in r.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(q.name)
                    .parameter_in(ParameterIn::Query)
                    .required(if q.required { Required::True } else { Required::False })
                    .description(Some(q.description))
                    .schema(Some(query_schema(q.kind))),
            );
        }
        if let Some(req) = r.request {
            (req.schemas)(&mut schemas);
            schemas.push(((req.name)().into_owned(), (req.schema)()));
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name((req.name)())))
                .build();
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", content)
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        // Answers that share a status are one response with a content per media type (a
        // report as JSON or CSV, chosen by Accept).
        let mut answers: Vec<(u16, ResponseBuilder)> = Vec::new();
        for resp in r.responses {
            let at = match answers.iter().position(|(status, _)| *status == resp.status) {
                Some(i) => i,
                None => {
                    answers.push((resp.status, ResponseBuilder::new().description(resp.description)));
                    answers.len() - 1
                }
            };
            let mut b = std::mem::take(&mut answers[at].1);
            if let Some(s) = resp.schema {
                (s.schemas)(&mut schemas);
                schemas.push(((s.name)().into_owned(), (s.schema)()));
                b = b.content(
                    resp.media_type,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name((s.name)())))
                        .build(),
                );
            } else if resp.media_type != "application/json" {
                b = b.content(resp.media_type, ContentBuilder::new().build());
            }
            answers[at].1 = b;
        }
        for (status, b) in answers {
            op = op.response(status.to_string(), b.build());
        }
        if r.request.is_some() {
            op = op
                .response("400", problem_response("Malformed JSON"))
                .response("413", problem_response("Body too large"))
                .response("415", problem_response("Not JSON"))
                .response("422", problem_response("Validation failed"));
        }
        match r.access {
            Access::Public => {}
            Access::Device => {
                op = op
                    .security(SecurityRequirement::new("device", Vec::<String>::new()))
                    .response("401", problem_response("Missing or invalid device token"));
            }
            Access::Role(_) | Access::Operator => {
                op = op
                    .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                    .response("401", problem_response("Missing or invalid token"))
                    .response("403", problem_response("Role does not allow this route"));
            }
        }
        op = op.response("500", problem_response("Unexpected error"));
        let role = match r.access {
            Access::Public => "public".to_owned(),
            Access::Operator => "platform operator".to_owned(),
            Access::Role(role) => format!("{} or higher", role.as_str()),
            Access::Device => "the location's device token".to_owned(),
        };
        op = op.description(Some(format!("Access: {role}.")));
        paths = paths.path(r.path, PathItem::new(http_method(r.method), op.build()));
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("TracSeq device token")
                    .description(Some(
                        "A freezer sensor's token, issued per location by a lab administrator",
                    ))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title(title).version(version).build())
        .paths(paths.build())
        .components(Some(components))
        .build()
}

/// The schema of a query parameter's value.
fn query_schema(kind: crate::route::QueryKind) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use crate::route::QueryKind;
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    match kind {
        QueryKind::Text => String::schema(),
        QueryKind::Integer { min, max } => ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .minimum(Some(min))
            .maximum(Some(max))
            .into(),
        QueryKind::OneOf(words) => ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(words.iter().copied()))
            .into(),
        QueryKind::Note { max } => ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .min_length(Some(1))
            .max_length(Some(max as usize))
            .pattern(Some(r"\S"))
            .into(),
        QueryKind::Schema(schema) => schema(),
        QueryKind::DateTime => ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::DateTime,
            )))
            .into(),
    }
}

/// Rules a request body's derived schema cannot state (one field or another, a subset
/// of an enum, `const`, `not`): JSON Schema keywords added to the body's schema in the
/// document. utoipa's schema types have no such keywords, so they are merged into the
/// JSON (`document_json`). Handlers still check every rule; this only says them.
pub trait Rules {
    fn rules() -> serde_json::Value;
}

/// `ruled_body!(Wire for Body, rules)`: a type `Wire`, named as `Body` (or `Wire as
/// "Name"` when one body has several wire forms), whose document schema is `Body`'s with
/// `rules` added; routes take `SchemaRef::ruled::<Wire>()`, handlers parse `Body`.
#[macro_export]
macro_rules! ruled_body {
    (@impl $wire:ident, $name:expr, $body:ty, $rules:expr) => {
        impl ::utoipa::PartialSchema for $wire {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                <$body as ::utoipa::PartialSchema>::schema()
            }
        }

        impl ::utoipa::ToSchema for $wire {
            fn name() -> ::std::borrow::Cow<'static, str> {
                $name
            }
            fn schemas(
                out: &mut Vec<(String, ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema>)>,
            ) {
                <$body as ::utoipa::ToSchema>::schemas(out)
            }
        }

        impl $crate::openapi::Rules for $wire {
            fn rules() -> ::serde_json::Value {
                $rules
            }
        }
    };
    ($(#[doc = $doc:expr])* $wire:ident as $name:literal for $body:ty, $rules:expr) => {
        $(#[doc = $doc])*
        pub struct $wire;
        $crate::ruled_body!(@impl $wire, ::std::borrow::Cow::Borrowed($name), $body, $rules);
    };
    ($(#[doc = $doc:expr])* $wire:ident for $body:ty, $rules:expr) => {
        $(#[doc = $doc])*
        pub struct $wire;
        $crate::ruled_body!(@impl $wire, <$body as ::utoipa::ToSchema>::name(), $body, $rules);
    };
}

/// A ULID, as every id is written.
pub const ULID_PATTERN: &str = "^[0-9A-HJKMNP-TV-Z]{26}$";

/// A list of 1 to `max` distinct ids (`null` allowed when `nullable`), for rules.
pub fn distinct_ids(max: usize, nullable: bool) -> serde_json::Value {
    let kind = if nullable {
        serde_json::json!(["array", "null"])
    } else {
        serde_json::json!("array")
    };
    serde_json::json!({ "type": kind, "minItems": 1, "maxItems": max, "uniqueItems": true,
        "items": { "type": "string", "pattern": ULID_PATTERN } })
}

/// `schema` with the keys of `rules` added or replaced (under `properties`, property by
/// property).
pub fn add_rules(schema: &mut serde_json::Value, rules: serde_json::Value) {
    let (Some(o), serde_json::Value::Object(more)) = (schema.as_object_mut(), rules) else {
        return;
    };
    for (k, val) in more {
        match (o.get_mut(&k), val) {
            (Some(serde_json::Value::Object(mine)), serde_json::Value::Object(props)) if k == "properties" => {
                mine.extend(props)
            }
            (_, val) => {
                o.insert(k, val);
            }
        }
    }
}

/// The document as JSON, each request body's [`Rules`] merged into its schema.
pub fn document_json(title: &str, version: &str, routes: &[RouteSpec]) -> Result<serde_json::Value, serde_json::Error> {
    let mut doc = serde_json::to_value(document(title, version, routes))?;
    for r in routes {
        if let Some(req) = r.request
            && let Some(rules) = req.rules
            && let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{}", (req.name)()))
        {
            add_rules(schema, rules());
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod rules_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_keep_every_keyword_and_merge_properties() {
        let mut out =
            json!({ "type": "object", "properties": { "a": { "type": "string" }, "b": { "type": "integer" } } });
        add_rules(
            &mut out,
            json!({ "properties": { "a": { "const": "x" } }, "anyOf": [{ "required": ["a"] }, { "not": { "required": ["b"] } }] }),
        );
        assert_eq!(
            out,
            json!({
                "type": "object",
                "properties": { "a": { "const": "x" }, "b": { "type": "integer" } },
                "anyOf": [{ "required": ["a"] }, { "not": { "required": ["b"] } }],
            })
        );
    }
}
