//! The AWS edge on 127.0.0.1:4566: the Lambda Invoke API runs our functions in-process;
//! every other call goes to moto behind it. moto's Step Functions interpreter calls Lambda
//! at this address (`MOTO_PORT`), so state machine tasks run the real Rust handlers.

use crate::functions::{Functions, InvokeError};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;

pub struct Edge {
    pub functions: Arc<Functions>,
    pub moto_url: String,
    pub schedules: Arc<crate::schedule::Schedules>,
}

/// Lambda's synchronous payload limit.
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

fn json(status: StatusCode, body: Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

fn aws_error(status: StatusCode, kind: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    let mut r = json(status, serde_json::json!({ "Type": "User", "message": message }));
    if let Ok(v) = HeaderValue::from_str(kind) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

impl Edge {
    pub async fn handle(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        let path = req.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        Ok(match (req.method().as_str(), segments.as_slice()) {
            ("POST", ["2015-03-31", "functions", name, "invocations"]) => {
                let name = name.to_string();
                self.invoke_api(&name, req).await
            }
            ("POST", ["_runner", "schedules", name]) => {
                let name = name.to_string();
                match self.schedules.fire_now(&self.functions, &name).await {
                    Ok(v) => json(StatusCode::OK, v),
                    Err(e) => json(StatusCode::NOT_FOUND, serde_json::json!({ "message": e })),
                }
            }
            ("GET", ["_runner", "ready"]) => json(StatusCode::OK, serde_json::json!({ "ready": true })),
            _ => self.proxy(req).await,
        })
    }

    async fn invoke_api(&self, name: &str, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let name = percent_encoding_free(name);
        let invocation_type = req
            .headers()
            .get("x-amz-invocation-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("RequestResponse")
            .to_owned();
        let Some(function) = self.functions.get(&name) else {
            return aws_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Function not found: {name}"),
            );
        };
        let body = match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return aws_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestTooLargeException",
                    "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
                );
            }
        };
        let event: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(_) => {
                    return aws_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequestContentException",
                        "Could not parse request body into json",
                    );
                }
            }
        };
        match invocation_type.as_str() {
            "DryRun" => hyper::Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Full::new(Bytes::new()))
                .unwrap_or_default(),
            "Event" => {
                tokio::spawn(async move {
                    if let Err(e) = crate::functions::invoke(&function, event).await {
                        tracing::warn!(function = %function.spec.logical_id, error = %e, "asynchronous invocation failed");
                    }
                });
                hyper::Response::builder()
                    .status(StatusCode::ACCEPTED)
                    .body(Full::new(Bytes::new()))
                    .unwrap_or_default()
            }
            _ => match crate::functions::invoke(&function, event).await {
                Ok(v) => json(StatusCode::OK, v),
                Err(e @ InvokeError::NotFound(_)) => {
                    aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &e.to_string())
                }
                Err(e) => {
                    let mut r = json(StatusCode::OK, e.payload());
                    r.headers_mut()
                        .insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
                    r
                }
            },
        }
    }

    async fn proxy(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let (mut parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return aws_error(StatusCode::BAD_REQUEST, "BadRequest", "could not read request body");
            }
        };
        let target = format!(
            "{}{}",
            self.moto_url,
            parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let Ok(uri) = target.parse() else {
            return aws_error(StatusCode::BAD_REQUEST, "BadRequest", "bad uri");
        };
        parts.uri = uri;
        let req = hyper::Request::from_parts(parts, Full::new(body));
        match crate::net::send(req).await {
            Ok(resp) => {
                let (parts, body) = resp.into_parts();
                hyper::Response::from_parts(parts, Full::new(body))
            }
            Err(e) => aws_error(
                StatusCode::BAD_GATEWAY,
                "ServiceUnavailable",
                &format!("moto is not reachable: {e}"),
            ),
        }
    }
}

/// Function names arrive URL-encoded when they are ARNs (`arn%3Aaws%3A...`).
fn percent_encoding_free(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}
