//! The HTTP side of a function: API Gateway HTTP API payload v2 in, v2 response out.
//!
//! `lambda_http` does the conversion both ways (the v2 event becomes an `http::Request`,
//! an `http::Response` becomes the v2 answer), exactly as `lambda_http::run` does in AWS;
//! our layer sits on top. [`public_route`] and [`protected_route`] wrap a handler into a
//! [`Function`](crate::function::Function) that owns what every route must do the same way:
//! authenticate and check the route's declared [`Access`], turn every [`Problem`] into
//! problem+json, add security and correlation headers, and log. A handler cannot forget the
//! role check: a protected handler is only reachable through [`protected_route`], which
//! receives the [`Principal`].

use crate::auth::{AuthError, Principal, bearer_token};
use crate::function::{BoxFuture, FunctionError, InvokeContext, SharedFunction};
use crate::problem::{FieldError, PROBLEM_JSON, Problem};
use crate::route::{Access, RouteSpec};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::query_map::QueryMap;
use base64::{Engine, engine::general_purpose::STANDARD as B64};
pub use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Body, RequestExt, Service};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::{collections::HashMap, future::Future, sync::Arc, time::Instant};
use tracing::Instrument;

/// Default cap for JSON request bodies; handlers that take more say so explicitly.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Verifies a bearer token. Async so an implementation may consult revocation state.
pub trait Authenticator: Send + Sync + 'static {
    fn authenticate(self: Arc<Self>, token: String) -> BoxFuture<Result<Principal, AuthError>>;
}

impl Authenticator for crate::auth::Verifier {
    fn authenticate(self: Arc<Self>, token: String) -> BoxFuture<Result<Principal, AuthError>> {
        let result = self.verify(&token);
        Box::pin(async move { result })
    }
}

/// A parsed HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub route_key: String,
    pub path_params: HashMap<String, String>,
    pub query: QueryMap,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: String,
    pub correlation_id: String,
    pub source_ip: Option<String>,
}

impl Request {
    /// The request a task outside the API (a saga step) acts under: no body or headers,
    /// and `correlation_id` (the saga's id) on every event it writes.
    pub fn internal(correlation_id: &str) -> Self {
        Self {
            method: Method::POST,
            path: String::new(),
            route_key: String::new(),
            path_params: HashMap::new(),
            query: QueryMap::default(),
            headers: HeaderMap::new(),
            body: Vec::new(),
            request_id: correlation_id.to_owned(),
            correlation_id: correlation_id.to_owned(),
            source_ip: None,
        }
    }

    /// Our view of `lambda_http`'s request: path, route key and source from the v2 request
    /// context, a correlation id the client may set (checked), a request id.
    pub fn from_http(req: lambda_http::Request) -> Self {
        let raw_path = req.raw_http_path().to_owned();
        let path_params = req
            .path_parameters_ref()
            .map(|m| m.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
            .unwrap_or_default();
        let query = req.query_string_parameters();
        let (request_id, route_key, source_ip) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                ctx.request_id.clone(),
                ctx.route_key.clone(),
                ctx.http.source_ip.clone(),
            ),
            _ => (None, None, None),
        };
        let (parts, body) = req.into_parts();
        let request_id = request_id.unwrap_or_else(|| ulid::Ulid::new().to_string());
        let correlation_id = parts
            .headers
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| valid_correlation_id(v))
            .map(str::to_owned)
            .unwrap_or_else(|| request_id.clone());
        Self {
            method: parts.method,
            path: raw_path,
            route_key: route_key.unwrap_or_default(),
            path_params,
            query,
            headers: parts.headers,
            body: body.to_vec(),
            request_id,
            correlation_id,
            source_ip,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A path parameter the route declares; absent only if the route and template disagree.
    pub fn path_param(&self, name: &str) -> Result<&str, Problem> {
        self.path_params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Problem::bad_request("missing_path_parameter", format!("path parameter {name} is missing")))
    }

    /// A query parameter; an empty value (`?limit=`) counts as absent, as a form sends an
    /// unfilled field.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.first(name).filter(|v| !v.is_empty())
    }

    /// Parse the body as JSON with the default size limit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        self.json_limited(DEFAULT_BODY_LIMIT)
    }

    /// Parse the body as JSON: 413 over `limit`, 415 for a non-JSON content type, 400 for
    /// bytes that are not JSON, 422 naming the field for JSON of the wrong shape.
    pub fn json_limited<T: DeserializeOwned>(&self, limit: usize) -> Result<T, Problem> {
        if self.body.len() > limit {
            return Err(Problem::payload_too_large(limit));
        }
        if let Some(ct) = self.header("content-type").filter(|ct| !is_json_media_type(ct)) {
            return Err(Problem::unsupported_media_type(format!(
                "expected application/json, got {ct}"
            )));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(Problem::bad_request("body_required", "a JSON request body is required"));
        }
        // Every request body is an object; serde would read a struct from an array of its
        // fields in order, so `[1, 2, 3]` could pass for a body of three optional fields.
        if !self.body.trim_ascii_start().starts_with(b"{")
            && serde_json::from_slice::<serde::de::IgnoredAny>(&self.body).is_ok()
        {
            return Err(Problem::validation(vec![crate::FieldError::field(
                "body",
                "type",
                "a JSON object",
            )]));
        }
        parse_json(&self.body)
    }

    /// A domain event of the caller's lab about `subject`, carrying this request's
    /// correlation id (`kind` is `entity.action`, fixed in code: a bad one is our bug).
    pub fn event(
        &self,
        kind: &str,
        principal: &crate::auth::Principal,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<crate::events::CloudEvent, Problem> {
        crate::events::CloudEvent::new(kind, &principal.lab_id, subject, &self.correlation_id, data).map_err(|e| {
            tracing::error!(error = %e, "invalid event type");
            Problem::internal()
        })
    }

    /// The `Idempotency-Key` header, validated.
    pub fn idempotency_key(&self) -> Result<Option<crate::idempotency::IdempotencyKey>, Problem> {
        self.header("idempotency-key")
            .map(crate::idempotency::IdempotencyKey::parse)
            .transpose()
    }
}

fn valid_correlation_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn is_json_media_type(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parse JSON bytes into `T`, classifying failures as 400 (not JSON) or 422 (wrong shape).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // Syntax first: a typed parse stops at the first unknown or mistyped field, so a
    // truncated body could otherwise come back as 422 instead of 400.
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_problem(".", e))?;
    integral_numbers(&mut value);
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            Err(data_problem(&path, e.into_inner()))
        }
    }
}

/// JSON Schema's `integer` includes `3.0`, and clients (JavaScript's among them) may send
/// one: a number without a fractional part becomes an integer before the typed parse.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    // Beyond 2^53 a float no longer stands for one integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                // In range by the check above; `as` keeps the integral value exactly.
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn json_problem(path: &str, e: serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => Problem::bad_request(
            "malformed_json",
            format!(
                "request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        Category::Data => data_problem(path, e),
    }
}

/// A body that is valid JSON but not the expected shape: always 422 (serde reports some
/// shape errors, such as a number where an enum belongs, as syntax errors).
fn data_problem(path: &str, e: serde_json::Error) -> Problem {
    let full = e.to_string();
    let message = full.split(" at line ").next().unwrap_or(&full).to_owned();
    let named = message.split('`').nth(1).map(str::to_owned);
    let (rule, field) = if message.starts_with("missing field") {
        ("required", join_path(path, named.as_deref()))
    } else if message.starts_with("unknown field") {
        ("unknown_field", join_path(path, named.as_deref()))
    } else if message.starts_with("invalid type") {
        ("type", join_path(path, None))
    } else if message.starts_with("unknown variant") {
        ("one_of", join_path(path, None))
    } else {
        ("invalid", join_path(path, None))
    };
    Problem::validation(vec![FieldError::field(field, rule, message)])
}

fn join_path(path: &str, leaf: Option<&str>) -> String {
    let base = if path == "." { "" } else { path };
    match (base, leaf) {
        ("", Some(l)) => l.to_owned(),
        (b, Some(l)) if !b.ends_with(l) => format!("{b}.{l}"),
        ("", None) => "$".to_owned(),
        (b, _) => b.to_owned(),
    }
}

/// A response before it becomes a v2 event.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(status)
                .with_header(header::CONTENT_TYPE, "application/json")
                .with_body(body),
            Err(e) => {
                tracing::error!(error = %e, "response serialization failed");
                Self::problem(&Problem::internal())
            }
        }
    }

    pub fn ok<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::json(200, value)
    }

    /// 200 with a file to save: its media type and an attachment `filename`.
    pub fn download(body: Vec<u8>, media_type: &str, filename: &str) -> Self {
        Self::new(200)
            .with_header(header::CONTENT_TYPE, media_type)
            .with_header(
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"{filename}\""),
            )
            .with_body(body)
    }

    /// 201 with `Location`.
    pub fn created<T: Serialize + ?Sized>(location: &str, value: &T) -> Self {
        Self::json(201, value).with_header(header::LOCATION, location)
    }

    pub fn problem(p: &Problem) -> Self {
        let mut r = Self::new(p.status)
            .with_header(header::CONTENT_TYPE, PROBLEM_JSON)
            .with_body(p.to_json());
        if let Some(secs) = p.retry_after {
            r = r.with_header(header::RETRY_AFTER, &secs.to_string());
        }
        if let Some(allow) = &p.allow {
            r = r.with_header(header::ALLOW, allow);
        }
        r
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    /// Adds a `Set-Cookie` (a response may carry several, so this appends).
    pub fn with_cookie(mut self, set_cookie: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(set_cookie) {
            self.headers.append(header::SET_COOKIE, v);
        }
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The `http::Response` `lambda_http` turns into the v2 answer. Text bodies stay text;
    /// anything else is binary (base64 on the wire).
    pub fn into_http(self) -> http::Response<Body> {
        let is_text = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.contains("json") || ct.starts_with("text/") || ct.contains("yaml") || ct.contains("csv")
            });
        let body = if self.body.is_empty() {
            Body::Empty
        } else if is_text {
            match String::from_utf8(self.body) {
                Ok(s) => Body::Text(s),
                Err(e) => Body::Binary(e.into_bytes()),
            }
        } else {
            Body::Binary(self.body)
        };
        let mut out = http::Response::new(body);
        *out.status_mut() = http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        *out.headers_mut() = self.headers;
        out
    }
}

impl From<Problem> for Response {
    fn from(p: Problem) -> Self {
        Response::problem(&p)
    }
}

const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"),
    (header::REFERRER_POLICY, "no-referrer"),
];

fn finish(mut resp: Response, req_id: &str, correlation_id: &str, authenticated: bool) -> http::Response<Body> {
    for (name, value) in SECURITY_HEADERS {
        resp.headers.insert(name, HeaderValue::from_static(value));
    }
    if authenticated {
        resp.headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(req_id) {
        resp.headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Ok(v) = HeaderValue::from_str(correlation_id) {
        resp.headers.insert(HeaderName::from_static("x-correlation-id"), v);
    }
    resp.into_http()
}

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("route {handler} is declared {access:?} but registered as {registered}")]
    AccessMismatch {
        handler: &'static str,
        access: Access,
        registered: &'static str,
    },
}

/// Wrap a handler for a route that needs no user token: public ones, and device ones whose
/// handler checks the device's own token.
pub fn public_route<S, H, Fut>(
    spec: &'static RouteSpec,
    state: Arc<S>,
    handler: H,
) -> Result<SharedFunction, RouteError>
where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, Problem>> + Send + 'static,
{
    if !matches!(spec.access, Access::Public | Access::Device) {
        return Err(RouteError::AccessMismatch {
            handler: spec.handler,
            access: spec.access,
            registered: "public",
        });
    }
    let handler = Arc::new(handler);
    let f = move |event: Value, _ctx: InvokeContext| {
        let (state, handler) = (state.clone(), handler.clone());
        serve(spec, event, false, move |req| async move {
            handler(state, req).await.unwrap_or_else(Response::from)
        })
    };
    Ok(Arc::new(f))
}

/// Wrap a handler for a route that needs a valid token with the route's declared access.
pub fn protected_route<S, H, Fut>(
    spec: &'static RouteSpec,
    state: Arc<S>,
    auth: Arc<dyn Authenticator>,
    handler: H,
) -> Result<SharedFunction, RouteError>
where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Request, Principal) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, Problem>> + Send + 'static,
{
    if matches!(spec.access, Access::Public | Access::Device) {
        return Err(RouteError::AccessMismatch {
            handler: spec.handler,
            access: spec.access,
            registered: "protected",
        });
    }
    let handler = Arc::new(handler);
    let f = move |event: Value, _ctx: InvokeContext| {
        let (state, handler, auth) = (state.clone(), handler.clone(), auth.clone());
        serve(spec, event, true, move |req| async move {
            match authorize(spec.access, auth, &req).await {
                Ok(principal) => {
                    tracing::Span::current().record("lab", principal.lab_id.as_str());
                    handler(state, req, principal).await.unwrap_or_else(Response::from)
                }
                Err(p) => Response::problem(&p),
            }
        })
    };
    Ok(Arc::new(f))
}

/// The part every route shares: `lambda_http` converts the event, our layer runs the
/// route inside a request span, logs and finishes the headers, and `lambda_http` converts
/// the response.
async fn serve<F, Fut>(
    spec: &'static RouteSpec,
    mut event: Value,
    authenticated: bool,
    run: F,
) -> Result<Value, FunctionError>
where
    F: FnOnce(Request) -> Fut + Send,
    Fut: Future<Output = Response> + Send,
{
    // lambda_http panics on a few inputs API Gateway never sends; refuse them first.
    let refused = refuse_unconvertible(&mut event);
    // Typed straight from the parsed event: lambda_http's own deserializer would print it
    // back to text to try each event kind in turn, and only v2 reaches these functions.
    let v2: ApiGatewayV2httpRequest = serde_json::from_value(event).map_err(FunctionError::invalid_event)?;
    let lambda_request = LambdaRequest::ApiGatewayV2(v2);
    let mut run = Some(run);
    let service = lambda_http::service_fn(|http_req: lambda_http::Request| {
        let run = run.take();
        let refused = refused.clone();
        async move {
            let req = Request::from_http(http_req);
            let (id, corr) = (req.request_id.clone(), req.correlation_id.clone());
            let resp = match (refused, run) {
                (Some(p), _) => Response::problem(&p),
                (None, Some(run)) => {
                    let span = request_span(spec, &req);
                    let started = Instant::now();
                    let resp = run(req).instrument(span).await;
                    log_outcome(spec, &resp, started);
                    resp
                }
                (None, None) => Response::problem(&Problem::internal()),
            };
            Ok::<_, std::convert::Infallible>(finish(resp, &id, &corr, authenticated))
        }
    });
    let mut adapter = lambda_http::Adapter::from(service);
    let event = lambda_http::LambdaEvent::new(lambda_request, lambda_http::Context::default());
    let answer = match adapter.call(event).await {
        Ok(answer) => answer,
        Err(never) => match never {},
    };
    serde_json::to_value(answer).map_err(FunctionError::transient)
}

/// What API Gateway guarantees and `lambda_http` assumes (it panics otherwise): a body
/// flagged base64 decodes, the Host header is a host, the query string fits a URI. A
/// request that breaks one is answered 400; the offending part is removed so the
/// conversion cannot fail. An unknown `X-Forwarded-Proto` is dropped (it only names the
/// scheme of a URI we do not use).
fn refuse_unconvertible(event: &mut Value) -> Option<Problem> {
    let mut refused = None;
    if event["isBase64Encoded"] == true
        && let Some(body) = event["body"].as_str()
        && B64.decode(body.as_bytes()).is_err()
    {
        event["body"] = Value::Null;
        event["isBase64Encoded"] = Value::Bool(false);
        refused = Some(Problem::bad_request("malformed_body", "body is not valid base64"));
    }
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        if headers
            .get("x-forwarded-proto")
            .is_some_and(|p| !matches!(p.as_str(), Some("http" | "https")))
        {
            headers.remove("x-forwarded-proto");
        }
        if headers.get("host").is_some_and(|h| !h.as_str().is_some_and(valid_host)) {
            headers.remove("host");
            refused.get_or_insert_with(|| Problem::bad_request("invalid_host", "the Host header is not a host name"));
        }
    }
    if let Some(q) = event["rawQueryString"].as_str()
        && !q.is_empty()
        && format!("/?{q}").parse::<http::uri::PathAndQuery>().is_err()
    {
        event["rawQueryString"] = Value::String(String::new());
        refused.get_or_insert_with(|| Problem::bad_request("invalid_query", "the query string is not valid"));
    }
    refused
}

/// A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port.
fn valid_host(h: &str) -> bool {
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) if !n.contains(':') || n.ends_with(']') => (n, Some(p)),
        _ => (h, None),
    };
    let name_ok = if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !name.is_empty()
            && name.len() <= 253
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    name_ok && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The `code` of a problem answer (`http_{status}` for any other error body).
fn problem_code(resp: &Response) -> String {
    #[derive(serde::Deserialize)]
    struct Code {
        code: String,
    }
    serde_json::from_slice::<Code>(&resp.body)
        .map(|c| c.code)
        .unwrap_or_else(|_| format!("http_{}", resp.status))
}

/// Check the token and the route's access rule.
pub async fn authorize(access: Access, auth: Arc<dyn Authenticator>, req: &Request) -> Result<Principal, Problem> {
    let token = bearer_token(req.header("authorization"))?;
    let principal = auth.authenticate(token.to_owned()).await?;
    let allowed = match access {
        Access::Public => true,
        Access::Role(min) => principal.role.includes(min),
        Access::Operator => principal.operator,
        // A user's session never stands in for a device's token.
        Access::Device => false,
    };
    if !allowed {
        return Err(Problem::forbidden("your role does not allow this action"));
    }
    Ok(principal)
}

fn request_span(spec: &RouteSpec, req: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        request_id = %req.request_id,
        correlation_id = %req.correlation_id,
        route = spec.handler,
        lab = tracing::field::Empty,
    )
}

fn log_outcome(spec: &RouteSpec, resp: &Response, started: Instant) {
    let status = resp.status;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if crate::telemetry::emf_enabled() {
        crate::telemetry::request_metrics(spec.handler, status, elapsed_ms).emit();
        if status >= 400 {
            crate::telemetry::error_metrics(spec.handler, status, &problem_code(resp)).emit();
        }
    }
    if status >= 500 {
        tracing::error!(status, elapsed_ms, route = spec.handler, "request failed");
    } else {
        tracing::debug!(status, elapsed_ms, route = spec.handler, "request done");
    }
}

/// The version a write expects: `If-Match` wins over the body's `version`; one is required.
pub fn expected_version(req: &Request, body: Option<u64>) -> Result<u64, Problem> {
    optional_version(req, body)?.ok_or_else(|| {
        Problem::new(
            428,
            "version_required",
            "send the resource's current version in the body or If-Match",
        )
    })
}

/// Like [`expected_version`], for writes where the version is a safeguard the client may omit.
pub fn optional_version(req: &Request, body: Option<u64>) -> Result<Option<u64>, Problem> {
    if let Some(raw) = req.header("if-match") {
        return raw
            .trim()
            .trim_matches('"')
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Problem::bad_request("invalid_if_match", "If-Match must be the resource's version number"));
    }
    Ok(body)
}

/// 409 unless the stored `version` is the one the client expects.
pub fn check_version(what: &str, stored: u64, expected: u64) -> Result<(), Problem> {
    if stored == expected {
        Ok(())
    } else {
        Err(Problem::conflict(
            "version_conflict",
            format!("the {what} is at version {stored}, not {expected}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    fn req(body: &str, ct: Option<&str>) -> Request {
        let mut headers = HeaderMap::new();
        if let Some(ct) = ct {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        Request {
            method: Method::POST,
            path: "/x".into(),
            route_key: "POST /x".into(),
            path_params: HashMap::new(),
            query: QueryMap::default(),
            headers,
            body: body.as_bytes().to_vec(),
            request_id: "r".into(),
            correlation_id: "r".into(),
            source_ip: None,
        }
    }

    fn problem(body: &str) -> Problem {
        req(body, Some("application/json")).json::<Input>().unwrap_err()
    }

    #[test]
    fn an_integral_number_is_an_integer_as_json_schema_says() {
        let ok: Input = req(r#"{"name":"a","count":3.0,"inner":null}"#, Some("application/json"))
            .json()
            .unwrap();
        assert_eq!(ok.count, 3);
        let p = problem(r#"{"name":"a","count":3.5}"#);
        assert_eq!((p.status, p.errors[0].rule.as_str()), (422, "type"));
        let p = problem(r#"{"name":"a","count":1e300}"#);
        assert_eq!((p.status, p.errors[0].rule.as_str()), (422, "type"));
        // Nested values too.
        let v: serde_json::Value = parse_json(br#"{"a":[{"b":2.0}]}"#).unwrap();
        assert_eq!(v["a"][0]["b"], serde_json::json!(2));
    }

    #[test]
    fn json_errors_are_classified() {
        assert_eq!(problem("{\"name\":").code, "malformed_json");
        // Truncated after an unknown field: still a syntax error, not a validation one.
        assert_eq!(problem("{\"zzz\": 1, ").code, "malformed_json");
        assert_eq!(problem("{not json}").status, 400);
        // Trailing characters make the body invalid JSON: 400 (was a 422 before the syntax check).
        assert_eq!(problem("{} trailing").status, 400);
        assert_eq!(problem("").code, "body_required");

        let p = problem(r#"{"name":"a"}"#);
        assert_eq!(
            (p.status, p.errors[0].field.as_deref(), p.errors[0].rule.as_str()),
            (422, Some("count"), "required")
        );
        let p = problem(r#"{"name":"a","count":"3"}"#);
        assert_eq!(
            (p.errors[0].field.as_deref(), p.errors[0].rule.as_str()),
            (Some("count"), "type")
        );
        let p = problem(r#"{"name":"a","count":3,"extra":1}"#);
        assert_eq!(p.errors[0].rule, "unknown_field");
        let p = problem(r#"{"name":"a","count":3,"inner":{"flag":1}}"#);
        assert_eq!(p.errors[0].field.as_deref(), Some("inner.flag"));
        let p = problem(r#"{"name":"a","count":-1}"#);
        assert_eq!(p.errors[0].field.as_deref(), Some("count"));
    }

    #[test]
    fn size_and_media_type_limits() {
        let big = format!(r#"{{"name":"{}","count":1}}"#, "a".repeat(DEFAULT_BODY_LIMIT));
        assert_eq!(req(&big, None).json::<Input>().unwrap_err().status, 413);
        assert_eq!(
            req(r#"{"name":"a","count":1}"#, Some("text/plain"))
                .json::<Input>()
                .unwrap_err()
                .status,
            415
        );
        assert!(
            req(
                r#"{"name":"a","count":1}"#,
                Some("application/merge-patch+json; charset=utf-8")
            )
            .json::<Input>()
            .is_ok()
        );
        assert!(req(r#"{"name":"a","count":1}"#, None).json::<Input>().is_ok());
    }

    #[test]
    fn binary_responses_are_binary() {
        let r = Response::new(200)
            .with_header(header::CONTENT_TYPE, "application/octet-stream")
            .with_body(vec![0, 159])
            .into_http();
        assert!(matches!(r.body(), Body::Binary(_)));
        let r = Response::ok(&serde_json::json!({"a": 1})).into_http();
        assert!(matches!(r.body(), Body::Text(_)));
    }

    static ECHO: RouteSpec = RouteSpec::new("echo", crate::route::Method::Post, "/echo/{id}", Access::Public);

    fn event(body: &str, base64: bool, host: &str, query: &str) -> Value {
        serde_json::json!({
            "version": "2.0", "routeKey": "POST /echo/{id}", "rawPath": "/echo/7", "rawQueryString": query,
            "headers": {"host": host, "content-type": "application/octet-stream", "x-correlation-id": "c-1"},
            "pathParameters": {"id": "7"},
            "requestContext": {"requestId": "r-1", "routeKey": "POST /echo/{id}", "stage": "$default",
                "http": {"method": "POST", "path": "/echo/7", "sourceIp": "10.0.0.1"}},
            "body": body, "isBase64Encoded": base64
        })
    }

    #[tokio::test]
    async fn lambda_http_carries_the_request_and_the_response_both_ways() {
        let f = public_route(&ECHO, Arc::new(()), |_: Arc<()>, req: Request| async move {
            let out = serde_json::json!({
                "id": req.path_param("id")?, "q": req.query("q"), "len": req.body.len(),
                "path": req.path, "route": req.route_key, "ip": req.source_ip, "corr": req.correlation_id,
            });
            if req.query("binary").is_some() {
                return Ok(Response::new(200)
                    .with_header(header::CONTENT_TYPE, "application/octet-stream")
                    .with_body(req.body));
            }
            Ok(Response::ok(&out))
        })
        .unwrap();
        let call = |ev: Value| f.call(ev, InvokeContext::new("r", "echo"));
        let out = call(event("AAEC", true, "127.0.0.1:3000", "q=a%20b&q=c"))
            .await
            .unwrap();
        assert_eq!(out["statusCode"], 200);
        assert_eq!(out["isBase64Encoded"], false);
        let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": "7", "q": "a b", "len": 3, "path": "/echo/7", "route": "POST /echo/{id}",
                "ip": "10.0.0.1", "corr": "c-1"})
        );
        assert_eq!(out["headers"]["x-request-id"], "r-1");
        assert_eq!(out["headers"]["x-content-type-options"], "nosniff");

        let out = call(event("AAEC", true, "localhost", "binary=1")).await.unwrap();
        assert_eq!(
            (out["isBase64Encoded"].as_bool(), out["body"].as_str()),
            (Some(true), Some("AAEC"))
        );

        // What lambda_http would panic on is refused with a problem.
        for (ev, code) in [
            (event("not base64!", true, "localhost", ""), "malformed_body"),
            (event("", false, "a b", ""), "invalid_host"),
            (event("", false, "localhost", "a=\"x\""), "invalid_query"),
        ] {
            let out = call(ev).await.unwrap();
            assert_eq!(out["statusCode"], 400);
            assert_eq!(out["headers"]["content-type"], PROBLEM_JSON);
            let p: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
            assert_eq!(p["code"], code);
        }
        assert_eq!(
            call(serde_json::json!({"no": "event"})).await.unwrap_err().error_type,
            "InvalidEvent"
        );
    }

    #[test]
    fn hosts_are_checked() {
        for ok in ["127.0.0.1:3000", "api.tracseq.example", "[::1]:8080", "localhost"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["a b", "", "x:", "x:99999999", "[::1", "ex@mple", "a/b", "::1"] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn correlation_ids_are_sanitized() {
        assert!(valid_correlation_id("abc-123_x.y:z"));
        assert!(!valid_correlation_id("a b"));
        assert!(!valid_correlation_id(&"a".repeat(129)));
    }
}
