//! A small HTTP/1 client for talking to moto's own endpoints and proxying to it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use std::sync::OnceLock;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> &'static HttpClient {
    static CLIENT: OnceLock<HttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            .build_http()
    })
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
    #[error("connection failed: {0}")]
    Connect(#[from] hyper_util::client::legacy::Error),
    #[error("reading the body failed: {0}")]
    Body(#[from] hyper::Error),
}

pub async fn send(req: http::Request<Full<Bytes>>) -> Result<http::Response<Bytes>, NetError> {
    let resp = client().request(req).await?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok(http::Response::from_parts(parts, bytes))
}

pub async fn get(url: &str) -> Result<(u16, Bytes), NetError> {
    let resp = send(http::Request::get(url).body(Full::new(Bytes::new()))?).await?;
    Ok((resp.status().as_u16(), resp.into_body()))
}

pub async fn post_json(url: &str, body: &str) -> Result<(u16, Bytes), NetError> {
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))?;
    let resp = send(req).await?;
    Ok((resp.status().as_u16(), resp.into_body()))
}

/// A JSON 1.0 AWS API call (the DynamoDB Streams protocol) to moto, which does not check
/// signatures. Returns the decoded response or the service's error type.
pub async fn aws_json(url: &str, target: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    let req = http::Request::post(url)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = send(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let value: serde_json::Value = serde_json::from_slice(resp.body()).unwrap_or_default();
    if status == 200 {
        Ok(value)
    } else {
        Err(format!("{status}: {}", value["__type"].as_str().unwrap_or("error")))
    }
}
