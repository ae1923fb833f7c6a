//! The HTTP API as clients see it: API Gateway v2 payloads reach handlers intact, and every
//! bad input gets a clear 4xx problem+json from the shared layer or the gateway.

use serde_json::{Value, json};
use tracseq_core::auth::Role;
use tracseq_tests::fixtures::token;
use tracseq_tests::shared;

async fn problem(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.expect("problem body");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

#[tokio::test]
async fn route_reaches_handler_with_v2_payload() {
    let s = shared();
    let resp = s
        .http()
        .post(format!("{}/api/_test/echo/abc%20123?tag=a&tag=b&x=1", s.api))
        .header("content-type", "application/json")
        .header("x-test", "yes")
        .header("x-correlation-id", "corr-42")
        .body(r#"{"name":"n","count":3}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-correlation-id"], "corr-42");
    assert!(resp.headers().contains_key("x-request-id"));
    for (h, v) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(resp.headers()[h], v);
    }
    assert!(resp.headers().contains_key("strict-transport-security"));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["id"], "abc 123");
    assert_eq!(body["method"], "POST");
    assert_eq!(body["route_key"], "POST /api/_test/echo/{id}");
    assert_eq!(body["query_tag"], "a");
    assert_eq!(body["query_all_tag"], json!(["a", "b"]));
    assert_eq!(body["headers"]["x-test"], "yes");
    assert_eq!(body["parsed"], json!({"name": "n", "count": 3}));
    assert_eq!(body["source_ip"], "127.0.0.1");
}

#[tokio::test]
async fn binary_bodies_travel_base64_and_arrive_byte_exact() {
    let s = shared();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let resp = s
        .http()
        .post(format!("{}/api/_test/echo/bin?raw=1", s.api))
        .header("content-type", "application/octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["body_len"], 70_000);
    assert_eq!(body["body_sha"], tracseq_core::idempotency::fingerprint("", "", &bytes));
}

async fn get(path: &str) -> reqwest::Response {
    let s = shared();
    s.http().get(format!("{}{path}", s.api)).send().await.expect("request")
}

/// POST to the echo fixture at `/api/_test/echo/{rest}`.
async fn echo(rest: &str, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let s = shared();
    let mut req = s.http().post(format!("{}/api/_test/echo/{rest}", s.api)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.expect("request")
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn malformed_missing_wrong_type_and_unknown_fields_are_4xx_problems() {
    problem(echo("1", JSON, "{\"name\": ").await, 400, "malformed_json").await;
    problem(echo("1", JSON, "").await, 400, "body_required").await;
    let p = problem(echo("1", JSON, r#"{"name":"n"}"#).await, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "count");
    assert_eq!(p["errors"][0]["rule"], "required");
    let p = problem(
        echo("1", JSON, r#"{"name":"n","count":"three"}"#).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(p["errors"][0]["rule"], "type");
    let p = problem(
        echo("1", JSON, r#"{"name":"n","count":1,"admin":true}"#).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(p["errors"][0]["rule"], "unknown_field");
    let long = format!(r#"{{"name":"{}","count":1}}"#, "x".repeat(101));
    let p = problem(echo("1", JSON, long).await, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["rule"], "max_length");
    problem(echo("1", Some("text/plain"), "{}").await, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn oversized_bodies_get_413_from_handler_and_gateway() {
    let big = format!(r#"{{"name":"{}","count":1}}"#, "x".repeat(300 * 1024));
    problem(echo("1", JSON, big).await, 413, "payload_too_large").await;
    let huge = vec![b'a'; 11 * 1024 * 1024];
    problem(echo("1?raw=1", None, huge).await, 413, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404_and_405() {
    let s = shared();
    let resp = get("/api/nothing-here").await;
    problem(resp, 404, "route_not_found").await;
    let resp = s
        .http()
        .delete(format!("{}/api/version", s.api))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.headers()["allow"], "GET");
    problem(resp, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn cors_preflight_is_answered_by_the_gateway() {
    let s = shared();
    let resp = s
        .http()
        .request(reqwest::Method::OPTIONS, format!("{}/api/version", s.api))
        .header("origin", "https://lims.example.org")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(
        resp.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap_or("")
            .contains("idempotency-key")
    );
    let resp = s
        .http()
        .get(format!("{}/api/version", s.api))
        .header("origin", "https://lims.example.org")
        .send()
        .await
        .expect("req");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(
        resp.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap_or("")
            .contains("x-request-id")
    );
}

#[tokio::test]
async fn version_and_openapi_are_served() {
    let v: Value = get("/api/version").await.json().await.expect("json");
    assert_eq!(v["name"], "tracseq");
    assert_eq!(v["stage"], "local");
    let doc: Value = get("/api/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/api/health"]["get"].is_object());
}

#[tokio::test]
async fn protected_routes_check_token_and_role_in_the_shared_layer() {
    let s = shared();
    let get = |auth: Option<String>| {
        let mut r = s.http().get(format!("{}/api/_test/protected", s.api));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let resp = get(Some(format!("Bearer {}", token("lab-a", Role::LabTechnician, 600))))
        .await
        .expect("req");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["lab"], "lab-a");
    problem(get(None).await.expect("req"), 401, "unauthorized").await;
    problem(get(Some("Basic abc".into())).await.expect("req"), 401, "unauthorized").await;
    problem(
        get(Some("Bearer not-a-jwt".into())).await.expect("req"),
        401,
        "unauthorized",
    )
    .await;
    problem(
        get(Some(format!("Bearer {}", token("lab-a", Role::LabTechnician, -120))))
            .await
            .expect("req"),
        401,
        "token_expired",
    )
    .await;
    problem(
        get(Some(format!("Bearer {}", token("lab-a", Role::ResearchScientist, 600))))
            .await
            .expect("req"),
        403,
        "forbidden",
    )
    .await;
    let admin = get(Some(format!("Bearer {}", token("lab-a", Role::LabAdministrator, 600))))
        .await
        .expect("req");
    assert_eq!(admin.status(), 200);
}

#[tokio::test]
async fn a_panicking_handler_costs_one_500_and_the_runner_survives() {
    let resp = get("/api/_test/panic").await;
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"message": "Internal Server Error"}));
    let ok = get("/api/version").await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let mut config = tracseq_tests::config("throttled");
    config.throttle_limits = Some((1.0, 3.0));
    let (stack, e) = tracseq_tests::isolated(config).await;
    let client = e.http();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = client.get(format!("{}/api/version", e.api)).send().await.expect("req");
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
        }
        statuses.push(r.status().as_u16());
    }
    stack.shutdown().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
}
