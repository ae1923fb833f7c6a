//! The Lambda Invoke API on the edge: what Step Functions, scripts and the AWS CLI call.

use serde_json::{Value, json};
use tracseq_tests::shared;

async fn invoke(function: &str, payload: &str, invocation_type: Option<&str>) -> reqwest::Response {
    let s = shared();
    let mut req = s
        .http()
        .post(format!("{}/2015-03-31/functions/{function}/invocations", s.edge))
        .body(payload.to_owned());
    if let Some(t) = invocation_type {
        req = req.header("x-amz-invocation-type", t);
    }
    req.send().await.expect("invoke")
}

#[tokio::test]
async fn request_response_returns_the_payload() {
    let s = shared();
    let resp = invoke(&s.function("TaskFunction"), r#"{"order":"o-1"}"#, None).await;
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers().contains_key("x-amz-function-error"));
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v, json!({"reserved": true, "order": "o-1"}));
    // By ARN too, as state machines call it.
    let arn = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        s.function("TaskFunction")
    );
    assert_eq!(invoke(&arn, "{}", None).await.status(), 200);
}

#[tokio::test]
async fn errors_carry_the_domain_error_type() {
    let s = shared();
    let resp = invoke(&s.function("TaskFunction"), r#"{"fail_with":"StorageFull"}"#, None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-amz-function-error"], "Unhandled");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["errorType"], "StorageFull");
    assert!(v["errorMessage"].is_string());
}

#[tokio::test]
async fn timeouts_event_dryrun_unknown_and_malformed() {
    let s = shared();
    let resp = invoke(&s.function("SlowFunction"), "{}", None).await;
    assert_eq!(resp.headers()["x-amz-function-error"], "Unhandled");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["errorType"], "Sandbox.Timedout");

    assert_eq!(
        invoke(&s.function("TaskFunction"), "{}", Some("Event")).await.status(),
        202
    );
    assert_eq!(
        invoke(&s.function("TaskFunction"), "{}", Some("DryRun")).await.status(),
        204
    );

    let resp = invoke("no-such-function", "{}", None).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-amzn-errortype"], "ResourceNotFoundException");

    let resp = invoke(&s.function("TaskFunction"), "{not json", None).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-amzn-errortype"], "InvalidRequestContentException");
}

#[tokio::test]
async fn http_functions_invoked_directly_get_invalid_event_not_a_crash() {
    let s = shared();
    let resp = invoke(&s.function("VersionFunction"), r#"{"hello":"world"}"#, None).await;
    assert_eq!(resp.headers()["x-amz-function-error"], "Unhandled");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["errorType"], "InvalidEvent");
}

#[tokio::test]
async fn other_aws_calls_are_proxied_to_moto() {
    let s = shared();
    let sdk = tracseq_aws::clients::local(&s.edge, "us-east-1").await;
    let tables = aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .send()
        .await
        .expect("list tables through the edge");
    assert!(tables.table_names().iter().any(|t| t == &s.table));
}
