//! The HTTP API on 127.0.0.1:3000, behaving as API Gateway (HTTP API, payload v2) does:
//! routes and path parameters from the template, query strings and headers as v2 carries
//! them, binary bodies base64, CORS preflight answered by the gateway, throttling with
//! 429, and a function error turned into a 500 without the function's details.

use crate::functions::{Functions, InvokeError, Loaded};
use crate::template::{Cors, Model};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use time::OffsetDateTime;

/// API Gateway's payload limit.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

struct Route {
    method: String,
    route_key: String,
    function: Arc<Loaded>,
}

pub struct Api {
    router: matchit::Router<Vec<Route>>,
    cors: Option<Cors>,
    throttle: Option<Mutex<TokenBucket>>,
    /// The web app on the same origin (paths outside `/api`), when built.
    pub site: Option<crate::web::Site>,
}

/// Token bucket with API Gateway's rate/burst meaning.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// `/api/samples/{id}` → matchit's syntax (`{proxy+}` becomes a catch-all).
fn matchit_path(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            Some(name) => format!("{{*{name}}}"),
            None => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Api {
    pub fn new(model: &Model, functions: &Functions, throttle: bool) -> Result<Self, String> {
        let mut by_path: HashMap<String, Vec<Route>> = HashMap::new();
        for r in &model.routes {
            let f = functions
                .get(&r.function)
                .ok_or_else(|| format!("route {} {} has no function", r.method, r.path))?;
            by_path.entry(r.path.clone()).or_default().push(Route {
                method: r.method.clone(),
                route_key: format!("{} {}", r.method, r.path),
                function: f,
            });
        }
        let mut router = matchit::Router::new();
        for (path, routes) in by_path {
            router
                .insert(matchit_path(&path), routes)
                .map_err(|e| format!("route {path}: {e}"))?;
        }
        let throttle = if throttle {
            model
                .throttle
                .map(|(rate, burst)| Mutex::new(TokenBucket::new(rate, burst)))
        } else {
            None
        };
        Ok(Self {
            router,
            cors: model.cors.clone(),
            throttle,
            site: None,
        })
    }

    pub async fn handle(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut resp = self.route(req, remote).await;
        if let (Some(cors), Some(origin)) = (&self.cors, origin)
            && let Some(allowed) = allowed_origin(cors, &origin)
        {
            let h = resp.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
            if !cors.expose_headers.is_empty()
                && let Ok(v) = HeaderValue::from_str(&cors.expose_headers.join(","))
            {
                h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
            }
        }
        Ok(resp)
    }

    async fn route(&self, req: hyper::Request<Incoming>, remote: SocketAddr) -> hyper::Response<Full<Bytes>> {
        if req.method() == Method::OPTIONS
            && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            && let Some(cors) = &self.cors
        {
            return preflight(cors, req.headers());
        }
        // The site is CloudFront's in AWS: API Gateway's throttle does not count it.
        if let Some(site) = &self.site
            && crate::web::Site::claims(req.method(), req.uri().path())
            && self.router.at(req.uri().path()).is_err()
        {
            return site.serve(req.method(), req.uri().path()).await;
        }
        if let Some(bucket) = &self.throttle {
            let ok = bucket.lock().map(|mut b| b.take()).unwrap_or(true);
            if !ok {
                return problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "rate limit exceeded, retry later",
                    &[("retry-after", "1")],
                );
            }
        }
        let path = req.uri().path().to_owned();
        let Ok(matched) = self.router.at(&path) else {
            return problem(
                StatusCode::NOT_FOUND,
                "route_not_found",
                &format!("no route for {path}"),
                &[],
            );
        };
        let method = req.method().as_str().to_owned();
        let Some(route) = matched.value.iter().find(|r| r.method == method || r.method == "ANY") else {
            let allow: Vec<&str> = matched.value.iter().map(|r| r.method.as_str()).collect();
            return problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &format!("{method} is not allowed on {path}"),
                &[("allow", &allow.join(", "))],
            );
        };
        let params: HashMap<String, String> = matched
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), percent_decode(v)))
            .collect();
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body exceeds 10 MB",
                    &[],
                );
            }
        };
        let event = build_event(&parts, body, params, &route.route_key, remote);
        let event = match serde_json::to_value(&event) {
            Ok(v) => v,
            Err(_) => return gateway_error(StatusCode::INTERNAL_SERVER_ERROR),
        };
        match crate::functions::invoke(&route.function, event).await {
            Ok(value) => into_http(value),
            Err(InvokeError::Timeout(_)) => gateway_error(StatusCode::SERVICE_UNAVAILABLE),
            Err(e) => {
                tracing::error!(function = %route.function.spec.logical_id, error = %e, "function failed");
                gateway_error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

fn allowed_origin(cors: &Cors, origin: &HeaderValue) -> Option<HeaderValue> {
    if cors.allow_origins.iter().any(|o| o == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    let o = origin.to_str().ok()?;
    cors.allow_origins
        .iter()
        .any(|a| a.eq_ignore_ascii_case(o))
        .then(|| origin.clone())
}

fn preflight(cors: &Cors, headers: &HeaderMap) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder().status(StatusCode::NO_CONTENT);
    if let Some(allowed) = headers.get(header::ORIGIN).and_then(|o| allowed_origin(cors, o)) {
        b = b
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, cors.allow_methods.join(","))
            .header(header::ACCESS_CONTROL_ALLOW_HEADERS, cors.allow_headers.join(","));
        if let Some(age) = cors.max_age {
            b = b.header(header::ACCESS_CONTROL_MAX_AGE, age.to_string());
        }
    }
    b.body(Full::new(Bytes::new())).unwrap_or_default()
}

fn problem(status: StatusCode, code: &str, detail: &str, extra: &[(&str, &str)]) -> hyper::Response<Full<Bytes>> {
    let p = tracseq_core::Problem::new(status.as_u16(), code, detail);
    let mut b = hyper::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, tracseq_core::problem::PROBLEM_JSON);
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(p.to_json()))).unwrap_or_default()
}

/// What API Gateway answers when the integration fails: no detail leaks.
fn gateway_error(status: StatusCode) -> hyper::Response<Full<Bytes>> {
    let msg = if status == StatusCode::SERVICE_UNAVAILABLE {
        "Service Unavailable"
    } else {
        "Internal Server Error"
    };
    hyper::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(format!("{{\"message\":\"{msg}\"}}"))))
        .unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn is_text(content_type: Option<&HeaderValue>) -> bool {
    let ct = content_type
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("x-www-form-urlencoded")
        || ct.contains("yaml")
        || ct.contains("csv")
}

fn build_event(
    parts: &http::request::Parts,
    body: Bytes,
    params: HashMap<String, String>,
    route_key: &str,
    remote: SocketAddr,
) -> ApiGatewayV2httpRequest {
    let now = OffsetDateTime::now_utc();
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        if let Ok(v) = HeaderValue::from_str(&values.join(",")) {
            headers.insert(name.clone(), v);
        }
    }
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        query.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    let text = is_text(parts.headers.get(header::CONTENT_TYPE));
    let (body, is_b64) = if body.is_empty() {
        (None, false)
    } else if text {
        match std::str::from_utf8(&body) {
            Ok(s) => (Some(s.to_owned()), false),
            Err(_) => (Some(B64.encode(&body)), true),
        }
    } else {
        (Some(B64.encode(&body)), true)
    };
    let mut http_desc = aws_lambda_events::apigw::ApiGatewayV2httpRequestContextHttpDescription::default();
    http_desc.method = parts.method.clone();
    http_desc.path = Some(parts.uri.path().to_owned());
    http_desc.protocol = Some("HTTP/1.1".into());
    http_desc.source_ip = Some(remote.ip().to_string());
    http_desc.user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.route_key = Some(route_key.to_owned());
    ctx.account_id = Some(crate::template::ACCOUNT.into());
    ctx.stage = Some("$default".into());
    ctx.request_id = Some(ulid::Ulid::new().to_string());
    ctx.apiid = Some("local".into());
    ctx.domain_name = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ctx.time_epoch = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    ctx.http = http_desc;
    let mut ev = ApiGatewayV2httpRequest::default();
    ev.version = Some("2.0".into());
    ev.route_key = Some(route_key.to_owned());
    ev.raw_path = Some(parts.uri.path().to_owned());
    ev.raw_query_string = Some(raw_query);
    ev.cookies = (!cookies.is_empty()).then_some(cookies);
    ev.headers = headers;
    // v2 joins repeated query parameters with commas.
    ev.query_string_parameters = query
        .into_iter()
        .map(|(k, v)| (k, v.join(",")))
        .collect::<HashMap<_, _>>()
        .into();
    ev.path_parameters = params;
    ev.request_context = ctx;
    ev.body = body;
    ev.is_base64_encoded = is_b64;
    ev
}

/// A function's result → HTTP. A result without `statusCode` is, as in API Gateway's v2
/// format inference, a JSON body with status 200.
fn into_http(value: Value) -> hyper::Response<Full<Bytes>> {
    if value.get("statusCode").is_none() {
        return hyper::Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(value.to_string())))
            .unwrap_or_default();
    }
    let Ok(r) = serde_json::from_value::<ApiGatewayV2httpResponse>(value) else {
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let status = u16::try_from(r.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match r.body {
        None | Some(Body::Empty) => Bytes::new(),
        Some(Body::Text(t)) if r.is_base64_encoded => B64.decode(t.as_bytes()).map(Bytes::from).unwrap_or_default(),
        Some(Body::Text(t)) => Bytes::from(t),
        Some(Body::Binary(b)) => Bytes::from(b),
        Some(_) => Bytes::new(),
    };
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = r.headers;
    for c in r.cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_buckets() {
        assert_eq!(matchit_path("/api/samples/{id}"), "/api/samples/{id}");
        assert_eq!(matchit_path("/files/{proxy+}"), "/files/{*proxy}");
        assert_eq!(percent_decode("a%20b+c"), "a b+c");
        let mut b = TokenBucket::new(0.0, 2.0);
        assert!(b.take() && b.take() && !b.take());
    }
}
